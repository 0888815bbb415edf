"""The online ops' ``loss`` argument: each output's sum of scikit-learn's
perceptron loss ``max(0, -(2y - 1) * z)`` (z before the sample's step), added
in sample order in float64 to what ``loss`` held, against the plain reference
(reference.perceptron_loss). On dyadic data every z and every partial sum is
exact, so the sums must match to the bit: both dtypes, K = 1 and K > 1, one and
two threads (the two-thread handoff and the split into shares), the three
online ops, chunked calls adding up to one call's sum, and a rejected call
leaving it as it was."""

import pytest
import torch

from support import DEVICES, assert_bits_equal, binary_labels, dyadic, dyadic_sample_weight, gen
from torch_perceptron import ops, reference

DTYPES = [torch.float32, torch.float64]
ONLINE = ["online_update", "online_update_averaged", "online_update_pocket"]


def state(op, w, b):
    """The variant's state beside the weights, fresh (averaged: zeros; pocket:
    the weights themselves, runs at zero)."""
    k = w.shape[0]
    zeros = torch.zeros(k, dtype=torch.int64, device=w.device)
    if op == "online_update_averaged":
        return [torch.zeros_like(w), torch.zeros_like(b), zeros]
    if op == "online_update_pocket":
        return [w.clone(), b.clone(), zeros, zeros.clone()]
    return []


def problem(n, in_features, k, dtype, seed, device="cpu"):
    g = gen(seed)
    return dict(
        w=dyadic((k, in_features), g, dtype, device),
        b=dyadic((k,), g, dtype, device),
        x=dyadic((n, in_features), g, dtype, device, bound=4),
        y=binary_labels(n, k, g, device),
        sw=dyadic_sample_weight(n, g, dtype, device),
        # The sums go on from here (dyadic too, so still exact).
        loss=dyadic((k,), g, torch.float64, device).abs(),
    )


def run_op(op, p, rows=slice(None), lr=0.5, **kw):
    """The compiled op on copies of p's state, over x[rows]; returns
    (w, b, state..., mistakes, loss) on the CPU."""
    w, b, loss = p["w"].clone(), p["b"].clone(), p["loss"].clone()
    extra = state(op, p["w"], p["b"])
    m = getattr(ops, op)(w, b, *extra, p["x"][rows], p["y"][rows], lr,
                         sample_weight=p["sw"][rows], loss=loss, **kw)
    return [t.cpu() for t in (w, b, *extra, m, loss)]


def run_reference(op, p, lr=0.5, **kw):
    """The reference rule; its results in run_op's order where they are the
    same quantities (the averaged reference keeps plain sums, not the kernel's
    accumulators, so only w, b, mistakes and loss are compared)."""
    cpu = {name: t.cpu() for name, t in p.items()}
    extra = state(op, cpu["w"], cpu["b"])
    if op == "online_update_averaged":
        extra = [torch.zeros_like(cpu["w"]), torch.zeros_like(cpu["b"]), extra[2]]
    out = getattr(reference, op)(cpu["w"], cpu["b"], *extra, cpu["x"], cpu["y"], lr,
                                 sample_weight=cpu["sw"], loss=cpu["loss"], **kw)
    return out


def assert_matches_reference(op, got, want):
    w, b, *_, m, loss = got
    rw, rb, *rest = want
    rm, rloss = rest[-2], rest[-1]
    assert_bits_equal(m, rm, "mistakes")
    assert_bits_equal(w, rw, "weight")
    assert_bits_equal(b, rb, "bias")
    assert_bits_equal(loss, rloss, "loss")
    if op == "online_update_pocket":
        assert_bits_equal(got[2], rest[0], "pocket_weight")
        assert_bits_equal(got[3], rest[1], "pocket_bias")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE)
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("zero_is_mistake", [False, True])
def test_loss_equals_reference(op, k, dtype, zero_is_mistake, device):
    p = problem(40, 5, k, dtype, seed=k + 10 * zero_is_mistake, device=device)
    got = run_op(op, p, zero_is_mistake=zero_is_mistake)
    want = run_reference(op, p, zero_is_mistake=zero_is_mistake)
    assert_matches_reference(op, got, want)
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
def test_loss_on_threads_equals_reference(op, n, in_features, k, dtype, threads, num_threads):
    assert n * in_features * k >= 2**15
    num_threads(threads)
    p = problem(n, in_features, k, dtype, seed=n + k)
    got = run_op(op, p, zero_is_mistake=True)
    want = run_reference(op, p, zero_is_mistake=True)
    assert_matches_reference(op, got, want)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE)
def test_chunked_calls_add_up_to_one_call(op, dtype, device):
    """Continuous data (sums that round): the chunks' calls give the one call's
    bits, since each goes on from the sums the last one left."""
    g = gen(4)
    n, k = 300, 4
    p = problem(n, 7, k, dtype, seed=4, device=device)
    p["x"] = torch.randn(n, 7, generator=g, dtype=torch.float64).to(dtype=dtype, device=device)
    whole = run_op(op, p)
    w, b, loss = p["w"].clone(), p["b"].clone(), p["loss"].clone()
    extra = state(op, p["w"], p["b"])
    for start in range(0, n, 64):
        rows = slice(start, start + 64)
        getattr(ops, op)(w, b, *extra, p["x"][rows], p["y"][rows], 0.5,
                         sample_weight=p["sw"][rows], loss=loss)
    assert_bits_equal(loss.cpu(), whole[-1], "loss")
    assert_bits_equal(w.cpu(), whole[0], "weight")


@pytest.mark.parametrize("op", ONLINE)
def test_loss_changes_nothing_else(op):
    """The same bits with loss as without it, and the loss of correct samples
    is 0 (an output that makes no mistake keeps its sum)."""
    p = problem(200, 6, 5, torch.float32, seed=3)
    with_loss = run_op(op, p)
    w, b = p["w"].clone(), p["b"].clone()
    extra = state(op, p["w"], p["b"])
    m = getattr(ops, op)(w, b, *extra, p["x"], p["y"], 0.5, sample_weight=p["sw"])
    for got, want in zip(with_loss[:-1], [w, b, *extra, m]):
        assert_bits_equal(got, want)
    x = torch.ones(10, 6)
    y = torch.ones(10, 5)
    w, b = torch.ones(5, 6), torch.ones(5)
    loss = torch.full((5,), 2.5, dtype=torch.float64)
    assert ops.online_update(w, b, x, y, loss=loss).sum() == 0
    assert torch.equal(loss, torch.full((5,), 2.5, dtype=torch.float64))


def test_loss_is_scikit_learns_on_a_hand_made_case():
    """w = 0, b = 0, lr = 1, zero_is_mistake: z = 0, then 2, then -1 ...;
    the loss is |z| at each mistake and nothing at a correct sample."""
    x = torch.tensor([[1.0], [2.0], [1.0], [3.0]], dtype=torch.float64)
    y = torch.tensor([1, 0, 0, 1])
    w, b = torch.zeros(1, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    loss = torch.zeros(1, dtype=torch.float64)
    m = ops.online_update(w, b, x, y, zero_is_mistake=True, loss=loss)
    # z: 0 (mistake, loss 0; w=1, b=1), 3 (mistake, loss 3; w=-1, b=0),
    # -1 (correct), -3 (mistake, loss 3; w=2, b=1).
    assert m.tolist() == [3]
    assert loss.tolist() == [6.0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ONLINE)
def test_bad_loss_is_rejected_by_name_and_nothing_changes(op, device):
    p = problem(20, 3, 2, torch.float64, seed=1, device=device)
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
        extra = state(op, w, b)
        before = [t.clone() for t in (w, b, *extra, loss)]
        with pytest.raises(exc, match=match):
            getattr(ops, op)(w, b, *extra, p["x"], p["y"], loss=loss)
        for t, was in zip((w, b, *extra, loss), before):
            assert torch.equal(t, was) or (t.isnan() == was.isnan()).all()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ONLINE)
def test_bad_late_row_restores_the_loss(op, device):
    # Two threads, set here rather than by conftest's fixture: the CUDA build
    # check runs this file without conftest.
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        p = problem(80, 64, 8, torch.float64, seed=2, device=device)
        p["x"][-1, 3] = float("nan")
        w, b, loss = p["w"].clone(), p["b"].clone(), p["loss"].clone()
        extra = state(op, w, b)
        with pytest.raises(ValueError, match="row 79"):
            getattr(ops, op)(w, b, *extra, p["x"], p["y"], loss=loss)
        assert torch.equal(loss, p["loss"])
    finally:
        torch.set_num_threads(threads)


def test_noncontiguous_loss_is_written_back():
    p = problem(30, 4, 3, torch.float64, seed=6)
    want = run_op("online_update", p)[-1]
    base = torch.zeros(6, dtype=torch.float64)
    loss = base[::2]
    loss.copy_(p["loss"])
    version = loss._version
    ops.online_update(p["w"].clone(), p["b"].clone(), p["x"], p["y"], 0.5,
                      sample_weight=p["sw"], loss=loss)
    assert_bits_equal(loss, want, "loss")
    assert loss._version > version
    assert torch.all(base[1::2] == 0)
