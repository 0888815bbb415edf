"""The online ops' ``order`` argument: the rows of x, y and sample_weight that
a call visits, one order for every output ([M]) or one per output ([K, M]).

Its meaning is the call on the gathered rows (``x[order]``, output by output
for [K, M]), so every result is held to that, bit for bit, on continuous data
(sums that round): the same arithmetic in the same order, only read through the
order. And to the plain reference on dyadic data. Both dtypes, the three online
ops, sample weights, loss, one and two threads, an epoch cut into chunks, and
every rejected order leaving every tensor as it was."""

import pytest
import torch

from order_cases import assert_all_equal, bad_orders, on_gathered_rows, orders
from order_cases import fresh_state as state
from support import DEVICES, assert_bits_equal, binary_labels, dyadic, dyadic_sample_weight, gen
from torch_perceptron import ops, reference

DTYPES = [torch.float32, torch.float64]
ONLINE = ["online_update", "online_update_averaged", "online_update_pocket"]


def problem(n, in_features, k, dtype, seed, device="cpu", exact=False):
    g = gen(seed)
    if exact:
        x = dyadic((n, in_features), g, dtype, device, bound=4)
    else:
        x = torch.randn(n, in_features, generator=g, dtype=torch.float64).to(dtype=dtype,
                                                                              device=device)
    return dict(
        w=dyadic((k, in_features), g, dtype, device),
        b=dyadic((k,), g, dtype, device),
        x=x,
        y=binary_labels(n, k, g, device),
        sw=dyadic_sample_weight(n, g, dtype, device),
        loss=dyadic((k,), g, torch.float64, device).abs(),
        g=g,
    )


def call(op, p, order, lr=0.5, **kw):
    """The op with ``order`` on copies of p's state; (w, b, state..., mistakes, loss)."""
    w, b, loss = p["w"].clone(), p["b"].clone(), p["loss"].clone()
    extra = state(op, w, b)
    m = getattr(ops, op)(w, b, *extra, p["x"], p["y"], lr, sample_weight=p["sw"], loss=loss,
                         order=order, **kw)
    return [t.cpu() for t in (w, b, *extra, m, loss)]


def gathered(op, p, order, lr=0.5, **kw):
    """The same call without ``order``: the rows gathered, output by output
    for one order per output."""
    def one_call(rows, outputs):
        w, b, loss = (p[name][outputs].clone() for name in ("w", "b", "loss"))
        extra = state(op, w, b)
        m = getattr(ops, op)(w, b, *extra, p["x"][rows], p["y"][rows][:, outputs], lr,
                             sample_weight=p["sw"][rows], loss=loss, **kw)
        return [t.cpu() for t in (w, b, *extra, m, loss)]

    return on_gathered_rows(order, one_call)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE)
@pytest.mark.parametrize("kind", ["perm", "per_output", "draws"])
@pytest.mark.parametrize("k", [1, 5])
def test_order_is_the_call_on_the_gathered_rows(op, kind, k, dtype, device):
    p = problem(150, 9, k, dtype, seed=k + 7 * len(kind), device=device)
    order = orders(150, k, kind, p["g"], device)
    got = call(op, p, order, zero_is_mistake=True)
    assert_all_equal(got, gathered(op, p, order, zero_is_mistake=True))
    # Not vacuous: the rows are visited in another order than the data's, and
    # that changes the result.
    plain = call(op, p, None, zero_is_mistake=True)
    assert not torch.equal(got[0], plain[0])


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE)
@pytest.mark.parametrize("kind", ["perm", "per_output"])
def test_order_on_threads_is_the_gathered_call(op, kind, dtype, threads, num_threads):
    """Enough work for two threads: [N] orders hand outputs over between
    them (from 2**15 multiply-adds a call), [K, N] orders let the threads
    claim outputs one at a time (from 2**22)."""
    num_threads(threads)
    n, in_features, k = 2100, 200, 10
    assert n * in_features * k >= 2**22
    p = problem(n, in_features, k, dtype, seed=threads + 3 * len(kind))
    order = orders(n, k, kind, p["g"], "cpu")
    assert_all_equal(call(op, p, order), gathered(op, p, order))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE)
@pytest.mark.parametrize("kind", ["perm", "draws"])
def test_order_equals_reference(op, kind, dtype, device):
    p = problem(40, 5, 3, dtype, seed=len(kind), device=device, exact=True)
    order = orders(40, 3, kind, p["g"], device)
    got = call(op, p, order)
    cpu = {name: t.cpu() for name, t in p.items() if name != "g"}
    extra = state(op, cpu["w"], cpu["b"])
    if op == "online_update_averaged":  # the reference keeps plain sums
        extra = [torch.zeros_like(cpu["w"]), torch.zeros_like(cpu["b"]), extra[2]]
    want = getattr(reference, op)(cpu["w"], cpu["b"], *extra, cpu["x"], cpu["y"], 0.5,
                                  sample_weight=cpu["sw"], loss=cpu["loss"],
                                  order=order.cpu())
    assert_bits_equal(got[0], want[0], "weight")
    assert_bits_equal(got[1], want[1], "bias")
    assert_bits_equal(got[-2], want[-2], "mistakes")
    assert_bits_equal(got[-1], want[-1], "loss")
    if op == "online_update_pocket":
        assert_bits_equal(got[2], want[2], "pocket_weight")
    if op == "online_update_averaged":
        assert_bits_equal(got[4], want[4], "count")
        # The average of the weights after every visit: the kernel's
        # accumulator against the reference's plain sums.
        avg_w, _ = ops.averaged_parameters(*got[:5])
        assert torch.allclose(avg_w, want[2] / want[4].to(dtype)[:, None])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ONLINE)
def test_chunks_of_an_order_add_up_to_one_call(op, device):
    """An epoch's order cut into chunks, one call each, gives the one call's
    bits: weights, variant state, loss, mistakes summed."""
    n, k = 300, 4
    p = problem(n, 7, k, torch.float32, seed=5, device=device)
    order = orders(n, k, "per_output", p["g"], device)
    whole = call(op, p, order)
    w, b, loss = p["w"].clone(), p["b"].clone(), p["loss"].clone()
    extra = state(op, w, b)
    mistakes = 0
    for start in range(0, n, 64):
        mistakes = mistakes + getattr(ops, op)(
            w, b, *extra, p["x"], p["y"], 0.5, sample_weight=p["sw"], loss=loss,
            order=order[:, start : start + 64])
    assert_all_equal([t.cpu() for t in (w, b, *extra, mistakes, loss)], whole)


@pytest.mark.parametrize("op", ONLINE)
def test_order_with_non_contiguous_inputs(op):
    p = problem(120, 6, 3, torch.float64, seed=9)
    order = orders(120, 3, "per_output", p["g"], "cpu")
    want = call(op, p, order)
    p["x"] = p["x"].t().contiguous().t()
    p["y"] = p["y"].t().contiguous().t()
    strided = torch.stack([order, order], dim=2)[..., 0]
    assert not strided.is_contiguous() and torch.equal(strided, order)
    assert_all_equal(call(op, p, strided), want)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ONLINE)
def test_bad_order_is_rejected_by_name_and_nothing_changes(op, device):
    p = problem(20, 3, 2, torch.float64, seed=1, device=device)
    cases = bad_orders(20, 2, device)
    for order, exc, match in cases:
        w, b, loss = p["w"].clone(), p["b"].clone(), p["loss"].clone()
        extra = state(op, w, b)
        before = [t.clone() for t in (w, b, *extra, loss)]
        with pytest.raises(exc, match=match):
            getattr(ops, op)(w, b, *extra, p["x"], p["y"], loss=loss, order=order)
        for t, was in zip((w, b, *extra, loss), before):
            assert torch.equal(t, was)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ONLINE)
def test_non_finite_row_visited_late_restores_everything(op, device):
    """A NaN row of x is found when an order visits it (the row named is x's),
    after other outputs may have run to the end: everything is put back."""
    p = problem(80, 64, 8, torch.float64, seed=2, device=device)
    p["x"][17, 3] = float("nan")
    order = torch.stack([torch.cat([torch.arange(18, 80), torch.arange(0, 18)])] * 8)
    order = order.to(device)
    w, b, loss = p["w"].clone(), p["b"].clone(), p["loss"].clone()
    extra = state(op, w, b)
    before = [t.clone() for t in (w, b, *extra, loss)]
    with pytest.raises(ValueError, match="row 17"):
        getattr(ops, op)(w, b, *extra, p["x"], p["y"], loss=loss, order=order)
    for t, was in zip((w, b, *extra, loss), before):
        assert torch.equal(t, was)
    # A row the order never visits is never read.
    skip = order[:, :62]
    getattr(ops, op)(w, b, *extra, p["x"], p["y"], loss=loss, order=skip)
    assert torch.isfinite(w).all()


def test_empty_order_visits_nothing():
    p = problem(10, 3, 2, torch.float64, seed=3)
    got = call("online_update", p, torch.zeros(2, 0, dtype=torch.int64))
    assert torch.equal(got[0], p["w"]) and got[-2].tolist() == [0, 0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_compiled_epochs_with_orders_match_eager(backend, device):
    """torch.compile(fullgraph=True) over an epoch that makes its order with
    ATen (argsort of random keys, per output) and hands it to the op."""

    def epoch(w, b, x, y, keys, loss):
        order = keys.argsort(dim=1)
        m = torch.ops.torch_perceptron.online_update(w, b, x, y, 0.5, None, True, 1.0, loss,
                                                     order)
        return m * 2, order[:, :3]

    torch._dynamo.reset()
    try:
        p = problem(48, 5, 3, torch.float32, seed=4, device=device)
        keys = torch.rand(3, 48, generator=p["g"]).to(device)
        eager = [p["w"].clone(), p["b"].clone(), p["loss"].clone()]
        want = epoch(eager[0], eager[1], p["x"], p["y"], keys, eager[2])
        state = [p["w"].clone(), p["b"].clone(), p["loss"].clone()]
        got = torch.compile(epoch, fullgraph=True, backend=backend)(
            state[0], state[1], p["x"], p["y"], keys, state[2])
        for a, b in zip([*got, *state], [*want, *eager]):
            assert_bits_equal(a, b)
        assert want[0].sum() > 0
    finally:
        torch._dynamo.reset()
