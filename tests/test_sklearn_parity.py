"""PerceptronClassifier reproduces scikit-learn's Perceptron decision for
decision (float64, no shuffling, a fixed number of epochs, scikit-learn's tie
rule) on the data sets that ship with scikit-learn."""

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")
from sklearn.datasets import load_breast_cancer, load_digits, load_iris  # noqa: E402
from sklearn.linear_model import Perceptron  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from torch_perceptron.sklearn import PerceptronClassifier  # noqa: E402

LOADERS = {"breast_cancer": load_breast_cancer, "digits": load_digits, "iris": load_iris}


def split(name):
    x, y = LOADERS[name](return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(x_tr)
    return scaler.transform(x_tr), scaler.transform(x_te), y_tr, y_te


@pytest.mark.parametrize("name", sorted(LOADERS))
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_decision_for_decision(name, fit_intercept):
    x_tr, x_te, y_tr, y_te = split(name)
    theirs = Perceptron(shuffle=False, max_iter=50, tol=None, fit_intercept=fit_intercept)
    theirs.fit(x_tr, y_tr)
    ours = PerceptronClassifier(
        shuffle=False, max_iter=50, tol=None, dtype=torch.float64, fit_intercept=fit_intercept
    ).fit(x_tr, y_tr)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.coef_.shape == theirs.coef_.shape
    assert ours.intercept_.shape == theirs.intercept_.shape
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-10, atol=1e-10)
    if not fit_intercept:
        assert np.all(ours.intercept_ == 0)
    for x in (x_tr, x_te):
        np.testing.assert_array_equal(ours.predict(x), theirs.predict(x))
        np.testing.assert_allclose(
            ours.decision_function(x), theirs.decision_function(x), rtol=1e-9, atol=1e-9
        )
    assert ours.n_iter_ == theirs.n_iter_ == 50
    assert ours.t_ == theirs.t_
    assert len(ours.mistakes_per_epoch_) == 50


@pytest.mark.parametrize("name", ["breast_cancer", "iris"])
def test_class_weight_and_sample_weight_parity(name):
    x_tr, _, y_tr, _ = split(name)
    rng = np.random.default_rng(0)
    sw = rng.integers(1, 4, size=len(y_tr)).astype(np.float64)
    cw = {c: 1.0 + 0.5 * i for i, c in enumerate(np.unique(y_tr))}
    theirs = Perceptron(shuffle=False, max_iter=20, tol=None, class_weight=cw)
    theirs.fit(x_tr, y_tr, sample_weight=sw)
    ours = PerceptronClassifier(
        shuffle=False, max_iter=20, tol=None, class_weight=cw, dtype=torch.float64
    ).fit(x_tr, y_tr, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(ours.predict(x_tr), theirs.predict(x_tr))


def test_partial_fit_parity():
    x_tr, x_te, y_tr, _ = split("iris")
    theirs = Perceptron(shuffle=False)
    ours = PerceptronClassifier(shuffle=False, dtype=torch.float64)
    classes = np.unique(y_tr)
    for start in range(0, len(y_tr), 40):
        part = slice(start, start + 40)
        theirs.partial_fit(x_tr[part], y_tr[part], classes=classes)
        ours.partial_fit(x_tr[part], y_tr[part], classes=classes)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(ours.predict(x_te), theirs.predict(x_te))
    assert ours.t_ == theirs.t_
