"""scikit-learn's own estimator checks on PerceptronClassifier, and the
estimator's own behaviour (averaged, pocket, shuffling, stopping)."""

import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from torch_perceptron.sklearn import PerceptronClassifier  # noqa: E402

# Every check this estimator is expected to fail, with the reason.
EXPECTED_FAILED = {
    # As for scikit-learn's own Perceptron and SGDClassifier: an online rule
    # visits a sample of weight 2 once, with a double step, not twice.
    "check_sample_weight_equivalence_on_dense_data": (
        "sample_weight is not equivalent to removing/repeating samples."
    ),
}


# The plain rule, until the ops report the epoch loss: with tol set (the check
# runs tol=1e-3, n_iter_no_change=20), scikit-learn stops on its summed
# perceptron loss; our stand-in, the mistake count, stops this noisy binary
# problem with class weights 1000 vs 0.0001 after 23 epochs at 0.62, where
# scikit-learn runs 35 epochs to 0.92 (measured). With tol=None both run the
# same 1000 epochs to the same weights and 0.92 (test_sklearn_parity.py).
EXPECTED_FAILED_PLAIN = {
    "check_class_weight_classifiers": (
        "tol stops on the mistake count until the ops report the epoch loss: 23 epochs "
        "and 0.62 < 0.87 where scikit-learn's loss rule runs 35 epochs to 0.92"
    ),
}


# The averaged perceptron only: the check wants >= 87 % of predictions in the
# class of weight 1000 (against 0.0001) on very noisy blobs. The average keeps
# the weights of the many early epochs, and reaches 78 % on the binary problem,
# exactly as scikit-learn's SGDClassifier(loss="perceptron", average=True,
# eta0=1, learning_rate="constant", penalty=None) does on it (measured).
EXPECTED_FAILED_AVERAGED = {
    "check_class_weight_classifiers": (
        "the averaged perceptron, like SGDClassifier(loss='perceptron', average=True), "
        "reaches 0.78 < 0.87 with class weights 1000 vs 0.0001 on noisy blobs"
    ),
}


# The pocket only: Gallant's pocket keeps the weights of the longest run of
# correct predictions counted in samples, so class weights scale the steps but
# not the choice of weights kept; it reaches 0.56 on the binary problem above
# (measured), where the last weights reach 1.0.
EXPECTED_FAILED_POCKET = {
    "check_class_weight_classifiers": (
        "the pocket counts runs in samples, unweighted (Gallant's rule): 0.56 < 0.87 "
        "with class weights 1000 vs 0.0001 on noisy blobs"
    ),
}


def expected_failed_checks(estimator):
    if estimator.pocket:
        return {**EXPECTED_FAILED, **EXPECTED_FAILED_POCKET}
    if estimator.average:
        return {**EXPECTED_FAILED, **EXPECTED_FAILED_AVERAGED}
    return {**EXPECTED_FAILED, **EXPECTED_FAILED_PLAIN}


@parametrize_with_checks(
    [
        PerceptronClassifier(max_iter=5),
        PerceptronClassifier(max_iter=5, average=True, dtype=torch.float64),
        PerceptronClassifier(max_iter=5, pocket=True),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def iris():
    x, y = load_iris(return_X_y=True)
    return (x - x.mean(0)) / x.std(0), y


@pytest.mark.parametrize("mode", ["average", "pocket"])
def test_variants_predict_with_their_weights(mode):
    x, y = iris()
    clf = PerceptronClassifier(max_iter=20, tol=None, dtype=torch.float64, **{mode: True})
    clf.fit(x, y)
    w, b = clf._inference_parameters()
    assert not torch.equal(w, clf._weight)  # not the last weights
    np.testing.assert_array_equal(clf.coef_, w.numpy())
    z = x @ clf.coef_.T + clf.intercept_
    np.testing.assert_allclose(clf.decision_function(x), z, rtol=1e-12, atol=1e-12)
    assert clf.score(x, y) > 0.8


def test_shuffle_is_reproducible_and_fresh_each_epoch():
    x, y = iris()
    a = PerceptronClassifier(max_iter=10, tol=None, random_state=3).fit(x, y)
    b = PerceptronClassifier(max_iter=10, tol=None, random_state=3).fit(x, y)
    c = PerceptronClassifier(max_iter=10, tol=None, random_state=4).fit(x, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.mistakes_per_epoch_ == b.mistakes_per_epoch_
    assert not np.array_equal(a.coef_, c.coef_)
    # Fresh orders: the generator draws a new permutation each epoch.
    gen = torch.Generator().manual_seed(0)
    assert not torch.equal(torch.randperm(150, generator=gen), torch.randperm(150, generator=gen))


def test_tol_stops_early_and_separable_data_stop():
    x, y = iris()
    clf = PerceptronClassifier(max_iter=1000, tol=1e-3, n_iter_no_change=3).fit(x, y)
    assert 3 <= clf.n_iter_ < 1000
    assert len(clf.mistakes_per_epoch_) >= clf.n_iter_


def test_warm_start_continues():
    x, y = iris()
    cold = PerceptronClassifier(max_iter=6, tol=None, shuffle=False).fit(x, y)
    warm = PerceptronClassifier(max_iter=3, tol=None, shuffle=False, warm_start=True)
    warm.fit(x, y).fit(x, y)
    np.testing.assert_array_equal(warm.coef_, cold.coef_)


def test_average_beats_or_matches_last_weights_on_noisy_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = (x[:, 0] + 0.8 * rng.normal(size=400) > 0).astype(int)
    plain = PerceptronClassifier(max_iter=20, tol=None, random_state=0).fit(x[:300], y[:300])
    avg = PerceptronClassifier(max_iter=20, tol=None, random_state=0, average=True)
    avg.fit(x[:300], y[:300])
    assert avg.score(x[300:], y[300:]) >= plain.score(x[300:], y[300:])


def test_importing_the_package_does_not_import_sklearn():
    code = "import sys, torch_perceptron; assert 'sklearn' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
