"""A scikit-learn estimator on the compiled perceptron ops, CPU or CUDA.

``Perceptron`` is meant as a drop-in for ``sklearn.linear_model.Perceptron``
(scikit-learn 1.9), under its name, so that a pipeline names its step
``perceptron`` and a grid written for scikit-learn's (``perceptron__alpha``)
works as it is. ``PerceptronClassifier``, its former name, is kept as an alias
(a subclass: the same estimator, which reads as ``PerceptronClassifier(...)``).
It has the same constructor
parameters with the same defaults and meaning, and, for the same parameters and
``random_state``, the same decisions, sample for sample. To get there it does
what scikit-learn's SGD loop (``_plain_sgd`` in ``_sgd_fast.pyx.tp``) does:

* computes in X's precision (float64 stays float64, float32 stays float32,
  anything else becomes float64), unless ``dtype`` says otherwise;
* binary: one output; more classes: one-vs-rest, one output per class, each
  with its own class weights (``class_weight[k]`` on the positives, 1 on the
  rest), shuffling seed and stopping;
* draws its random numbers from ``random_state`` in scikit-learn's order (one
  shuffling seed per output, the validation split) and shuffles with
  scikit-learn's own generator (:mod:`.orders`): the same orders;
* scales each sample's step as scikit-learn rounds it, in the working dtype;
* stops an output as scikit-learn does: on the validation accuracy with
  ``early_stopping``, else on the epoch's mean perceptron loss
  ``sum max(0, -y*z) / n`` (z before each sample's step), which the ops sum
  as they go (their ``loss`` argument).

``penalty`` ("l2", "l1", "elasticnet", with ``alpha`` and ``l1_ratio``) runs
the penalized ops (:mod:`torch_perceptron.ops.penalized`), which do
scikit-learn's arithmetic: the weights kept as ``wscale * w`` across the epochs
of one fit and folded at its end, the shrink at every sample, the
truncated-gradient L1 step, and its objective (loss plus penalty, with its own
norm bookkeeping), which its ``tol`` rule then stops on. Not with ``average``
or ``pocket``.

Sparse X (scipy.sparse CSR, CSC or COO, matrices and arrays; any other
scipy format is converted to CSR by scikit-learn's validation) runs the ops'
CSR forms: converted to CSR once per call, never densified, the weights
(``coef_``) dense. As scikit-learn does on sparse input, the intercept's step is
damped by ``sparse_intercept_decay`` (0.01: its ``SPARSE_INTERCEPT_DECAY``).

On top: ``average`` (the averaged perceptron), ``pocket`` (the pocket
perceptron), ``zero_is_mistake``, ``sparse_intercept_decay``, ``device`` and
``dtype``.

This module imports scikit-learn; ``import torch_perceptron`` does not import it
(install the ``sklearn`` extra).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
)
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import ops
from .arithmetic import SGDArithmetic
from .loop import EpochLoop
from .params import BasePerceptron
from .verbose import VerboseOutput
from .weights import WeightState, _as_rows, _numpy_dtype

__all__ = ["Perceptron", "PerceptronClassifier"]

# The sparse formats taken as they are; scikit-learn's validation turns any
# other scipy format into the first of them.
_SPARSE_FORMATS = ["csr", "csc", "coo"]


class Perceptron(ClassifierMixin, EpochLoop, WeightState, SGDArithmetic, VerboseOutput, BasePerceptron):
    """Rosenblatt's perceptron as a scikit-learn classifier, run by the compiled op.

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet"} or None, default=None
        scikit-learn's regularisation, applied as its SGD loop applies it: at
        every sample the weights shrink by ``max(0, 1 - (1 - l1_ratio) * eta0
        * alpha)`` ("l2", "elasticnet"), and with "l1" / "elasticnet" each
        weight of the sample's entries moves towards zero by its unpaid share
        of the cumulative L1 penalty (truncated gradient). With a penalty,
        ``tol`` stops on scikit-learn's objective (loss plus penalty). Not
        with ``average`` or ``pocket`` (ValueError).
    alpha : float, default=0.0001
        Strength of ``penalty`` (unused while penalty is None).
    l1_ratio : float, default=0.15
        Elastic-net mixing, 0 <= l1_ratio <= 1: the L1 share of the penalty
        (only with ``penalty="elasticnet"``; "l2" is 0, "l1" is 1).
    fit_intercept : bool, default=True
        Learn a bias; if False the bias stays at zero.
    max_iter : int, default=1000
        Most epochs (passes over the training data) of ``fit``.
    tol : float or None, default=1e-3
        Stop an output once it has not improved by ``tol`` for
        ``n_iter_no_change`` epochs in a row: its validation accuracy with
        ``early_stopping``, else its mean perceptron loss over the epoch, as
        scikit-learn. None: run ``max_iter`` epochs.
    shuffle : bool, default=True
        Visit the samples in scikit-learn's order for ``random_state``: the
        same permutation applied again every epoch, one seed per output.
    verbose : int, default=0
        Print a line per output and epoch, as scikit-learn does.
    eta0 : float, default=1.0
        Learning rate of the rule (> 0).
    n_jobs : int or None, default=None
        Accepted as scikit-learn's (its threads over the one-vs-rest
        outputs); here every output, dense or sparse X, penalized or not,
        trains in one op call an epoch, each in its own order (the op's
        ``order``), on torch's threads (``torch.set_num_threads``), whatever
        n_jobs says. The model does not depend on it.
    random_state : int, RandomState instance or None, default=0
        Seeds the shuffling and the validation split, drawn as scikit-learn
        draws them.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the samples (scikit-learn's
        stratified split) and stop an output when its accuracy there stops
        improving. The last weights are kept, not the best ones (as in
        scikit-learn).
    validation_fraction : float, default=0.1
        Fraction held out with ``early_stopping``.
    n_iter_no_change : int, default=5
        Epochs without improvement before an output stops (with ``tol``).
    class_weight : dict, "balanced" or None, default=None
        Scales the step of each sample by the weight of its class (for
        one-vs-rest, of the positive samples of each output, as scikit-learn).
    warm_start : bool, default=False
        ``fit`` continues from the previous solution (and its averaging or
        pocket state) instead of zeros.
    average : bool, default=False
        Predict with the average of the weights after every sample seen
        (Freund & Schapire 1999).
    pocket : bool, default=False
        Predict with the weights of the longest run of correct predictions
        (Gallant 1990).
    zero_is_mistake : bool, default=True
        scikit-learn's tie rule (``y * z <= 0`` is a mistake, y in {-1, +1});
        False gives the textbook rule (predict 1 iff ``z > 0``).
    sparse_intercept_decay : float, default=0.01
        On sparse X, the intercept's step is this times the weights' step
        (``intercept += decay * step``): scikit-learn's SGD loop damps it by
        0.01 on sparse input (``SPARSE_INTERCEPT_DECAY``), which this default
        reproduces, decision for decision. 1.0 gives the textbook rule, the
        same step as on dense X. Unused on dense X and without
        ``fit_intercept``.
    device : str or torch.device, default="cpu"
        Where the weights live and the rule runs ("cpu", "cuda", ...). A CUDA
        device where torch has none is a ValueError at ``fit``.
    dtype : torch.dtype or None, default=None
        torch.float32 or torch.float64; None follows X as scikit-learn does.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The weights predictions use (averaged or pocket when those are on).
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : int
        Epochs run by the last ``fit``: the most any output ran (1 for
        ``partial_fit``).
    t_ : float
        ``n_iter_ * n_samples + 1`` summed over calls since ``fit``, as
        scikit-learn counts.
    mistakes_per_epoch_ : list of int
        Mistakes of every epoch run, summed over the outputs, for plotting.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string feature names.
    """

    def fit(self, X, y, sample_weight=None):
        """Fits the perceptron for up to ``max_iter`` epochs (from zeros, or
        from the last solution with ``warm_start``). X: [n_samples, n_features];
        y: [n_samples] class labels; sample_weight: [n_samples] >= 0."""
        self._check_params(for_partial_fit=False)
        X, y = validate_data(
            self, X, y, accept_sparse=_SPARSE_FORMATS, dtype=[np.float64, np.float32], order="C", reset=True
        )
        check_classification_targets(y)
        dtype = self._work_dtype(X.dtype)
        X = _as_rows(X, dtype)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"The number of classes has to be greater than one; got {len(classes)} class")
        n_outputs = 1 if len(classes) == 2 else len(classes)
        keep = (
            self.warm_start
            and getattr(self, "classes_", None) is not None
            and np.array_equal(self.classes_, classes)
            and self._state_matches(n_outputs, X.shape[1])
        )
        self.classes_ = classes
        if keep:
            self._cast_state(dtype)
        else:
            self._init_state(n_outputs, X.shape[1], dtype, self._feature_major(X, n_outputs))
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=dtype, allow_all_zero_weights=bool(self.early_stopping)
        )
        self.mistakes_per_epoch_ = []
        self.t_ = 1.0
        self.n_iter_ = self._train(X, y, sample_weight, int(self.max_iter), dtype)
        self.t_ += self.n_iter_ * X.shape[0]
        if self.tol is not None and self.n_iter_ == self.max_iter:
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider "
                "increasing max_iter to improve the fit.",
                ConvergenceWarning,
            )
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y), continuing from the current state. ``classes``
        (every label of the whole problem) is required on the first call."""
        first = getattr(self, "classes_", None) is None
        if first:
            self._check_params(for_partial_fit=True)
            if self.class_weight == "balanced":
                raise ValueError(
                    "class_weight 'balanced' is not supported for partial_fit: pass "
                    "compute_class_weight('balanced', classes=classes, y=y) as a dict"
                )
        X, y = validate_data(
            self, X, y, accept_sparse=_SPARSE_FORMATS, dtype=[np.float64, np.float32], order="C", reset=first
        )
        check_classification_targets(y)
        _check_partial_fit_first_call(self, classes)
        if len(self.classes_) < 2:
            raise ValueError(f"The number of classes has to be greater than one; got {len(self.classes_)} class")
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y: labels {unknown!r} are not in classes {self.classes_!r}")
        dtype = self._work_dtype(X.dtype)
        X = _as_rows(X, dtype)
        n_outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
        if first or getattr(self, "_weight", None) is None:
            self._init_state(n_outputs, X.shape[1], dtype, self._feature_major(X, n_outputs))
            self.mistakes_per_epoch_ = []
            self.t_ = 1.0
        else:
            self._cast_state(dtype)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=dtype)
        self.n_iter_ = self._train(X, y, sample_weight, 1, dtype)
        self.t_ += self.n_iter_ * X.shape[0]
        return self

    # --- prediction ------------------------------------------------------------

    def decision_function(self, X) -> np.ndarray:
        """Net input: [n_samples] for two classes (positive: classes_[1]),
        [n_samples, n_classes] for more. Computed in float32 when X and the
        weights are float32, else in float64; returned in the dtype
        scikit-learn's ``X @ coef_.T + intercept_`` has."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=_SPARSE_FORMATS, dtype=[np.float64, np.float32], reset=False)
        w, b = self._inference_parameters()
        if X.dtype == np.float64 and w.dtype != torch.float64:
            w, b = w.to(torch.float64), b.to(torch.float64)
        z = ops.forward(self._tensor(X, _numpy_dtype(w.dtype)), w, b).cpu().numpy()
        # As scikit-learn's X @ coef_.T + intercept_ (a binary intercept_ is float64).
        b_dtype = np.float64 if len(self.classes_) == 2 else _numpy_dtype(self._weight.dtype)
        z = z.astype(np.result_type(X.dtype, _numpy_dtype(self._weight.dtype), b_dtype), copy=False)
        return z[:, 0] if z.shape[1] == 1 else z

    def predict(self, X) -> np.ndarray:
        """Class labels [n_samples]: classes_[1] where z > 0 (two classes), the
        class of the largest z (lowest index on a tie) for more."""
        z = self.decision_function(X)
        idx = (z > 0).astype(np.intp) if z.ndim == 1 else z.argmax(axis=1)
        return self.classes_[idx]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class PerceptronClassifier(Perceptron):
    """:class:`Perceptron` under its former name, kept so that code written
    for it runs unchanged; new code imports ``Perceptron``."""
