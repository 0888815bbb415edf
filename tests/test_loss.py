"""The online ops' ``loss`` argument, dense and CSR (``format``): each output's
sum of scikit-learn's perceptron loss ``max(0, -(2y - 1) * z)`` (``|z|`` at a
mistake, z before the sample's step), added in sample order in float64 to what
``loss`` held, against the plain reference (reference.perceptron_loss) and, for
CSR, the dense kernel on ``x.to_dense()``. On dyadic data every z and every
partial sum is exact, so the sums must match to the bit: both dtypes, both
index dtypes, K = 1 and K > 1, one and two threads (the two-thread handoff and
the split into shares; every path of the CSR loop: one output, outputs row by
row, the feature-major copy), the three online ops, chunked calls adding up to
one call's sum, torch.compile, and a rejected call leaving the sums as they
were."""

import warnings

import pytest
import torch

from csr_cases import bits, random_csr
from order_cases import fresh_state as state
from support import (
    DEVICES,
    DTYPES,
    FORMATS,
    INDEXED_FORMATS,
    ONLINE,
    assert_bits_equal,
    binary_labels,
    dyadic,
    dyadic_sample_weight,
    gen,
    torch_threads,
)
from torch_perceptron import ops, reference

# (N, in_features, K, density) of CSR x: K = 1; K > 1 with many non-zeros per
# feature (the plain op's feature-major copy) and with few (outputs row by
# row); and past the two-thread threshold (nnz * K >= 2**16): the
# feature-major copy per thread (float32: 20 outputs a share fit), and row by
# row (float64: they do not; the variants always).
PATH_SHAPES = [
    (400, 64, 1, 0.2),
    (300, 50, 5, 0.2),
    (60, 5000, 3, 0.01),
    (2000, 300, 20, 0.2),
    (500, 40, 40, 0.2),
]


def problem(fmt, n, d, k, dtype, seed, device="cpu", index_dtype=torch.int64, density=0.2):
    """Dyadic data: dense x (every entry drawn), or CSR x (every third row
    empty, explicit zeros) with ``x`` its dense form. The sums go on from
    ``loss`` (dyadic too, so still exact)."""
    g = gen(seed)
    if fmt == "dense":
        return dict(
            fmt=fmt,
            d=d,
            w=dyadic((k, d), g, dtype, device),
            b=dyadic((k,), g, dtype, device),
            x=dyadic((n, d), g, dtype, device, bound=4),
            y=binary_labels(n, k, g, device),
            sw=dyadic_sample_weight(n, g, dtype, device),
            loss=dyadic((k,), g, torch.float64, device).abs(),
        )
    x, crow, col, values = random_csr(n, d, g, density=density, dtype=dtype, index_dtype=index_dtype, device=device)
    return dict(
        fmt=fmt,
        d=d,
        x=x,
        crow=crow,
        col=col,
        values=values,
        w=(torch.randint(-8, 9, (k, d), generator=g) / 4).to(dtype).to(device),
        b=(torch.randint(-8, 9, (k,), generator=g) / 4).to(dtype).to(device),
        y=torch.randint(0, 2, (n, k), generator=g).to(device),
        sw=(torch.randint(0, 5, (n,), generator=g) / 2).to(dtype).to(device),
        loss=(torch.randint(0, 9, (k,), generator=g) / 4).to(torch.float64).to(device),
    )


def x_args(p, rows=None):
    """x as p's format's op takes it (rows ``rows``, a slice, of it)."""
    if p["fmt"] == "dense":
        return (p["x"] if rows is None else p["x"][rows],)
    crow, col, values = p["crow"], p["col"], p["values"]
    if rows is not None:
        start, stop, _ = rows.indices(crow.shape[0] - 1)
        lo, hi = int(crow[start]), int(crow[stop])
        crow, col, values = crow[start : stop + 1] - lo, col[lo:hi], values[lo:hi]
    return (crow, col, values, p["d"])


def op_of(op, fmt):
    return getattr(ops, op + "_csr" if fmt == "csr" else op)


def run_op(op, p, lr=0.5, *, loss=True, fmt=None, **kw):
    """The op (of p's format unless ``fmt``: "dense" runs the dense kernel on
    CSR's dense form) on copies of p's state; returns (w, b, state...,
    mistakes, loss) on the CPU (loss None when not asked)."""
    fmt = fmt or p["fmt"]
    w, b = p["w"].clone(), p["b"].clone()
    extra = state(op, w, b)
    sums = p["loss"].clone() if loss else None
    x = (p["x"],) if fmt == "dense" else x_args(p)
    m = op_of(op, fmt)(w, b, *extra, *x, p["y"], lr, sample_weight=p["sw"], loss=sums, **kw)
    return [t.cpu() for t in (w, b, *extra, m)] + [None if sums is None else sums.cpu()]


def run_reference(op, p, lr=0.5, **kw):
    """The reference rule (its ``*_csr`` form for CSR); the averaged
    reference keeps plain sums, not the kernel's accumulators, so it starts
    from zeros and only w, b, mistakes and loss compare."""
    cpu = {name: t.cpu() for name, t in p.items() if isinstance(t, torch.Tensor)}
    extra = state(op, cpu["w"], cpu["b"])
    if op == "online_update_averaged":
        extra = [torch.zeros_like(cpu["w"]), torch.zeros_like(cpu["b"]), extra[2]]
    x = cpu["x"]
    if p["fmt"] == "csr":
        with warnings.catch_warnings():  # torch's "sparse CSR is in beta"
            warnings.simplefilter("ignore")
            x = torch.sparse_csr_tensor(cpu["crow"], cpu["col"], cpu["values"], x.shape)
    fn = getattr(reference, op + "_csr" if p["fmt"] == "csr" else op)
    return fn(cpu["w"], cpu["b"], *extra, x, cpu["y"], lr, sample_weight=cpu["sw"], loss=cpu["loss"], **kw)


def assert_all_bits_equal(got, want, what):
    for i, (t, u) in enumerate(zip(got, want)):
        assert_bits_equal(t, u, f"{what}: tensor {i}")


def assert_matches_reference(op, got, want, what=""):
    w, b, *_, m, loss = got
    rw, rb, *rest = want
    assert_bits_equal(loss, rest[-1], f"{what}: loss")
    assert_bits_equal(m, rest[-2], f"{what}: mistakes")
    assert_bits_equal(w, rw, f"{what}: weight")
    assert_bits_equal(b, rb, f"{what}: bias")
    if op == "online_update_pocket":
        assert_bits_equal(got[2], rest[0], f"{what}: pocket_weight")
        assert_bits_equal(got[3], rest[1], f"{what}: pocket_bias")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt, index_dtype", INDEXED_FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE)
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("zero_is_mistake", [False, True])
def test_loss_equals_reference(op, k, dtype, zero_is_mistake, fmt, index_dtype, device):
    """(CSR: with bias_step 0.25.)"""
    d, kw = (5, {}) if fmt == "dense" else (9, dict(bias_step=0.25))
    p = problem(fmt, 40, d, k, dtype, seed=k + 10 * zero_is_mistake, device=device, index_dtype=index_dtype)
    got = run_op(op, p, zero_is_mistake=zero_is_mistake, **kw)
    want = run_reference(op, p, zero_is_mistake=zero_is_mistake, **kw)
    assert_matches_reference(op, got, want, f"{op} K={k}")
    # Not vacuous: every output made mistakes at a non-zero z.
    assert torch.all(got[-1] > p["loss"].cpu())


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "op, n, in_features, k",
    # Enough work for two threads (n * in * K >= 2**15): K <= 64 runs the
    # handoff of outputs between the threads (every op), K = 70 two shares of
    # 64 + 6 (the loop the variants share; its reference is the slow one).
    [(op, 600, 20, 3) for op in ONLINE] + [("online_update", 500, 1, 70)],
)
def test_dense_loss_on_threads_equals_reference(op, n, in_features, k, dtype, threads, num_threads):
    assert n * in_features * k >= 2**15
    num_threads(threads)
    p = problem("dense", n, in_features, k, dtype, seed=n + k)
    assert_matches_reference(op, run_op(op, p, zero_is_mistake=True), run_reference(op, p, zero_is_mistake=True))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE)
def test_csr_loss_equals_dense_kernels_on_every_path(op, dtype, index_dtype, threads, num_threads):
    """Every tensor the op writes, the sums included, equal the dense kernel's
    on the same data, on each path of the CPU loop (PATH_SHAPES)."""
    num_threads(threads)
    for s, (n, d, k, density) in enumerate(PATH_SHAPES):
        p = problem("csr", n, d, k, dtype, 50 + s, index_dtype=index_dtype, density=density)
        kw = dict(zero_is_mistake=s % 2 == 1, bias_step=[1.0, 0.01, 0.0][s % 3])
        got = run_op(op, p, **kw)
        assert_all_bits_equal(got, run_op(op, p, fmt="dense", **kw), f"{op} {n}x{d}, K={k}, {threads} thread(s)")
        assert torch.any(got[-1] > p["loss"])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ONLINE)
def test_csr_loss_equals_dense_kernels_on_the_device(op, device):
    for dtype in DTYPES:
        p = problem("csr", 300, 50, 5, dtype, 3, device, index_dtype=torch.int32)
        assert_all_bits_equal(
            run_op(op, p, zero_is_mistake=True), run_op(op, p, fmt="dense", zero_is_mistake=True), f"{op} {dtype}"
        )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE)
def test_chunked_calls_add_up_to_one_call(op, dtype, fmt, device):
    """Continuous data (sums that round): the chunks' calls give the one call's
    bits, since each goes on from the sums the last one left."""
    n, k = 300, 4
    if fmt == "dense":
        p = problem(fmt, n, 7, k, dtype, seed=4, device=device)
        p["x"] = torch.randn(n, 7, generator=gen(4), dtype=torch.float64).to(dtype=dtype, device=device)
    else:
        p = problem(fmt, n, 40, k, dtype, seed=4, device=device)
        p["values"] = torch.randn(p["values"].shape, generator=gen(5), dtype=torch.float64).to(
            dtype=dtype, device=device
        )
    whole = run_op(op, p)
    w, b, sums = p["w"].clone(), p["b"].clone(), p["loss"].clone()
    extra = state(op, w, b)
    for start in range(0, n, 64):
        rows = slice(start, min(start + 64, n))
        op_of(op, fmt)(w, b, *extra, *x_args(p, rows), p["y"][rows], 0.5, sample_weight=p["sw"][rows], loss=sums)
    assert_bits_equal(sums.cpu(), whole[-1], "loss")
    assert_bits_equal(w.cpu(), whole[0], "weight")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("op", ONLINE)
def test_loss_changes_nothing_else(op, fmt):
    """The same bits with loss as without it (CSR: on every path)."""
    cases = (
        [(200, 6, 5, torch.int64, 3, 0.2)]
        if fmt == "dense"
        else [(n, d, k, torch.int32, s, density) for s, (n, d, k, density) in enumerate(PATH_SHAPES[:3])]
    )
    for n, d, k, index_dtype, seed, density in cases:
        p = problem(fmt, n, d, k, torch.float32, seed, index_dtype=index_dtype, density=density)
        with_loss, without = run_op(op, p), run_op(op, p, loss=False)
        assert_all_bits_equal(with_loss[:-1], without[:-1], f"{op} {n}x{d}")


def test_loss_of_correct_samples_is_zero():
    """An output that makes no mistake keeps its sum."""
    x = torch.ones(10, 6)
    y = torch.ones(10, 5)
    w, b = torch.ones(5, 6), torch.ones(5)
    loss = torch.full((5,), 2.5, dtype=torch.float64)
    assert ops.online_update(w, b, x, y, loss=loss).sum() == 0
    assert torch.equal(loss, torch.full((5,), 2.5, dtype=torch.float64))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "third_row, mistakes, total",
    [
        # z: 0 (mistake, loss 0; w=1, b=1), 3 (mistake, loss 3; w=-1, b=0), then
        # x = [1]: -1 (correct), -3 (mistake, loss 3; w=2, b=1);
        (1.0, 3, 6.0),
        # an empty row (0 in the dense form): z = 0 (mistake, loss 0; b=-1), -4
        # (mistake, loss 4).
        (0.0, 4, 7.0),
    ],
)
def test_loss_is_scikit_learns_on_a_hand_made_case(third_row, mistakes, total, fmt):
    """w = 0, b = 0, lr = 1, zero_is_mistake, x = [[1], [2], [third_row],
    [3]]: the loss is |z| at each mistake and nothing at a correct sample."""
    x = torch.tensor([[1.0], [2.0], [third_row], [3.0]], dtype=torch.float64)
    p = dict(
        fmt=fmt,
        d=1,
        x=x,
        y=torch.tensor([1, 0, 0, 1]),
        sw=None,
        w=torch.zeros(1, 1, dtype=torch.float64),
        b=torch.zeros(1, dtype=torch.float64),
        loss=torch.zeros(1, dtype=torch.float64),
    )
    if fmt == "csr":
        csr = x.to_sparse_csr()
        p.update(crow=csr.crow_indices(), col=csr.col_indices(), values=csr.values())
    *_, m, loss = run_op("online_update", p, 1.0, zero_is_mistake=True)
    assert m.tolist() == [mistakes]
    assert loss.tolist() == [total]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("op", ONLINE)
def test_bad_loss_is_rejected_by_name_and_nothing_changes(op, fmt, device):
    p = problem(fmt, 20, 3 if fmt == "dense" else 6, 2, torch.float64, seed=1, device=device)
    cases = [
        (torch.zeros(3, dtype=torch.float64), RuntimeError, r"loss: expected shape \[2\]"),
        (torch.zeros(2, 1, dtype=torch.float64), RuntimeError, r"loss: expected shape \[2\]"),
        (torch.zeros(2, dtype=torch.float32), RuntimeError, r"loss: expected dtype float64"),
        (torch.tensor([0.0, float("nan")], dtype=torch.float64), ValueError, r"loss: expected finite values"),
    ]
    for loss, exc, match in cases:
        assert_rejected_and_nothing_changes(op, p, loss.to(device), exc, match)


def assert_rejected_and_nothing_changes(op, p, loss, exc, match):
    """The op on copies of p's weights, a fresh state and ``loss`` raises
    ``exc`` matching ``match``, and every tensor it writes keeps its bits."""
    w, b = p["w"].clone(), p["b"].clone()
    extra = state(op, w, b)
    before = [bits(t) for t in (w, b, *extra, loss)]
    with pytest.raises(exc, match=match):
        op_of(op, p["fmt"])(w, b, *extra, *x_args(p), p["y"], loss=loss)
    for t, was in zip((w, b, *extra, loss), before):
        assert torch.equal(bits(t), was)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ONLINE)
@pytest.mark.parametrize("fmt, fault", [("dense", "value"), ("csr", "column"), ("csr", "value")])
def test_bad_late_row_restores_the_loss(op, fmt, fault, device):
    """A NaN in the last row, or (CSR) a bad column: weights, state and sums
    as they were, on two threads (CSR: on the feature-major copy, the plain
    op with many non-zeros, and row by row, the variants). (The thread count
    is set here, not by conftest's fixture: the CUDA build check runs this
    file without conftest.)"""
    with torch_threads(2):
        check_bad_late_row(op, fmt, fault, device)


def check_bad_late_row(op, fmt, fault, device):
    if fmt == "dense":
        p = problem(fmt, 80, 64, 8, torch.float64, seed=2, device=device)
        p["x"][-1, 3] = float("nan")
        excs, match = ValueError, "row 79"
    else:
        p = problem(fmt, 800, 64, 8, torch.float64, seed=2, device=device)
        last = int(p["crow"][-2])
        assert int(p["crow"][-1]) > last + 1
        if fault == "column":
            p["col"][last + 1] = p["col"][last]  # not strictly increasing
        else:
            p["values"][last] = float("nan")
        excs, match = (ValueError, IndexError), "row 799|col_indices|values"
    assert_rejected_and_nothing_changes(op, p, p["loss"].clone(), excs, match)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("op", ONLINE)
def test_noncontiguous_loss_is_written_back_and_empty_calls_keep_it(op, fmt):
    d = 4 if fmt == "dense" else 20
    p = problem(fmt, 30 if fmt == "dense" else 60, d, 3, torch.float64, seed=6, index_dtype=torch.int32)
    want = run_op(op, p)[-1]
    base = torch.zeros(6, dtype=torch.float64)
    loss = base[::2]
    loss.copy_(p["loss"])
    version = loss._version
    w, b = p["w"].clone(), p["b"].clone()
    fn = op_of(op, fmt)
    fn(w, b, *state(op, w, b), *x_args(p), p["y"], 0.5, sample_weight=p["sw"], loss=loss)
    assert_bits_equal(loss, want, "loss")
    assert loss._version > version
    assert torch.all(base[1::2] == 0)
    # An empty call adds nothing, and bumps the version (declared written:
    # every op's empty call does, dense or CSR).
    version = loss._version
    fn(w, b, *state(op, w, b), *x_args(p, slice(0, 0)), p["y"][:0], loss=loss)
    assert_bits_equal(loss, want, "loss after an empty call")
    assert loss._version > version


@pytest.fixture
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_compiled_ops_sum_the_loss_as_eager(backend, fmt, device, fresh_dynamo):
    """torch.compile(fullgraph=True) over the three ops with loss: the sums
    (and everything else) as in eager, the sums used by ATen after the ops."""
    p = problem(fmt, 40, 12, 3, torch.float32, seed=8, device=device, index_dtype=torch.int32)
    plain, averaged, pocket = (op_of(op, fmt) for op in ONLINE)

    def epoch(w, b, acc, bacc, count, pw, pb, run, best, l1, l2, l3, y, *x):
        m1 = plain(w, b, *x, y, 0.5, loss=l1)
        m2 = averaged(w, b, acc, bacc, count, *x, y, loss=l2)
        m3 = pocket(w, b, pw, pb, run, best, *x, y, zero_is_mistake=True, loss=l3)
        return m1 + m2 + m3, (l1 + l2 + l3) / 40

    w, b = p["w"], p["b"]
    start = [
        w,
        b,
        *state("online_update_averaged", w, b),
        *state("online_update_pocket", w, b),
        *[torch.zeros(3, dtype=torch.float64, device=device) for _ in range(3)],
    ]
    data = (p["y"], *x_args(p))
    eager = [t.clone() for t in start]
    want = epoch(*eager, *data)
    got_state = [t.clone() for t in start]
    got = torch.compile(epoch, fullgraph=True, backend=backend)(*got_state, *data)
    for a, e in zip(got, want):
        assert_bits_equal(a, e, "result")
    for a, e in zip(got_state, eager):
        assert_bits_equal(a, e, "state")
    assert torch.all(eager[-3] > 0)
