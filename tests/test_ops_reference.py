"""Every compiled op against the plain reference rules in
torch_perceptron.reference; then the reference's sparse rules (``*_csr``)
against its dense ones on the same data, densified: on dyadic data every sum
is exact, so the two must agree bit for bit, for both float dtypes and both
index dtypes, with empty rows (and the CSR form against scikit-learn's sparse
Perceptron)."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from support import (
    DEVICES,
    DTYPES,
    OPS,
    UPDATE_RULES,
    assert_bits_equal,
    assert_same_result,
    binary_labels,
    class_labels,
    continuous,
    decision_reference,
    dyadic,
    dyadic_sample_weight,
    gen,
    noncontiguous,
    run_kernel,
    run_reference,
)
from torch_perceptron import ops, reference
from torch_perceptron.reference import SPARSE_INTERCEPT_DECAY
from torch_perceptron.sparse import as_csr

# (N, in_features, K): empty batch, one feature, one output, several outputs,
# in_features below, at and above one SIMD block (16 floats / 8 doubles).
SHAPES = [
    (0, 3, 1),
    (0, 4, 3),
    (1, 1, 1),
    (9, 1, 1),
    (9, 1, 4),
    (24, 5, 1),
    (24, 5, 3),
    (20, 8, 2),
    (20, 16, 1),
    (17, 37, 3),
    (6, 3, 7),
]
BINARY_RULES = ["online_update", "batch_update"]
ids = [f"n{n}-in{i}-k{k}" for n, i, k in SHAPES]


def rules_and_outputs(ks):
    """(rule, K) for every rule: K from ks, one more for the multiclass rule
    (which needs two classes)."""
    return [(rule, k + (rule == "multiclass_update")) for rule in BINARY_RULES + ["multiclass_update"] for k in ks]


def make_problem(rule, n, in_features, k, dtype, device, seed, data=dyadic, init="random"):
    g = gen(seed)
    x = data((n, in_features), g, dtype, device)
    if init == "zeros":
        w = torch.zeros(k, in_features, dtype=dtype, device=device)
        b = torch.zeros(k, dtype=dtype, device=device)
    else:
        w = data((k, in_features), g, dtype, device)
        b = data((k,), g, dtype, device)
    if rule == "multiclass_update":
        y = class_labels(n, k, g, device)
    else:
        y = binary_labels(n, k, g, device)
    return w, b, x, y


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=ids)
@pytest.mark.parametrize("rule", BINARY_RULES + ["multiclass_update"])
@pytest.mark.parametrize("init", ["zeros", "random"])
def test_update_dyadic_is_bit_identical(rule, shape, dtype, device, init):
    n, in_features, k = shape
    if rule == "multiclass_update" and k == 1:
        k = 2
    for lr in (1.0, 0.5):
        w, b, x, y = make_problem(rule, n, in_features, k, dtype, device, seed=n * 31 + k, init=init)
        got = run_kernel(rule, w, b, x, y, lr)
        want = run_reference(rule, w, b, x, y, lr)
        assert_same_result(got, want, exact=True)
        if n > 0 and init == "zeros":
            # Not vacuous: from zeros every sample with label 1 is a mistake.
            assert got[2].sum() > 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", SHAPES, ids=ids)
@pytest.mark.parametrize("rule", BINARY_RULES + ["multiclass_update"])
@pytest.mark.parametrize(
    "dtype, seed, tol", [(torch.float64, 7, 1e-12), (torch.float32, 11, 1e-5)], ids=["float64", "float32"]
)
def test_update_continuous(rule, shape, dtype, seed, tol, device):
    """Continuous data: float64 within rounding; float32 summation order may
    differ from the reference's: the mistakes (fixed seed, no decision value
    near 0) agree and the weights differ by at most a few ulps of their
    magnitude."""
    n, in_features, k = shape
    if rule == "multiclass_update" and k == 1:
        k = 2
    w, b, x, y = make_problem(rule, n, in_features, k, dtype, device, seed=seed + n, data=continuous)
    got = run_kernel(rule, w, b, x, y, 0.3)
    want = run_reference(rule, w, b, x, y, 0.3)
    assert_same_result(got, want, exact=False, rtol=tol, atol=tol)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule, k", rules_and_outputs([1, 3]))
def test_several_epochs_match_reference(rule, k, dtype, device):
    w, b, x, y = make_problem(rule, 30, 4, k, dtype, device, seed=3, init="zeros")
    kw, kb = w.clone(), b.clone()
    rw, rb = w.cpu(), b.cpu()
    per_epoch = []
    for _ in range(4):
        m = getattr(ops, rule)(kw, kb, x, y, 0.5)
        rw, rb, rm = getattr(reference, rule)(rw, rb, x.cpu(), y.cpu(), 0.5)
        assert_bits_equal(m.cpu(), rm, "mistakes")
        assert_bits_equal(kw.cpu(), rw, "weight")
        assert_bits_equal(kb.cpu(), rb, "bias")
        per_epoch.append(int(m.sum()))
    assert per_epoch[0] > 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule", BINARY_RULES)
@pytest.mark.parametrize("k", [1, 3])
def test_zero_is_mistake(rule, k, dtype, device):
    w, b, x, y = make_problem(rule, 25, 3, k, dtype, device, seed=5, init="zeros")
    plain = run_kernel(rule, w, b, x, y, 1.0)
    got = run_kernel(rule, w, b, x, y, 1.0, zero_is_mistake=True)
    want = run_reference(rule, w, b, x, y, 1.0, zero_is_mistake=True)
    assert_same_result(got, want, exact=True)
    # From zeros, z == 0 for the first sample: a label-0 sample there is a
    # mistake only under zero_is_mistake, so the two runs must differ.
    assert not torch.equal(plain[2], got[2]) or not torch.equal(plain[0], got[0])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule, k", rules_and_outputs([1, 3]))
def test_sample_weight(rule, k, dtype, device):
    w, b, x, y = make_problem(rule, 30, 5, k, dtype, device, seed=9)
    sw = dyadic_sample_weight(30, gen(10), dtype, device)
    got = run_kernel(rule, w, b, x, y, 0.5, sample_weight=sw)
    want = run_reference(rule, w, b, x, y, 0.5, sample_weight=sw)
    assert_same_result(got, want, exact=True)
    # All-ones weights are the unweighted rule; a weight of another dtype is cast.
    ones = torch.ones(30, dtype=torch.float32, device=device)
    assert_same_result(
        run_kernel(rule, w, b, x, y, 0.5, sample_weight=ones),
        run_kernel(rule, w, b, x, y, 0.5),
        exact=True,
    )
    # Zero weight for every sample: mistakes are counted, nothing moves.
    zeros = torch.zeros(30, dtype=dtype, device=device)
    zw, zb, zm = run_kernel(rule, w, b, x, y, 0.5, sample_weight=zeros)
    assert_bits_equal(zw, w.cpu(), "weight")
    assert_bits_equal(zb, b.cpu(), "bias")
    assert zm.sum() > 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "label_dtype", [torch.bool, torch.uint8, torch.int32, torch.int64, torch.float32, torch.float64]
)
@pytest.mark.parametrize("rule", BINARY_RULES)
def test_binary_label_dtypes(rule, label_dtype, dtype, device):
    w, b, x, y = make_problem(rule, 20, 3, 2, dtype, device, seed=4)
    want = run_kernel(rule, w, b, x, y, 1.0)
    got = run_kernel(rule, w, b, x, y.to(label_dtype), 1.0)
    assert_same_result(got, want, exact=True)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("label_dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64])
def test_class_label_dtypes(label_dtype, device):
    w, b, x, y = make_problem("multiclass_update", 20, 3, 4, torch.float64, device, seed=4)
    want = run_reference("multiclass_update", w, b, x, y, 1.0)
    got = run_kernel("multiclass_update", w, b, x, y.to(label_dtype), 1.0)
    assert_same_result(got, want, exact=True)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("rule", BINARY_RULES)
def test_binary_label_shapes(rule, device):
    """K = 1 takes [N] and [N, 1]; K outputs take [N, K]."""
    w, b, x, y = make_problem(rule, 20, 3, 1, torch.float64, device, seed=6)
    want = run_reference(rule, w, b, x, y, 1.0)
    for labels in (y, y[:, 0], y.float()[:, 0]):
        assert_same_result(run_kernel(rule, w, b, x, labels, 1.0), want, exact=True)
    w, b, x, y = make_problem(rule, 20, 3, 4, torch.float64, device, seed=6)
    assert y.shape == (20, 4)
    assert_same_result(run_kernel(rule, w, b, x, y, 1.0), run_reference(rule, w, b, x, y, 1.0), exact=True)


LAYOUTS = ["transposed", "strided"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule, k", rules_and_outputs([1, 4]))
@pytest.mark.parametrize("what", ["x", "weight", "bias", "y", "sample_weight", "all"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_noncontiguous_inputs(rule, k, what, layout, dtype, device):
    w, b, x, y = make_problem(rule, 21, 6, k, dtype, device, seed=12)
    sw = dyadic_sample_weight(21, gen(13), dtype, device)
    want = run_kernel(rule, w, b, x, y, 0.5, sample_weight=sw)

    def view(t, name):
        if what not in (name, "all"):
            return t
        return noncontiguous(t, "strided" if t.dim() == 1 else layout)

    nx, ny, nsw = view(x, "x"), view(y, "y"), view(sw, "sample_weight")
    nw, nb = view(w.clone(), "weight"), view(b.clone(), "bias")
    # The buffers the weight and bias views live in: only the view may change.
    w_base = nw._base.clone() if nw._base is not None else None
    b_base = nb._base.clone() if nb._base is not None else None
    m = getattr(ops, rule)(nw, nb, nx, ny, 0.5, sample_weight=nsw)
    assert_same_result((nw.cpu(), nb.cpu(), m.cpu()), want, exact=True)
    for view_t, base_before in ((nw, w_base), (nb, b_base)):
        if base_before is not None:
            mask = torch.ones_like(view_t._base, dtype=torch.bool)
            mask.as_strided(view_t.shape, view_t.stride(), view_t.storage_offset()).fill_(False)
            assert torch.equal(view_t._base[mask], base_before[mask]), "wrote outside the view"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=ids)
def test_forward_ops(shape, dtype, device):
    n, in_features, k = shape
    g = gen(n + 100 * k)
    x = dyadic((n, in_features), g, dtype, device)
    w = dyadic((k, in_features), g, dtype, device)
    b = dyadic((k,), g, dtype, device)
    z = ops.decision_function(x, w, b)
    assert z.shape == (n, k) and z.dtype == dtype and z.device.type == torch.device(device).type
    assert_bits_equal(z.cpu(), decision_reference(x, w, b), "decision_function")
    p = ops.predict(x, w, b)
    assert p.shape == (n, k) and p.dtype == dtype
    assert_bits_equal(p.cpu(), reference.predict(x.cpu(), w.cpu(), b.cpu()), "predict")
    # Dyadic data hits z == 0 exactly: the threshold is strict.
    zero = z == 0
    assert torch.all(p[zero] == 0)
    # Non-contiguous views give the same.
    for layout in LAYOUTS:
        args = (noncontiguous(x, layout), noncontiguous(w, layout), noncontiguous(b, "strided"))
        assert_bits_equal(ops.decision_function(*args).cpu(), z.cpu(), f"decision_function {layout}")
        assert_bits_equal(ops.predict(*args).cpu(), p.cpu(), f"predict {layout}")
    # The op namespace and the wrappers are the same function.
    assert_bits_equal(OPS.predict(x, w, b).cpu(), p.cpu(), "torch.ops predict")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_continuous(dtype, device):
    g = gen(21)
    x = continuous((40, 13), g, dtype, device)
    w = continuous((3, 13), g, dtype, device)
    b = continuous((3,), g, dtype, device)
    z = ops.decision_function(x, w, b)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(z.cpu(), decision_reference(x, w, b), rtol=tol, atol=tol)
    assert_bits_equal(ops.predict(x, w, b).cpu(), reference.predict(x.cpu(), w.cpu(), b.cpu()), "predict")


@pytest.mark.parametrize("device", DEVICES)
def test_multiclass_tie_goes_to_lowest_index(device):
    """All rows equal: every decision value ties, the prediction is class 0, so
    a sample of class 0 is no mistake and one of class 2 moves rows 2 and 0."""
    w = torch.zeros(3, 2, dtype=torch.float64, device=device)
    b = torch.zeros(3, dtype=torch.float64, device=device)
    x = torch.tensor([[1.0, 2.0], [1.0, -1.0]], dtype=torch.float64, device=device)
    m = ops.multiclass_update(w, b, x[:1], torch.tensor([0], device=device))
    assert m.tolist() == [0] and torch.all(w == 0)
    m = ops.multiclass_update(w, b, x[1:], torch.tensor([2], device=device), 0.5)
    assert m.tolist() == [1]
    assert w.cpu().tolist() == [[-0.5, 0.5], [0.0, 0.0], [0.5, -0.5]]
    assert b.cpu().tolist() == [-0.5, 0.0, 0.5]


@pytest.mark.parametrize("device", DEVICES)
def test_online_rule_by_hand(device):
    """The seed's rule on two samples, worked out by hand."""
    w = torch.zeros(1, 2, device=device)
    b = torch.zeros(1, device=device)
    x = torch.tensor([[1.0, 2.0], [3.0, 1.0], [-1.0, -1.0]], device=device)
    y = torch.tensor([1, 0, 0], device=device)
    m = ops.online_update(w, b, x, y, 0.5)
    # z=0 -> yhat 0, err 1: w=(.5,1), b=.5; z=1.5+1+.5>0, err -1: w=(-1,.5), b=0;
    # z=1-.5+0>0, err -1: w=(-.5,1), b=-.5.
    assert m.tolist() == [3]
    assert w.cpu().tolist() == [[-0.5, 1.0]] and b.cpu().tolist() == [-0.5]


@pytest.mark.parametrize("device", DEVICES)
def test_batch_rule_by_hand(device):
    w = torch.zeros(1, 2, device=device)
    b = torch.zeros(1, device=device)
    x = torch.tensor([[1.0, 2.0], [3.0, 1.0]], device=device)
    y = torch.tensor([1, 1], device=device)
    m = ops.batch_update(w, b, x, y, 0.5)
    # Both wrong under the zero weights: one step of their sum.
    assert m.tolist() == [2]
    assert w.cpu().tolist() == [[2.0, 1.5]] and b.cpu().tolist() == [1.0]


# ------------------------------------------- the reference's CSR form against
# its dense form

# Exact in every dtype (powers of two), plus scikit-learn's damping, which is
# not dyadic but rounds the same in both forms: ``b + step * 0.01``.
REFERENCE_BIAS_STEPS = [1.0, 0.0, 0.25, SPARSE_INTERCEPT_DECAY]


def sparse_dyadic(n, d, density, g, dtype, index_dtype, empty_rows=()):
    """Dyadic ``[n, d]`` with about ``density`` non-zeros, and the same as a
    torch CSR tensor with ``index_dtype`` indices."""
    x = dyadic((n, d), g, dtype)
    x = x * (torch.rand(n, d, generator=g) < density).to(dtype)
    for i in empty_rows:
        if i < n:
            x[i] = 0
    csr = x.to_sparse_csr()
    csr = torch.sparse_csr_tensor(
        csr.crow_indices().to(index_dtype), csr.col_indices().to(index_dtype), csr.values(), (n, d)
    )
    return x, csr


def reference_call(rule, sparse_form, w, b, x, y, lr, sw, zero_is_mistake, bias_step, g):
    fn = getattr(reference, rule + ("_csr" if sparse_form else ""))
    kwargs = dict(lr=lr, sample_weight=sw, bias_step=bias_step)
    if not rule.startswith("multiclass"):
        kwargs["zero_is_mistake"] = zero_is_mistake
    k = w.shape[0]
    if rule.endswith("_averaged"):
        n_counters = 1 if rule.startswith("multiclass") else k
        state = (w.clone() * 0.5, b.clone() * 0.5, torch.full((n_counters,), 3, dtype=torch.int64))
        return fn(w, b, *state, x, y, **kwargs)
    if rule.endswith("_pocket"):
        n_counters = 1 if rule.startswith("multiclass") else k
        state = (
            w.clone(),
            b.clone(),
            torch.zeros(n_counters, dtype=torch.int64),
            torch.ones(n_counters, dtype=torch.int64),
        )
        return fn(w, b, *state, x, y, **kwargs)
    return fn(w, b, x, y, **kwargs)


def assert_all_bits_equal(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert torch.equal(a, b), (a, b)


@settings(max_examples=40, deadline=None)
@given(
    rule=st.sampled_from(UPDATE_RULES),
    n=st.integers(0, 12),
    d=st.integers(1, 20),
    k=st.integers(1, 4),
    density=st.sampled_from([0.0, 0.1, 0.3, 1.0]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    index_dtype=st.sampled_from([torch.int32, torch.int64]),
    lr=st.sampled_from([1.0, 0.5]),
    weighted=st.booleans(),
    zero_is_mistake=st.booleans(),
    bias_step=st.sampled_from(REFERENCE_BIAS_STEPS),
    seed=st.integers(0, 2**31),
)
def test_sparse_rule_equals_dense_rule_bit_for_bit(
    rule,
    n,
    d,
    k,
    density,
    dtype,
    index_dtype,
    lr,
    weighted,
    zero_is_mistake,
    bias_step,
    seed,
):
    g = gen(seed)
    if rule.startswith("multiclass"):
        k = max(k, 2)
    x, csr = sparse_dyadic(n, d, density, g, dtype, index_dtype, empty_rows=(0, n // 2))
    w, b = dyadic((k, d), g, dtype), dyadic((k,), g, dtype)
    if rule.startswith("multiclass"):
        y = class_labels(n, k, g)
    else:
        y = torch.randint(0, 2, (n, k), generator=g)
    sw = (torch.randint(0, 5, (n,), generator=g).to(dtype) / 2) if weighted else None
    args = (y, lr, sw, zero_is_mistake, bias_step, g)
    dense = reference_call(rule, False, w, b, x, *args)
    sparse = reference_call(rule, True, w, b, csr, *args)
    assert_all_bits_equal(sparse, dense)


@pytest.mark.parametrize("rule", UPDATE_RULES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rules_learn_and_agree_on_a_fixed_problem(rule, dtype):
    """Not vacuous: from zero weights the rules make mistakes and move the
    weights, and the two forms still agree."""
    g = gen(7)
    n, d, k = 30, 40, 3
    x, csr = sparse_dyadic(n, d, 0.2, g, dtype, torch.int32, empty_rows=(4, 5))
    w, b = torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype)
    y = class_labels(n, k, g) if rule.startswith("multiclass") else torch.randint(0, 2, (n, k), generator=g)
    args = (y, 1.0, None, False, 1.0, g)
    dense = reference_call(rule, False, w, b, x, *args)
    sparse = reference_call(rule, True, w, b, csr, *args)
    assert_all_bits_equal(sparse, dense)
    assert dense[-1].sum() > 0 and dense[0].abs().sum() > 0


@pytest.mark.parametrize("rule", ["online_update", "multiclass_update", "batch_update"])
def test_sparse_rows_touch_only_their_columns(rule):
    """Weights of columns no row names are never read (an infinity there would
    turn the dense form's ``0 * inf`` into NaN) nor written."""
    g = gen(3)
    x = torch.zeros(6, 5, dtype=torch.float64)
    x[:, :3] = dyadic((6, 3), g)
    w, b = dyadic((2, 5), g), dyadic((2,), g)
    w[:, 3:] = float("inf")
    y = class_labels(6, 2, g) if rule.startswith("multiclass") else torch.randint(0, 2, (6, 2), generator=g)
    got_w, got_b, _ = getattr(reference, rule + "_csr")(w, b, sp.csr_array(x.numpy()), y)
    assert torch.isfinite(got_w[:, :3]).all() and torch.isfinite(got_b).all()
    assert torch.equal(got_w[:, 3:], w[:, 3:])


def test_bias_step_scales_only_the_bias():
    g = gen(11)
    x, csr = sparse_dyadic(20, 8, 0.5, g, torch.float64, torch.int64)
    w, b = torch.zeros(1, 8, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    y = torch.randint(0, 2, (20, 1), generator=g)
    w1, _, m1 = reference.online_update_csr(w, b, csr, y)
    w0, b0, m0 = reference.online_update_csr(w, b, csr, y, bias_step=0.0)
    assert torch.equal(b0, b)  # 0: the bias is left alone
    assert m1.sum() > 0
    # The first mistake (label 1 from zero weights) moves b by the bias step.
    i = int(torch.nonzero(y[:, 0])[0])
    for bias_step in (1.0, 0.0, SPARSE_INTERCEPT_DECAY):
        got_w, got_b, m = reference.online_update_csr(
            w, b, as_csr(csr).rows(i, i + 1), y[i : i + 1], bias_step=bias_step
        )
        assert m.item() == 1 and got_b.item() == bias_step
        assert torch.equal(got_w, x[i : i + 1])  # the weights take the whole step


def test_csr_reference_is_scikit_learns_sparse_perceptron():
    """scikit-learn's Perceptron on a CSR matrix (float64, no shuffle, one
    epoch) is the online rule with ties as mistakes and the bias step damped by
    SPARSE_INTERCEPT_DECAY: the same weights, bit for bit on dyadic data."""
    from sklearn.linear_model import Perceptron

    g = gen(5)
    x, _ = sparse_dyadic(200, 30, 0.2, g, torch.float64, torch.int32, empty_rows=(3,))
    y = torch.randint(0, 2, (200,), generator=g)
    xs = sp.csr_matrix(x.numpy())
    clf = Perceptron(shuffle=False, tol=None, max_iter=1).fit(xs, y.numpy())
    w, b = torch.zeros(1, 30, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    got_w, got_b, mistakes = reference.online_update_csr(
        w, b, xs, y, zero_is_mistake=True, bias_step=SPARSE_INTERCEPT_DECAY
    )
    assert mistakes.item() > 0
    np.testing.assert_array_equal(got_w.numpy(), clf.coef_)
    np.testing.assert_array_equal(got_b.numpy(), clf.intercept_)
    # On dense input scikit-learn does not damp: that is the textbook bias step.
    clf_dense = Perceptron(shuffle=False, tol=None, max_iter=1).fit(x.numpy(), y.numpy())
    _, dense_b, _ = reference.online_update(w, b, x, y, zero_is_mistake=True)
    np.testing.assert_array_equal(dense_b.numpy(), clf_dense.intercept_)
