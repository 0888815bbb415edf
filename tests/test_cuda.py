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
from torch_perceptron import PerceptronLayer, ops, reference
from torch_perceptron._extension import with_cuda

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU available"),
    pytest.mark.skipif(not with_cuda(), reason="torch_perceptron was built without CUDA"),
]

DTYPES = [torch.float32, torch.float64]
CUDA = "cuda"

# (N, in, K): empty batches, one feature, K = 1 and K > 1, N past several
# chunks, K past twice the SM count (smaller blocks), and rows too long for
# shared memory (the kernels then keep the weights in global memory).
ONLINE_SHAPES = [
    (0, 5, 1), (1, 1, 1), (7, 3, 1), (300, 1, 2), (257, 17, 1), (1000, 33, 4),
    (600, 100, 10), (200, 8, 300), (120, 10300, 1), (60, 5200, 3),
]
# (N, in, K) with K >= 2 classes; the last two exceed the shared-memory budget.
MULTICLASS_SHAPES = [
    (0, 4, 3), (1, 1, 2), (9, 3, 2), (500, 20, 10), (700, 7, 3), (300, 30, 40),
    (200, 64, 300), (80, 2100, 5), (50, 1100, 5),
]


def dyadic(shape, generator, *, scale=4, low=-8, high=9):
    """Multiples of 1/scale in [low/scale, high/scale): exact in float32 sums."""
    return torch.randint(low, high, shape, generator=generator).double() / scale


def binary_labels(n, k, generator):
    return torch.randint(0, 2, (n, k), generator=generator).double()


def start_weights(k, d, dtype, generator, dyadic_values=True):
    if dyadic_values:
        return dyadic((k, d), generator).to(dtype), dyadic((k,), generator).to(dtype)
    return (torch.randn(k, d, generator=generator, dtype=torch.float64).to(dtype),
            torch.randn(k, generator=generator, dtype=torch.float64).to(dtype))


def on(device, *tensors):
    # Copies even to the same device, so the CPU and CUDA runs never share storage.
    return [t.to(device, copy=True) for t in tensors]


def assert_same(cuda_tensor, cpu_tensor, *, exact=True):
    got = cuda_tensor.cpu()
    if exact:
        assert torch.equal(got, cpu_tensor), (got - cpu_tensor).abs().max()
    else:
        torch.testing.assert_close(got, cpu_tensor, rtol=1e-10, atol=1e-10)


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


def _cuda_params(k, d, dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    w, b = start_weights(k, d, dtype, g)
    return w.to(CUDA), b.to(CUDA)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 4])
def test_online_non_finite_late_row_restores_weights(bad, dtype, k):
    g = torch.Generator().manual_seed(8)
    n, d, row = 2000, 16, 1500
    x = dyadic((n, d), g).to(dtype)
    x[row, 3] = bad
    y = binary_labels(n, k, g)
    w, b = _cuda_params(k, d, dtype)
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
    w, b = _cuda_params(k, d, dtype)
    w_before, b_before = w.clone(), b.clone()
    with pytest.raises(ValueError, match=rf"x: .*row {row}\b"):
        ops.multiclass_update(w, b, x.to(CUDA), y.to(CUDA))
    assert torch.equal(w, w_before) and torch.equal(b, b_before)


def test_batch_and_forward_non_finite_on_cuda():
    w, b = _cuda_params(2, 4)
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
        w, b = _cuda_params(2, 4)
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
    w, b = _cuda_params(3, 4)
    x = torch.ones(5, 4, device=CUDA)
    w_before, b_before = w.clone(), b.clone()
    with pytest.raises(ValueError, match=r"y: expected class indices in \[0, 3\)"):
        ops.multiclass_update(w, b, x, torch.tensor([0, 1, 2, 3, 0], device=CUDA))
    with pytest.raises(RuntimeError, match="y: expected an integer dtype"):
        ops.multiclass_update(w, b, x, torch.zeros(5, device=CUDA))
    with pytest.raises(RuntimeError, match="y: expected device"):
        ops.multiclass_update(w, b, x, torch.zeros(5, dtype=torch.long))
    assert torch.equal(w, w_before) and torch.equal(b, b_before)


# ------------------------------------------------ averaged and pocket variants
#
# The variants run the plain rules' kernels with extra state, so their weights
# and mistakes must stay the plain rules'; the state is compared too: the
# accumulators (changed only on a mistake, elementwise, so bit-equal once the
# mistakes are) and the pocket, its runs and records.

VARIANTS = ["averaged", "pocket"]


def variant_update(variant, multiclass):
    return getattr(ops, f"{'multiclass' if multiclass else 'online'}_update_{variant}")


def variant_state(variant, k, d, dtype, counters, generator=None):
    """The state beside weight and bias: zeros, or (with a generator) a
    history as earlier calls could have left it."""
    if generator is None:
        floats = torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype)
        return [*floats, *(torch.zeros(counters, dtype=torch.int64)
                           for _ in range(1 if variant == "averaged" else 2))]
    floats = [t.to(dtype) for t in (dyadic((k, d), generator), dyadic((k,), generator))]
    if variant == "averaged":
        return [*floats, torch.randint(0, 50, (counters,), generator=generator)]
    # A current run that may already beat the record, so the first mistake or
    # the end of the first call may fill the pocket.
    run = torch.randint(0, 6, (counters,), generator=generator)
    best = torch.randint(0, 4, (counters,), generator=generator)
    return [*floats, run, best]


def teacher_labels(x, k, generator, multiclass, noise=0.1):
    """Labels of a random linear rule with a fraction `noise` replaced: long
    runs of clean chunks, and mistakes until the end."""
    v = torch.randn(x.shape[1], k, generator=generator, dtype=torch.float64)
    z = x.double() @ v
    if multiclass:
        y = z.argmax(1)
        other = torch.randint(0, k, y.shape, generator=generator)
        return torch.where(torch.rand(y.shape, generator=generator) < noise, other, y)
    y = (z > 0).double()
    flip = torch.rand(y.shape, generator=generator) < noise
    return torch.where(flip, 1 - y, y)


def assert_all_same(cuda_tensors, cpu_tensors, *, exact=True):
    assert len(cuda_tensors) == len(cpu_tensors)
    for got, want in zip(cuda_tensors, cpu_tensors):
        assert got.device.type == torch.device(CUDA).type
        assert_same(got, want, exact=exact or not got.is_floating_point())


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d,k", ONLINE_SHAPES)
def test_online_variant_matches_cpu_on_dyadic_data(n, d, k, dtype, variant):
    g = torch.Generator().manual_seed(n * 1000 + d * 10 + k + 1)
    x = dyadic((n, d), g).to(dtype)
    y = teacher_labels(x, k, g, multiclass=False)
    w, b = start_weights(k, d, dtype, g)
    cpu = [w, b, *variant_state(variant, k, d, dtype, k, g)]
    cuda = on(CUDA, *cpu)
    x_cuda, y_cuda = on(CUDA, x, y)
    update = variant_update(variant, multiclass=False)
    # Two calls: the state carries over from one to the next.
    for part in (slice(0, n // 3), slice(n // 3, n)):
        m_cpu = update(*cpu, x[part], y[part], 0.5)
        m_cuda = update(*cuda, x_cuda[part], y_cuda[part], 0.5)
        assert m_cuda.device.type == "cuda" and m_cuda.shape == (k,)
        assert_same(m_cuda, m_cpu)
    assert_all_same(cuda, cpu)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d,k", MULTICLASS_SHAPES)
def test_multiclass_variant_matches_cpu_on_dyadic_data(n, d, k, dtype, variant):
    g = torch.Generator().manual_seed(n * 1000 + d * 10 + k + 2)
    x = dyadic((n, d), g).to(dtype)
    y = teacher_labels(x, k, g, multiclass=True)
    w, b = start_weights(k, d, dtype, g)
    cpu = [w, b, *variant_state(variant, k, d, dtype, 1, g)]
    cuda = on(CUDA, *cpu)
    x_cuda, y_cuda = on(CUDA, x, y)
    update = variant_update(variant, multiclass=True)
    for part in (slice(0, n // 3), slice(n // 3, n)):
        m_cpu = update(*cpu, x[part], y[part], 0.5)
        m_cuda = update(*cuda, x_cuda[part], y_cuda[part], 0.5)
        assert m_cuda.device.type == "cuda" and m_cuda.shape == (1,)
        assert_same(m_cuda, m_cpu)
    assert_all_same(cuda, cpu)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_averaged_matches_reference(dtype, multiclass, fit_intercept):
    """Against the literal average (the sum of the weights after every
    sample), over two calls; dyadic data keeps every sum exact."""
    g = torch.Generator().manual_seed(21)
    n, d, k = 60, 5, 3
    x = dyadic((n, d), g).to(dtype)
    y = teacher_labels(x, k, g, multiclass)
    sw = torch.randint(0, 3, (n,), generator=g).to(dtype)
    counters = 1 if multiclass else k
    w, b, wacc, bacc, count = (torch.zeros(k, d, dtype=dtype), torch.full((k,), 0.25, dtype=dtype),
                               *variant_state("averaged", k, d, dtype, counters))
    ref = [w, b, wacc, bacc, count]  # weight_sum, bias_sum start at zero too
    state = on(CUDA, w, b, wacc, bacc, count)
    update = variant_update("averaged", multiclass)
    ref_update = getattr(reference, f"{'multiclass' if multiclass else 'online'}_update_averaged")
    extra = () if multiclass else (True,)  # zero_is_mistake
    kw = {} if multiclass else {"zero_is_mistake": True}
    for part in (slice(0, 23), slice(23, n)):
        m = update(*state, x[part].to(CUDA), y[part].to(CUDA), 0.5,
                   sample_weight=sw[part].to(CUDA), fit_intercept=fit_intercept, **kw)
        *ref, rm = ref_update(*ref, x[part], y[part], 0.5, sw[part], *extra,
                              fit_intercept=fit_intercept)
        assert_same(m, rm)
    assert m.sum() > 0
    rw, rb, rws, rbs, rc = ref
    w, b, wacc, bacc, count = (t.cpu() for t in state)
    assert torch.equal(w, rw) and torch.equal(b, rb) and torch.equal(count, rc)
    assert count.tolist() == [n] * counters
    c = count.to(dtype)
    assert torch.equal(c[:, None] * w - wacc, rws)
    assert torch.equal(c * b - bacc, rbs)
    if not fit_intercept:
        assert (b == 0.25).all() and (bacc == 0).all()


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pocket_matches_reference(dtype, multiclass, fit_intercept):
    g = torch.Generator().manual_seed(22)
    n, d, k = 80, 5, 3
    x = dyadic((n, d), g).to(dtype)
    y = teacher_labels(x, k, g, multiclass, noise=0.15)
    sw = torch.randint(1, 3, (n,), generator=g).to(dtype)
    counters = 1 if multiclass else k
    ref = [torch.zeros(k, d, dtype=dtype), torch.full((k,), 0.25, dtype=dtype),
           *variant_state("pocket", k, d, dtype, counters)]
    state = on(CUDA, *ref)
    update = variant_update("pocket", multiclass)
    ref_update = getattr(reference, f"{'multiclass' if multiclass else 'online'}_update_pocket")
    extra = () if multiclass else (True,)
    kw = {} if multiclass else {"zero_is_mistake": True}
    for _ in range(2):
        for part in (slice(0, 30), slice(30, n)):
            m = update(*state, x[part].to(CUDA), y[part].to(CUDA), 0.5,
                       sample_weight=sw[part].to(CUDA), fit_intercept=fit_intercept, **kw)
            *ref, rm = ref_update(*ref, x[part], y[part], 0.5, sw[part], *extra,
                                  fit_intercept=fit_intercept)
            assert_same(m, rm)
    assert_all_same(state, ref)
    assert (ref[5] > 0).all()  # some run was recorded


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_options_match_cpu(variant, multiclass, dtype, fit_intercept):
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
    cuda = on(CUDA, *cpu)
    update = variant_update(variant, multiclass)
    for zero_is_mistake in ([False] if multiclass else [False, True]):
        kw = {} if multiclass else {"zero_is_mistake": zero_is_mistake}
        m_cpu = update(*cpu, x, y, 0.25, sample_weight=sw, fit_intercept=fit_intercept, **kw)
        m_cuda = update(*cuda, x.to(CUDA), y.to(CUDA), 0.25, sample_weight=sw.to(CUDA),
                        fit_intercept=fit_intercept, **kw)
        assert_same(m_cuda, m_cpu)
        assert_all_same(cuda, cpu)
    if not fit_intercept:
        assert (cuda[1] == 0).all()


@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_matches_cpu_on_gaussian_float64(variant, multiclass):
    g = torch.Generator().manual_seed(24)
    n, d, k = 800, 40, 6
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = teacher_labels(x, k, g, multiclass)
    w, b = start_weights(k, d, torch.float64, g, dyadic_values=False)
    cpu = [w, b, *variant_state(variant, k, d, torch.float64, 1 if multiclass else k)]
    cuda = on(CUDA, *cpu)
    update = variant_update(variant, multiclass)
    for part in (slice(0, 300), slice(300, n)):
        m_cpu = update(*cpu, x[part], y[part], 0.1)
        m_cuda = update(*cuda, x[part].to(CUDA), y[part].to(CUDA), 0.1)
        assert_same(m_cuda, m_cpu)
    assert_all_same(cuda, cpu, exact=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_non_contiguous(variant, multiclass, dtype):
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
            return t.t().contiguous().to(CUDA).t()
        return torch.stack([t, torch.zeros_like(t)], 1).to(CUDA)[:, 0]

    views = [view_of(t) for t in cpu]
    # (A one-element tensor counts as contiguous whatever its stride.)
    assert not any(v.is_contiguous() for v in views if v.numel() > 1)
    y_cuda = y.to(CUDA) if multiclass else y.t().contiguous().to(CUDA).t()  # stored [K, N]
    m_cuda = variant_update(variant, multiclass)(*views, x_wide.to(CUDA)[:, ::2], y_cuda)
    assert_same(m_cuda, m_expected)
    assert_all_same(views, expected)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_non_finite_late_row_restores_every_tensor(variant, multiclass, dtype, bad):
    g = torch.Generator().manual_seed(26)
    n, d, k, row = 2000, 16, 4, 1500
    counters = 1 if multiclass else k
    x = dyadic((n, d), g).to(dtype)
    y = teacher_labels(x, k, g, multiclass)
    w, b = start_weights(k, d, dtype, g)
    state = on(CUDA, w, b, *variant_state(variant, k, d, dtype, counters, g))
    update = variant_update(variant, multiclass)
    update(*state, x[:500].to(CUDA), y[:500].to(CUDA))  # some history in every tensor
    before = [t.clone() for t in state]
    x_bad = x.clone()
    x_bad[row, 3] = bad
    with pytest.raises(ValueError, match=rf"x: .*row {row}\b"):
        update(*state, x_bad.to(CUDA), y.to(CUDA))
    for t, s in zip(state, before):
        assert torch.equal(t, s)
    # The call before the bad row would have changed the state: the restore
    # undid real updates.
    update(*state, x[:row].to(CUDA), y[:row].to(CUDA))
    assert not all(torch.equal(t, s) for t, s in zip(state, before))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_deterministic(variant, multiclass, dtype):
    g = torch.Generator().manual_seed(27)
    n, d, k = 3000, 300, 7
    x = torch.randn(n, d, generator=g, dtype=torch.float64).to(dtype)
    y = teacher_labels(x, k, g, multiclass, noise=0.2).to(CUDA)
    x = x.to(CUDA)
    counters = 1 if multiclass else k
    update = variant_update(variant, multiclass)
    outcomes = []
    for _ in range(4):
        state = on(CUDA, torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype),
                   *variant_state(variant, k, d, dtype, counters))
        m = update(*state, x, y, 0.3)
        outcomes.append([m.cpu()] + [t.cpu() for t in state])
    for outcome in outcomes[1:]:
        for got, want in zip(outcome, outcomes[0]):
            assert torch.equal(got, want)


def test_variant_empty_batch_changes_nothing():
    for variant in VARIANTS:
        for multiclass in (False, True):
            k, d = 3, 4
            w, b = _cuda_params(k, d)
            g = torch.Generator().manual_seed(28)
            state = [w, b, *on(CUDA, *variant_state(variant, k, d, torch.float32,
                                                    1 if multiclass else k, g))]
            before = [t.clone() for t in state]
            y = torch.zeros(0, dtype=torch.long, device=CUDA) if multiclass else torch.zeros(
                0, k, device=CUDA)
            m = variant_update(variant, multiclass)(*state, torch.zeros(0, d, device=CUDA), y)
            assert m.device.type == "cuda" and (m == 0).all()
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


@pytest.mark.parametrize("message,variant,multiclass,index,replace", list(_bad_variant_calls()),
                         ids=[c[0] for c in _bad_variant_calls()])
def test_variant_bad_inputs_on_cuda(message, variant, multiclass, index, replace):
    """Every input is checked before any write: a rejected call leaves every
    tensor as it was."""
    k, d = 3, 4
    g = torch.Generator().manual_seed(29)
    w, b = _cuda_params(k, d)
    state = [w, b, *on(CUDA, *variant_state(variant, k, d, torch.float32,
                                            1 if multiclass else k, g))]
    x = dyadic((6, d), g).float().to(CUDA)
    y = (torch.randint(0, k, (6,), generator=g) if multiclass
         else binary_labels(6, k, g)).to(CUDA)
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
    w, b = _cuda_params(3, 5, dtype)
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
