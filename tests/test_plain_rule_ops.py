"""The plain rules (online, multiclass, mini-batch) and the dense ops
(decision_function, predict) on every device, against the CPU kernels and the
reference: on a device other than the CPU, mistakes and weights equal the CPU
kernels' (bit for bit on dyadic data, within rounding on Gaussian float64
data); on every device labels of any accepted shape and dtype, non-contiguous
tensors, repeated runs, a non-finite row (which restores the weights). The
comparisons with the reference on random shapes are in test_ops_reference.py.
"""

import pytest
import torch

from device_support import (
    BIAS_STEPS, DTYPES, MULTICLASS_SHAPES, ONLINE_SHAPES, assert_same, binary_labels, dyadic, on, params_on,
    start_weights,
)
from support import ACCELERATORS, DEVICES
from torch_perceptron import ops, reference


# ---------------------------------------------------------------- online rule


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d,k", ONLINE_SHAPES)
def test_online_matches_cpu_on_dyadic_data(n, d, k, dtype, device):
    g = torch.Generator().manual_seed(n * 1000 + d * 10 + k)
    x = dyadic((n, d), g).to(dtype)
    y = binary_labels(n, k, g)
    w, b = start_weights(k, d, dtype, g)
    w_dev, b_dev, x_dev, y_dev = on(device, w, b, x, y)
    m_cpu = ops.online_update(w, b, x, y)
    m_dev = ops.online_update(w_dev, b_dev, x_dev, y_dev)
    assert m_dev.device.type == device and m_dev.dtype == torch.int64
    assert_same(m_dev, m_cpu)
    assert_same(w_dev, w)
    assert_same(b_dev, b)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("n,d,k", [(50, 6, 1), (40, 5, 3)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_online_matches_reference(n, d, k, dtype, device):
    g = torch.Generator().manual_seed(7)
    x = dyadic((n, d), g).to(dtype)
    y = binary_labels(n, k, g)
    w, b = start_weights(k, d, dtype, g)
    rw, rb, rm = reference.online_update(w, b, x, y, lr=0.5)
    w_dev, b_dev = on(device, w, b)
    m = ops.online_update(w_dev, b_dev, x.to(device), y.to(device), 0.5)
    assert_same(m, rm)
    assert_same(w_dev, rw)
    assert_same(b_dev, rb)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias_step", BIAS_STEPS)
@pytest.mark.parametrize("rule", ["online", "multiclass", "batch"])
def test_bias_step_matches_reference(rule, bias_step, dtype, device):
    """bias_step scales the bias's step, bit for bit as the reference rounds
    it, over two calls (the second decides under the first's bias)."""
    g = torch.Generator().manual_seed(31)
    n, d, k = 60, 5, 3
    x = dyadic((n, d), g).to(dtype)
    y = torch.randint(0, k, (n,), generator=g) if rule == "multiclass" else binary_labels(n, k, g)
    sw = torch.randint(0, 3, (n,), generator=g).to(dtype) / 2
    w0, b0 = start_weights(k, d, dtype, g)
    rw, rb = w0, b0
    w, b = on(device, w0, b0)
    kw = {} if rule == "multiclass" else {"zero_is_mistake": True}
    update, ref = getattr(ops, f"{rule}_update"), getattr(reference, f"{rule}_update")
    for part in (slice(0, 25), slice(25, n)):
        rw, rb, rm = ref(rw, rb, x[part], y[part], 0.5, sw[part], *kw.values(),
                         bias_step=bias_step)
        m = update(w, b, x[part].to(device), y[part].to(device), 0.5,
                   sample_weight=sw[part].to(device), bias_step=bias_step, **kw)
        assert_same(m, rm)
        assert_same(w, rw)
        assert_same(b, rb)
    if bias_step == 0:
        assert torch.equal(b.cpu(), b0)
    else:
        assert not torch.equal(b.cpu(), b0)


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("n,d,k", [(400, 30, 1), (500, 50, 6), (100, 6000, 2)])
def test_online_matches_cpu_on_gaussian_float64(n, d, k, device):
    g = torch.Generator().manual_seed(d)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = binary_labels(n, k, g)
    w, b = start_weights(k, d, torch.float64, g, dyadic_values=False)
    w_dev, b_dev, x_dev, y_dev = on(device, w, b, x, y)
    m_cpu = ops.online_update(w, b, x, y, 0.1)
    m_dev = ops.online_update(w_dev, b_dev, x_dev, y_dev, 0.1)
    assert_same(m_dev, m_cpu)
    assert_same(w_dev, w, exact=False)
    assert_same(b_dev, b, exact=False)


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("zero_is_mistake", [False, True])
def test_online_options_match_cpu(dtype, zero_is_mistake, device):
    g = torch.Generator().manual_seed(11)
    n, d, k = 300, 9, 3
    # Small integers: many decision values are exactly 0.
    x = torch.randint(-1, 2, (n, d), generator=g).to(dtype)
    y = binary_labels(n, k, g)
    sw = torch.randint(0, 5, (n,), generator=g).to(dtype) / 2
    w, b = torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype)
    w_dev, b_dev = on(device, w, b)
    kwargs = dict(sample_weight=sw, zero_is_mistake=zero_is_mistake)
    m_cpu = ops.online_update(w, b, x, y, 0.25, **kwargs)
    m_dev = ops.online_update(
        w_dev, b_dev, x.to(device), y.to(device), 0.25,
        sample_weight=sw.to(device), zero_is_mistake=zero_is_mistake,
    )
    assert_same(m_dev, m_cpu)
    assert_same(w_dev, w)
    assert_same(b_dev, b)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_online_label_shapes_and_dtypes(dtype, device):
    g = torch.Generator().manual_seed(5)
    x = dyadic((100, 4), g).to(dtype)
    y = torch.randint(0, 2, (100,), generator=g)
    results = []
    for labels in (y, y.view(-1, 1), y.bool(), y.float()):
        w = torch.zeros(1, 4, dtype=dtype, device=device)
        b = torch.zeros(1, dtype=dtype, device=device)
        m = ops.online_update(w, b, x.to(device), labels.to(device))
        results.append((m.cpu(), w.cpu(), b.cpu()))
    for m, w, b in results[1:]:
        assert torch.equal(m, results[0][0])
        assert torch.equal(w, results[0][1]) and torch.equal(b, results[0][2])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_online_non_contiguous(dtype, device):
    g = torch.Generator().manual_seed(3)
    n, d, k = 400, 12, 5
    x_wide = dyadic((n, 2 * d), g).to(dtype)
    y_t = binary_labels(k, n, g)  # stored [K, N], used as [N, K]
    w0, b0 = start_weights(k, d, dtype, g)

    w = w0.clone()
    b = b0.clone()
    m_cpu = ops.online_update(w, b, x_wide[:, ::2], y_t.t())

    # Weights stored transposed and a strided bias: the kernel works on a
    # contiguous copy and must write back into these views.
    w_store = w0.t().contiguous().to(device)
    w_dev = w_store.t()
    b_store = torch.stack([b0, b0], 1).to(device)
    b_dev = b_store[:, 0]
    assert not w_dev.is_contiguous() and not b_dev.is_contiguous()
    x_dev = x_wide.to(device)[:, ::2]
    m_dev = ops.online_update(w_dev, b_dev, x_dev, y_t.to(device).t())
    assert_same(m_dev, m_cpu)
    assert_same(w_dev, w)
    assert_same(b_dev, b)
    assert_same(w_store.t(), w)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 7])
def test_online_deterministic(dtype, k, device):
    """Non-dyadic data: every run gives the same bits (no order-dependent
    atomics, no dependence on the chunking)."""
    g = torch.Generator().manual_seed(k)
    n, d = 3000, 300
    x = torch.randn(n, d, generator=g, dtype=torch.float64).to(dtype).to(device)
    y = binary_labels(n, k, g).to(device)
    outcomes = []
    for _ in range(4):
        w = torch.zeros(k, d, dtype=dtype, device=device)
        b = torch.zeros(k, dtype=dtype, device=device)
        m = ops.online_update(w, b, x, y, 0.3)
        outcomes.append((m.cpu(), w.cpu(), b.cpu()))
    for m, w, b in outcomes[1:]:
        assert torch.equal(m, outcomes[0][0])
        assert torch.equal(w, outcomes[0][1]) and torch.equal(b, outcomes[0][2])



# ------------------------------------------------------------ multiclass rule


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d,k", MULTICLASS_SHAPES)
def test_multiclass_matches_cpu_on_dyadic_data(n, d, k, dtype, device):
    g = torch.Generator().manual_seed(n * 1000 + d * 10 + k)
    x = dyadic((n, d), g).to(dtype)
    y = torch.randint(0, k, (n,), generator=g)
    w, b = start_weights(k, d, dtype, g)
    w_dev, b_dev, x_dev, y_dev = on(device, w, b, x, y)
    m_cpu = ops.multiclass_update(w, b, x, y)
    m_dev = ops.multiclass_update(w_dev, b_dev, x_dev, y_dev)
    assert m_dev.shape == (1,) and m_dev.dtype == torch.int64
    assert_same(m_dev, m_cpu)
    assert_same(w_dev, w)
    assert_same(b_dev, b)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_ties_and_reference(dtype, device):
    """Zero weights and small integer data: many ties, the lowest index wins."""
    g = torch.Generator().manual_seed(2)
    n, d, k = 120, 3, 4
    x = torch.randint(-1, 2, (n, d), generator=g).to(dtype)
    y = torch.randint(0, k, (n,), generator=g)
    sw = torch.randint(0, 3, (n,), generator=g).to(dtype)
    w0, b0 = torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype)
    rw, rb, rm = reference.multiclass_update(w0, b0, x, y, 0.5, sample_weight=sw)
    w_dev, b_dev = on(device, w0, b0)
    m = ops.multiclass_update(w_dev, b_dev, x.to(device), y.to(device), 0.5,
                              sample_weight=sw.to(device))
    assert_same(m, rm)
    assert_same(w_dev, rw)
    assert_same(b_dev, rb)


@pytest.mark.parametrize("device", ACCELERATORS)
def test_multiclass_matches_cpu_on_gaussian_float64(device):
    g = torch.Generator().manual_seed(9)
    n, d, k = 800, 40, 10
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, k, (n,), generator=g)
    w, b = start_weights(k, d, torch.float64, g, dyadic_values=False)
    w_dev, b_dev, x_dev, y_dev = on(device, w, b, x, y)
    m_cpu = ops.multiclass_update(w, b, x, y, 0.1)
    m_dev = ops.multiclass_update(w_dev, b_dev, x_dev, y_dev, 0.1)
    assert_same(m_dev, m_cpu)
    assert_same(w_dev, w, exact=False)
    assert_same(b_dev, b, exact=False)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_non_contiguous_and_int32_labels(dtype, device):
    g = torch.Generator().manual_seed(4)
    n, d, k = 300, 10, 6
    x_t = dyadic((d, n), g).to(dtype)  # stored [in, N], used as [N, in]
    y = torch.randint(0, k, (n,), generator=g)
    w0, b0 = start_weights(k, d, dtype, g)
    w, b = w0.clone(), b0.clone()
    m_cpu = ops.multiclass_update(w, b, x_t.t(), y)
    w_store = w0.t().contiguous().to(device)
    b_dev = b0.to(device)
    m_dev = ops.multiclass_update(w_store.t(), b_dev, x_t.to(device).t(),
                                  y.int().to(device))
    assert_same(m_dev, m_cpu)
    assert_same(w_store.t(), w)
    assert_same(b_dev, b)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_deterministic(dtype, device):
    g = torch.Generator().manual_seed(1)
    n, d, k = 3000, 100, 10
    x = torch.randn(n, d, generator=g, dtype=torch.float64).to(dtype).to(device)
    y = torch.randint(0, k, (n,), generator=g).to(device)
    outcomes = []
    for _ in range(4):
        w = torch.zeros(k, d, dtype=dtype, device=device)
        b = torch.zeros(k, dtype=dtype, device=device)
        m = ops.multiclass_update(w, b, x, y, 0.3)
        outcomes.append((m.cpu(), w.cpu(), b.cpu()))
    for m, w, b in outcomes[1:]:
        assert torch.equal(m, outcomes[0][0])
        assert torch.equal(w, outcomes[0][1]) and torch.equal(b, outcomes[0][2])


# ------------------------------------------- forward and the mini-batch rule


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d,k", [(0, 3, 2), (1, 1, 1), (300, 17, 1), (500, 40, 7)])
def test_forward_and_batch_match_cpu(n, d, k, dtype, device):
    g = torch.Generator().manual_seed(n + d + k)
    x = dyadic((n, d), g).to(dtype)
    y = binary_labels(n, k, g)
    w, b = start_weights(k, d, dtype, g)
    w_dev, b_dev, x_dev, y_dev = on(device, w, b, x, y)
    assert_same(ops.decision_function(x_dev, w_dev, b_dev),
                ops.decision_function(x, w, b))
    assert_same(ops.predict(x_dev, w_dev, b_dev), reference.predict(x, w, b))
    assert_same(ops.predict(x_dev[::2], w_dev, b_dev), ops.predict(x[::2], w, b))
    for zero_is_mistake in (False, True):
        m_cpu = ops.batch_update(w, b, x, y, 0.5, zero_is_mistake=zero_is_mistake)
        m_dev = ops.batch_update(w_dev, b_dev, x_dev, y_dev, 0.5,
                                 zero_is_mistake=zero_is_mistake)
        assert_same(m_dev, m_cpu)
        assert_same(w_dev, w)
        assert_same(b_dev, b)


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 4])
def test_online_non_finite_late_row_restores_weights(bad, dtype, k, device):
    g = torch.Generator().manual_seed(8)
    n, d, row = 2000, 16, 1500
    x = dyadic((n, d), g).to(dtype)
    x[row, 3] = bad
    y = binary_labels(n, k, g)
    w, b = params_on(device, k, d, dtype)
    w_before, b_before = w.clone(), b.clone()
    with pytest.raises(ValueError, match=rf"x: .*row {row}\b"):
        ops.online_update(w, b, x.to(device), y.to(device))
    assert torch.equal(w, w_before) and torch.equal(b, b_before)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_non_finite_late_row_restores_weights(dtype, device):
    g = torch.Generator().manual_seed(8)
    n, d, k, row = 2000, 16, 5, 1700
    x = dyadic((n, d), g).to(dtype)
    x[row, 0] = float("nan")
    y = torch.randint(0, k, (n,), generator=g)
    w, b = params_on(device, k, d, dtype)
    w_before, b_before = w.clone(), b.clone()
    with pytest.raises(ValueError, match=rf"x: .*row {row}\b"):
        ops.multiclass_update(w, b, x.to(device), y.to(device))
    assert torch.equal(w, w_before) and torch.equal(b, b_before)


@pytest.mark.parametrize("device", DEVICES)
def test_batch_and_forward_non_finite(device):
    w, b = params_on(device, 2, 4)
    x = torch.ones(10, 4, device=device)
    x[6, 1] = float("inf")
    y = torch.ones(10, 2, device=device)
    w_before, b_before = w.clone(), b.clone()
    with pytest.raises(ValueError, match=r"row 6\b"):
        ops.batch_update(w, b, x, y)
    with pytest.raises(ValueError, match=r"row 6\b"):
        ops.predict(x, w, b)
    assert torch.equal(w, w_before) and torch.equal(b, b_before)


def _bad_online_calls():
    def make(device):
        w, b = params_on(device, 2, 4)
        x = torch.ones(5, 4, device=device)
        y = torch.ones(5, 2, device=device)
        return w, b, x, y

    yield "x: expected dtype", lambda w, b, x, y: ops.online_update(w, b, x.double(), y), make
    yield "x: expected device", lambda w, b, x, y: ops.online_update(w, b, x.cpu(), y), make
    yield "x: expected 4 features", lambda w, b, x, y: ops.online_update(w, b, x[:, :3], y), make
    yield "y: expected device", lambda w, b, x, y: ops.online_update(w, b, x, y.cpu()), make
    yield "y: expected binary labels", lambda w, b, x, y: ops.online_update(w, b, x, y * 2), make
    yield "y: expected 0/1 labels of shape", lambda w, b, x, y: ops.online_update(w, b, x, y[:3]), make
    yield "lr: expected", lambda w, b, x, y: ops.online_update(w, b, x, y, -1.0), make
    yield "sample_weight: expected finite", lambda w, b, x, y: ops.online_update(
        w, b, x, y, sample_weight=-torch.ones(5, device=x.device)), make
    yield "sample_weight: expected device", lambda w, b, x, y: ops.online_update(
        w, b, x, y, sample_weight=torch.ones(5)), make
    yield "bias: expected device", lambda w, b, x, y: ops.online_update(w, b.cpu(), x, y), make
    yield "weight and bias: expected finite", lambda w, b, x, y: ops.online_update(
        w.fill_(float("nan")), b, x, y), make


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("message,call,make", list(_bad_online_calls()),
                         ids=[m for m, _, _ in _bad_online_calls()])
def test_online_bad_inputs(message, call, make, device):
    w, b, x, y = make(device)
    if message.startswith("weight and bias"):
        with pytest.raises(ValueError, match=message):
            call(w, b, x, y)
        return
    w_before, b_before = w.clone(), b.clone()
    with pytest.raises((ValueError, RuntimeError), match=message):
        call(w, b, x, y)
    assert torch.equal(w, w_before) and torch.equal(b, b_before)


@pytest.mark.parametrize("device", ACCELERATORS)
def test_multiclass_bad_labels(device):
    w, b = params_on(device, 3, 4)
    x = torch.ones(5, 4, device=device)
    w_before, b_before = w.clone(), b.clone()
    with pytest.raises(ValueError, match=r"y: expected class indices in \[0, 3\)"):
        ops.multiclass_update(w, b, x, torch.tensor([0, 1, 2, 3, 0], device=device))
    with pytest.raises(RuntimeError, match="y: expected an integer dtype"):
        ops.multiclass_update(w, b, x, torch.zeros(5, device=device))
    with pytest.raises(RuntimeError, match="y: expected device"):
        ops.multiclass_update(w, b, x, torch.zeros(5, dtype=torch.long))
    assert torch.equal(w, w_before) and torch.equal(b, b_before)
