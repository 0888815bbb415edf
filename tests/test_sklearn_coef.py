"""coef_ and intercept_ are read from the estimator's weights when asked, not
copied out after every fit or partial_fit (a stream of partial_fit calls over
a large model would pay a copy of it a call), and keep scikit-learn's
meaning: C-ordered [K, D], X @ coef_.T + intercept_ is the decision
function, assigning them sets the model."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris

from torch_perceptron.sklearn import Perceptron


def test_partial_fit_copies_nothing_out():
    x, y = load_iris(return_X_y=True)
    model = Perceptron(random_state=0)
    model.partial_fit(x[:50], y[:50], classes=np.unique(y))
    assert "coef_" not in vars(model) and "intercept_" not in vars(model)
    first = model.coef_.copy()
    model.partial_fit(x[50:], y[50:])
    assert not np.array_equal(model.coef_, first)
    z = x @ model.coef_.T + model.intercept_
    assert np.allclose(model.decision_function(x), z)


@pytest.mark.parametrize("sparse", [False, True])
def test_coef_is_c_ordered_in_either_layout(sparse):
    """Unshuffled sparse one-vs-rest on one thread keeps its weights
    feature-major; coef_ reads C-ordered all the same."""
    x, y = load_iris(return_X_y=True)
    xs = sp.csr_matrix(x) if sparse else x
    model = Perceptron(shuffle=False, random_state=0).fit(xs, y)
    assert model.coef_.flags["C_CONTIGUOUS"] and model.coef_.shape == (3, 4)
    assert model.intercept_.shape == (3,)


def test_assigning_coef_and_intercept_sets_the_model():
    x, y = load_iris(return_X_y=True)
    model = Perceptron(random_state=0).fit(x, y)
    w = np.zeros((3, 4))
    w[1, 0] = 1.0
    model.coef_ = w
    model.intercept_ = np.array([0.0, 0.0, -1e9])
    assert np.array_equal(model.coef_, w)
    assert (model.predict(x) == model.classes_[1]).all()
    with pytest.raises(ValueError, match=r"^coef_: expected shape \(3, 4\)"):
        model.coef_ = np.zeros((4, 3))
    with pytest.raises(AttributeError, match="coef_"):
        Perceptron().coef_
