"""Every sparse (CSR) op against the reference's ``*_csr`` form and against the
dense kernel on the same data, bit for bit on dyadic data: both dtypes, both
index dtypes, every device, random shapes with empty rows and explicit zeros,
sample weights, zero_is_mistake, bias_step 0 / 1 / 0.01; and the paths of the
CPU loop (one output, outputs row by row, the feature-major copy, two threads).
"""

import warnings

import pytest
import torch

from csr_cases import (
    CSR_OPS, FORWARDS, MULTICLASS, UPDATES, bits, call_csr, dense_call, labels, random_csr,
    state, variant_of,
)
from support import DEVICES, assert_bits_equal, gen
from torch_perceptron import ops, reference

DTYPES = [torch.float32, torch.float64]
INDEX_DTYPES = [torch.int32, torch.int64]

# (N, in_features, K): an empty batch, one feature, K = 1 and K > 1.
REFERENCE_SHAPES = [(0, 5, 1), (1, 1, 1), (9, 3, 1), (30, 12, 3), (40, 9, 2)]
# Larger, against the dense kernel: K = 1 with prefetch, outputs row by row
# (few non-zeros for the features), the feature-major copy (many), and two
# threads (nnz * K past the parallel threshold).
DENSE_SHAPES = [
    (0, 5, 3), (1, 1, 1), (50, 7, 1), (400, 64, 1), (300, 50, 5), (150, 1000, 20),
    (8, 4000, 3), (2000, 300, 20), (600, 100, 2), (500, 40, 40),
]
# (sample_weight, zero_is_mistake, bias_step) per case.
OPTIONS = [(False, False, 1.0), (True, False, 1.0), (False, True, 0.0), (True, True, 0.01)]


def problem(op, n, d, k, dtype, index_dtype, device, seed):
    g = gen(seed)
    if op in MULTICLASS and k == 1:
        k = 2
    x, crow, col, values = random_csr(n, d, g, dtype=dtype, index_dtype=index_dtype,
                                      device=device)
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
def test_matches_reference(op, dtype, index_dtype, device):
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
def test_matches_dense_kernel(op, dtype, index_dtype, device):
    """Every tensor the op writes, and its result, equal the dense kernel's on
    x.to_dense(), bit for bit, with a state that has a history."""
    for s, (n, d, k) in enumerate(DENSE_SHAPES):
        case = s % len(OPTIONS)
        x, crow, col, values, w, b, y, sw, g = problem(op, n, d, k, dtype, index_dtype, device,
                                                       100 + s)
        st = state(op, w, b, g)
        kw = options(op, case, sw)
        dense = [w.clone(), b.clone(), *[t.clone() for t in st]]
        want = dense_call(op, dense[0], dense[1], dense[2:], x, y, 0.5, **kw)
        sparse = [w.clone(), b.clone(), *[t.clone() for t in st]]
        got = call_csr(op, sparse[0], sparse[1], sparse[2:], crow, col, values, d, y, 0.5, **kw)
        what = f"{op} {n}x{d}, K={w.shape[0]}, options {OPTIONS[case]}"
        assert got.device == w.device
        assert_bits_equal(got, want, f"{what}: result")
        for name, t, u in zip(["weight", "bias", "state 0", "state 1", "state 2", "state 3"],
                              sparse, dense):
            assert_bits_equal(t, u, f"{what}: {name}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", UPDATES)
def test_two_calls_carry_the_state(op, device):
    """A call over the first rows, then one over the rest, is one call over all."""
    n, d, k = 120, 30, 3
    x, crow, col, values, w, b, y, sw, g = problem(op, n, d, k, torch.float64, torch.int64,
                                                   device, 7)
    st = state(op, w, b, g)
    once = [w.clone(), b.clone(), *[t.clone() for t in st]]
    call_csr(op, once[0], once[1], once[2:], crow, col, values, d, y, 0.5)
    if "batch" in op:
        return  # one batch is not two
    parts = [w.clone(), b.clone(), *[t.clone() for t in st]]
    cut = 47
    lo, hi = int(crow[cut]), int(crow[-1])
    call_csr(op, parts[0], parts[1], parts[2:], crow[: cut + 1], col[:lo], values[:lo], d,
             y[:cut], 0.5)
    call_csr(op, parts[0], parts[1], parts[2:], crow[cut:] - lo, col[lo:hi], values[lo:hi], d,
             y[cut:], 0.5)
    for t, u in zip(parts, once):
        assert torch.equal(bits(t), bits(u))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", CSR_OPS)
def test_noncontiguous_inputs(op, device):
    """Strided index, value and weight tensors give the contiguous call's bits."""
    n, d, k = 60, 20, 3
    x, crow, col, values, w, b, y, sw, g = problem(op, n, d, k, torch.float32, torch.int64,
                                                   device, 11)
    st = state(op, w, b, g)

    def strided(t):
        wide = torch.stack([t, torch.zeros_like(t)], -1)
        return wide[..., 0]

    want_state = [w.clone(), b.clone(), *[t.clone() for t in st]]
    want = call_csr(op, want_state[0], want_state[1], want_state[2:], crow, col, values, d, y,
                    0.5)
    got_state = [w.t().contiguous().t(), strided(b.clone()),
                 *[strided(t.clone()) for t in st]]
    assert not got_state[0].is_contiguous() or w.shape[0] == 1
    assert not strided(col).is_contiguous()
    got = call_csr(op, got_state[0], got_state[1], got_state[2:], strided(crow), strided(col),
                   strided(values), d, y, 0.5)
    assert_bits_equal(got, want, "result")
    for t, u in zip(got_state, want_state):
        assert torch.equal(bits(t), bits(u))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ["online_update_averaged_csr", "multiclass_update_averaged_csr"])
def test_averaged_mistake_touches_only_the_samples_nonzeros(op, device):
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
    assert torch.equal(bits(w)[:, untouched], torch.zeros(k, int(untouched.sum()),
                                                           dtype=torch.int64))


@pytest.mark.parametrize("num_threads_value", [1, 2])
def test_thread_count_does_not_change_the_bits(num_threads, num_threads_value):
    """Feature-major and row-major, one thread or two: the same bits."""
    num_threads(num_threads_value)
    for n, d, k in [(2000, 300, 20), (100, 5000, 7)]:
        x, crow, col, values, w, b, y, sw, g = problem("online_update_csr", n, d, k,
                                                       torch.float32, torch.int32, "cpu", 5)
        dense_w, dense_b = w.clone(), b.clone()
        want = ops.online_update(dense_w, dense_b, x, y, 0.5, sample_weight=sw)
        got = ops.online_update_csr(w, b, crow, col, values, d, y, 0.5, sample_weight=sw)
        assert torch.equal(got, want) and torch.equal(w, dense_w) and torch.equal(b, dense_b)


@pytest.mark.parametrize("num_threads_value", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("pad", [0, 3, 16])
def test_feature_major_weights_are_updated_in_place(num_threads, num_threads_value, dtype,
                                                    pad):
    """weight as the transpose of a [in, K + pad] tensor (the CPU updates it in
    place, lanes past K masked; a padded row on cache lines is split between
    threads): the bits of the row-major call, written into the caller's
    tensor, its layout kept, every width of the last vector."""
    num_threads(num_threads_value)
    for k in (2, 3, 5, 8, 13, 16, 20, 31, 32, 40):
        n, d = 300, 64
        x, crow, col, values, w, b, y, sw, g = problem("online_update_csr", n, d, k, dtype,
                                                       torch.int32, "cpu", k)
        want_w, want_b = w.clone(), b.clone()
        # The loss sums too, going on from what the tensor held.
        want_loss = torch.arange(k, dtype=torch.float64)
        got_loss = want_loss.clone()
        want = ops.online_update_csr(want_w, want_b, crow, col, values, d, y, 0.5,
                                     sample_weight=sw, loss=want_loss)
        storage = torch.zeros(d, k + pad, dtype=dtype)
        storage[:, :k] = w.t()
        got_w = storage[:, :k].t()
        got = ops.online_update_csr(got_w, b, crow, col, values, d, y, 0.5, sample_weight=sw,
                                    loss=got_loss)
        assert torch.equal(got, want), k
        assert torch.equal(bits(got_w), bits(want_w)) and torch.equal(bits(b), bits(want_b)), k
        assert torch.equal(bits(got_loss), bits(want_loss)) and bool((got_loss > 0).any()), k
        assert got_w.stride() == (1, k + pad) and torch.equal(storage[:, k:],
                                                              torch.zeros(d, pad, dtype=dtype))


@pytest.mark.parametrize("device", DEVICES)
def test_wide_sparse_rows_cost_their_nonzeros(device):
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
