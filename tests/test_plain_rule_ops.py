"""The plain rules (online, multiclass, mini-batch) and the forward ops
(decision_function, predict), dense and CSR (``format``), on every device.

On a device other than the CPU, mistakes and weights equal the CPU kernels'
(bit for bit on dyadic data, within rounding on Gaussian float64 data); on
every device labels of any accepted shape and dtype, non-contiguous tensors,
repeated runs, a non-finite row (which restores the weights), and multiclass
ties (the lowest class wins, across the CPU's groups of classes too). Then
every CSR op (the variants' too) against the reference's ``*_csr`` form and
the dense kernel on the same data, bit for bit on dyadic data: both dtypes,
both index dtypes, random shapes with empty rows and explicit zeros, sample
weights, zero_is_mistake, bias_step 0 / 1 / 0.01; and the paths of the CPU
loop (one output, outputs row by row, the feature-major copy, two threads).
The comparisons of the dense ops with the reference on random shapes are in
test_ops_reference.py.
"""

import warnings

import pytest
import torch

from csr_cases import (
    CSR_OPS,
    FORWARDS,
    MULTICLASS,
    UPDATES,
    bits,
    call_csr,
    dense_call,
    labels,
    random_csr,
    state,
    variant_of,
)
from device_support import (
    BIAS_STEPS,
    DTYPES,
    MULTICLASS_SHAPES,
    ONLINE_SHAPES,
    assert_same,
    binary_labels,
    dyadic,
    on,
    params_on,
    start_weights,
)
from support import ACCELERATORS, DEVICES, FORMATS, assert_bits_equal, gen
from torch_perceptron import ops, reference

INDEX_DTYPES = [torch.int32, torch.int64]


def rule_labels(rule, n, k, g):
    """Class indices [N] for the multiclass rule, 0/1 labels [N, K] else."""
    if rule == "multiclass":
        return torch.randint(0, k, (n,), generator=g)
    return binary_labels(n, k, g)


def update_in(fmt, op, w, b, x, y, *args, variant_state=(), **kw):
    """The dense op ``op`` (or its CSR form, on x's stored entries) in place."""
    if fmt == "dense":
        return getattr(ops, op)(w, b, *variant_state, x, y, *args, **kw)
    csr = x.to_sparse_csr()
    return getattr(ops, f"{op}_csr")(
        w, b, *variant_state, csr.crow_indices(), csr.col_indices(), csr.values(), x.shape[1], y, *args, **kw
    )


# ------------------------------------------------ online and multiclass rules


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "rule, n, d, k", [("online", *s) for s in ONLINE_SHAPES] + [("multiclass", *s) for s in MULTICLASS_SHAPES]
)
def test_matches_cpu_on_dyadic_data(rule, n, d, k, dtype, device):
    g = torch.Generator().manual_seed(n * 1000 + d * 10 + k)
    x = dyadic((n, d), g).to(dtype)
    y = rule_labels(rule, n, k, g)
    w, b = start_weights(k, d, dtype, g)
    w_dev, b_dev, x_dev, y_dev = on(device, w, b, x, y)
    update = getattr(ops, f"{rule}_update")
    m_cpu = update(w, b, x, y)
    m_dev = update(w_dev, b_dev, x_dev, y_dev)
    assert m_dev.device.type == device and m_dev.dtype == torch.int64
    assert m_dev.shape == ((1,) if rule == "multiclass" else (k,))
    assert_same(m_dev, m_cpu)
    assert_same(w_dev, w)
    assert_same(b_dev, b)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n,d,k", [(50, 6, 1), (40, 5, 3)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_online_matches_reference(n, d, k, dtype, fmt, device):
    g = torch.Generator().manual_seed(7)
    x = dyadic((n, d), g).to(dtype)
    y = binary_labels(n, k, g)
    w, b = start_weights(k, d, dtype, g)
    rw, rb, rm = reference.online_update(w, b, x, y, lr=0.5)
    w_dev, b_dev = on(device, w, b)
    m = update_in(fmt, "online_update", w_dev, b_dev, x.to(device), y.to(device), 0.5)
    assert_same(m, rm)
    assert_same(w_dev, rw)
    assert_same(b_dev, rb)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias_step", BIAS_STEPS)
@pytest.mark.parametrize("rule", ["online", "multiclass", "batch"])
def test_bias_step_matches_reference(rule, bias_step, dtype, fmt, device):
    """bias_step scales the bias's step, bit for bit as the reference rounds
    it, over two calls (the second decides under the first's bias)."""
    g = torch.Generator().manual_seed(31)
    n, d, k = 60, 5, 3
    x = dyadic((n, d), g).to(dtype)
    y = rule_labels(rule, n, k, g)
    sw = torch.randint(0, 3, (n,), generator=g).to(dtype) / 2
    w0, b0 = start_weights(k, d, dtype, g)
    rw, rb = w0, b0
    w, b = on(device, w0, b0)
    kw = {} if rule == "multiclass" else {"zero_is_mistake": True}
    ref = getattr(reference, f"{rule}_update")
    for part in (slice(0, 25), slice(25, n)):
        rw, rb, rm = ref(rw, rb, x[part], y[part], 0.5, sw[part], *kw.values(), bias_step=bias_step)
        xp, yp, swp = on(device, x[part], y[part], sw[part])
        m = update_in(fmt, f"{rule}_update", w, b, xp, yp, 0.5, sample_weight=swp, bias_step=bias_step, **kw)
        assert_same(m, rm)
        assert_same(w, rw)
        assert_same(b, rb)
    if bias_step == 0:
        assert torch.equal(b.cpu(), b0)
    else:
        assert not torch.equal(b.cpu(), b0)


# (rule, N, in_features, K) of the comparison on Gaussian float64 data.
GAUSSIAN_CASES = [("online", 400, 30, 1), ("online", 500, 50, 6), ("online", 100, 6000, 2), ("multiclass", 800, 40, 10)]


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("rule, n, d, k", GAUSSIAN_CASES)
def test_matches_cpu_on_gaussian_float64(rule, n, d, k, device):
    g = torch.Generator().manual_seed(d if rule == "online" else 9)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = rule_labels(rule, n, k, g)
    w, b = start_weights(k, d, torch.float64, g, dyadic_values=False)
    w_dev, b_dev, x_dev, y_dev = on(device, w, b, x, y)
    update = getattr(ops, f"{rule}_update")
    m_cpu = update(w, b, x, y, 0.1)
    m_dev = update(w_dev, b_dev, x_dev, y_dev, 0.1)
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
        w_dev,
        b_dev,
        x.to(device),
        y.to(device),
        0.25,
        sample_weight=sw.to(device),
        zero_is_mistake=zero_is_mistake,
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
    for labels_ in (y, y.view(-1, 1), y.bool(), y.float()):
        w = torch.zeros(1, 4, dtype=dtype, device=device)
        b = torch.zeros(1, dtype=dtype, device=device)
        m = ops.online_update(w, b, x.to(device), labels_.to(device))
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
    m_dev = ops.multiclass_update(w_store.t(), b_dev, x_t.to(device).t(), y.int().to(device))
    assert_same(m_dev, m_cpu)
    assert_same(w_store.t(), w)
    assert_same(b_dev, b)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "rule, n, d, k",
    [
        ("online", 3000, 300, 1),
        ("online", 3000, 300, 7),
        ("multiclass", 3000, 100, 10),
    ],
)
def test_deterministic(rule, n, d, k, dtype, device):
    """Non-dyadic data: every run gives the same bits (no order-dependent
    atomics, no dependence on the chunking)."""
    g = torch.Generator().manual_seed(k if rule == "online" else 1)
    x = torch.randn(n, d, generator=g, dtype=torch.float64).to(dtype).to(device)
    y = rule_labels(rule, n, k, g).to(device)
    outcomes = []
    for _ in range(4):
        w = torch.zeros(k, d, dtype=dtype, device=device)
        b = torch.zeros(k, dtype=dtype, device=device)
        m = getattr(ops, f"{rule}_update")(w, b, x, y, 0.3)
        outcomes.append((m.cpu(), w.cpu(), b.cpu()))
    for m, w, b in outcomes[1:]:
        assert torch.equal(m, outcomes[0][0])
        assert torch.equal(w, outcomes[0][1]) and torch.equal(b, outcomes[0][2])


def cross_group_ties(w, b, x, y, sw, width):
    """How many rows, as the rule reaches them (replayed on the reference one
    row at a time), have their largest decision value held by classes of two
    different groups of ``width`` classes."""
    ties = 0
    for i in range(x.shape[0]):
        z = x[i].double() @ w.double().t() + b.double()  # exact: small dyadic values
        tied = (z == z.max()).nonzero()[:, 0]
        ties += int(tied[0] // width != tied[-1] // width)
        w, b, _ = reference.multiclass_update(w, b, x[i : i + 1], y[i : i + 1], 0.5, sample_weight=sw[i : i + 1])
    return ties


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [4, 20, 37])
@pytest.mark.parametrize("op", ["multiclass_update", "multiclass_update_averaged", "multiclass_update_pocket"])
def test_multiclass_ties_and_reference(op, k, dtype, fmt, device):
    """Zero weights and small integer data: many ties, the lowest index wins,
    bit for bit as the reference decides (the variants' weights and mistakes
    are the plain rule's). The CPU kernel compares the classes in groups (8
    with AVX-512, 4 otherwise: kGroupRows in csrc/cpu/vec.h), so K = 20 and
    37 put tied classes in different groups, and a later group must not take
    over on an equal value (a rule that lets it changes the weights here at
    K = 20 and 37, with either width, not at K = 4)."""
    g = torch.Generator().manual_seed(2)
    n, d = 120, 3
    x = torch.randint(-1, 2, (n, d), generator=g).to(dtype)
    y = torch.randint(0, k, (n,), generator=g)
    sw = torch.randint(0, 3, (n,), generator=g).to(dtype)
    w0, b0 = torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype)
    rw, rb, rm = reference.multiclass_update(w0, b0, x, y, 0.5, sample_weight=sw)
    w_dev, b_dev = on(device, w0, b0)
    m = update_in(
        fmt,
        op,
        w_dev,
        b_dev,
        x.to(device),
        y.to(device),
        0.5,
        sample_weight=sw.to(device),
        variant_state=state(f"{op}_csr", w_dev, b_dev),
    )
    assert_same(m, rm)
    assert_same(w_dev, rw)
    assert_same(b_dev, rb)
    if k > 8 and op == "multiclass_update":
        # Not vacuous: ties across groups of either width happen.
        for width in (4, 8):
            assert cross_group_ties(w0, b0, x, y, sw, width) > 0


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
    assert_same(ops.decision_function(x_dev, w_dev, b_dev), ops.decision_function(x, w, b))
    assert_same(ops.predict(x_dev, w_dev, b_dev), reference.predict(x, w, b))
    assert_same(ops.predict(x_dev[::2], w_dev, b_dev), ops.predict(x[::2], w, b))
    for zero_is_mistake in (False, True):
        m_cpu = ops.batch_update(w, b, x, y, 0.5, zero_is_mistake=zero_is_mistake)
        m_dev = ops.batch_update(w_dev, b_dev, x_dev, y_dev, 0.5, zero_is_mistake=zero_is_mistake)
        assert_same(m_dev, m_cpu)
        assert_same(w_dev, w)
        assert_same(b_dev, b)


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "rule, k, bad",
    [
        *(("online", k, bad) for k in (1, 4) for bad in (float("nan"), float("inf"), -float("inf"))),
        ("multiclass", 5, float("nan")),
    ],
)
def test_non_finite_late_row_restores_weights(rule, k, bad, dtype, device):
    g = torch.Generator().manual_seed(8)
    n, d, row = 2000, 16, 1500 if rule == "online" else 1700
    x = dyadic((n, d), g).to(dtype)
    x[row, 3 if rule == "online" else 0] = bad
    y = rule_labels(rule, n, k, g)
    w, b = params_on(device, k, d, dtype)
    w_before, b_before = w.clone(), b.clone()
    with pytest.raises(ValueError, match=rf"x: .*row {row}\b"):
        getattr(ops, f"{rule}_update")(w, b, x.to(device), y.to(device))
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
    yield (
        "sample_weight: expected finite",
        lambda w, b, x, y: ops.online_update(w, b, x, y, sample_weight=-torch.ones(5, device=x.device)),
        make,
    )
    yield (
        "sample_weight: expected device",
        lambda w, b, x, y: ops.online_update(w, b, x, y, sample_weight=torch.ones(5)),
        make,
    )
    yield "bias: expected device", lambda w, b, x, y: ops.online_update(w, b.cpu(), x, y), make
    yield "weight and bias: expected finite", lambda w, b, x, y: ops.online_update(w.fill_(float("nan")), b, x, y), make


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("message,call,make", list(_bad_online_calls()), ids=[m for m, _, _ in _bad_online_calls()])
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


# -------------------------------------------------- every CSR op, against the
# reference's *_csr form and the dense kernel on the same data

# (N, in_features, K): an empty batch, one feature, K = 1 and K > 1.
REFERENCE_SHAPES = [(0, 5, 1), (1, 1, 1), (9, 3, 1), (30, 12, 3), (40, 9, 2)]
# Larger, against the dense kernel: K = 1 with prefetch, outputs row by row
# (few non-zeros for the features), the feature-major copy (many), and two
# threads (nnz * K past the parallel threshold).
DENSE_SHAPES = [
    (0, 5, 3),
    (1, 1, 1),
    (50, 7, 1),
    (400, 64, 1),
    (300, 50, 5),
    (150, 1000, 20),
    (8, 4000, 3),
    (2000, 300, 20),
    (600, 100, 2),
    (500, 40, 40),
]
# (sample_weight, zero_is_mistake, bias_step) per case.
OPTIONS = [(False, False, 1.0), (True, False, 1.0), (False, True, 0.0), (True, True, 0.01)]


def copies(w, b, st):
    return [w.clone(), b.clone(), *[t.clone() for t in st]]


def problem(op, n, d, k, dtype, index_dtype, device, seed):
    g = gen(seed)
    if op in MULTICLASS and k == 1:
        k = 2
    x, crow, col, values = random_csr(n, d, g, dtype=dtype, index_dtype=index_dtype, device=device)
    w = (torch.randint(-8, 9, (k, d), generator=g) / 4).to(dtype).to(device)
    b = (torch.randint(-8, 9, (k,), generator=g) / 4).to(dtype).to(device)
    y = labels(op, n, k, g, device)
    sw = (torch.randint(0, 5, (n,), generator=g) / 2).to(dtype).to(device)
    return x, crow, col, values, w, b, y, sw, g


def options(op, case, sw):
    use_sw, zim, bias_step = OPTIONS[case]
    kw = {}
    if op in FORWARDS:
        return kw
    if use_sw:
        kw["sample_weight"] = sw
    if zim and op not in MULTICLASS:
        kw["zero_is_mistake"] = True
    kw["bias_step"] = bias_step
    return kw


def reference_call(op, w, b, st, crow, col, values, d, y, lr, kw):
    """The reference's *_csr form on CPU copies, and what to compare it with."""
    n = crow.shape[0] - 1
    with warnings.catch_warnings():  # torch's "sparse CSR is in beta"
        warnings.simplefilter("ignore")
        x = torch.sparse_csr_tensor(crow.cpu(), col.cpu(), values.cpu(), (n, d))
    fn = getattr(reference, op)
    w, b = w.cpu(), b.cpu()
    if op in FORWARDS:
        return fn(x, w, b)
    kw = {key: (v.cpu() if isinstance(v, torch.Tensor) else v) for key, v in kw.items()}
    variant = variant_of(op)
    if variant is None:
        return fn(w, b, x, y.cpu(), lr, **kw)
    if variant == "averaged":
        # The reference sums the weights after every sample from zero.
        zeros = [torch.zeros_like(w), torch.zeros_like(b), torch.zeros_like(st[2].cpu())]
        return fn(w, b, *zeros, x, y.cpu(), lr, **kw)
    return fn(w, b, *[t.cpu() for t in st], x, y.cpu(), lr, **kw)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", CSR_OPS)
def test_csr_matches_reference(op, dtype, index_dtype, device):
    for s, (n, d, k) in enumerate(REFERENCE_SHAPES):
        case = s % len(OPTIONS)
        x, crow, col, values, w, b, y, sw, g = problem(op, n, d, k, dtype, index_dtype, device, s)
        st = state(op, w, b)  # fresh: the reference's averages start at zero
        kw = options(op, case, sw)
        want = reference_call(op, w, b, st, crow, col, values, d, y, 0.5, kw)
        w_k, b_k, st_k = w.clone(), b.clone(), [t.clone() for t in st]
        got = call_csr(op, w_k, b_k, st_k, crow, col, values, d, y, 0.5, **kw)
        what = f"{op} {n}x{d}, K={k}, options {OPTIONS[case]}"
        if op in FORWARDS:
            assert_bits_equal(got, want, what)
            continue
        variant = variant_of(op)
        mistakes = want[-1]
        assert_bits_equal(got, mistakes, f"{what}: mistakes")
        assert_bits_equal(w_k, want[0], f"{what}: weight")
        assert_bits_equal(b_k, want[1], f"{what}: bias")
        if variant == "pocket":
            for t, r, name in zip(st_k, want[2:6], ["pocket_weight", "pocket_bias", "run", "best_run"]):
                assert_bits_equal(t, r, f"{what}: {name}")
        elif variant == "averaged":
            ws, bs, c = want[2:5]
            assert_bits_equal(st_k[2], c, f"{what}: count")
            if n:
                avg_w, avg_b = ops.averaged_parameters(w_k, b_k, *st_k)
                cc = c.to(dtype).clamp_min(1)
                if cc.numel() == 1:
                    cc = cc.expand(w.shape[0])
                tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else {}
                torch.testing.assert_close(avg_w.cpu(), ws / cc[:, None], **tol)
                torch.testing.assert_close(avg_b.cpu(), bs / cc, **tol)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", CSR_OPS)
def test_csr_matches_dense_kernel(op, dtype, index_dtype, device):
    """Every tensor the op writes, and its result, equal the dense kernel's on
    x.to_dense(), bit for bit, with a state that has a history."""
    for s, (n, d, k) in enumerate(DENSE_SHAPES):
        case = s % len(OPTIONS)
        x, crow, col, values, w, b, y, sw, g = problem(op, n, d, k, dtype, index_dtype, device, 100 + s)
        st = state(op, w, b, g)
        kw = options(op, case, sw)
        dense = copies(w, b, st)
        want = dense_call(op, dense[0], dense[1], dense[2:], x, y, 0.5, **kw)
        sparse = copies(w, b, st)
        got = call_csr(op, sparse[0], sparse[1], sparse[2:], crow, col, values, d, y, 0.5, **kw)
        what = f"{op} {n}x{d}, K={w.shape[0]}, options {OPTIONS[case]}"
        assert got.device == w.device
        assert_bits_equal(got, want, f"{what}: result")
        for name, t, u in zip(["weight", "bias", "state 0", "state 1", "state 2", "state 3"], sparse, dense):
            assert_bits_equal(t, u, f"{what}: {name}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", UPDATES)
def test_csr_two_calls_carry_the_state(op, device):
    """A call over the first rows, then one over the rest, is one call over all."""
    d = 30
    x, crow, col, values, w, b, y, sw, g = problem(op, 120, d, 3, torch.float64, torch.int64, device, 7)
    st = state(op, w, b, g)
    once = copies(w, b, st)
    call_csr(op, once[0], once[1], once[2:], crow, col, values, d, y, 0.5)
    if "batch" in op:
        return  # one batch is not two
    parts = copies(w, b, st)
    cut = 47
    lo, hi = int(crow[cut]), int(crow[-1])
    call_csr(op, parts[0], parts[1], parts[2:], crow[: cut + 1], col[:lo], values[:lo], d, y[:cut], 0.5)
    call_csr(op, parts[0], parts[1], parts[2:], crow[cut:] - lo, col[lo:hi], values[lo:hi], d, y[cut:], 0.5)
    for t, u in zip(parts, once):
        assert torch.equal(bits(t), bits(u))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", CSR_OPS)
def test_csr_noncontiguous_inputs(op, device):
    """Strided index, value and weight tensors give the contiguous call's bits."""
    n, d, k = 60, 20, 3
    x, crow, col, values, w, b, y, sw, g = problem(op, n, d, k, torch.float32, torch.int64, device, 11)
    st = state(op, w, b, g)

    def strided(t):
        wide = torch.stack([t, torch.zeros_like(t)], -1)
        return wide[..., 0]

    want_state = copies(w, b, st)
    want = call_csr(op, want_state[0], want_state[1], want_state[2:], crow, col, values, d, y, 0.5)
    got_state = [w.t().contiguous().t(), strided(b.clone()), *[strided(t.clone()) for t in st]]
    assert not got_state[0].is_contiguous() or w.shape[0] == 1
    assert not strided(col).is_contiguous()
    got = call_csr(
        op, got_state[0], got_state[1], got_state[2:], strided(crow), strided(col), strided(values), d, y, 0.5
    )
    assert_bits_equal(got, want, "result")
    for t, u in zip(got_state, want_state):
        assert torch.equal(bits(t), bits(u))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ["online_update_averaged_csr", "multiclass_update_averaged_csr"])
def test_csr_averaged_mistake_touches_only_the_samples_nonzeros(op, device):
    n, d, k = 50, 400, 3
    g = gen(3)
    x, crow, col, values = random_csr(n, d, g, density=0.01, device=device)
    w = torch.zeros(k, d, dtype=torch.float64, device=device)
    b = torch.zeros(k, dtype=torch.float64, device=device)
    y = labels(op, n, k, g, device)
    st = state(op, w, b, g)  # accumulators with a history: nonzero everywhere
    before = [bits(t) for t in st]
    m = call_csr(op, w, b, st, crow, col, values, d, y)
    assert int(m.sum()) > 0
    untouched = torch.ones(d, dtype=torch.bool)
    untouched[col.cpu().long()] = False
    assert untouched.sum() > 100
    assert torch.equal(bits(st[0])[:, untouched], before[0][:, untouched])
    assert torch.equal(bits(w)[:, untouched], torch.zeros(k, int(untouched.sum()), dtype=torch.int64))


@pytest.mark.parametrize("num_threads_value", [1, 2])
def test_csr_thread_count_does_not_change_the_bits(num_threads, num_threads_value):
    """Feature-major and row-major, one thread or two: the same bits."""
    num_threads(num_threads_value)
    for n, d, k in [(2000, 300, 20), (100, 5000, 7)]:
        x, crow, col, values, w, b, y, sw, g = problem(
            "online_update_csr", n, d, k, torch.float32, torch.int32, "cpu", 5
        )
        dense_w, dense_b = w.clone(), b.clone()
        want = ops.online_update(dense_w, dense_b, x, y, 0.5, sample_weight=sw)
        got = ops.online_update_csr(w, b, crow, col, values, d, y, 0.5, sample_weight=sw)
        assert torch.equal(got, want) and torch.equal(w, dense_w) and torch.equal(b, dense_b)


@pytest.mark.parametrize("num_threads_value", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("pad", [0, 3, 16])
def test_csr_feature_major_weights_are_updated_in_place(num_threads, num_threads_value, dtype, pad):
    """weight as the transpose of a [in, K + pad] tensor (the CPU updates it in
    place, lanes past K masked; a padded row on cache lines is split between
    threads): the bits of the row-major call, written into the caller's
    tensor, its layout kept, every width of the last vector."""
    num_threads(num_threads_value)
    for k in (2, 3, 5, 8, 13, 16, 20, 31, 32, 40):
        n, d = 300, 64
        x, crow, col, values, w, b, y, sw, g = problem("online_update_csr", n, d, k, dtype, torch.int32, "cpu", k)
        want_w, want_b = w.clone(), b.clone()
        # The loss sums too, going on from what the tensor held.
        want_loss = torch.arange(k, dtype=torch.float64)
        got_loss = want_loss.clone()
        want = ops.online_update_csr(want_w, want_b, crow, col, values, d, y, 0.5, sample_weight=sw, loss=want_loss)
        storage = torch.zeros(d, k + pad, dtype=dtype)
        storage[:, :k] = w.t()
        got_w = storage[:, :k].t()
        got = ops.online_update_csr(got_w, b, crow, col, values, d, y, 0.5, sample_weight=sw, loss=got_loss)
        assert torch.equal(got, want), k
        assert torch.equal(bits(got_w), bits(want_w)) and torch.equal(bits(b), bits(want_b)), k
        assert torch.equal(bits(got_loss), bits(want_loss)) and bool((got_loss > 0).any()), k
        assert got_w.stride() == (1, k + pad) and torch.equal(storage[:, k:], torch.zeros(d, pad, dtype=dtype))


@pytest.mark.parametrize("device", DEVICES)
def test_csr_wide_sparse_rows_cost_their_nonzeros(device):
    """2^24 features, a handful of non-zeros: the forward and the update run on
    the CSR as given (a dense copy of x would be 2^24 values per row)."""
    d = 1 << 24
    crow = torch.tensor([0, 2, 2, 5], device=device)
    col = torch.tensor([3, d - 1, 0, 7, 1 << 20], device=device)
    values = torch.tensor([1.0, -2.0, 0.5, 1.0, 4.0], device=device)
    w = torch.zeros(1, d, device=device)
    b = torch.zeros(1, device=device)
    y = torch.tensor([1, 0, 1], device=device)
    m = ops.online_update_csr(w, b, crow, col, values, d, y)
    # Row 0: z = 0, wrong (b = 1); row 1 (empty): z = b = 1 > 0, wrong (b = 0);
    # row 2: z = 0, wrong (b = 1).
    assert m.tolist() == [3]
    assert w[0, 3].item() == 1.0 and w[0, d - 1].item() == -2.0 and b.item() == 1.0
    assert w[0, 0].item() == 0.5 and w[0, 7].item() == 1.0 and w[0, 1 << 20].item() == 4.0
    assert int((w != 0).sum()) == 5
    z = ops.decision_function_csr(crow, col, values, d, w, b)
    assert z[:, 0].tolist() == [6.0, 1.0, 18.25]
