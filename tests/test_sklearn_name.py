"""The estimator under scikit-learn's name: ``Perceptron`` in a pipeline and a
grid reads as scikit-learn's does, ``PerceptronClassifier`` still works, and a
device torch cannot use is refused in one line."""

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")
from sklearn import linear_model  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import torch_perceptron.sklearn as ours  # noqa: E402
from torch_perceptron.sklearn import Perceptron, PerceptronClassifier  # noqa: E402


def test_a_pipeline_and_grid_written_for_scikit_learn_run_unchanged():
    x, y = load_iris(return_X_y=True)
    grids = {}
    for estimator in (linear_model.Perceptron, Perceptron):
        pipe = make_pipeline(StandardScaler(), estimator(penalty="l2"))
        assert list(pipe.named_steps) == ["standardscaler", "perceptron"]
        search = GridSearchCV(pipe, {"perceptron__alpha": [1e-4, 1e-2]}, cv=3).fit(x, y)
        grids[estimator] = search
    # The same decisions as scikit-learn's, so the same best alpha and scores.
    theirs, mine = grids[linear_model.Perceptron], grids[Perceptron]
    assert mine.best_params_ == theirs.best_params_
    np.testing.assert_allclose(mine.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"])


def test_repr_reads_as_scikit_learns_and_the_alias_as_itself():
    assert repr(Perceptron(alpha=0.01)) == "Perceptron(alpha=0.01)"
    assert repr(PerceptronClassifier(alpha=0.01)) == "PerceptronClassifier(alpha=0.01)"
    assert "Perceptron" in ours.__all__ and "PerceptronClassifier" in ours.__all__


@pytest.mark.parametrize("cls", [Perceptron, PerceptronClassifier])
def test_both_names_clone_and_give_the_same_parameters_and_fit(cls):
    est = cls(eta0=0.5, average=True, random_state=3)
    copy = clone(est)
    assert type(copy) is cls and copy.get_params() == est.get_params()
    assert est.get_params() == Perceptron(eta0=0.5, average=True, random_state=3).get_params()
    assert isinstance(est, Perceptron)
    x, y = load_iris(return_X_y=True)
    np.testing.assert_array_equal(
        est.fit(x, y).coef_, Perceptron(eta0=0.5, average=True, random_state=3).fit(x, y).coef_
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_where_torch_has_none_is_one_line():
    x, y = load_iris(return_X_y=True)
    for call in (lambda e: e.fit(x, y), lambda e: e.partial_fit(x, y, classes=np.unique(y))):
        with pytest.raises(ValueError) as info:
            call(PerceptronClassifier(device="cuda"))
        message = str(info.value)
        assert "\n" not in message
        assert message.startswith("device: got 'cuda', but ")
        assert message.endswith("use device='cpu'")
    with pytest.raises(
        ValueError,
        match=r"^device: expected a torch device such as 'cpu' or "
        r"'cuda', got 'gpu0'",
    ):
        Perceptron(device="gpu0").fit(x, y)
