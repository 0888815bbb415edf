"""PerceptronClassifier(penalty=...) against scikit-learn 1.9's
Perceptron(penalty=...): "l2", "l1" and "elasticnet", scikit-learn's default
alpha and large ones (a shrink that drives wscale below its floor and resets
it; one that clamps the shrink to 0), several l1_ratio, with ``tol=None``, with
the defaults (tol=1e-3 on the objective, shuffled) and with early stopping, on
the bundled data sets (standardised as test_sklearn_parity.py does) and
random data, dense float64, dense float32 and sparse CSR.

The bound: coef_ bit for bit (0 ulp), the same n_iter_, t_ and predictions.
That is exact rather than "within rounding" because the penalized op does
scikit-learn's operations in its order with its types (the dot's double
accumulator, the lazy wscale, the float32 roundings of its WeightVector32,
its stale norm bookkeeping in the objective), so every epoch's objective, and
so every stop decision, is the same double. The one thing kept in another
precision is a float32 fit's intercept: scikit-learn keeps it in a double
during the fit, the estimator in float32 (as without a penalty). Each step
then rounds once more, so with steps that are not powers of two (sparse X's
0.01 intercept decay, class weights, eta0=0.3) the float32 intercept_ is
within 1e-5 (absolute, intercepts here are below 10) of scikit-learn's; the
weights stay bit for bit, and every decision the same, on these data."""

import copy
import io
import re
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import Perceptron  # noqa: E402

from test_sklearn_parity import DATA, split  # noqa: E402
from torch_perceptron.sklearn import PerceptronClassifier  # noqa: E402

PENALTIES = {
    "l2": dict(penalty="l2"),
    # shrink 0.95 per sample: wscale falls below 1e-9 every ~400 samples.
    "l2_reset": dict(penalty="l2", alpha=0.05),
    # 1 - alpha < 0: the shrink clamps to 0 (weights zeroed at every sample).
    "l2_clamp": dict(penalty="l2", alpha=2.0),
    "l1": dict(penalty="l1"),
    "l1_large": dict(penalty="l1", alpha=0.01),
    "elasticnet": dict(penalty="elasticnet"),
    "elasticnet_half": dict(penalty="elasticnet", alpha=1e-3, l1_ratio=0.5),
    "elasticnet_0": dict(penalty="elasticnet", alpha=1e-3, l1_ratio=0.0),
    "elasticnet_1": dict(penalty="elasticnet", alpha=1e-3, l1_ratio=1.0),
}
SETTINGS = {
    "tol_none": dict(tol=None, max_iter=10, random_state=1),
    "defaults": dict(),
    "early_stopping": dict(early_stopping=True, random_state=5),
}
FORMATS = ("float64", "float32", "csr")


def as_format(x, fmt):
    if fmt == "float32":
        return x.astype(np.float32)
    if fmt == "csr":
        return sp.csr_matrix(x)
    if fmt == "csr32":
        return sp.csr_matrix(x.astype(np.float32))
    return x


def fit_both(x, y, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = Perceptron(**copy.deepcopy(params)).fit(x, y, sample_weight=sample_weight)
        ours = PerceptronClassifier(**copy.deepcopy(params)).fit(x, y, sample_weight=sample_weight)
    return ours, theirs


def assert_same_model(ours, theirs, xs):
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.coef_.dtype == theirs.coef_.dtype
    assert ours.intercept_.dtype == theirs.intercept_.dtype
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    np.testing.assert_array_equal(ours.coef_, theirs.coef_)  # bit for bit
    if theirs.coef_.dtype == np.float64:
        np.testing.assert_array_equal(ours.intercept_, theirs.intercept_)
    else:  # float32: scikit-learn's intercept is a double during the fit
        np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=0, atol=1e-5)
    for x in xs:
        np.testing.assert_array_equal(ours.predict(x), theirs.predict(x))


def _cases():
    """Every data set, penalty, setting and format (digits as CSR too: the
    penalized ops read the shuffled epochs through their orders, no rows
    gathered, so these fits cost what the dense ones do)."""
    for name in DATA:
        for penalty in sorted(PENALTIES):
            for setting in sorted(SETTINGS):
                for fmt in FORMATS:
                    yield pytest.param(name, penalty, setting, fmt, id=f"{name}-{penalty}-{setting}-{fmt}")


@pytest.mark.parametrize("name, penalty, setting, fmt", list(_cases()))
def test_same_model_as_scikit_learn(name, penalty, setting, fmt):
    x_tr, x_te, y_tr, _ = split(name)
    x_tr, x_te = as_format(x_tr, fmt), as_format(x_te, fmt)
    ours, theirs = fit_both(x_tr, y_tr, **PENALTIES[penalty], **SETTINGS[setting])
    assert_same_model(ours, theirs, [x_tr, x_te])


EXTRAS = {
    "class_weight": dict(class_weight="balanced"),
    "eta0_sample_weight": dict(eta0=0.3),
    "no_intercept": dict(fit_intercept=False),
    "no_shuffle": dict(shuffle=False),
    "n_jobs": dict(n_jobs=2),
    "early_stopping_patience": dict(early_stopping=True, n_iter_no_change=2, validation_fraction=0.2),
    "tol_patience": dict(tol=1e-4, n_iter_no_change=3, random_state=7),
}


@pytest.mark.parametrize("fmt", FORMATS + ("csr32",))
@pytest.mark.parametrize("extra", sorted(EXTRAS))
@pytest.mark.parametrize("name", ["iris", "breast_cancer"])
def test_other_parameters(name, extra, fmt):
    x_tr, x_te, y_tr, _ = split(name)
    x_tr, x_te = as_format(x_tr, fmt), as_format(x_te, fmt)
    sw = None
    if extra == "eta0_sample_weight":
        sw = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y_tr))
    ours, theirs = fit_both(
        x_tr, y_tr, sample_weight=sw, penalty="elasticnet", alpha=1e-3, l1_ratio=0.3, **EXTRAS[extra]
    )
    assert_same_model(ours, theirs, [x_tr, x_te])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["iris", "breast_cancer"])
def test_warm_start_and_partial_fit(name, fmt):
    """Each fit / partial_fit call is one scikit-learn ``_plain_sgd`` call:
    wscale, u and q start afresh, the norms from the current weights."""
    x_tr, x_te, y_tr, _ = split(name)
    x_tr, x_te = as_format(x_tr, fmt), as_format(x_te, fmt)
    params = dict(penalty="elasticnet", alpha=1e-3, l1_ratio=0.3, warm_start=True)
    ours, theirs = fit_both(x_tr, y_tr, **params)
    for est in (ours, theirs):
        est.set_params(max_iter=3, tol=None, penalty="l1")
        est.fit(x_tr, y_tr)
    assert_same_model(ours, theirs, [x_tr, x_te])
    # Stopping on the objective, whose first samples see the norms of the
    # weights the fit starts from (scikit-learn's BLAS dot and asum).
    for est in (ours, theirs):
        est.set_params(max_iter=1000, tol=1e-3, penalty="l2")
        est.fit(x_tr, y_tr)
    assert_same_model(ours, theirs, [x_tr, x_te])
    ours, theirs = PerceptronClassifier(penalty="l2", alpha=0.01), Perceptron(penalty="l2", alpha=0.01)
    for _ in range(3):
        for est in (ours, theirs):
            est.partial_fit(x_tr, y_tr, classes=np.unique(y_tr))
        assert_same_model(ours, theirs, [x_te])


def test_verbose_lines_are_scikit_learns():
    """The epoch lines with a penalty: scikit-learn's bookkeeping norm, the
    loss and the objective."""
    x_tr, _, y_tr, _ = split("iris")
    lines = []
    for est in (Perceptron, PerceptronClassifier):
        out = io.StringIO()
        with redirect_stdout(out), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est(penalty="elasticnet", alpha=1e-3, verbose=1, max_iter=4, tol=None).fit(x_tr, y_tr)
        lines.append(
            [
                line
                for line in out.getvalue().splitlines()
                if "time" not in line and "Parallel" not in line and not re.match(r"^Convergence", line)
            ]
        )
    assert any("Objective" in line for line in lines[0])
    assert lines[1] == lines[0]


@pytest.mark.parametrize("variant", ["average", "pocket"])
def test_penalty_with_average_or_pocket_is_rejected(variant):
    x_tr, _, y_tr, _ = split("iris")
    with pytest.raises(ValueError, match=rf"penalty='l2' with .*{variant}"):
        PerceptronClassifier(penalty="l2", **{variant: True}).fit(x_tr, y_tr)


def test_penalty_changes_the_model():
    """Not a no-op: the same run without a penalty learns other weights, and
    l1 zeroes weights that l2 keeps."""
    x_tr, _, y_tr, _ = split("digits")
    plain = PerceptronClassifier(tol=None, max_iter=5).fit(x_tr, y_tr)
    l2 = PerceptronClassifier(penalty="l2", alpha=1e-3, tol=None, max_iter=5).fit(x_tr, y_tr)
    l1 = PerceptronClassifier(penalty="l1", alpha=1e-3, tol=None, max_iter=5).fit(x_tr, y_tr)
    assert not np.array_equal(plain.coef_, l2.coef_)
    assert (l1.coef_ == 0).sum() > (l2.coef_ == 0).sum()
