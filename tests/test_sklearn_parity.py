"""PerceptronClassifier against scikit-learn's Perceptron, parameter by
parameter: the same parameters and random_state give the same decisions, the
same weights (float64: to the last bit of the assertion's 1e-12; float32: the
same, when every step is a power of two) and the same n_iter_, on the data sets
that ship with scikit-learn and on random data.

``tol`` without ``early_stopping`` stops on scikit-learn's epoch loss
``sum max(0, -y*z)``, which the ops sum as they go: the default constructor
too runs the same epochs. The one place where exactness cannot be promised:
the op sums a dot product in another order than scikit-learn's loop (float64:
a few roundings of the last bit of z), so an epoch's loss can differ from
scikit-learn's in its last bits, and a stop decision flips only if
``loss / n`` lies within those bits of ``best - tol``, a tie; none does on
these data (the tests would show it as another n_iter_).

``penalty`` ("l2", "l1", "elasticnet") is compared in test_sklearn_penalty.py."""

import copy
import io
import re
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits, load_iris  # noqa: E402
from sklearn.linear_model import Perceptron  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402

from torch_perceptron.sklearn import PerceptronClassifier  # noqa: E402

LOADERS = {"breast_cancer": load_breast_cancer, "digits": load_digits, "iris": load_iris}
DATA = sorted(LOADERS) + ["random_binary", "random_4_classes"]
_CACHE: dict = {}


def split(name):
    """Standardised train and test parts of a bundled data set, or of random
    Gaussian data (integer-valued features: the int -> float64 conversion too)."""
    if name not in _CACHE:
        if name.startswith("random"):
            rng = np.random.default_rng(7)
            k = 2 if name == "random_binary" else 4
            y = rng.integers(0, k, size=400)
            x = np.round(rng.normal(size=(400, 6)) * 4 + 3 * y[:, None]).astype(np.int64)
            _CACHE[name] = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
        else:
            x, y = LOADERS[name](return_X_y=True)
            x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
            scaler = StandardScaler().fit(x_tr)
            _CACHE[name] = scaler.transform(x_tr), scaler.transform(x_te), y_tr, y_te
    return _CACHE[name]


def fit_both(x, y, sample_weight=None, **params):
    """Fits both on the same data with copies of the same parameters (a
    RandomState instance is copied, so both start from the same state)."""
    theirs = Perceptron(**copy.deepcopy(params)).fit(x, y, sample_weight=sample_weight)
    ours = PerceptronClassifier(**copy.deepcopy(params)).fit(x, y, sample_weight=sample_weight)
    return ours, theirs


def assert_same_model(ours, theirs, xs, rtol=1e-12):
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.coef_.dtype == theirs.coef_.dtype
    assert ours.intercept_.dtype == theirs.intercept_.dtype
    assert ours.coef_.shape == theirs.coef_.shape
    assert ours.intercept_.shape == theirs.intercept_.shape
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=rtol, atol=rtol)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    for x in xs:
        np.testing.assert_array_equal(ours.predict(x), theirs.predict(x))
        # The same weights; the sums of z in another order (float32: BLAS
        # against the op's own), so within the working dtype's rounding.
        z = theirs.decision_function(x)
        tol = (1e-9 if theirs.coef_.dtype == np.float64 else 1e-5) * max(1.0, np.abs(z).max())
        np.testing.assert_allclose(ours.decision_function(x), z, rtol=0, atol=tol)


# Each row changes the result; with it, the same model to the last bit.
CASES = {
    "shuffle_seed_0": dict(tol=None, max_iter=15, random_state=0),
    "shuffle_seed_42": dict(tol=None, max_iter=15, random_state=42),
    "no_shuffle": dict(tol=None, max_iter=15, shuffle=False),
    "no_intercept": dict(tol=None, max_iter=15, fit_intercept=False, random_state=3),
    "eta0": dict(tol=None, max_iter=15, eta0=0.25, random_state=1),
    "class_weight": dict(tol=None, max_iter=15, class_weight="balanced", random_state=2),
    "early_stopping": dict(
        early_stopping=True, validation_fraction=0.2, n_iter_no_change=3, tol=1e-3, max_iter=200, random_state=5
    ),
    "early_stopping_no_tol": dict(early_stopping=True, tol=None, max_iter=12, random_state=6),
    # One op call for all outputs, until some stop: then the others run on.
    "early_stopping_no_shuffle": dict(
        early_stopping=True, shuffle=False, n_iter_no_change=2, max_iter=100, random_state=0
    ),
    "max_iter": dict(tol=None, max_iter=3, random_state=0),
    # tol without early_stopping: scikit-learn's rule on its epoch loss.
    "tol_default": dict(random_state=0),
    "tol_1e-2": dict(tol=1e-2, random_state=1),
    "tol_0_patience_2": dict(tol=0.0, n_iter_no_change=2, random_state=2),
    "tol_1e-4_patience_8": dict(tol=1e-4, n_iter_no_change=8, random_state=3),
    "tol_no_shuffle": dict(tol=1e-3, shuffle=False),
    "tol_class_weight": dict(tol=1e-3, class_weight="balanced", random_state=4),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("name", DATA)
def test_each_parameter_float64(name, case):
    x_tr, x_te, y_tr, _ = split(name)
    ours, theirs = fit_both(x_tr, y_tr, **CASES[case])
    assert ours.coef_.dtype == np.float64
    assert_same_model(ours, theirs, [x_tr, x_te])


@pytest.mark.parametrize("case", sorted(set(CASES) - {"class_weight", "tol_class_weight"}))
@pytest.mark.parametrize("name", DATA)
def test_each_parameter_float32(name, case):
    """float32 in, float32 math, as scikit-learn 1.9. Every step here is a
    power of two, so both add exactly the same steps; the dot products are
    summed in another order (scikit-learn: a double sum of float32 products),
    which moves a decision only when z is within float32 rounding of 0: none
    does on these data."""
    x_tr, x_te, y_tr, _ = split(name)
    x_tr, x_te = x_tr.astype(np.float32), x_te.astype(np.float32)
    ours, theirs = fit_both(x_tr, y_tr, **CASES[case])
    assert ours.coef_.dtype == np.float32
    assert_same_model(ours, theirs, [x_tr, x_te], rtol=1e-6)


@pytest.mark.parametrize("name", ["breast_cancer", "iris"])
def test_float32_steps_that_round(name):
    """The bound where float32 steps are not powers of two (balanced class
    weights, eta0=0.3): scikit-learn adds ``x * step`` in double and rounds
    the sum to float32, the op rounds the product first, and scikit-learn keeps
    the intercept in double. Up to one float32 rounding per step apart: on these
    data the same decisions, weights within 1e-4 (relative to the largest)."""
    x_tr, x_te, y_tr, _ = split(name)
    x_tr, x_te = x_tr.astype(np.float32), x_te.astype(np.float32)
    for params in (dict(class_weight="balanced"), dict(eta0=0.3)):
        ours, theirs = fit_both(x_tr, y_tr, tol=None, max_iter=15, **params)
        scale = np.abs(theirs.coef_).max()
        np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-4 * scale)
        for x in (x_tr, x_te):
            np.testing.assert_array_equal(ours.predict(x), theirs.predict(x))


@pytest.mark.parametrize("name", DATA)
def test_default_constructor(name):
    """``PerceptronClassifier()`` against ``Perceptron()``: every default
    (tol=1e-3 on the epoch loss, shuffled from random_state=0)."""
    x_tr, x_te, y_tr, _ = split(name)
    theirs = Perceptron().fit(x_tr, y_tr)
    ours = PerceptronClassifier().fit(x_tr, y_tr)
    assert ours.n_iter_ < 1000  # it stopped on the loss
    assert_same_model(ours, theirs, [x_tr, x_te])


@pytest.mark.parametrize("name", DATA)
def test_default_constructor_float32(name):
    """float32 X: scikit-learn sums z in double from float32 products, rounds
    it to float32 and adds its double intercept; the op rounds x*w, the sum and
    z + b to float32. So each mistake's loss can differ by about one float32
    rounding of |x.w| + |b| (relative 2**-24), and a stop decision flips only
    if the epoch's mean loss lies that close to ``best - tol``. None does on
    these data: the same epochs, the same model."""
    x_tr, x_te, y_tr, _ = split(name)
    x_tr, x_te = x_tr.astype(np.float32), x_te.astype(np.float32)
    theirs = Perceptron().fit(x_tr, y_tr)
    ours = PerceptronClassifier().fit(x_tr, y_tr)
    assert ours.coef_.dtype == np.float32
    assert_same_model(ours, theirs, [x_tr, x_te], rtol=1e-6)


@pytest.mark.parametrize("name", ["breast_cancer", "iris"])
def test_sample_weight_and_class_weight_dict(name):
    x_tr, x_te, y_tr, _ = split(name)
    rng = np.random.default_rng(0)
    sw = rng.uniform(0.2, 3.0, size=len(y_tr))
    cw = {c: 1.0 + 0.37 * i for i, c in enumerate(np.unique(y_tr))}
    ours, theirs = fit_both(x_tr, y_tr, sample_weight=sw, tol=None, max_iter=12, class_weight=cw)
    assert_same_model(ours, theirs, [x_tr, x_te])
    ours, theirs = fit_both(x_tr, y_tr, sample_weight=sw, early_stopping=True, random_state=4)
    assert_same_model(ours, theirs, [x_tr, x_te])


def test_random_state_instance_and_global_generator_are_drawn_alike():
    """scikit-learn draws from a RandomState instance (or the global one, for
    None) in a fixed order: make_dataset, the validation split, the seeds. Same
    draws, same model, and the generator ends in the same state."""
    for name in ("iris", "breast_cancer"):
        x_tr, x_te, y_tr, _ = split(name)
        params = dict(tol=1e-3, early_stopping=True, max_iter=50)
        rs_theirs, rs_ours = np.random.RandomState(11), np.random.RandomState(11)
        theirs = Perceptron(random_state=rs_theirs, **params).fit(x_tr, y_tr)
        ours = PerceptronClassifier(random_state=rs_ours, **params).fit(x_tr, y_tr)
        assert_same_model(ours, theirs, [x_tr, x_te])
        assert rs_theirs.randint(1 << 30) == rs_ours.randint(1 << 30)
        np.random.seed(5)
        theirs = Perceptron(random_state=None, tol=None, max_iter=10).fit(x_tr, y_tr)
        np.random.seed(5)
        ours = PerceptronClassifier(random_state=None, tol=None, max_iter=10).fit(x_tr, y_tr)
        assert_same_model(ours, theirs, [x_tr, x_te])


def test_warm_start_and_partial_fit():
    x_tr, x_te, y_tr, _ = split("digits")
    params = dict(tol=None, max_iter=4, warm_start=True, random_state=9)
    theirs, ours = Perceptron(**params), PerceptronClassifier(**params)
    for _ in range(2):
        theirs.fit(x_tr, y_tr)
        ours.fit(x_tr, y_tr)
    assert_same_model(ours, theirs, [x_tr, x_te])
    # partial_fit shuffles each chunk with the seed of random_state.
    theirs, ours = Perceptron(random_state=1), PerceptronClassifier(random_state=1)
    classes = np.unique(y_tr)
    for start in range(0, len(y_tr), 300):
        part = slice(start, start + 300)
        theirs.partial_fit(x_tr[part], y_tr[part], classes=classes)
        ours.partial_fit(x_tr[part], y_tr[part], classes=classes)
    assert_same_model(ours, theirs, [x_tr, x_te])


def test_n_jobs_threads_give_the_same_model():
    x_tr, x_te, y_tr, _ = split("digits")
    ours, theirs = fit_both(x_tr, y_tr, tol=None, max_iter=10, n_jobs=2, random_state=8)
    assert_same_model(ours, theirs, [x_tr, x_te])
    one = PerceptronClassifier(tol=None, max_iter=10, random_state=8).fit(x_tr, y_tr)
    np.testing.assert_array_equal(one.coef_, ours.coef_)


def test_dtype_follows_x_as_scikit_learn():
    x_tr, _, y_tr, _ = split("random_4_classes")  # int64 features
    for x in (x_tr, x_tr.astype(np.float32), x_tr.astype(np.float16), x_tr.astype(np.float64)):
        ours, theirs = fit_both(x, y_tr, tol=None, max_iter=3)
        assert ours.coef_.dtype == theirs.coef_.dtype
        assert ours.decision_function(x).dtype == theirs.decision_function(x).dtype
    forced = PerceptronClassifier(tol=None, max_iter=3, dtype=torch.float32).fit(x_tr, y_tr)
    assert forced.coef_.dtype == np.float32


@pytest.mark.parametrize("early_stopping", [True, False])
@pytest.mark.parametrize("name", ["breast_cancer", "iris"])
def test_verbose_prints_scikit_learns_epoch_lines(name, early_stopping):
    """The same lines, "Avg. loss" and "Objective" included (printed to six
    decimals: the last bits in which the losses may differ do not show), all
    but the times."""
    x_tr, _, y_tr, _ = split(name)
    params = dict(verbose=1, early_stopping=early_stopping, random_state=0)
    outs = []
    for cls in (Perceptron, PerceptronClassifier):
        buf = io.StringIO()
        with redirect_stdout(buf):
            cls(**params).fit(x_tr, y_tr)
        outs.append(buf.getvalue().splitlines())
    theirs, ours = outs
    assert len(ours) == len(theirs) > 3
    assert any("Avg. loss" in line for line in ours)
    for a, b in zip(ours, theirs):
        a, b = re.sub(r"[\d.]+ seconds", "", a), re.sub(r"[\d.]+ seconds", "", b)
        assert a == b


def test_parameters_are_scikit_learns_plus_ours():
    theirs = Perceptron().get_params()
    ours = PerceptronClassifier().get_params()
    assert {k: ours[k] for k in theirs} == theirs
    assert set(ours) - set(theirs) == {
        "average",
        "pocket",
        "zero_is_mistake",
        "sparse_intercept_decay",
        "device",
        "dtype",
    }
    with pytest.raises(InvalidParameterError, match="max_iter"):
        PerceptronClassifier(max_iter=0).fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(InvalidParameterError, match="validation_fraction"):
        PerceptronClassifier(validation_fraction=1.0).fit([[0.0], [1.0]], [0, 1])


@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
def test_penalty_is_a_parameter(penalty):
    """Accepted (get_params, clone) and used by fit (its parity with
    scikit-learn: test_sklearn_penalty.py)."""
    est = clone(PerceptronClassifier(penalty=penalty, alpha=0.01))
    assert est.get_params()["penalty"] == penalty
    assert est.fit([[0.0], [1.0]], [0, 1]).predict([[1.0]]).shape == (1,)


def test_tol_stops_each_output_on_its_own_loss():
    """One-vs-rest: each output stops on its own loss, as scikit-learn's
    fit_binary per class; n_iter_ is the most epochs any output ran, and the
    outputs that stopped earlier keep their weights (the same coef_)."""
    x_tr, x_te, y_tr, _ = split("digits")
    ours, theirs = fit_both(x_tr, y_tr, tol=1e-2, n_iter_no_change=3, random_state=5)
    assert_same_model(ours, theirs, [x_tr, x_te])
    assert ours.n_iter_ == len(ours.mistakes_per_epoch_) < 1000


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU available")
@pytest.mark.parametrize("case", ["shuffle_seed_0", "early_stopping", "no_shuffle", "class_weight"])
def test_on_cuda(case):
    """device="cuda": the CUDA kernels keep the rule exact and only sum z in
    another (fixed) order, so scikit-learn's model again, on digits."""
    from torch_perceptron._extension import with_cuda

    if not with_cuda():
        pytest.skip("torch_perceptron was built without CUDA")
    x_tr, x_te, y_tr, _ = split("digits")
    theirs = Perceptron(**CASES[case]).fit(x_tr, y_tr)
    ours = PerceptronClassifier(device="cuda", **CASES[case]).fit(x_tr, y_tr)
    assert_same_model(ours, theirs, [x_tr, x_te])
