"""The sparse reference rules (``reference.*_csr``) against the dense ones on the
same data, densified: on dyadic data every sum is exact, so the two must agree
bit for bit, for both float dtypes and both index dtypes, with empty rows."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from support import class_labels, dyadic, gen
from torch_perceptron import reference
from torch_perceptron.reference import SPARSE_INTERCEPT_DECAY
from torch_perceptron.sparse import as_csr

RULES = [
    "online_update", "multiclass_update", "batch_update",
    "online_update_averaged", "multiclass_update_averaged",
    "online_update_pocket", "multiclass_update_pocket",
]
# Exact in every dtype (powers of two), plus scikit-learn's damping, which is
# not dyadic but rounds the same in both forms: ``b + step * 0.01``.
BIAS_STEPS = [1.0, 0.0, 0.25, SPARSE_INTERCEPT_DECAY]


def sparse_dyadic(n, d, density, g, dtype, index_dtype, empty_rows=()):
    """Dyadic ``[n, d]`` with about ``density`` non-zeros, and the same as a
    torch CSR tensor with ``index_dtype`` indices."""
    x = dyadic((n, d), g, dtype)
    x = x * (torch.rand(n, d, generator=g) < density).to(dtype)
    for i in empty_rows:
        if i < n:
            x[i] = 0
    csr = x.to_sparse_csr()
    csr = torch.sparse_csr_tensor(csr.crow_indices().to(index_dtype),
                                  csr.col_indices().to(index_dtype), csr.values(), (n, d))
    return x, csr


def call(rule, sparse_form, w, b, x, y, lr, sw, zero_is_mistake, bias_step, g):
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
        state = (w.clone(), b.clone(), torch.zeros(n_counters, dtype=torch.int64),
                 torch.ones(n_counters, dtype=torch.int64))
        return fn(w, b, *state, x, y, **kwargs)
    return fn(w, b, x, y, **kwargs)


def assert_bits_equal(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert torch.equal(a, b), (a, b)


@settings(max_examples=40, deadline=None)
@given(
    rule=st.sampled_from(RULES),
    n=st.integers(0, 12), d=st.integers(1, 20), k=st.integers(1, 4),
    density=st.sampled_from([0.0, 0.1, 0.3, 1.0]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    index_dtype=st.sampled_from([torch.int32, torch.int64]),
    lr=st.sampled_from([1.0, 0.5]), weighted=st.booleans(), zero_is_mistake=st.booleans(),
    bias_step=st.sampled_from(BIAS_STEPS),
    seed=st.integers(0, 2**31),
)
def test_sparse_rule_equals_dense_rule_bit_for_bit(
    rule, n, d, k, density, dtype, index_dtype, lr, weighted, zero_is_mistake,
    bias_step, seed,
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
    dense = call(rule, False, w, b, x, *args)
    sparse = call(rule, True, w, b, csr, *args)
    assert_bits_equal(sparse, dense)


@pytest.mark.parametrize("rule", RULES)
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
    dense = call(rule, False, w, b, x, *args)
    sparse = call(rule, True, w, b, csr, *args)
    assert_bits_equal(sparse, dense)
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
        got_w, got_b, m = reference.online_update_csr(w, b, as_csr(csr).rows(i, i + 1), y[i : i + 1],
                                                      bias_step=bias_step)
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
