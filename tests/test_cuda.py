"""The CUDA kernels against the CPU kernels and the reference.

Every test needs a GPU and a CUDA build of the extension; without either the
module is skipped, with the reason. Float32 parity uses dyadic data (multiples
of 1/4 with small sums), where every summation order gives the same bits, so the
CUDA result must equal the CPU's exactly; float64 also runs on Gaussian data,
where only the summation order differs (mistakes equal, weights close).
"""

import copy

import pytest
import torch

import torch_perceptron
from device_support import (
    DTYPES, MULTICLASS_SHAPES, ONLINE_SHAPES, assert_same, binary_labels, dyadic, on, params_on,
    start_weights, teacher_labels, variant_state,
)
from torch_perceptron import PerceptronLayer, ops, reference
from torch_perceptron._extension import with_cuda

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU available"),
    pytest.mark.skipif(not with_cuda(), reason="torch_perceptron was built without CUDA"),
]

CUDA = "cuda"


# ---------------------------------------------------------------- online rule


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d,k", ONLINE_SHAPES)
def test_online_matches_cpu_on_dyadic_data(n, d, k, dtype):
    g = torch.Generator().manual_seed(n * 1000 + d * 10 + k)
    x = dyadic((n, d), g).to(dtype)
    y = binary_labels(n, k, g)
    w, b = start_weights(k, d, dtype, g)
    w_cuda, b_cuda, x_cuda, y_cuda = on(CUDA, w, b, x, y)
    m_cpu = ops.online_update(w, b, x, y)
    m_cuda = ops.online_update(w_cuda, b_cuda, x_cuda, y_cuda)
    assert m_cuda.device.type == "cuda" and m_cuda.dtype == torch.int64
    assert_same(m_cuda, m_cpu)
    assert_same(w_cuda, w)
    assert_same(b_cuda, b)


@pytest.mark.parametrize("n,d,k", [(50, 6, 1), (40, 5, 3)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_online_matches_reference(n, d, k, dtype):
    g = torch.Generator().manual_seed(7)
    x = dyadic((n, d), g).to(dtype)
    y = binary_labels(n, k, g)
    w, b = start_weights(k, d, dtype, g)
    rw, rb, rm = reference.online_update(w, b, x, y, lr=0.5)
    w_cuda, b_cuda = on(CUDA, w, b)
    m = ops.online_update(w_cuda, b_cuda, x.to(CUDA), y.to(CUDA), 0.5)
    assert_same(m, rm)
    assert_same(w_cuda, rw)
    assert_same(b_cuda, rb)


@pytest.mark.parametrize("n,d,k", [(400, 30, 1), (500, 50, 6), (100, 6000, 2)])
def test_online_matches_cpu_on_gaussian_float64(n, d, k):
    g = torch.Generator().manual_seed(d)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = binary_labels(n, k, g)
    w, b = start_weights(k, d, torch.float64, g, dyadic_values=False)
    w_cuda, b_cuda, x_cuda, y_cuda = on(CUDA, w, b, x, y)
    m_cpu = ops.online_update(w, b, x, y, 0.1)
    m_cuda = ops.online_update(w_cuda, b_cuda, x_cuda, y_cuda, 0.1)
    assert_same(m_cuda, m_cpu)
    assert_same(w_cuda, w, exact=False)
    assert_same(b_cuda, b, exact=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("zero_is_mistake", [False, True])
def test_online_options_match_cpu(dtype, zero_is_mistake):
    g = torch.Generator().manual_seed(11)
    n, d, k = 300, 9, 3
    # Small integers: many decision values are exactly 0.
    x = torch.randint(-1, 2, (n, d), generator=g).to(dtype)
    y = binary_labels(n, k, g)
    sw = torch.randint(0, 5, (n,), generator=g).to(dtype) / 2
    w, b = torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype)
    w_cuda, b_cuda = on(CUDA, w, b)
    kwargs = dict(sample_weight=sw, zero_is_mistake=zero_is_mistake)
    m_cpu = ops.online_update(w, b, x, y, 0.25, **kwargs)
    m_cuda = ops.online_update(
        w_cuda, b_cuda, x.to(CUDA), y.to(CUDA), 0.25,
        sample_weight=sw.to(CUDA), zero_is_mistake=zero_is_mistake,
    )
    assert_same(m_cuda, m_cpu)
    assert_same(w_cuda, w)
    assert_same(b_cuda, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_online_label_shapes_and_dtypes(dtype):
    g = torch.Generator().manual_seed(5)
    x = dyadic((100, 4), g).to(dtype)
    y = torch.randint(0, 2, (100,), generator=g)
    results = []
    for labels in (y, y.view(-1, 1), y.bool(), y.float()):
        w = torch.zeros(1, 4, dtype=dtype, device=CUDA)
        b = torch.zeros(1, dtype=dtype, device=CUDA)
        m = ops.online_update(w, b, x.to(CUDA), labels.to(CUDA))
        results.append((m.cpu(), w.cpu(), b.cpu()))
    for m, w, b in results[1:]:
        assert torch.equal(m, results[0][0])
        assert torch.equal(w, results[0][1]) and torch.equal(b, results[0][2])


@pytest.mark.parametrize("dtype", DTYPES)
def test_online_non_contiguous(dtype):
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
    w_store = w0.t().contiguous().to(CUDA)
    w_cuda = w_store.t()
    b_store = torch.stack([b0, b0], 1).to(CUDA)
    b_cuda = b_store[:, 0]
    assert not w_cuda.is_contiguous() and not b_cuda.is_contiguous()
    x_cuda = x_wide.to(CUDA)[:, ::2]
    m_cuda = ops.online_update(w_cuda, b_cuda, x_cuda, y_t.to(CUDA).t())
    assert_same(m_cuda, m_cpu)
    assert_same(w_cuda, w)
    assert_same(b_cuda, b)
    assert_same(w_store.t(), w)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 7])
def test_online_deterministic(dtype, k):
    """Non-dyadic data: every run gives the same bits (no order-dependent
    atomics, no dependence on the chunking)."""
    g = torch.Generator().manual_seed(k)
    n, d = 3000, 300
    x = torch.randn(n, d, generator=g, dtype=torch.float64).to(dtype).to(CUDA)
    y = binary_labels(n, k, g).to(CUDA)
    outcomes = []
    for _ in range(4):
        w = torch.zeros(k, d, dtype=dtype, device=CUDA)
        b = torch.zeros(k, dtype=dtype, device=CUDA)
        m = ops.online_update(w, b, x, y, 0.3)
        outcomes.append((m.cpu(), w.cpu(), b.cpu()))
    for m, w, b in outcomes[1:]:
        assert torch.equal(m, outcomes[0][0])
        assert torch.equal(w, outcomes[0][1]) and torch.equal(b, outcomes[0][2])


def test_online_runs_on_the_current_stream():
    g = torch.Generator().manual_seed(0)
    x = dyadic((2000, 64), g).float()
    y = binary_labels(2000, 2, g)
    w, b = torch.zeros(2, 64), torch.zeros(2)
    m_cpu = ops.online_update(w, b, x, y)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        x_cuda, y_cuda = x.to(CUDA), y.to(CUDA)
        w_cuda = torch.zeros(2, 64, device=CUDA)
        b_cuda = torch.zeros(2, device=CUDA)
        m_cuda = ops.online_update(w_cuda, b_cuda, x_cuda, y_cuda)
        w_out = w_cuda.clone()
    stream.synchronize()
    assert_same(m_cuda, m_cpu)
    assert_same(w_out, w)


# ------------------------------------------------------------ multiclass rule


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d,k", MULTICLASS_SHAPES)
def test_multiclass_matches_cpu_on_dyadic_data(n, d, k, dtype):
    g = torch.Generator().manual_seed(n * 1000 + d * 10 + k)
    x = dyadic((n, d), g).to(dtype)
    y = torch.randint(0, k, (n,), generator=g)
    w, b = start_weights(k, d, dtype, g)
    w_cuda, b_cuda, x_cuda, y_cuda = on(CUDA, w, b, x, y)
    m_cpu = ops.multiclass_update(w, b, x, y)
    m_cuda = ops.multiclass_update(w_cuda, b_cuda, x_cuda, y_cuda)
    assert m_cuda.shape == (1,) and m_cuda.dtype == torch.int64
    assert_same(m_cuda, m_cpu)
    assert_same(w_cuda, w)
    assert_same(b_cuda, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_ties_and_reference(dtype):
    """Zero weights and small integer data: many ties, the lowest index wins."""
    g = torch.Generator().manual_seed(2)
    n, d, k = 120, 3, 4
    x = torch.randint(-1, 2, (n, d), generator=g).to(dtype)
    y = torch.randint(0, k, (n,), generator=g)
    sw = torch.randint(0, 3, (n,), generator=g).to(dtype)
    w0, b0 = torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype)
    rw, rb, rm = reference.multiclass_update(w0, b0, x, y, 0.5, sample_weight=sw)
    w_cuda, b_cuda = on(CUDA, w0, b0)
    m = ops.multiclass_update(w_cuda, b_cuda, x.to(CUDA), y.to(CUDA), 0.5,
                              sample_weight=sw.to(CUDA))
    assert_same(m, rm)
    assert_same(w_cuda, rw)
    assert_same(b_cuda, rb)


def test_multiclass_matches_cpu_on_gaussian_float64():
    g = torch.Generator().manual_seed(9)
    n, d, k = 800, 40, 10
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, k, (n,), generator=g)
    w, b = start_weights(k, d, torch.float64, g, dyadic_values=False)
    w_cuda, b_cuda, x_cuda, y_cuda = on(CUDA, w, b, x, y)
    m_cpu = ops.multiclass_update(w, b, x, y, 0.1)
    m_cuda = ops.multiclass_update(w_cuda, b_cuda, x_cuda, y_cuda, 0.1)
    assert_same(m_cuda, m_cpu)
    assert_same(w_cuda, w, exact=False)
    assert_same(b_cuda, b, exact=False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_non_contiguous_and_int32_labels(dtype):
    g = torch.Generator().manual_seed(4)
    n, d, k = 300, 10, 6
    x_t = dyadic((d, n), g).to(dtype)  # stored [in, N], used as [N, in]
    y = torch.randint(0, k, (n,), generator=g)
    w0, b0 = start_weights(k, d, dtype, g)
    w, b = w0.clone(), b0.clone()
    m_cpu = ops.multiclass_update(w, b, x_t.t(), y)
    w_store = w0.t().contiguous().to(CUDA)
    b_cuda = b0.to(CUDA)
    m_cuda = ops.multiclass_update(w_store.t(), b_cuda, x_t.to(CUDA).t(),
                                   y.int().to(CUDA))
    assert_same(m_cuda, m_cpu)
    assert_same(w_store.t(), w)
    assert_same(b_cuda, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_deterministic(dtype):
    g = torch.Generator().manual_seed(1)
    n, d, k = 3000, 100, 10
    x = torch.randn(n, d, generator=g, dtype=torch.float64).to(dtype).to(CUDA)
    y = torch.randint(0, k, (n,), generator=g).to(CUDA)
    outcomes = []
    for _ in range(4):
        w = torch.zeros(k, d, dtype=dtype, device=CUDA)
        b = torch.zeros(k, dtype=dtype, device=CUDA)
        m = ops.multiclass_update(w, b, x, y, 0.3)
        outcomes.append((m.cpu(), w.cpu(), b.cpu()))
    for m, w, b in outcomes[1:]:
        assert torch.equal(m, outcomes[0][0])
        assert torch.equal(w, outcomes[0][1]) and torch.equal(b, outcomes[0][2])


# ------------------------------------------- forward and the mini-batch rule


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d,k", [(0, 3, 2), (1, 1, 1), (300, 17, 1), (500, 40, 7)])
def test_forward_and_batch_match_cpu(n, d, k, dtype):
    g = torch.Generator().manual_seed(n + d + k)
    x = dyadic((n, d), g).to(dtype)
    y = binary_labels(n, k, g)
    w, b = start_weights(k, d, dtype, g)
    w_cuda, b_cuda, x_cuda, y_cuda = on(CUDA, w, b, x, y)
    assert_same(ops.decision_function(x_cuda, w_cuda, b_cuda),
                ops.decision_function(x, w, b))
    assert_same(ops.predict(x_cuda, w_cuda, b_cuda), reference.predict(x, w, b))
    assert_same(ops.predict(x_cuda[::2], w_cuda, b_cuda), ops.predict(x[::2], w, b))
    for zero_is_mistake in (False, True):
        m_cpu = ops.batch_update(w, b, x, y, 0.5, zero_is_mistake=zero_is_mistake)
        m_cuda = ops.batch_update(w_cuda, b_cuda, x_cuda, y_cuda, 0.5,
                                  zero_is_mistake=zero_is_mistake)
        assert_same(m_cuda, m_cpu)
        assert_same(w_cuda, w)
        assert_same(b_cuda, b)


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 4])
def test_online_non_finite_late_row_restores_weights(bad, dtype, k):
    g = torch.Generator().manual_seed(8)
    n, d, row = 2000, 16, 1500
    x = dyadic((n, d), g).to(dtype)
    x[row, 3] = bad
    y = binary_labels(n, k, g)
    w, b = params_on(CUDA, k, d, dtype)
    w_before, b_before = w.clone(), b.clone()
    with pytest.raises(ValueError, match=rf"x: .*row {row}\b"):
        ops.online_update(w, b, x.to(CUDA), y.to(CUDA))
    assert torch.equal(w, w_before) and torch.equal(b, b_before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_non_finite_late_row_restores_weights(dtype):
    g = torch.Generator().manual_seed(8)
    n, d, k, row = 2000, 16, 5, 1700
    x = dyadic((n, d), g).to(dtype)
    x[row, 0] = float("nan")
    y = torch.randint(0, k, (n,), generator=g)
    w, b = params_on(CUDA, k, d, dtype)
    w_before, b_before = w.clone(), b.clone()
    with pytest.raises(ValueError, match=rf"x: .*row {row}\b"):
        ops.multiclass_update(w, b, x.to(CUDA), y.to(CUDA))
    assert torch.equal(w, w_before) and torch.equal(b, b_before)


def test_batch_and_forward_non_finite_on_cuda():
    w, b = params_on(CUDA, 2, 4)
    x = torch.ones(10, 4, device=CUDA)
    x[6, 1] = float("inf")
    y = torch.ones(10, 2, device=CUDA)
    w_before, b_before = w.clone(), b.clone()
    with pytest.raises(ValueError, match=r"row 6\b"):
        ops.batch_update(w, b, x, y)
    with pytest.raises(ValueError, match=r"row 6\b"):
        ops.predict(x, w, b)
    assert torch.equal(w, w_before) and torch.equal(b, b_before)


def _bad_online_calls():
    def make():
        w, b = params_on(CUDA, 2, 4)
        x = torch.ones(5, 4, device=CUDA)
        y = torch.ones(5, 2, device=CUDA)
        return w, b, x, y

    yield "x: expected dtype", lambda w, b, x, y: ops.online_update(w, b, x.double(), y), make
    yield "x: expected device", lambda w, b, x, y: ops.online_update(w, b, x.cpu(), y), make
    yield "x: expected 4 features", lambda w, b, x, y: ops.online_update(w, b, x[:, :3], y), make
    yield "y: expected device", lambda w, b, x, y: ops.online_update(w, b, x, y.cpu()), make
    yield "y: expected binary labels", lambda w, b, x, y: ops.online_update(w, b, x, y * 2), make
    yield "y: expected 0/1 labels of shape", lambda w, b, x, y: ops.online_update(w, b, x, y[:3]), make
    yield "lr: expected", lambda w, b, x, y: ops.online_update(w, b, x, y, -1.0), make
    yield "sample_weight: expected finite", lambda w, b, x, y: ops.online_update(
        w, b, x, y, sample_weight=-torch.ones(5, device=CUDA)), make
    yield "sample_weight: expected device", lambda w, b, x, y: ops.online_update(
        w, b, x, y, sample_weight=torch.ones(5)), make
    yield "bias: expected device", lambda w, b, x, y: ops.online_update(w, b.cpu(), x, y), make
    yield "weight and bias: expected finite", lambda w, b, x, y: ops.online_update(
        w.fill_(float("nan")), b, x, y), make


@pytest.mark.parametrize("message,call,make", list(_bad_online_calls()),
                         ids=[m for m, _, _ in _bad_online_calls()])
def test_online_bad_inputs_on_cuda(message, call, make):
    w, b, x, y = make()
    if message.startswith("weight and bias"):
        with pytest.raises(ValueError, match=message):
            call(w, b, x, y)
        return
    w_before, b_before = w.clone(), b.clone()
    with pytest.raises((ValueError, RuntimeError), match=message):
        call(w, b, x, y)
    assert torch.equal(w, w_before) and torch.equal(b, b_before)


def test_multiclass_bad_labels_on_cuda():
    w, b = params_on(CUDA, 3, 4)
    x = torch.ones(5, 4, device=CUDA)
    w_before, b_before = w.clone(), b.clone()
    with pytest.raises(ValueError, match=r"y: expected class indices in \[0, 3\)"):
        ops.multiclass_update(w, b, x, torch.tensor([0, 1, 2, 3, 0], device=CUDA))
    with pytest.raises(RuntimeError, match="y: expected an integer dtype"):
        ops.multiclass_update(w, b, x, torch.zeros(5, device=CUDA))
    with pytest.raises(RuntimeError, match="y: expected device"):
        ops.multiclass_update(w, b, x, torch.zeros(5, dtype=torch.long))
    assert torch.equal(w, w_before) and torch.equal(b, b_before)


# ------------------------------------------------------------------- opcheck


OPCHECK_CASES = ["decision_function", "predict", "online_update",
                 "online_update_k1_labels", "multiclass_update", "batch_update",
                 "online_update_averaged", "multiclass_update_averaged",
                 "online_update_pocket", "multiclass_update_pocket"]


def _opcheck_sample(case, dtype):
    """(op name, args) on CUDA tensors; built in the test, never at collection."""
    g = torch.Generator().manual_seed(6)
    x = dyadic((40, 5), g).to(dtype).to(CUDA)
    y = binary_labels(40, 3, g).to(CUDA)
    c = torch.randint(0, 3, (40,), generator=g).to(CUDA)
    sw = torch.rand(40, generator=g, dtype=torch.float64).to(dtype).to(CUDA)
    w, b = params_on(CUDA, 3, 5, dtype)
    if case == "decision_function":
        return case, (x, w, b)
    if case == "predict":
        return case, (x[::2], w, b)
    if case == "online_update":
        return case, (w, b, x, y, 0.5, sw, True)
    if case == "online_update_k1_labels":
        return "online_update", (w[:1].clone(), b[:1].clone(), x, y[:, 0])
    if case == "multiclass_update":
        return case, (w, b, x, c, 1.0, sw)
    if case == "batch_update":
        return case, (w, b, x, y, 0.5, None, False)
    variant = "averaged" if case.endswith("averaged") else "pocket"
    multiclass = case.startswith("multiclass")
    state = on(CUDA, *variant_state(variant, 3, 5, dtype, 1 if multiclass else 3, g))
    if multiclass:
        return case, (w, b, *state, x, c, 1.0, sw, False)
    return case, (w, b, *state, x, y, 0.5, sw, True, False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", OPCHECK_CASES)
def test_opcheck_on_cuda(case, dtype):
    name, args = _opcheck_sample(case, dtype)
    op = getattr(torch.ops.torch_perceptron, name).default
    torch.library.opcheck(op, args)


# -------------------------------------------------------------------- layer


@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_on_cuda_trains_like_on_cpu(multiclass, dtype):
    g = torch.Generator().manual_seed(12)
    n, d, k = 600, 20, 4
    x = dyadic((n, d), g).to(dtype)
    y = torch.randint(0, k, (n,), generator=g)
    labels = y if multiclass else torch.nn.functional.one_hot(y, k)
    cpu_layer = PerceptronLayer(d, k, multiclass=multiclass, lr=0.5, dtype=dtype)
    cuda_layer = copy.deepcopy(cpu_layer).to(CUDA)
    assert cuda_layer.weight.device.type == "cuda"
    for epoch in range(4):
        for start in range(0, n, 128):
            xb, yb = x[start:start + 128], labels[start:start + 128]
            m_cpu = cpu_layer.update(xb, yb)
            m_cuda = cuda_layer.update(xb.to(CUDA), yb.to(CUDA))
            assert_same(m_cuda, m_cpu)
        assert_same(cuda_layer.weight, cpu_layer.weight)
        assert_same(cuda_layer.bias, cpu_layer.bias)
    assert_same(cuda_layer(x.to(CUDA)), cpu_layer(x))
    assert_same(cuda_layer.decision_function(x.to(CUDA)), cpu_layer.decision_function(x))
    if not multiclass:
        m_cpu = cpu_layer.update(x, labels, rule="batch")
        m_cuda = cuda_layer.update(x.to(CUDA), labels.to(CUDA), rule="batch")
        assert_same(m_cuda, m_cpu)
        assert_same(cuda_layer.weight, cpu_layer.weight)
    # state_dict moves between devices and back.
    restored = PerceptronLayer(d, k, multiclass=multiclass, lr=0.5, dtype=dtype)
    restored.load_state_dict({key: t.cpu() for key, t in cuda_layer.state_dict().items()})
    assert torch.equal(restored.weight, cpu_layer.weight)


@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", ["average", "pocket"])
def test_variant_layer_on_cuda_trains_like_on_cpu(variant, dtype, multiclass):
    g = torch.Generator().manual_seed(14)
    n, d, k = 600, 20, 4
    x = dyadic((n, d), g).to(dtype)
    y = teacher_labels(x, k, g, multiclass=True)
    labels = y if multiclass else torch.nn.functional.one_hot(y, k)
    cpu_layer = PerceptronLayer(d, k, multiclass=multiclass, lr=0.5, dtype=dtype,
                                **{variant: True})
    cuda_layer = copy.deepcopy(cpu_layer).to(CUDA)
    buffers = dict(cpu_layer.named_buffers())
    assert len(buffers) == (5 if variant == "average" else 6)
    for epoch in range(3):
        for start in range(0, n, 128):
            xb, yb = x[start:start + 128], labels[start:start + 128]
            m_cpu = cpu_layer.update(xb, yb)
            m_cuda = cuda_layer.update(xb.to(CUDA), yb.to(CUDA))
            assert_same(m_cuda, m_cpu)
    for name, buffer in cuda_layer.named_buffers():
        assert buffer.device.type == "cuda", name
        assert_same(buffer, buffers[name])
    # Predictions use the averaged or pocket weights, not the current ones.
    assert not torch.equal(cpu_layer.inference_parameters()[0], cpu_layer.weight)
    assert_same(cuda_layer(x.to(CUDA)), cpu_layer(x))
    assert_same(cuda_layer.decision_function(x.to(CUDA)), cpu_layer.decision_function(x))


def test_layer_under_inference_mode_and_grad_inputs_on_cuda():
    layer = PerceptronLayer(6, 2, device=CUDA)
    g = torch.Generator().manual_seed(13)
    x = dyadic((50, 6), g).float().to(CUDA)
    y = binary_labels(50, 2, g).to(CUDA)
    with torch.inference_mode():
        layer.update(x, y)
    xg = x.clone().requires_grad_(True)
    out = layer(xg)
    assert not out.requires_grad and out.grad_fn is None
    assert torch_perceptron.ops.online_update(layer.weight, layer.bias, xg, y).device.type == "cuda"
