"""The ``loss`` argument of the sparse (CSR) online ops: each output's sum of
scikit-learn's perceptron loss, ``|z|`` at a mistake with z before the step,
added in sample order in float64 to what ``loss`` held, as the dense ops sum
it (test_epoch_loss.py). On dyadic data every z and every partial sum is
exact, so the CSR kernels' sums must equal the reference's ``*_csr`` form and
the dense kernel's on ``x.to_dense()`` to the bit: both dtypes, both index
dtypes, every path of the CPU loop (one output, outputs row by row, the
feature-major copy, two threads), chunked calls, and a rejected call leaving
the sums as they were."""

import warnings

import pytest
import torch

from csr_cases import bits, random_csr, state
from support import DEVICES, assert_bits_equal, gen
from torch_perceptron import ops, reference

DTYPES = [torch.float32, torch.float64]
INDEX_DTYPES = [torch.int32, torch.int64]
ONLINE_CSR = ["online_update_csr", "online_update_averaged_csr", "online_update_pocket_csr"]

# (N, in_features, K, density): K = 1; K > 1 with many non-zeros per feature
# (the plain op's feature-major copy) and with few (outputs row by row); and
# past the two-thread threshold (nnz * K >= 2**16): the feature-major copy per
# thread (float32: 20 outputs a share fit), and row by row (float64: they do
# not; the variants always).
PATH_SHAPES = [
    (400, 64, 1, 0.2), (300, 50, 5, 0.2), (60, 5000, 3, 0.01), (2000, 300, 20, 0.2),
    (500, 40, 40, 0.2),
]


def problem(n, d, k, dtype, index_dtype, device, seed, density=0.2):
    g = gen(seed)
    x, crow, col, values = random_csr(n, d, g, density=density, dtype=dtype,
                                      index_dtype=index_dtype, device=device)
    return dict(
        x=x, crow=crow, col=col, values=values, d=d,
        w=(torch.randint(-8, 9, (k, d), generator=g) / 4).to(dtype).to(device),
        b=(torch.randint(-8, 9, (k,), generator=g) / 4).to(dtype).to(device),
        y=torch.randint(0, 2, (n, k), generator=g).to(device),
        sw=(torch.randint(0, 5, (n,), generator=g) / 2).to(dtype).to(device),
        # The sums go on from here (dyadic, so still exact).
        loss=(torch.randint(0, 9, (k,), generator=g) / 4).to(torch.float64).to(device),
    )


def run_csr(op, p, lr=0.5, *, loss=True, **kw):
    """The CSR op on copies of p's state; returns (w, b, state..., mistakes,
    loss) on the CPU (loss None when not asked)."""
    w, b = p["w"].clone(), p["b"].clone()
    st = state(op, w, b)
    sums = p["loss"].clone() if loss else None
    m = getattr(ops, op)(w, b, *st, p["crow"], p["col"], p["values"], p["d"], p["y"], lr,
                         sample_weight=p["sw"], loss=sums, **kw)
    return [t.cpu() for t in (w, b, *st, m)] + [None if sums is None else sums.cpu()]


def run_dense(op, p, lr=0.5, **kw):
    """The dense kernel of op on x.to_dense(), in run_csr's order."""
    w, b, sums = p["w"].clone(), p["b"].clone(), p["loss"].clone()
    st = state(op, w, b)
    m = getattr(ops, op.removesuffix("_csr"))(w, b, *st, p["x"], p["y"], lr,
                                              sample_weight=p["sw"], loss=sums, **kw)
    return [t.cpu() for t in (w, b, *st, m, sums)]


def assert_all_bits_equal(got, want, what):
    for i, (t, u) in enumerate(zip(got, want)):
        assert_bits_equal(t, u, f"{what}: tensor {i}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE_CSR)
@pytest.mark.parametrize("zero_is_mistake", [False, True])
def test_loss_equals_reference(op, zero_is_mistake, dtype, index_dtype, device):
    for k in (1, 3):
        p = problem(40, 9, k, dtype, index_dtype, device, seed=k + 10 * zero_is_mistake)
        got = run_csr(op, p, zero_is_mistake=zero_is_mistake, bias_step=0.25)
        with warnings.catch_warnings():  # torch's "sparse CSR is in beta"
            warnings.simplefilter("ignore")
            x = torch.sparse_csr_tensor(p["crow"].cpu(), p["col"].cpu(), p["values"].cpu(),
                                        (40, 9))
        w, b = p["w"].cpu(), p["b"].cpu()
        st = state(op, w, b)
        if "averaged" in op:  # the reference sums the weights from zero
            st = [torch.zeros_like(w), torch.zeros_like(b), st[2]]
        want = getattr(reference, op)(w, b, *st, x, p["y"].cpu(), 0.5,
                                      sample_weight=p["sw"].cpu(),
                                      zero_is_mistake=zero_is_mistake, bias_step=0.25,
                                      loss=p["loss"].cpu())
        what = f"{op} K={k}"
        assert_bits_equal(got[-1], want[-1], f"{what}: loss")
        assert_bits_equal(got[-2], want[-2], f"{what}: mistakes")
        assert_bits_equal(got[0], want[0], f"{what}: weight")
        assert_bits_equal(got[1], want[1], f"{what}: bias")
        # Not vacuous: every output made mistakes at a non-zero z.
        assert torch.all(got[-1] > p["loss"].cpu())


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE_CSR)
def test_loss_equals_dense_kernels_on_every_path(op, dtype, index_dtype, threads, num_threads):
    """Every tensor the op writes, the sums included, equal the dense kernel's
    on the same data, on each path of the CPU loop (PATH_SHAPES)."""
    num_threads(threads)
    for s, (n, d, k, density) in enumerate(PATH_SHAPES):
        p = problem(n, d, k, dtype, index_dtype, "cpu", seed=50 + s, density=density)
        kw = dict(zero_is_mistake=s % 2 == 1, bias_step=[1.0, 0.01, 0.0][s % 3])
        got = run_csr(op, p, **kw)
        want = run_dense(op, p, **kw)
        assert_all_bits_equal(got, want, f"{op} {n}x{d}, K={k}, {threads} thread(s)")
        assert torch.any(got[-1] > p["loss"])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ONLINE_CSR)
def test_loss_equals_dense_kernels_on_the_device(op, device):
    for dtype in DTYPES:
        p = problem(300, 50, 5, dtype, torch.int32, device, seed=3)
        assert_all_bits_equal(run_csr(op, p, zero_is_mistake=True),
                              run_dense(op, p, zero_is_mistake=True), f"{op} {dtype}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE_CSR)
def test_chunked_calls_add_up_to_one_call(op, dtype, device):
    """Continuous values (sums that round): the chunks' calls give the one
    call's bits, since each goes on from the sums the last one left."""
    n, d, k = 300, 40, 4
    p = problem(n, d, k, dtype, torch.int64, device, seed=4)
    g = gen(5)
    p["values"] = torch.randn(p["values"].shape, generator=g, dtype=torch.float64).to(
        dtype=dtype, device=device)
    whole = run_csr(op, p)
    w, b, sums = p["w"].clone(), p["b"].clone(), p["loss"].clone()
    st = state(op, w, b)
    crow = p["crow"]
    for start in range(0, n, 64):
        stop = min(start + 64, n)
        lo, hi = int(crow[start]), int(crow[stop])
        getattr(ops, op)(w, b, *st, crow[start : stop + 1] - lo, p["col"][lo:hi],
                         p["values"][lo:hi], d, p["y"][start:stop], 0.5,
                         sample_weight=p["sw"][start:stop], loss=sums)
    assert_bits_equal(sums.cpu(), whole[-1], "loss")
    assert_bits_equal(w.cpu(), whole[0], "weight")


@pytest.mark.parametrize("op", ONLINE_CSR)
def test_loss_changes_nothing_else(op):
    """The same bits with loss as without it, on every path."""
    for s, (n, d, k, density) in enumerate(PATH_SHAPES[:3]):
        p = problem(n, d, k, torch.float32, torch.int32, "cpu", seed=s, density=density)
        with_loss, without = run_csr(op, p), run_csr(op, p, loss=False)
        assert_all_bits_equal(with_loss[:-1], without[:-1], f"{op} {n}x{d}")


def test_loss_is_scikit_learns_on_a_hand_made_case():
    """w = 0, b = 0, lr = 1, zero_is_mistake, x = [[1], [2], [], [3]] (row 2
    empty): z = 0, 3, 0, -3; the loss is |z| at each mistake."""
    crow = torch.tensor([0, 1, 2, 2, 3])
    col = torch.tensor([0, 0, 0])
    values = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    y = torch.tensor([1, 0, 0, 1])
    w, b = torch.zeros(1, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    loss = torch.zeros(1, dtype=torch.float64)
    m = ops.online_update_csr(w, b, crow, col, values, 1, y, zero_is_mistake=True, loss=loss)
    # z: 0 (mistake, loss 0; w=1, b=1), 3 (mistake, loss 3; w=-1, b=0),
    # 0 on the empty row (mistake, loss 0; b=-1), -4 (mistake, loss 4).
    assert m.tolist() == [4]
    assert loss.tolist() == [7.0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ONLINE_CSR)
def test_bad_loss_is_rejected_by_name_and_nothing_changes(op, device):
    p = problem(20, 6, 2, torch.float64, torch.int64, device, seed=1)
    cases = [
        (torch.zeros(3, dtype=torch.float64), RuntimeError, r"loss: expected shape \[2\]"),
        (torch.zeros(2, 1, dtype=torch.float64), RuntimeError, r"loss: expected shape \[2\]"),
        (torch.zeros(2, dtype=torch.float32), RuntimeError, r"loss: expected dtype float64"),
        (torch.tensor([0.0, float("nan")], dtype=torch.float64), ValueError,
         r"loss: expected finite values"),
    ]
    for loss, exc, match in cases:
        loss = loss.to(device)
        w, b = p["w"].clone(), p["b"].clone()
        st = state(op, w, b)
        before = [bits(t) for t in (w, b, *st, loss)]
        with pytest.raises(exc, match=match):
            getattr(ops, op)(w, b, *st, p["crow"], p["col"], p["values"], p["d"], p["y"],
                             loss=loss)
        for t, was in zip((w, b, *st, loss), before):
            assert torch.equal(bits(t), was)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ONLINE_CSR)
@pytest.mark.parametrize("fault", ["column", "value"])
def test_bad_late_row_restores_the_loss(op, fault, device):
    """A bad column or a NaN in the last row: weights, state and sums as they
    were, on the feature-major copy (the plain op, many non-zeros) and row by
    row (the variants), on two threads. (The thread count is set here, not by
    conftest's fixture: the CUDA build check runs this file without
    conftest.)"""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        check_bad_late_row(op, fault, device)
    finally:
        torch.set_num_threads(threads)


def check_bad_late_row(op, fault, device):
    p = problem(800, 64, 8, torch.float64, torch.int64, device, seed=2)
    last = int(p["crow"][-2])
    assert int(p["crow"][-1]) > last + 1
    if fault == "column":
        p["col"][last + 1] = p["col"][last]  # not strictly increasing
    else:
        p["values"][last] = float("nan")
    w, b, sums = p["w"].clone(), p["b"].clone(), p["loss"].clone()
    st = state(op, w, b)
    before = [bits(t) for t in (w, b, *st, sums)]
    with pytest.raises((ValueError, IndexError), match="row 799|col_indices|values"):
        getattr(ops, op)(w, b, *st, p["crow"], p["col"], p["values"], p["d"], p["y"],
                         loss=sums)
    for t, was in zip((w, b, *st, sums), before):
        assert torch.equal(bits(t), was)


@pytest.mark.parametrize("op", ONLINE_CSR)
def test_noncontiguous_loss_is_written_back_and_empty_calls_keep_it(op):
    p = problem(60, 20, 3, torch.float64, torch.int32, "cpu", seed=6)
    want = run_csr(op, p)[-1]
    base = torch.zeros(6, dtype=torch.float64)
    loss = base[::2]
    loss.copy_(p["loss"])
    version = loss._version
    w, b = p["w"].clone(), p["b"].clone()
    fn = getattr(ops, op)
    fn(w, b, *state(op, w, b), p["crow"], p["col"], p["values"], p["d"], p["y"], 0.5,
       sample_weight=p["sw"], loss=loss)
    assert_bits_equal(loss, want, "loss")
    assert loss._version > version
    assert torch.all(base[1::2] == 0)
    # An empty call adds nothing (and, declared written, bumps the version).
    version = loss._version
    empty = torch.zeros(1, dtype=torch.int32)
    fn(w, b, *state(op, w, b), empty, empty[:0], p["values"][:0], p["d"], p["y"][:0],
       loss=loss)
    assert_bits_equal(loss, want, "loss after an empty call")
    assert loss._version > version


@pytest.fixture
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_compiled_ops_sum_the_loss_as_eager(backend, device, fresh_dynamo):
    """torch.compile(fullgraph=True) over the three ops with loss: the sums
    (and everything else) as in eager, the sums used by ATen after the ops."""
    p = problem(40, 12, 3, torch.float32, torch.int32, device, seed=8)

    def epoch(w, b, acc, bacc, count, pw, pb, run, best, l1, l2, l3, crow, col, values, y):
        m1 = ops.online_update_csr(w, b, crow, col, values, 12, y, 0.5, loss=l1)
        m2 = ops.online_update_averaged_csr(w, b, acc, bacc, count, crow, col, values, 12, y,
                                            loss=l2)
        m3 = ops.online_update_pocket_csr(w, b, pw, pb, run, best, crow, col, values, 12, y,
                                          zero_is_mistake=True, loss=l3)
        return m1 + m2 + m3, (l1 + l2 + l3) / 40

    w, b = p["w"], p["b"]
    start = [w, b, *state("online_update_averaged_csr", w, b),
             *state("online_update_pocket_csr", w, b),
             *[torch.zeros(3, dtype=torch.float64, device=device) for _ in range(3)]]
    data = (p["crow"], p["col"], p["values"], p["y"])
    eager = [t.clone() for t in start]
    want = epoch(*eager, *data)
    got_state = [t.clone() for t in start]
    got = torch.compile(epoch, fullgraph=True, backend=backend)(*got_state, *data)
    for a, e in zip(got, want):
        assert_bits_equal(a, e, "result")
    for a, e in zip(got_state, eager):
        assert_bits_equal(a, e, "state")
    assert torch.all(eager[-3] > 0)
