"""The averaged and pocket ops together, on every device: what both variants
promise alike. On a device other than the CPU their mistakes, weights and state
equal the CPU kernels' (bit for bit on dyadic data, within rounding on Gaussian
float64 data); on every device a non-finite row restores every tensor, repeated
runs give the same bits and an empty batch changes nothing. What only one
variant promises, and the comparison with the literal reference, is in
test_averaged_ops.py and test_pocket_ops.py.
"""

import pytest
import torch

from device_support import (
    BIAS_STEPS, DTYPES, MULTICLASS_SHAPES, ONLINE_SHAPES, VARIANTS, assert_all_same, assert_same,
    binary_labels, dyadic, on, params_on, start_weights, teacher_labels, variant_state,
    variant_update,
)
from support import ACCELERATORS, DEVICES


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d,k", ONLINE_SHAPES)
def test_online_variant_matches_cpu_on_dyadic_data(n, d, k, dtype, variant, device):
    g = torch.Generator().manual_seed(n * 1000 + d * 10 + k + 1)
    x = dyadic((n, d), g).to(dtype)
    y = teacher_labels(x, k, g, multiclass=False)
    w, b = start_weights(k, d, dtype, g)
    cpu = [w, b, *variant_state(variant, k, d, dtype, k, g)]
    dev = on(device, *cpu)
    x_dev, y_dev = on(device, x, y)
    update = variant_update(variant, multiclass=False)
    # Two calls: the state carries over from one to the next.
    for part in (slice(0, n // 3), slice(n // 3, n)):
        m_cpu = update(*cpu, x[part], y[part], 0.5)
        m_dev = update(*dev, x_dev[part], y_dev[part], 0.5)
        assert m_dev.device.type == device and m_dev.shape == (k,)
        assert_same(m_dev, m_cpu)
    assert_all_same(dev, cpu, device)


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d,k", MULTICLASS_SHAPES)
def test_multiclass_variant_matches_cpu_on_dyadic_data(n, d, k, dtype, variant, device):
    g = torch.Generator().manual_seed(n * 1000 + d * 10 + k + 2)
    x = dyadic((n, d), g).to(dtype)
    y = teacher_labels(x, k, g, multiclass=True)
    w, b = start_weights(k, d, dtype, g)
    cpu = [w, b, *variant_state(variant, k, d, dtype, 1, g)]
    dev = on(device, *cpu)
    x_dev, y_dev = on(device, x, y)
    update = variant_update(variant, multiclass=True)
    for part in (slice(0, n // 3), slice(n // 3, n)):
        m_cpu = update(*cpu, x[part], y[part], 0.5)
        m_dev = update(*dev, x_dev[part], y_dev[part], 0.5)
        assert m_dev.device.type == device and m_dev.shape == (1,)
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
    cpu = [torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype),
           *variant_state(variant, k, d, dtype, counters)]
    dev = on(device, *cpu)
    update = variant_update(variant, multiclass)
    for zero_is_mistake in ([False] if multiclass else [False, True]):
        kw = {} if multiclass else {"zero_is_mistake": zero_is_mistake}
        m_cpu = update(*cpu, x, y, 0.25, sample_weight=sw, bias_step=bias_step, **kw)
        m_dev = update(*dev, x.to(device), y.to(device), 0.25, sample_weight=sw.to(device),
                       bias_step=bias_step, **kw)
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
        state = on(device, torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype),
                   *variant_state(variant, k, d, dtype, counters))
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
            state = [w, b, *on(device, *variant_state(variant, k, d, torch.float32,
                                                      1 if multiclass else k, g))]
            before = [t.clone() for t in state]
            y = torch.zeros(0, dtype=torch.long, device=device) if multiclass else torch.zeros(
                0, k, device=device)
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
@pytest.mark.parametrize("message,variant,multiclass,index,replace", list(_bad_variant_calls()),
                         ids=[c[0] for c in _bad_variant_calls()])
def test_variant_bad_inputs(message, variant, multiclass, index, replace, device):
    """Every input is checked before any write: a rejected call leaves every
    tensor as it was."""
    k, d = 3, 4
    g = torch.Generator().manual_seed(29)
    w, b = params_on(device, k, d)
    state = [w, b, *on(device, *variant_state(variant, k, d, torch.float32,
                                              1 if multiclass else k, g))]
    x = dyadic((6, d), g).float().to(device)
    y = (torch.randint(0, k, (6,), generator=g) if multiclass
         else binary_labels(6, k, g)).to(device)
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
    state = on(device, *start_weights(k, d, torch.float64, g),
               *variant_state(variant, k, d, torch.float64, 1 if multiclass else k))
    before = [t.clone() for t in state]
    with pytest.raises(ValueError, match="bias_step: expected a finite value"):
        variant_update(variant, multiclass)(*state, x.to(device), y.to(device),
                                            bias_step=bias_step)
    for t, was in zip(state, before):
        assert torch.equal(t, was)
