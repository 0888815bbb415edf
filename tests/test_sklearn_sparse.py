"""PerceptronClassifier on scipy.sparse input against scikit-learn's Perceptron
on the same input: decision for decision (the same weights and intercept,
float64, to the last bit), including the intercept step scikit-learn damps by
0.01 on sparse X; ``tol`` on the epoch loss the CSR ops sum, so that the
default constructor stops at scikit-learn's epoch; every sparse format; and
the sparse fit never densifies."""

import copy
import io
import re
from contextlib import redirect_stdout

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn")
from sklearn.datasets import load_breast_cancer, load_digits, load_iris  # noqa: E402
from sklearn.linear_model import Perceptron  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from torch_perceptron.reference import SPARSE_INTERCEPT_DECAY  # noqa: E402
from torch_perceptron.sklearn import PerceptronClassifier  # noqa: E402

LOADERS = {"breast_cancer": load_breast_cancer, "digits": load_digits, "iris": load_iris}
DATA = sorted(LOADERS) + ["random_binary", "random_5_classes"]
_CACHE: dict = {}


def split(name):
    """Train and test parts of a data set, as CSR float64. Digits are sparse as
    they come (about half their pixels are 0); breast cancer and iris are
    standardised and their entries under half a standard deviation dropped;
    random data: 2,000 features, about 1% non-zero."""
    if name not in _CACHE:
        if name.startswith("random"):
            rng = np.random.default_rng(3)
            k = 2 if name == "random_binary" else 5
            x = sp.random(600, 2000, density=0.01, format="csr", random_state=rng)
            x.data = rng.normal(size=x.nnz)
            teacher = rng.normal(size=(2000, k))
            y = np.asarray(x @ teacher).argmax(1)
            parts = train_test_split(x, y, test_size=0.25, random_state=0)
        else:
            x, y = LOADERS[name](return_X_y=True)
            if name != "digits":
                x = StandardScaler().fit_transform(x)
                x[np.abs(x) < 0.5] = 0
            parts = train_test_split(sp.csr_matrix(x), y, test_size=0.25, stratify=y, random_state=0)
        _CACHE[name] = parts
    return _CACHE[name]


def fit_both(x, y, sample_weight=None, **params):
    theirs = Perceptron(**copy.deepcopy(params)).fit(x, y, sample_weight=sample_weight)
    ours = PerceptronClassifier(**copy.deepcopy(params)).fit(x, y, sample_weight=sample_weight)
    return theirs, ours


def assert_same_model(theirs, ours, x_test):
    np.testing.assert_array_equal(ours.coef_, theirs.coef_)
    np.testing.assert_array_equal(ours.intercept_, theirs.intercept_)
    assert isinstance(ours.coef_, np.ndarray) and not sp.issparse(ours.coef_)
    # Decision values: the same weights, summed in another order than scipy's.
    np.testing.assert_allclose(ours.decision_function(x_test), theirs.decision_function(x_test), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ours.predict(x_test), theirs.predict(x_test))
    assert ours.score(x_test, theirs.predict(x_test)) == 1.0


@pytest.mark.parametrize("name", DATA)
@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_matches_scikit_learn_on_sparse_input(name, shuffle):
    x_tr, x_te, y_tr, y_te = split(name)
    theirs, ours = fit_both(x_tr, y_tr, shuffle=shuffle, tol=None, max_iter=8, random_state=4)
    assert_same_model(theirs, ours, x_te)
    assert ours.n_iter_ == theirs.n_iter_ == 8
    assert np.any(ours.intercept_ != 0)


@pytest.mark.parametrize("name", ["breast_cancer", "random_5_classes"])
def test_partial_fit_chunk_by_chunk_matches_scikit_learn(name):
    x_tr, x_te, y_tr, _ = split(name)
    classes = np.unique(y_tr)
    theirs, ours = Perceptron(random_state=0), PerceptronClassifier(random_state=0)
    for start in range(0, x_tr.shape[0], 100):
        part = slice(start, start + 100)
        theirs.partial_fit(x_tr[part], y_tr[part], classes=classes)
        ours.partial_fit(x_tr[part], y_tr[part], classes=classes)
    assert_same_model(theirs, ours, x_te)


@pytest.mark.parametrize(
    "convert", [sp.csr_array, sp.csc_matrix, sp.csc_array, sp.coo_matrix, sp.coo_array, sp.lil_matrix]
)
def test_every_sparse_format_gives_the_csr_model(convert):
    x_tr, x_te, y_tr, _ = split("iris")
    want = PerceptronClassifier(tol=None, max_iter=4, shuffle=False).fit(x_tr, y_tr)
    got = PerceptronClassifier(tol=None, max_iter=4, shuffle=False).fit(convert(x_tr), y_tr)
    np.testing.assert_array_equal(got.coef_, want.coef_)
    np.testing.assert_array_equal(got.intercept_, want.intercept_)
    np.testing.assert_array_equal(got.decision_function(convert(x_te)), want.decision_function(x_te))
    np.testing.assert_array_equal(got.predict(convert(x_te)), want.predict(x_te))


def test_sample_and_class_weights_match_scikit_learn():
    x_tr, x_te, y_tr, _ = split("random_5_classes")
    sw = np.random.default_rng(1).choice([0.5, 1.0, 2.0], size=len(y_tr))
    theirs, ours = fit_both(
        x_tr,
        y_tr,
        sample_weight=sw,
        tol=None,
        max_iter=5,
        shuffle=True,
        random_state=2,
        class_weight={0: 2.0, 3: 0.25},
        eta0=0.5,
    )
    assert_same_model(theirs, ours, x_te)


def test_intercept_decay_is_what_tells_sparse_from_dense():
    x_tr, _, y_tr, _ = split("breast_cancer")
    dense = PerceptronClassifier(tol=None, max_iter=5, shuffle=False).fit(x_tr.toarray(), y_tr)
    textbook = PerceptronClassifier(tol=None, max_iter=5, shuffle=False, sparse_intercept_decay=1.0).fit(x_tr, y_tr)
    damped = PerceptronClassifier(tol=None, max_iter=5, shuffle=False).fit(x_tr, y_tr)
    assert SPARSE_INTERCEPT_DECAY == 0.01 == damped.sparse_intercept_decay
    # Without the damping the sparse fit is the dense one.
    np.testing.assert_array_equal(textbook.coef_, dense.coef_)
    np.testing.assert_array_equal(textbook.intercept_, dense.intercept_)
    assert not np.array_equal(damped.intercept_, dense.intercept_)
    no_bias = PerceptronClassifier(tol=None, max_iter=5, fit_intercept=False).fit(x_tr, y_tr)
    assert np.all(no_bias.intercept_ == 0)


@pytest.mark.parametrize("params", [{"average": True}, {"pocket": True}, {"early_stopping": True, "tol": 1e-3}])
def test_variants_on_sparse_input_follow_their_dense_runs(params):
    # With the textbook intercept step, a sparse fit is the dense fit, for
    # every variant (early stopping scores the held-out sparse rows).
    x_tr, x_te, y_tr, _ = split("digits")
    kw = {"tol": None, "max_iter": 4, "random_state": 0, **params}
    dense = PerceptronClassifier(**kw).fit(x_tr.toarray(), y_tr)
    sparse = PerceptronClassifier(sparse_intercept_decay=1.0, **kw).fit(x_tr, y_tr)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=0, atol=1e-9)
    assert sparse.n_iter_ == dense.n_iter_
    np.testing.assert_array_equal(sparse.predict(x_te), dense.predict(x_te.toarray()))


def test_float32_sparse_input_stays_float32():
    x_tr, x_te, y_tr, _ = split("digits")
    ours = PerceptronClassifier(tol=None, max_iter=2).fit(x_tr.astype(np.float32), y_tr)
    assert ours.coef_.dtype == np.float32
    assert ours.decision_function(x_te.astype(np.float32)).dtype == np.float32


def test_sparse_fit_is_never_densified():
    # 2^22 features and 3,000 rows: a dense copy would take 96 GiB.
    rng = np.random.default_rng(0)
    d = 1 << 22
    x = sp.random(3000, d, density=30 / d, format="csr", random_state=rng)
    y = rng.integers(0, 3, 3000)
    ours = PerceptronClassifier(tol=None, max_iter=2, shuffle=True).fit(x, y)
    assert ours.coef_.shape == (3, d)
    assert ours.predict(x).shape == (3000,)


def standardised_split(name):
    """The dense parity tests' data (tests/test_sklearn_parity.py: bundled sets
    standardised on the training part, nothing dropped) as CSR float64."""
    x, y = LOADERS[name](return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(x_tr)
    return (sp.csr_matrix(scaler.transform(x_tr)), sp.csr_matrix(scaler.transform(x_te)), y_tr, y_te)


def assert_same_stopped_model(theirs, ours, x_test):
    """The same epochs, and so the same model (assert_same_model). The loss
    the stop is decided on is summed from z, which the op sums in another
    order than scikit-learn's loop: its last bits may differ, and a stop
    could move only at an exact tie of the mean loss with best - tol."""
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    assert_same_model(theirs, ours, x_test)


@pytest.mark.parametrize("name", DATA)
def test_default_constructor_on_sparse_input(name):
    """``PerceptronClassifier()`` against ``Perceptron()`` on sparse float64:
    tol=1e-3 on the epoch's mean perceptron loss, which the CSR ops sum as
    they go, shuffled from random_state=0."""
    x_tr, x_te, y_tr, _ = split(name)
    theirs = Perceptron().fit(x_tr, y_tr)
    ours = PerceptronClassifier().fit(x_tr, y_tr)
    assert 5 < ours.n_iter_ < 1000  # it stopped on the loss
    assert_same_stopped_model(theirs, ours, x_te)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_default_constructor_on_the_dense_tests_data_as_csr(name):
    x_tr, x_te, y_tr, _ = standardised_split(name)
    theirs = Perceptron().fit(x_tr, y_tr)
    ours = PerceptronClassifier().fit(x_tr, y_tr)
    assert ours.n_iter_ < 1000
    assert_same_stopped_model(theirs, ours, x_te)


# The dense parity tests' stopping cases (tests/test_sklearn_parity.py).
STOPPING = {
    "tol_1e-2": dict(tol=1e-2, random_state=1),
    "tol_0_patience_2": dict(tol=0.0, n_iter_no_change=2, random_state=2),
    "tol_1e-4_patience_8": dict(tol=1e-4, n_iter_no_change=8, random_state=3),
    "tol_no_shuffle": dict(tol=1e-3, shuffle=False),
    "tol_class_weight": dict(tol=1e-3, class_weight="balanced", random_state=4),
    "tol_no_intercept": dict(tol=1e-3, fit_intercept=False, random_state=5),
    "early_stopping": dict(
        early_stopping=True, validation_fraction=0.2, n_iter_no_change=3, tol=1e-3, max_iter=200, random_state=5
    ),
    "early_stopping_no_shuffle": dict(
        early_stopping=True, shuffle=False, n_iter_no_change=2, max_iter=100, random_state=0
    ),
}


@pytest.mark.parametrize("case", sorted(STOPPING))
@pytest.mark.parametrize("name", DATA)
def test_stopping_matches_scikit_learn_on_sparse_input(name, case):
    x_tr, x_te, y_tr, _ = split(name)
    theirs, ours = fit_both(x_tr, y_tr, **STOPPING[case])
    assert_same_stopped_model(theirs, ours, x_te)


def test_tol_stops_each_output_on_its_own_loss_on_sparse_input():
    """One-vs-rest with sample weights: each output stops on its own loss, as
    scikit-learn's fit_binary per class; n_iter_ is the most epochs any output
    ran."""
    x_tr, x_te, y_tr, _ = split("random_5_classes")
    sw = np.random.default_rng(1).choice([0.5, 1.0, 2.0], size=len(y_tr))
    theirs, ours = fit_both(x_tr, y_tr, sample_weight=sw, tol=1e-2, n_iter_no_change=3, random_state=5)
    assert_same_stopped_model(theirs, ours, x_te)
    assert ours.n_iter_ == len(ours.mistakes_per_epoch_) < 1000


def test_verbose_prints_scikit_learns_epoch_lines_on_sparse_input():
    """scikit-learn's lines, "Avg. loss" included (six decimals), all but the
    times and "Norm": on sparse X scikit-learn's weight vector keeps the
    squared norm of only the columns of the last sample it updated
    (WeightVector.add), ours is the weights' norm."""
    x_tr, _, y_tr, _ = split("breast_cancer")
    outs, models = [], []
    for cls in (Perceptron, PerceptronClassifier):
        buf = io.StringIO()
        with redirect_stdout(buf):
            models.append(cls(verbose=1, random_state=0).fit(x_tr, y_tr))
        outs.append([re.sub(r"[\d.]+ seconds", "", line) for line in buf.getvalue().splitlines()])
    (theirs, ours), (_, model) = outs, models
    norm = re.compile(r"Norm: [\d.]+, ")
    assert len(ours) == len(theirs) > 3
    assert any("Avg. loss" in line for line in ours)
    assert [norm.sub("", line) for line in ours] == [norm.sub("", line) for line in theirs]
    last = [line for line in ours if line.startswith("Norm: ")][-1]
    assert last.startswith(f"Norm: {np.linalg.norm(model.coef_):.2f}, ")


@pytest.mark.parametrize("name", ["digits", "random_5_classes"])
def test_one_thread_fit_keeps_feature_major_weights_with_the_same_model(name, num_threads):
    """On one thread, unshuffled one-vs-rest on sparse X keeps its weights
    feature-major (the op updates them in place, csrc/cpu/csr_loops.h); on two,
    row-major (the op's threads split the outputs). The same model either way,
    scikit-learn's, and coef_ C-ordered [K, D] as scikit-learn's."""
    x_tr, x_te, y_tr, _ = split(name)
    theirs = Perceptron(shuffle=False, random_state=0).fit(x_tr, y_tr)
    fits = {}
    for threads in (1, 2):
        num_threads(threads)
        model = PerceptronClassifier(shuffle=False, random_state=0).fit(x_tr, y_tr)
        fits[threads] = model
        assert_same_model(theirs, model, x_te)
        assert model.n_iter_ == theirs.n_iter_
        assert model.coef_.flags["C_CONTIGUOUS"]
    assert fits[1]._weight.stride() == (1, len(theirs.classes_))
    assert fits[2]._weight.is_contiguous()
