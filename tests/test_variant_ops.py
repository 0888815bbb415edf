"""The averaged and pocket ops, on every device. What both variants promise
alike: on a device other than the CPU their mistakes, weights and state equal
the CPU kernels' (bit for bit on dyadic data, within rounding on Gaussian
float64 data); on every device a non-finite row restores every tensor,
repeated runs give the same bits and an empty batch changes nothing. Then
each against the literal reference (averaged: the sum of the weights after
every sample, divided; pocket: the weights of the longest run), across calls,
both dtypes, with their checks. (Their CSR forms: test_plain_rule_ops.py.)
"""

import pytest
import torch

from device_support import (
    BIAS_STEPS,
    DTYPES,
    MULTICLASS_SHAPES,
    ONLINE_SHAPES,
    VARIANTS,
    assert_all_same,
    assert_same,
    binary_labels,
    dyadic,
    on,
    params_on,
    start_weights,
    teacher_labels,
    variant_state,
    variant_update,
)
from support import ACCELERATORS, DEVICES
from torch_perceptron import ops, reference


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "multiclass, n, d, k", [(False, *s) for s in ONLINE_SHAPES] + [(True, *s) for s in MULTICLASS_SHAPES]
)
def test_variant_matches_cpu_on_dyadic_data(multiclass, n, d, k, dtype, variant, device):
    g = torch.Generator().manual_seed(n * 1000 + d * 10 + k + (2 if multiclass else 1))
    x = dyadic((n, d), g).to(dtype)
    y = teacher_labels(x, k, g, multiclass=multiclass)
    w, b = start_weights(k, d, dtype, g)
    counters = 1 if multiclass else k
    cpu = [w, b, *variant_state(variant, k, d, dtype, counters, g)]
    dev = on(device, *cpu)
    x_dev, y_dev = on(device, x, y)
    update = variant_update(variant, multiclass=multiclass)
    # Two calls: the state carries over from one to the next.
    for part in (slice(0, n // 3), slice(n // 3, n)):
        m_cpu = update(*cpu, x[part], y[part], 0.5)
        m_dev = update(*dev, x_dev[part], y_dev[part], 0.5)
        assert m_dev.device.type == device and m_dev.shape == (counters,)
        assert_same(m_dev, m_cpu)
    assert_all_same(dev, cpu, device)


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("bias_step", BIAS_STEPS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_options_match_cpu(variant, multiclass, dtype, bias_step, device):
    """Small integers and zero weights: many decision values are exactly 0 (and
    many multiclass ties); sample weights include 0."""
    g = torch.Generator().manual_seed(23)
    n, d, k = 300, 9, 3
    x = torch.randint(-1, 2, (n, d), generator=g).to(dtype)
    y = torch.randint(0, k, (n,), generator=g) if multiclass else binary_labels(n, k, g)
    sw = torch.randint(0, 5, (n,), generator=g).to(dtype) / 2
    counters = 1 if multiclass else k
    cpu = [torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype), *variant_state(variant, k, d, dtype, counters)]
    dev = on(device, *cpu)
    update = variant_update(variant, multiclass)
    for zero_is_mistake in [False] if multiclass else [False, True]:
        kw = {} if multiclass else {"zero_is_mistake": zero_is_mistake}
        m_cpu = update(*cpu, x, y, 0.25, sample_weight=sw, bias_step=bias_step, **kw)
        m_dev = update(*dev, x.to(device), y.to(device), 0.25, sample_weight=sw.to(device), bias_step=bias_step, **kw)
        assert_same(m_dev, m_cpu)
        assert_all_same(dev, cpu, device)
    if bias_step == 0:
        assert (dev[1] == 0).all()


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_matches_cpu_on_gaussian_float64(variant, multiclass, device):
    g = torch.Generator().manual_seed(24)
    n, d, k = 800, 40, 6
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = teacher_labels(x, k, g, multiclass)
    w, b = start_weights(k, d, torch.float64, g, dyadic_values=False)
    cpu = [w, b, *variant_state(variant, k, d, torch.float64, 1 if multiclass else k)]
    dev = on(device, *cpu)
    update = variant_update(variant, multiclass)
    for part in (slice(0, 300), slice(300, n)):
        m_cpu = update(*cpu, x[part], y[part], 0.1)
        m_dev = update(*dev, x[part].to(device), y[part].to(device), 0.1)
        assert_same(m_dev, m_cpu)
    assert_all_same(dev, cpu, device, exact=False)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_non_contiguous(variant, multiclass, dtype, device):
    """Strided x and labels, and every weight and state tensor a view: the
    kernel works on contiguous copies and must write back into the views."""
    g = torch.Generator().manual_seed(25)
    n, d, k = 400, 12, 5
    counters = 1 if multiclass else k
    x_wide = dyadic((n, 2 * d), g).to(dtype)
    y = teacher_labels(x_wide[:, ::2], k, g, multiclass)
    w, b = start_weights(k, d, dtype, g)
    cpu = [w, b, *variant_state(variant, k, d, dtype, counters, g)]
    expected = [t.clone() for t in cpu]
    m_expected = variant_update(variant, multiclass)(*expected, x_wide[:, ::2].contiguous(), y)

    def view_of(t):
        # A [K, in] tensor stored transposed, a 1-D tensor every other element.
        if t.dim() == 2:
            return t.t().contiguous().to(device).t()
        return torch.stack([t, torch.zeros_like(t)], 1).to(device)[:, 0]

    views = [view_of(t) for t in cpu]
    # (A one-element tensor counts as contiguous whatever its stride.)
    assert not any(v.is_contiguous() for v in views if v.numel() > 1)
    y_dev = y.to(device) if multiclass else y.t().contiguous().to(device).t()  # stored [K, N]
    m_dev = variant_update(variant, multiclass)(*views, x_wide.to(device)[:, ::2], y_dev)
    assert_same(m_dev, m_expected)
    assert_all_same(views, expected, device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_non_finite_late_row_restores_every_tensor(variant, multiclass, dtype, bad, device):
    g = torch.Generator().manual_seed(26)
    n, d, k, row = 2000, 16, 4, 1500
    counters = 1 if multiclass else k
    x = dyadic((n, d), g).to(dtype)
    y = teacher_labels(x, k, g, multiclass)
    w, b = start_weights(k, d, dtype, g)
    state = on(device, w, b, *variant_state(variant, k, d, dtype, counters, g))
    update = variant_update(variant, multiclass)
    update(*state, x[:500].to(device), y[:500].to(device))  # some history in every tensor
    before = [t.clone() for t in state]
    x_bad = x.clone()
    x_bad[row, 3] = bad
    with pytest.raises(ValueError, match=rf"x: .*row {row}\b"):
        update(*state, x_bad.to(device), y.to(device))
    for t, s in zip(state, before):
        assert torch.equal(t, s)
    # The call before the bad row would have changed the state: the restore
    # undid real updates.
    update(*state, x[:row].to(device), y[:row].to(device))
    assert not all(torch.equal(t, s) for t, s in zip(state, before))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_deterministic(variant, multiclass, dtype, device):
    g = torch.Generator().manual_seed(27)
    n, d, k = 3000, 300, 7
    x = torch.randn(n, d, generator=g, dtype=torch.float64).to(dtype)
    y = teacher_labels(x, k, g, multiclass, noise=0.2).to(device)
    x = x.to(device)
    counters = 1 if multiclass else k
    update = variant_update(variant, multiclass)
    outcomes = []
    for _ in range(4):
        state = on(
            device,
            torch.zeros(k, d, dtype=dtype),
            torch.zeros(k, dtype=dtype),
            *variant_state(variant, k, d, dtype, counters),
        )
        m = update(*state, x, y, 0.3)
        outcomes.append([m.cpu()] + [t.cpu() for t in state])
    for outcome in outcomes[1:]:
        for got, want in zip(outcome, outcomes[0]):
            assert torch.equal(got, want)


@pytest.mark.parametrize("device", DEVICES)
def test_variant_empty_batch_changes_nothing(device):
    for variant in VARIANTS:
        for multiclass in (False, True):
            k, d = 3, 4
            w, b = params_on(device, k, d)
            g = torch.Generator().manual_seed(28)
            state = [w, b, *on(device, *variant_state(variant, k, d, torch.float32, 1 if multiclass else k, g))]
            before = [t.clone() for t in state]
            y = torch.zeros(0, dtype=torch.long, device=device) if multiclass else torch.zeros(0, k, device=device)
            m = variant_update(variant, multiclass)(*state, torch.zeros(0, d, device=device), y)
            assert m.device.type == device and (m == 0).all()
            for t, s in zip(state, before):
                assert torch.equal(t, s)


def _bad_variant_calls():
    """(message, variant, multiclass, index of the state tensor to replace, the
    replacement, built from the valid one)."""
    yield "weight_acc: expected dtype", "averaged", False, 2, lambda t: t.double()
    yield "weight_acc: expected device", "averaged", False, 2, lambda t: t.cpu()
    yield "bias_acc: expected shape", "averaged", True, 3, lambda t: t[:2]
    yield "count: expected device", "averaged", False, 4, lambda t: t.cpu()
    yield "count: expected shape", "averaged", True, 4, lambda t: t.repeat(2)
    yield "count: expected values >= 0", "averaged", False, 4, lambda t: t - 100
    yield "weight_acc: expected finite", "averaged", True, 2, lambda t: t.fill_(float("nan"))
    yield "pocket_weight: expected device", "pocket", False, 2, lambda t: t.cpu()
    yield "pocket_bias: expected dtype", "pocket", True, 3, lambda t: t.double()
    yield "run: expected dtype int64", "pocket", False, 4, lambda t: t.int()
    yield "best_run: expected device", "pocket", True, 5, lambda t: t.cpu()
    yield "best_run: expected values >= 0", "pocket", False, 5, lambda t: t - 100
    yield "y: expected device", "pocket", False, None, None
    yield "x: expected device", "averaged", True, None, None


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize(
    "message,variant,multiclass,index,replace", list(_bad_variant_calls()), ids=[c[0] for c in _bad_variant_calls()]
)
def test_variant_bad_inputs(message, variant, multiclass, index, replace, device):
    """Every input is checked before any write: a rejected call leaves every
    tensor as it was."""
    k, d = 3, 4
    g = torch.Generator().manual_seed(29)
    w, b = params_on(device, k, d)
    state = [w, b, *on(device, *variant_state(variant, k, d, torch.float32, 1 if multiclass else k, g))]
    x = dyadic((6, d), g).float().to(device)
    y = (torch.randint(0, k, (6,), generator=g) if multiclass else binary_labels(6, k, g)).to(device)
    if index is not None:
        state[index] = replace(state[index].clone())
    elif message.startswith("y"):
        y = y.cpu()
    else:
        x = x.cpu()
    before = [t.clone() for t in state]
    with pytest.raises((ValueError, RuntimeError), match=message):
        variant_update(variant, multiclass)(*state, x, y)
    for t, s in zip(state, before):
        assert torch.equal(t, s) or (t.isnan().all() and s.isnan().all())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias_step", [float("nan"), float("inf")])
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_rejects_non_finite_bias_step(variant, multiclass, bias_step, device):
    g = torch.Generator().manual_seed(25)
    n, d, k = 20, 4, 3
    x = dyadic((n, d), g)
    y = torch.randint(0, k, (n,), generator=g) if multiclass else binary_labels(n, k, g)
    state = on(
        device,
        *start_weights(k, d, torch.float64, g),
        *variant_state(variant, k, d, torch.float64, 1 if multiclass else k),
    )
    before = [t.clone() for t in state]
    with pytest.raises(ValueError, match="bias_step: expected a finite value"):
        variant_update(variant, multiclass)(*state, x.to(device), y.to(device), bias_step=bias_step)
    for t, was in zip(state, before):
        assert torch.equal(t, was)


# ------------------------------------------- each variant against the literal
# reference: the averaged ops sum the weights after every sample and divide;
# the pocket ops keep the weights of the longest run of correct samples.


def zeros_state(variant, k, d, dtype, counters, device="cpu"):
    """Zero weight, bias and state: averaged (weight_acc, bias_acc, count) or
    pocket (pocket_weight, pocket_bias, run, best_run)."""

    def floats():
        return [torch.zeros(k, d, dtype=dtype, device=device), torch.zeros(k, dtype=dtype, device=device)]

    ints = [torch.zeros(counters, dtype=torch.int64, device=device) for _ in range(1 if variant == "averaged" else 2)]
    return [*floats(), *floats(), *ints]


def noisy_labels(x, k, gen):
    # Not separable: a linear rule with 15 % of the labels flipped.
    clean = (x[:, :k] + x[:, k : 2 * k] > 0).long()
    flip = torch.rand(clean.shape, generator=gen) < 0.15
    return clean ^ flip.long()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 3, 70])
@pytest.mark.parametrize("zero_is_mistake", [False, True])
def test_online_averaged_matches_literal_average(dtype, k, zero_is_mistake, device):
    gen = torch.Generator().manual_seed(k)
    n, d = 40, 5
    x = dyadic((n, d), gen).to(dtype)
    y = torch.randint(0, 2, (n, k), generator=gen)
    sw = torch.randint(0, 3, (n,), generator=gen).to(dtype)
    rw, rb, rws, rbs, rc = zeros_state("averaged", k, d, dtype, k)
    w, b, wacc, bacc, count = zeros_state("averaged", k, d, dtype, k, device)
    plain_w, plain_b = w.clone(), b.clone()
    xd, yd, swd = x.to(device), y.to(device), sw.to(device)
    # Two epochs of two batches each: the average runs over all 160 samples.
    for _ in range(2):
        for part in (slice(0, 17), slice(17, n)):
            batch = (xd[part], yd[part], 0.5)
            kw = dict(sample_weight=swd[part], zero_is_mistake=zero_is_mistake)
            m = ops.online_update_averaged(w, b, wacc, bacc, count, *batch, **kw)
            rw, rb, rws, rbs, rc, rm = reference.online_update_averaged(
                rw, rb, rws, rbs, rc, x[part], y[part], 0.5, sw[part], zero_is_mistake
            )
            pm = ops.online_update(plain_w, plain_b, *batch, **kw)
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
    x = dyadic((n, d), gen).to(dtype)
    y = torch.randint(0, k, (n,), generator=gen)
    rw, rb, rws, rbs, rc = zeros_state("averaged", k, d, dtype, 1)
    w, b, wacc, bacc, count = zeros_state("averaged", k, d, dtype, 1, device)
    pw, pb = w.clone(), b.clone()
    xd, yd = x.to(device), y.to(device)
    for _ in range(3):
        m = ops.multiclass_update_averaged(w, b, wacc, bacc, count, xd, yd, 2.0)
        rw, rb, rws, rbs, rc, rm = reference.multiclass_update_averaged(rw, rb, rws, rbs, rc, x, y, 2.0)
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
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 3, 70])
@pytest.mark.parametrize("zero_is_mistake", [False, True])
def test_online_pocket_matches_reference(dtype, k, zero_is_mistake, device):
    gen = torch.Generator().manual_seed(k + 10)
    n, d = 60, 2 * k + 1
    x = dyadic((n, d), gen).to(dtype)
    y = noisy_labels(x, k, gen)
    state = zeros_state("pocket", k, d, dtype, k, device)
    ref = [t.cpu().clone() for t in state]
    plain_w, plain_b = state[0].clone(), state[1].clone()
    xd, yd = x.to(device), y.to(device)
    for _ in range(3):
        for part in (slice(0, 25), slice(25, n)):
            m = ops.online_update_pocket(*state, xd[part], yd[part], 0.5, zero_is_mistake=zero_is_mistake)
            *ref, rm = reference.online_update_pocket(*ref, x[part], y[part], 0.5, None, zero_is_mistake)
            pm = ops.online_update(plain_w, plain_b, xd[part], yd[part], 0.5, zero_is_mistake=zero_is_mistake)
            assert torch.equal(m.cpu(), rm) and torch.equal(m, pm)
    for got, want in zip(state, ref):
        assert torch.equal(got.cpu(), want)
    assert torch.equal(state[0], plain_w) and torch.equal(state[1], plain_b)
    assert (state[5] > 0).all()  # some run was recorded for every output


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_pocket_matches_reference(dtype, device):
    n, d, k = 80, 5, 3
    gen = torch.Generator().manual_seed(4)
    x = dyadic((n, d), gen).to(dtype)
    y = torch.where(torch.rand(n, generator=gen) < 0.2, torch.randint(0, k, (n,), generator=gen), x[:, :k].argmax(1))
    sw = torch.randint(1, 3, (n,), generator=gen).to(dtype)
    state = zeros_state("pocket", k, d, dtype, 1, device)
    ref = [t.cpu().clone() for t in state]
    xd, yd, swd = x.to(device), y.to(device), sw.to(device)
    for _ in range(4):
        m = ops.multiclass_update_pocket(*state, xd, yd, sample_weight=swd)
        *ref, rm = reference.multiclass_update_pocket(*ref, x, y, 1.0, sw)
        assert torch.equal(m.cpu(), rm)
    for got, want in zip(state, ref):
        assert torch.equal(got.cpu(), want)
    assert state[5].item() > 0


# (seed, N, label noise, lowest sample weight, the two calls' cut, epochs).
REFERENCE_RUNS = {"averaged": (21, 60, 0.1, 0, 23, 1), "pocket": (22, 80, 0.15, 1, 30, 2)}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias_step", BIAS_STEPS)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_matches_reference(variant, dtype, multiclass, bias_step, device):
    """Against the literal reference over calls; dyadic data keeps every sum
    exact. Averaged: a bias_step with no exact binary form takes the bias off
    that grid: the weights, bias and mistakes still equal the reference's bit
    for bit, the bias's sum only up to rounding (the accumulator sums other
    products)."""
    seed, n, noise, low, cut, epochs = REFERENCE_RUNS[variant]
    g = torch.Generator().manual_seed(seed)
    d, k = 5, 3
    x = dyadic((n, d), g).to(dtype)
    y = teacher_labels(x, k, g, multiclass, noise=noise)
    sw = torch.randint(low, 3, (n,), generator=g).to(dtype)
    counters = 1 if multiclass else k
    # (The averaged reference's weight and bias sums start at zero too.)
    ref = [
        torch.zeros(k, d, dtype=dtype),
        torch.full((k,), 0.25, dtype=dtype),
        *variant_state(variant, k, d, dtype, counters),
    ]
    state = on(device, *ref)
    update = variant_update(variant, multiclass)
    ref_update = getattr(reference, f"{'multiclass' if multiclass else 'online'}_update_{variant}")
    extra = () if multiclass else (True,)  # zero_is_mistake
    kw = {} if multiclass else {"zero_is_mistake": True}
    for _ in range(epochs):
        for part in (slice(0, cut), slice(cut, n)):
            xp, yp, swp = on(device, x[part], y[part], sw[part])
            m = update(*state, xp, yp, 0.5, sample_weight=swp, bias_step=bias_step, **kw)
            *ref, rm = ref_update(*ref, x[part], y[part], 0.5, sw[part], *extra, bias_step=bias_step)
            assert_same(m, rm)
    if variant == "pocket":
        assert_all_same(state, ref, device)
        assert (ref[5] > 0).all()  # some run was recorded
        return
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
    rw, rb, rws, rbs, rc, rm = reference.online_update_averaged(*zeros_state("averaged", k, d, torch.float64, k), x, y)
    w, b, wacc, bacc, count = zeros_state("averaged", k, d, torch.float64, k, device)
    m = ops.online_update_averaged(w, b, wacc, bacc, count, x.to(device), y.to(device))
    assert torch.equal(m.cpu(), rm)
    aw, ab = ops.averaged_parameters(w, b, wacc, bacc, count)
    torch.testing.assert_close(aw.cpu(), rws / n, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ab.cpu(), rbs / n, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_averaged_non_contiguous_state_and_x(device):
    gen = torch.Generator().manual_seed(5)
    n, d, k = 30, 4, 3
    x = dyadic((n, 2 * d), gen).to(device)[:, ::2]
    y = torch.randint(0, 2, (n, k), generator=gen).to(device)
    w, b, wacc, bacc, count = zeros_state("averaged", k, d, torch.float64, k, device)
    wacc_t = torch.zeros(d, k, dtype=torch.float64, device=device).t()  # a transposed view
    ops.online_update_averaged(w, b, wacc, bacc, count, x.contiguous(), y)
    w2, b2, _, bacc2, count2 = zeros_state("averaged", k, d, torch.float64, k, device)
    ops.online_update_averaged(w2, b2, wacc_t, bacc2, count2, x, y)
    assert torch.equal(w, w2) and torch.equal(wacc, wacc_t) and torch.equal(count, count2)


@pytest.mark.parametrize("device", DEVICES)
def test_averaged_empty_batch_counts_nothing(device):
    w, b, wacc, bacc, count = zeros_state("averaged", 2, 3, torch.float32, 2, device)
    m = ops.online_update_averaged(
        w, b, wacc, bacc, count, torch.zeros(0, 3, device=device), torch.zeros(0, 2, device=device)
    )
    assert m.tolist() == [0, 0] and count.tolist() == [0, 0]
    aw, ab = ops.averaged_parameters(w, b, wacc, bacc, count)
    assert torch.equal(aw, w) and torch.equal(ab, b)


@pytest.mark.parametrize("device", DEVICES)
def test_pocket_is_the_longest_run_weights_on_a_hand_example(device):
    # One output, 1-D with bias. Samples: x=1 positive, then x=-1 negative.
    w, b, pw, pb, run, best = zeros_state("pocket", 1, 1, torch.float64, 1, device)
    x = torch.tensor([[1.0], [-1.0], [1.0], [-1.0], [-1.0]], dtype=torch.float64, device=device)
    y = torch.tensor([1, 0, 1, 0, 1], device=device)
    # Sample 0: z=0 -> predicts 0, mistake: w=1, b=1. Samples 1..3 correct
    # (z=0 -> 0, z=2 -> 1, z=0 -> 0): run 3. Sample 4: z=0, label 1: mistake;
    # the pocket keeps w=1, b=1 with a run of 3.
    m = ops.online_update_pocket(w, b, pw, pb, run, best, x, y)
    assert m.tolist() == [2]
    assert pw.tolist() == [[1.0]] and pb.tolist() == [1.0]
    assert best.tolist() == [3] and run.tolist() == [0]
    assert w.tolist() == [[0.0]] and b.tolist() == [2.0]


@pytest.mark.parametrize("device", DEVICES)
def test_pocket_run_spans_calls(device):
    w, b, pw, pb, run, best = zeros_state("pocket", 1, 1, torch.float64, 1, device)
    w += 1
    pw += 1
    x = torch.ones(3, 1, dtype=torch.float64, device=device)
    y = torch.ones(3, device=device)
    ops.online_update_pocket(w, b, pw, pb, run, best, x, y)
    ops.online_update_pocket(w, b, pw, pb, run, best, x, y)
    assert run.tolist() == [6] and best.tolist() == [6]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "variant, field, bad, message",
    [
        ("averaged", 2, torch.zeros(3, 4), "weight_acc: expected shape"),
        ("averaged", 2, torch.zeros(2, 3, dtype=torch.float64), "weight_acc: expected dtype"),
        ("averaged", 3, torch.zeros(3), "bias_acc: expected shape"),
        ("averaged", 4, torch.zeros(2), "count: expected dtype int64"),
        ("averaged", 4, torch.zeros(1, dtype=torch.int64), "count: expected shape"),
        ("averaged", 4, torch.full((2,), -1, dtype=torch.int64), "count: expected values >= 0"),
        ("averaged", 2, torch.full((2, 3), float("nan")), "weight_acc: expected finite"),
        ("pocket", 2, torch.zeros(2, 4), "pocket_weight: expected shape"),
        ("pocket", 3, torch.zeros(2, dtype=torch.float64), "pocket_bias: expected dtype"),
        ("pocket", 4, torch.zeros(2, dtype=torch.int32), "run: expected dtype int64"),
        ("pocket", 5, torch.zeros(3, dtype=torch.int64), "best_run: expected shape"),
        ("pocket", 5, torch.tensor([0, -2]), "best_run: expected values >= 0"),
    ],
)
def test_bad_state_is_rejected_before_any_write(variant, field, bad, message, device):
    state = zeros_state(variant, 2, 3, torch.float32, 2, device)
    state[0] += 0.5
    state[field] = bad.to(device)
    before = [t.clone() for t in state]
    with pytest.raises((RuntimeError, ValueError), match=message):
        variant_update(variant, False)(*state, torch.ones(4, 3, device=device), torch.ones(4, 2, device=device))
    for t, s in zip(state, before):
        assert torch.equal(t, s) or (t.isnan().all() and s.isnan().all())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize(
    "variant, labels, bad_row, bad_column, bad",
    [
        ("averaged", [0, 1, 2, 0, 1, 2], 4, 1, float("inf")),
        ("pocket", [0, 1, 2, 0, 0, 0], 5, 0, float("nan")),
    ],
)
def test_non_finite_x_restores_every_state_tensor(variant, labels, bad_row, bad_column, bad, multiclass, device):
    k, d = 3, 4
    state = zeros_state(variant, k, d, torch.float64, 1 if multiclass else k, device)
    x = (torch.arange(24, dtype=torch.float64).reshape(6, d) - 10).to(device)
    y = (torch.tensor(labels) if multiclass else torch.eye(k)[labels]).to(device)
    update = variant_update(variant, multiclass)
    update(*state, x, y)  # some history in every tensor
    before = [t.clone() for t in state]
    x_bad = x.clone()
    x_bad[bad_row, bad_column] = bad
    with pytest.raises(ValueError, match=f"row {bad_row}"):
        update(*state, x_bad, y)
    for t, s in zip(state, before):
        assert torch.equal(t, s)


@pytest.mark.parametrize("device", DEVICES)
def test_averaged_requires_grad_builds_no_graph(device):
    w, b, wacc, bacc, count = zeros_state("averaged", 1, 2, torch.float32, 1, device)
    x = torch.ones(3, 2, device=device, requires_grad=True)
    m = ops.online_update_averaged(w, b, wacc, bacc, count, x, torch.ones(3, device=device))
    assert m.grad_fn is None and not w.requires_grad


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_bias_step_zero_keeps_bias(variant, multiclass, device):
    """Against the reference with bias_step 0: averaged, a fixed, non-zero
    bias stays as it is and its sum at zero; pocket, the bias and the
    pocket's stay at zero."""
    averaged = variant == "averaged"
    gen = torch.Generator().manual_seed(9 if averaged else 8)
    n, d, k = 40 if averaged else 50, 4, 3
    x = dyadic((n, d), gen).to(torch.float64)
    if multiclass:
        y = torch.randint(0, k, (n,), generator=gen)
    elif averaged:
        y = torch.randint(0, 2, (n, k), generator=gen)
    else:
        y = noisy_labels(x, 1, gen).repeat(1, k)
    kw = {} if multiclass else {"zero_is_mistake": True}
    state = zeros_state(variant, k, d, torch.float64, 1 if multiclass else k)
    if averaged:
        state[1] += 0.25
    ref = getattr(reference, f"{'multiclass' if multiclass else 'online'}_update_{variant}")
    *want, rm = ref(*state, x, y, 1.0, None, *kw.values(), bias_step=0.0)
    state = on(device, *state)
    m = variant_update(variant, multiclass)(*state, x.to(device), y.to(device), 1.0, bias_step=0.0, **kw)
    assert torch.equal(m.cpu(), rm)
    if not averaged:
        for got, w in zip(state, want):
            assert torch.equal(got.cpu(), w)
        assert (state[1] == 0).all() and (state[3] == 0).all()
        return
    w, b, wacc, bacc, count = state
    assert m.sum() > 0
    assert torch.equal(w.cpu(), want[0]) and torch.equal(b.cpu(), want[1])
    assert (b == 0.25).all() and (bacc == 0).all()
    c = count.to(w.dtype).reshape(-1, 1)
    assert torch.equal((c * w - wacc).cpu(), want[2])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("multiclass", [False, True])
def test_layer_average_predicts_with_averaged_weights(multiclass, device):
    from torch_perceptron import PerceptronLayer

    gen = torch.Generator().manual_seed(11)
    x = dyadic((60, 4), gen).to(torch.float64).to(device)
    k = 3
    y = (torch.randint(0, k, (60,), generator=gen) if multiclass else torch.randint(0, 2, (60, k), generator=gen)).to(
        device
    )
    layer = PerceptronLayer(4, k, multiclass=multiclass, average=True, dtype=torch.float64, device=device)
    layer.update(x, y)
    layer.update(x, y)
    aw, ab = ops.averaged_parameters(layer.weight, layer.bias, layer.weight_acc, layer.bias_acc, layer.average_count)
    torch.testing.assert_close(layer.decision_function(x), x @ aw.T + ab)
    assert not torch.equal(aw, layer.weight)
    clone = PerceptronLayer(4, k, multiclass=multiclass, average=True, dtype=torch.float64, device=device)
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
    x = dyadic((80, 4), gen).to(torch.float32).to(device)
    y = torch.randint(0, 2, (80, 1), generator=gen).to(device)
    layer = PerceptronLayer(4, 1, pocket=True, device=device)
    for _ in range(3):
        layer.update(x, y)
    assert torch.equal(layer(x), ops.predict(x, layer.pocket_weight, layer.pocket_bias))
    assert set(layer.state_dict()) >= {"pocket_weight", "pocket_bias", "pocket_run", "pocket_best_run"}
