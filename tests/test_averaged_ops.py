"""The averaged perceptron ops against the literal reference (sum the weights
after every sample, divide), across calls, both dtypes, every device, with
their checks. What the averaged and pocket ops promise alike (parity with the
CPU kernels, restores, determinism) is in test_variant_ops.py."""

import pytest
import torch

import torch_perceptron  # noqa: F401  (loads the ops)
from device_support import (
    BIAS_STEPS, assert_same, on, teacher_labels, variant_state, variant_update,
)
from device_support import dyadic as dyadic_values
from support import DEVICES
from torch_perceptron import ops, reference

DTYPES = [torch.float32, torch.float64]


def dyadic(n, d, gen, dtype):
    # Small multiples of 1/4: every sum and product the rule forms is exact in
    # both dtypes, so kernel and reference take the same decisions.
    return (torch.randint(-8, 9, (n, d), generator=gen) / 4).to(dtype)


def zeros_state(k, d, dtype, counters, device="cpu"):
    return (
        torch.zeros(k, d, dtype=dtype, device=device), torch.zeros(k, dtype=dtype, device=device),
        torch.zeros(k, d, dtype=dtype, device=device), torch.zeros(k, dtype=dtype, device=device),
        torch.zeros(counters, dtype=torch.int64, device=device),
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 3, 70])
@pytest.mark.parametrize("zero_is_mistake", [False, True])
def test_online_averaged_matches_literal_average(dtype, k, zero_is_mistake, device):
    gen = torch.Generator().manual_seed(k)
    n, d = 40, 5
    x = dyadic(n, d, gen, dtype)
    y = torch.randint(0, 2, (n, k), generator=gen)
    sw = torch.randint(0, 3, (n,), generator=gen).to(dtype)
    rw, rb, rws, rbs, rc = zeros_state(k, d, dtype, k)
    w, b, wacc, bacc, count = zeros_state(k, d, dtype, k, device)
    plain_w, plain_b = w.clone(), b.clone()
    xd, yd, swd = x.to(device), y.to(device), sw.to(device)
    # Two epochs of two batches each: the average runs over all 160 samples.
    for _ in range(2):
        for part in (slice(0, 17), slice(17, n)):
            m = ops.online_update_averaged(
                w, b, wacc, bacc, count, xd[part], yd[part], 0.5,
                sample_weight=swd[part], zero_is_mistake=zero_is_mistake,
            )
            rw, rb, rws, rbs, rc, rm = reference.online_update_averaged(
                rw, rb, rws, rbs, rc, x[part], y[part], 0.5, sw[part], zero_is_mistake
            )
            pm = ops.online_update(
                plain_w, plain_b, xd[part], yd[part], 0.5,
                sample_weight=swd[part], zero_is_mistake=zero_is_mistake,
            )
            assert torch.equal(m.cpu(), rm) and torch.equal(m, pm)
    assert torch.equal(count.cpu(), rc) and count.tolist() == [2 * n] * k
    # The weights are the plain rule's, bit for bit.
    assert torch.equal(w, plain_w) and torch.equal(b, plain_b)
    assert torch.equal(w.cpu(), rw) and torch.equal(b.cpu(), rb)
    # On dyadic data the sum of the weights over all steps is exact.
    c = count.to(dtype)
    assert torch.equal((c[:, None] * w - wacc).cpu(), rws)
    assert torch.equal((c * b - bacc).cpu(), rbs)
    aw, ab = ops.averaged_parameters(w, b, wacc, bacc, count)
    c = c.cpu()
    torch.testing.assert_close(aw.cpu(), rws / c[:, None])
    torch.testing.assert_close(ab.cpu(), rbs / c)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_averaged_matches_literal_average(dtype, device):
    gen = torch.Generator().manual_seed(0)
    n, d, k = 50, 6, 4
    x = dyadic(n, d, gen, dtype)
    y = torch.randint(0, k, (n,), generator=gen)
    rw, rb, rws, rbs, rc = zeros_state(k, d, dtype, 1)
    w, b, wacc, bacc, count = zeros_state(k, d, dtype, 1, device)
    pw, pb = w.clone(), b.clone()
    xd, yd = x.to(device), y.to(device)
    for _ in range(3):
        m = ops.multiclass_update_averaged(w, b, wacc, bacc, count, xd, yd, 2.0)
        rw, rb, rws, rbs, rc, rm = reference.multiclass_update_averaged(
            rw, rb, rws, rbs, rc, x, y, 2.0
        )
        assert torch.equal(m.cpu(), rm)
        assert torch.equal(m, ops.multiclass_update(pw, pb, xd, yd, 2.0))
    assert count.tolist() == [3 * n] and torch.equal(count.cpu(), rc)
    assert torch.equal(w, pw) and torch.equal(b, pb) and torch.equal(w.cpu(), rw)
    c = count.to(dtype)
    assert torch.equal((c * w - wacc).cpu(), rws) and torch.equal((c * b - bacc).cpu(), rbs)
    aw, ab = ops.averaged_parameters(w, b, wacc, bacc, count)
    c = c.cpu()
    torch.testing.assert_close(aw.cpu(), rws / c)
    torch.testing.assert_close(ab.cpu(), rbs / c)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias_step", BIAS_STEPS)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_averaged_matches_reference(dtype, multiclass, bias_step, device):
    """Against the literal average (the sum of the weights after every
    sample), over two calls; dyadic data keeps every sum exact. A bias_step
    with no exact binary form takes the bias off that grid: the weights, bias
    and mistakes still equal the reference's bit for bit, the bias's sum only
    up to rounding (the accumulator sums other products)."""
    g = torch.Generator().manual_seed(21)
    n, d, k = 60, 5, 3
    x = dyadic_values((n, d), g).to(dtype)
    y = teacher_labels(x, k, g, multiclass)
    sw = torch.randint(0, 3, (n,), generator=g).to(dtype)
    counters = 1 if multiclass else k
    w, b, wacc, bacc, count = (torch.zeros(k, d, dtype=dtype), torch.full((k,), 0.25, dtype=dtype),
                               *variant_state("averaged", k, d, dtype, counters))
    ref = [w, b, wacc, bacc, count]  # weight_sum, bias_sum start at zero too
    state = on(device, w, b, wacc, bacc, count)
    update = variant_update("averaged", multiclass)
    ref_update = getattr(reference, f"{'multiclass' if multiclass else 'online'}_update_averaged")
    extra = () if multiclass else (True,)  # zero_is_mistake
    kw = {} if multiclass else {"zero_is_mistake": True}
    for part in (slice(0, 23), slice(23, n)):
        m = update(*state, x[part].to(device), y[part].to(device), 0.5,
                   sample_weight=sw[part].to(device), bias_step=bias_step, **kw)
        *ref, rm = ref_update(*ref, x[part], y[part], 0.5, sw[part], *extra,
                              bias_step=bias_step)
        assert_same(m, rm)
    assert m.sum() > 0
    rw, rb, rws, rbs, rc = ref
    w, b, wacc, bacc, count = (t.cpu() for t in state)
    assert torch.equal(w, rw) and torch.equal(b, rb) and torch.equal(count, rc)
    assert count.tolist() == [n] * counters
    c = count.to(dtype)
    assert torch.equal(c[:, None] * w - wacc, rws)
    if bias_step in (0.0, 0.5, 1.0):
        assert torch.equal(c * b - bacc, rbs)
    else:
        torch.testing.assert_close(c * b - bacc, rbs)
    if bias_step == 0:
        assert (b == 0.25).all() and (bacc == 0).all()
    else:
        assert (bacc != 0).any()


@pytest.mark.parametrize("device", DEVICES)
def test_gaussian_float64_average_within_rounding(device):
    gen = torch.Generator().manual_seed(3)
    n, d, k = 200, 7, 2
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = (x[:, :k] + 0.3 * torch.randn(n, k, generator=gen, dtype=torch.float64) > 0).long()
    rw, rb, rws, rbs, rc, rm = reference.online_update_averaged(
        *zeros_state(k, d, torch.float64, k), x, y)
    w, b, wacc, bacc, count = zeros_state(k, d, torch.float64, k, device)
    m = ops.online_update_averaged(w, b, wacc, bacc, count, x.to(device), y.to(device))
    assert torch.equal(m.cpu(), rm)
    aw, ab = ops.averaged_parameters(w, b, wacc, bacc, count)
    torch.testing.assert_close(aw.cpu(), rws / n, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ab.cpu(), rbs / n, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_non_contiguous_state_and_x(device):
    gen = torch.Generator().manual_seed(5)
    n, d, k = 30, 4, 3
    x = dyadic(n, 2 * d, gen, torch.float64).to(device)[:, ::2]
    y = torch.randint(0, 2, (n, k), generator=gen).to(device)
    w, b, wacc, bacc, count = zeros_state(k, d, torch.float64, k, device)
    wacc_t = torch.zeros(d, k, dtype=torch.float64, device=device).t()  # a transposed view
    ops.online_update_averaged(w, b, wacc, bacc, count, x.contiguous(), y)
    w2, b2, _, bacc2, count2 = zeros_state(k, d, torch.float64, k, device)
    ops.online_update_averaged(w2, b2, wacc_t, bacc2, count2, x, y)
    assert torch.equal(w, w2) and torch.equal(wacc, wacc_t) and torch.equal(count, count2)


@pytest.mark.parametrize("device", DEVICES)
def test_empty_batch_counts_nothing(device):
    w, b, wacc, bacc, count = zeros_state(2, 3, torch.float32, 2, device)
    m = ops.online_update_averaged(
        w, b, wacc, bacc, count, torch.zeros(0, 3, device=device), torch.zeros(0, 2, device=device)
    )
    assert m.tolist() == [0, 0] and count.tolist() == [0, 0]
    aw, ab = ops.averaged_parameters(w, b, wacc, bacc, count)
    assert torch.equal(aw, w) and torch.equal(ab, b)


def _snapshot(*ts):
    return [t.clone() for t in ts]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "field, bad, message",
    [
        ("wacc", torch.zeros(3, 4), "weight_acc: expected shape"),
        ("wacc", torch.zeros(2, 3, dtype=torch.float64), "weight_acc: expected dtype"),
        ("bacc", torch.zeros(3), "bias_acc: expected shape"),
        ("count", torch.zeros(2), "count: expected dtype int64"),
        ("count", torch.zeros(1, dtype=torch.int64), "count: expected shape"),
        ("count", torch.full((2,), -1, dtype=torch.int64), "count: expected values >= 0"),
        ("wacc", torch.full((2, 3), float("nan")), "weight_acc: expected finite"),
    ],
)
def test_bad_state_is_rejected_before_any_write(field, bad, message, device):
    state = dict(zip(["w", "b", "wacc", "bacc", "count"],
                     zeros_state(2, 3, torch.float32, 2, device)))
    state["w"] += 0.5
    state[field] = bad.to(device)
    before = _snapshot(*state.values())
    x = torch.ones(4, 3, device=device)
    y = torch.ones(4, 2, device=device)
    with pytest.raises((RuntimeError, ValueError), match=message):
        ops.online_update_averaged(*state.values(), x, y)
    for t, s in zip(state.values(), before):
        assert torch.equal(t, s) or (t.isnan().all() and s.isnan().all())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("multiclass", [False, True])
def test_non_finite_x_restores_every_state_tensor(multiclass, device):
    k, d = 3, 4
    w, b, wacc, bacc, _ = zeros_state(k, d, torch.float64, k, device)
    count = torch.zeros(1 if multiclass else k, dtype=torch.int64, device=device)
    x = (torch.arange(24, dtype=torch.float64).reshape(6, d) - 10).to(device)
    y = (torch.tensor([0, 1, 2, 0, 1, 2]) if multiclass
         else torch.eye(k)[[0, 1, 2, 0, 1, 2]]).to(device)
    update = ops.multiclass_update_averaged if multiclass else ops.online_update_averaged
    update(w, b, wacc, bacc, count, x, y)  # some history in every tensor
    before = _snapshot(w, b, wacc, bacc, count)
    x_bad = x.clone()
    x_bad[4, 1] = float("inf")
    with pytest.raises(ValueError, match="row 4"):
        update(w, b, wacc, bacc, count, x_bad, y)
    for t, s in zip((w, b, wacc, bacc, count), before):
        assert torch.equal(t, s)


@pytest.mark.parametrize("device", DEVICES)
def test_requires_grad_builds_no_graph(device):
    w, b, wacc, bacc, count = zeros_state(1, 2, torch.float32, 1, device)
    x = torch.ones(3, 2, device=device, requires_grad=True)
    m = ops.online_update_averaged(w, b, wacc, bacc, count, x, torch.ones(3, device=device))
    assert m.grad_fn is None and not w.requires_grad


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("multiclass", [False, True])
def test_bias_step_zero_keeps_bias(multiclass, device):
    gen = torch.Generator().manual_seed(9)
    n, d, k = 40, 4, 3
    x = dyadic(n, d, gen, torch.float64)
    if multiclass:
        y = torch.randint(0, k, (n,), generator=gen)
        state = list(zeros_state(k, d, torch.float64, 1))
        update, ref = ops.multiclass_update_averaged, reference.multiclass_update_averaged
        kw = {}
    else:
        y = torch.randint(0, 2, (n, k), generator=gen)
        state = list(zeros_state(k, d, torch.float64, k))
        update, ref = ops.online_update_averaged, reference.online_update_averaged
        kw = {"zero_is_mistake": True}
    state[1] += 0.25  # a fixed, non-zero bias stays as it is
    rw, rb, rws, rbs, rc, rm = ref(*state, x, y, 1.0, None,
                                   *kw.values(), bias_step=0.0)
    w, b, wacc, bacc, count = on(device, *state)
    m = update(w, b, wacc, bacc, count, x.to(device), y.to(device), **kw, bias_step=0.0)
    assert torch.equal(m.cpu(), rm) and m.sum() > 0
    assert torch.equal(w.cpu(), rw) and torch.equal(b.cpu(), rb) and (b == 0.25).all()
    assert (bacc == 0).all()
    c = count.to(w.dtype).reshape(-1, 1)
    assert torch.equal((c * w - wacc).cpu(), rws)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("multiclass", [False, True])
def test_layer_average_predicts_with_averaged_weights(multiclass, device):
    from torch_perceptron import PerceptronLayer

    gen = torch.Generator().manual_seed(11)
    x = dyadic(60, 4, gen, torch.float64).to(device)
    k = 3
    y = (torch.randint(0, k, (60,), generator=gen) if multiclass else torch.randint(
        0, 2, (60, k), generator=gen
    )).to(device)
    layer = PerceptronLayer(4, k, multiclass=multiclass, average=True, dtype=torch.float64,
                            device=device)
    layer.update(x, y)
    layer.update(x, y)
    aw, ab = ops.averaged_parameters(
        layer.weight, layer.bias, layer.weight_acc, layer.bias_acc, layer.average_count
    )
    torch.testing.assert_close(layer.decision_function(x), x @ aw.T + ab)
    assert not torch.equal(aw, layer.weight)
    clone = PerceptronLayer(4, k, multiclass=multiclass, average=True, dtype=torch.float64,
                            device=device)
    clone.load_state_dict(layer.state_dict())
    assert torch.equal(clone(x), layer(x))
    assert "average=True" in repr(layer)
    layer.reset_parameters()
    assert layer.average_count.sum() == 0 and (layer.weight_acc == 0).all()
    with pytest.raises(ValueError, match="average and pocket"):
        PerceptronLayer(4, k, average=True, pocket=True)
    with pytest.raises(ValueError, match="only the 'online' rule"):
        layer.update(x, y, rule="batch")


@pytest.mark.parametrize("device", DEVICES)
def test_layer_pocket_predicts_with_pocket_weights(device):
    from torch_perceptron import PerceptronLayer

    gen = torch.Generator().manual_seed(12)
    x = dyadic(80, 4, gen, torch.float32).to(device)
    y = torch.randint(0, 2, (80, 1), generator=gen).to(device)
    layer = PerceptronLayer(4, 1, pocket=True, device=device)
    for _ in range(3):
        layer.update(x, y)
    assert torch.equal(layer(x), ops.predict(x, layer.pocket_weight, layer.pocket_bias))
    assert set(layer.state_dict()) >= {"pocket_weight", "pocket_bias", "pocket_run",
                                       "pocket_best_run"}
