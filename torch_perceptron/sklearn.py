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
  scikit-learn's own generator (``sklearn_orders``): the same orders;
* scales each sample's step as scikit-learn rounds it, in the working dtype;
* stops an output as scikit-learn does: on the validation accuracy with
  ``early_stopping``, else on the epoch's mean perceptron loss
  ``sum max(0, -y*z) / n`` (z before each sample's step), which the ops sum
  as they go (their ``loss`` argument).

``penalty`` ("l2", "l1", "elasticnet", with ``alpha`` and ``l1_ratio``) runs
the penalized ops (:mod:`torch_perceptron.penalized_ops`), which do
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

import time
import warnings
from numbers import Integral, Real
from typing import Optional

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
)
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import ops
from .ops import penalty_l1_ratio
from .sparse import CSRRows, as_csr
from .sklearn_epochs import EpochData, OutputRun, Stopping
from .sklearn_orders import sgd_permutations

__all__ = ["Perceptron", "PerceptronClassifier"]

# scikit-learn draws its seeds below this (np.iinfo(np.int32).max).
_MAX_INT = np.iinfo(np.int32).max
# The sparse formats taken as they are; scikit-learn's validation turns any
# other scipy format into the first of them.
_SPARSE_FORMATS = ["csr", "csc", "coo"]


class Perceptron(ClassifierMixin, BaseEstimator):
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

    _parameter_constraints: dict = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "warm_start": ["boolean"],
        "average": ["boolean"],
        "pocket": ["boolean"],
        "zero_is_mistake": ["boolean"],
        "sparse_intercept_decay": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "dtype": [torch.dtype, None],
    }

    def __init__(
        self,
        *,
        penalty=None,
        alpha: float = 0.0001,
        l1_ratio: float = 0.15,
        fit_intercept: bool = True,
        max_iter: int = 1000,
        tol: Optional[float] = 1e-3,
        shuffle: bool = True,
        verbose: int = 0,
        eta0: float = 1.0,
        n_jobs: Optional[int] = None,
        random_state=0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        class_weight=None,
        warm_start: bool = False,
        average: bool = False,
        pocket: bool = False,
        zero_is_mistake: bool = True,
        sparse_intercept_decay: float = 0.01,
        device="cpu",
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.eta0 = eta0
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.pocket = pocket
        self.zero_is_mistake = zero_is_mistake
        self.sparse_intercept_decay = sparse_intercept_decay
        self.device = device
        self.dtype = dtype

    # --- parameters ------------------------------------------------------------

    def _check_params(self, for_partial_fit: bool) -> None:
        self._validate_params()
        if self.penalty is not None and (self.average or self.pocket):
            raise ValueError(
                f"penalty={self.penalty!r} with average={self.average} and pocket="
                f"{self.pocket}: a penalty is only implemented for the plain rule (set "
                "average=False and pocket=False, or penalty=None)"
            )
        if self.dtype is not None and self.dtype not in (torch.float32, torch.float64):
            raise ValueError(
                f"dtype: expected torch.float32, torch.float64 or None, got {self.dtype!r}"
            )
        if self.average and self.pocket:
            raise ValueError("average and pocket: expected at most one of them, got both")
        _check_device(self.device)
        if for_partial_fit and self.early_stopping:
            raise ValueError("early_stopping should be False with partial_fit")

    def _work_dtype(self, x_dtype) -> np.dtype:
        """float32 or float64: ``dtype``, or X's (after scikit-learn's conversion)."""
        if self.dtype is None:
            return np.dtype(x_dtype)
        return np.dtype(np.float32 if self.dtype == torch.float32 else np.float64)

    # --- data ------------------------------------------------------------------

    def _tensor(self, a, dtype):
        """A dense array as a tensor, a sparse one as canonical CSR rows (one
        conversion, no dense copy), in ``dtype`` on the estimator's device."""
        if sp.issparse(a):
            return as_csr(a, _torch_dtype(dtype), name="X").to(device=self.device)
        a = np.ascontiguousarray(a, dtype=dtype)
        if not a.flags.writeable:  # torch warns on read-only arrays (memmaps)
            a = a.copy()
        return torch.from_numpy(a).to(self.device)

    def _output_targets(self, y: np.ndarray) -> np.ndarray:
        """bool ``[N, K]``: sample i is a positive of output k (K = 1 for two
        classes, whose positive class is classes_[1])."""
        idx = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            return (idx == 1)[:, None]
        return idx[:, None] == np.arange(len(self.classes_))[None, :]

    def _output_steps(self, y: np.ndarray, positive: np.ndarray, sample_weight: np.ndarray,
                      dtype, fold_eta0: bool = True) -> tuple[list, float]:
        """Each output's step sizes ``[N]`` (outputs with equal steps share
        one array; None where every step is ``eta0``), and the ``lr`` to call
        the op with.

        scikit-learn's step is ``eta0 * (class_weight * sample_weight)``,
        rounded as its loop rounds it: in float32 the product of the two
        weights is a float32 product and the step a double rounded to float32.
        Folding ``eta0`` into the weights (lr = 1) hands the op exactly that
        step. Binary: class_weight is the weight of the sample's class;
        one-vs-rest: ``class_weight[k]`` for the positives of output k, 1 for
        the rest (scikit-learn's fit_binary).

        ``fold_eta0=False`` (the penalized ops, whose shrink needs ``eta0``
        itself): the arrays are ``class_weight * sample_weight`` in the
        working dtype and ``lr`` is ``eta0``; the op then forms scikit-learn's
        ``(eta0 * y) * (class_weight * sample_weight)`` in double."""
        cw = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
        k = positive.shape[1]
        pos_w, neg_w = ([cw[1]], [cw[0]]) if k == 1 else (list(cw), [1.0] * k)
        if np.all(sample_weight == 1) and np.all(cw == 1):
            return [None] * k, float(self.eta0)
        shared: dict = {}
        steps = []
        for o in range(k):
            # Weights that do not depend on the output give one array for all.
            key = None if pos_w[o] == 1 and neg_w[o] == 1 else o
            if key not in shared:
                p, q = pos_w[o], neg_w[o]
                if dtype == np.float32:
                    cls = np.where(positive[:, o], np.float32(p), np.float32(q))
                    both = cls * sample_weight.astype(np.float32)
                    shared[key] = (both if not fold_eta0 else
                                   (self.eta0 * both.astype(np.float64)).astype(np.float32))
                else:
                    cls = np.where(positive[:, o], float(p), float(q))
                    both = cls * sample_weight
                    shared[key] = self.eta0 * both if fold_eta0 else both
            steps.append(shared[key])
        return steps, (1.0 if fold_eta0 else float(self.eta0))

    # --- random numbers, in scikit-learn's order --------------------------------

    def _validation_mask(self, y_split: np.ndarray, sample_weight: np.ndarray) -> np.ndarray:
        """scikit-learn's ``_make_validation_split``: a stratified split drawn
        from ``random_state``; True on the held-out samples."""
        n = y_split.shape[0]
        mask = np.zeros(n, dtype=np.bool_)
        if not self.early_stopping:
            return mask
        cv = StratifiedShuffleSplit(
            test_size=self.validation_fraction, random_state=self.random_state
        )
        idx_train, idx_val = next(cv.split(np.zeros(shape=(n, 1)), y_split))
        if not np.any(sample_weight[idx_val] > 0):
            raise ValueError(
                "The sample weights for validation set are all zero, consider using a"
                " different random state."
            )
        if idx_train.shape[0] == 0 or idx_val.shape[0] == 0:
            raise ValueError(
                f"Splitting {n} samples into a train set and a validation set with "
                f"validation_fraction={self.validation_fraction!r} led to an empty set "
                f"({idx_train.shape[0]} and {idx_val.shape[0]} samples). Please either "
                "change validation_fraction, increase number of samples, or disable "
                "early_stopping."
            )
        mask[idx_val] = True
        return mask

    def _draw(self, y: np.ndarray, positive: np.ndarray, sample_weight: np.ndarray):
        """The validation mask and each output's shuffling seed, drawn from
        ``random_state`` in scikit-learn's order (fit_binary, _fit_multiclass
        and make_dataset), so that a RandomState instance or the global one
        ends in the same state too."""
        if positive.shape[1] == 1:
            rng = check_random_state(self.random_state)
            rng.randint(1, _MAX_INT)  # make_dataset's seed for random access, unused
            mask = self._validation_mask(np.where(positive[:, 0], 1.0, -1.0), sample_weight)
            return mask, [int(rng.randint(_MAX_INT))]
        mask = self._validation_mask(y, sample_weight)
        seeds = check_random_state(self.random_state).randint(_MAX_INT, size=len(self.classes_))
        return mask, [_shuffle_seed(int(seed)) for seed in seeds]

    # --- state -----------------------------------------------------------------

    def _feature_major(self, X, n_outputs: int) -> bool:
        """Whether the weights are best kept feature-major for X: the
        transpose of a contiguous ``[n_features, K]``, which the CPU's plain
        sparse op updates in place, a sample's non-zeros reading every output's
        weights in one go, with no copy per call (csrc/cpu/csr_loops.h). Only
        where every output visits the samples in one order (unshuffled: with
        shuffle each output has its own, a [K, M] order, which the op runs
        row-major, on a contiguous copy of feature-major weights), and only where
        the op runs on one thread: its outputs share a feature's cache line in
        that layout, so one thread runs them all, where the row-major layout's
        per-call copy splits them between threads (quiet machine, 2 threads,
        200,000 x 2^18, K=20, ten epochs: 1.2-1.4 s row-major against 1.7-2.0 s
        in place; BENCHMARKS.md)."""
        return (sp.issparse(X) and n_outputs >= 2 and not self.shuffle
                and not self.average and not self.pocket and self.penalty is None
                and torch.device(self.device).type == "cpu"
                and torch.get_num_threads() == 1)

    def _arrange_state(self, feature_major: bool) -> None:
        """The weights in the layout the coming epochs want (one copy when it
        changes: a warm start, or partial_fit, on other data)."""
        w = self._weight
        is_fm = w.dim() == 2 and w.shape[0] > 1 and not w.is_contiguous() and w.stride(0) == 1
        if feature_major and not is_fm:
            self._weight = w.t().contiguous().t()
        elif not feature_major and not w.is_contiguous():
            self._weight = w.contiguous()

    def _init_state(self, n_outputs: int, n_features: int, dtype: np.dtype,
                    feature_major: bool = False) -> None:
        opts = {"dtype": _torch_dtype(dtype), "device": self.device}
        counters = {"dtype": torch.int64, "device": self.device}
        if feature_major:  # see _feature_major
            self._weight = torch.zeros(n_features, n_outputs, **opts).t()
        else:
            self._weight = torch.zeros(n_outputs, n_features, **opts)
        self._bias = torch.zeros(n_outputs, **opts)
        if self.pocket:
            self._extra = (
                torch.zeros(n_outputs, n_features, **opts), torch.zeros(n_outputs, **opts),
                torch.zeros(n_outputs, **counters), torch.zeros(n_outputs, **counters),
            )
        elif self.average:
            self._extra = (
                torch.zeros(n_outputs, n_features, **opts), torch.zeros(n_outputs, **opts),
                torch.zeros(n_outputs, **counters),
            )
        else:
            self._extra = ()
        self._penalty_run = ()
        self._mode = (bool(self.average), bool(self.pocket), bool(self.fit_intercept))

    def _state_matches(self, n_outputs: int, n_features: int) -> bool:
        return (
            getattr(self, "_weight", None) is not None
            and tuple(self._weight.shape) == (n_outputs, n_features)
            and self._mode == (bool(self.average), bool(self.pocket), bool(self.fit_intercept))
            and str(self._weight.device) == str(torch.device(self.device))
        )

    def _cast_state(self, dtype: np.dtype) -> None:
        """warm_start on data of another precision continues in that precision."""
        t = _torch_dtype(dtype)
        if self._weight.dtype != t:
            self._weight, self._bias = self._weight.to(t), self._bias.to(t)
            self._extra = tuple(e if e.dtype == torch.int64 else e.to(t) for e in self._extra)

    def _state(self):
        return (self._weight, self._bias, *self._extra, *getattr(self, "_penalty_run", ()))

    def _ops_l1_ratio(self) -> float:
        return penalty_l1_ratio(self.penalty, self.l1_ratio)

    def _start_penalty(self) -> None:
        """A penalized fit's state, fresh for each fit / partial_fit call as
        scikit-learn's WeightVector is for each ``_plain_sgd`` call: wscale 1,
        u 0, the norms of the current weights, q zero."""
        self._penalty_run = ()
        if self.penalty is not None:
            state = ops.penalty_state(self._weight, *_blas_norms(self._weight))
            self._penalty_run = (state, torch.zeros_like(self._weight))

    def _end_penalty(self) -> None:
        """scikit-learn's final ``reset_wscale``: the scale folded into the
        weights."""
        if self._penalty_run:
            ops.fold_penalty_scale_(self._weight, self._penalty_run[0])
        self._penalty_run = ()

    def _update(self, state, x, y, sw, lr: float, loss: Optional[torch.Tensor],
                order: Optional[torch.Tensor] = None) -> torch.Tensor:
        w, b, *extra = state
        if self.penalty is not None:
            return self._update_penalized(w, b, extra, x, y, sw, lr, loss, order)
        if isinstance(x, CSRRows):
            return self._update_csr(w, b, extra, x, y, sw, lr, loss, order)
        kw = {
            "sample_weight": sw,
            "zero_is_mistake": bool(self.zero_is_mistake),
            "bias_step": 1.0 if self.fit_intercept else 0.0,
            "loss": loss,
            "order": order,
        }
        if self.pocket:
            return ops.online_update_pocket(w, b, *extra, x, y, lr, **kw)
        if self.average:
            return ops.online_update_averaged(w, b, *extra, x, y, lr, **kw)
        return ops.online_update(w, b, x, y, lr, **kw)

    def _update_penalized(self, w, b, extra, x, y, sw, lr: float,
                          sums: Optional[torch.Tensor],
                          order: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The penalized ops; ``sums`` (float64 ``[2, K]`` or None) gains the
        loss (row 0) and scikit-learn's objective (row 1)."""
        state, q = extra
        l1_ratio = self._ops_l1_ratio()
        sparse = isinstance(x, CSRRows)
        decay = float(self.sparse_intercept_decay) if sparse else 1.0
        kw = {
            "alpha": float(self.alpha),
            "l1_ratio": l1_ratio,
            "sample_weight": sw,
            "zero_is_mistake": bool(self.zero_is_mistake),
            "bias_step": decay if self.fit_intercept else 0.0,
            "loss": None if sums is None else sums[0],
            "objective": None if sums is None else sums[1],
            "order": order,
        }
        q = q if l1_ratio > 0 else None
        if sparse:
            return ops.online_update_penalized_csr(
                w, b, state, q, *x.tensors(), x.n_features, y, lr, **kw)
        return ops.online_update_penalized(w, b, state, q, x, y, lr, **kw)

    def _update_csr(self, w, b, extra, x: CSRRows, y, sw, lr: float,
                    loss: Optional[torch.Tensor],
                    order: Optional[torch.Tensor] = None) -> torch.Tensor:
        # The intercept's step damped as scikit-learn damps it on sparse input.
        bias_step = float(self.sparse_intercept_decay) if self.fit_intercept else 0.0
        kw = {"sample_weight": sw, "zero_is_mistake": bool(self.zero_is_mistake),
              "bias_step": bias_step, "loss": loss, "order": order}
        csr = (*x.tensors(), x.n_features)
        if self.pocket:
            return ops.online_update_pocket_csr(w, b, *extra, *csr, y, lr, **kw)
        if self.average:
            return ops.online_update_averaged_csr(w, b, *extra, *csr, y, lr, **kw)
        return ops.online_update_csr(w, b, *csr, y, lr, **kw)

    def _update_rows(self, rows: list[int], x, y, sw, lr: float,
                     loss: Optional[torch.Tensor],
                     order: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The op on outputs ``rows`` of the state, in place: views when the
        rows are consecutive, else gathered copies written back. ``loss``
        (float64 ``[len(rows)]`` or None) gains their epoch loss sums;
        ``order`` is the op's sample order."""
        state = self._state()
        if rows == list(range(rows[0], rows[-1] + 1)):
            part = slice(rows[0], rows[-1] + 1)
            return self._update([t[part] for t in state], x, y, sw, lr, loss, order)
        idx = torch.tensor(rows, device=self._weight.device)
        parts = [t.index_select(0, idx) for t in state]
        mistakes = self._update(parts, x, y, sw, lr, loss, order)
        for t, p in zip(state, parts):
            t.index_copy_(0, idx, p)
        return mistakes

    def _inference_parameters(self):
        if self.average:
            return ops.averaged_parameters(self._weight, self._bias, *self._extra)
        if self.pocket:
            return self._extra[0], self._extra[1]
        return self._weight, self._bias

    # coef_ and intercept_ are read from the weights when asked, not copied out
    # after every fit or partial_fit: a stream of partial_fit calls over a
    # large model would pay a copy of it per call. On the CPU they are views
    # of the plain and pocket weights (updated in place by later calls, as
    # scikit-learn's own coef_ is); averaged weights are computed when read.

    @property
    def coef_(self) -> np.ndarray:
        if getattr(self, "_weight", None) is None:
            raise AttributeError("coef_: not fitted yet")
        w, _ = self._inference_parameters()
        # C-ordered [K, D] as scikit-learn's: feature-major weights are copied
        # when read (a copy per read, not per call).
        return np.ascontiguousarray(w.detach().cpu().numpy())

    @coef_.setter
    def coef_(self, value) -> None:
        _assign("coef_", getattr(self, "_weight", None), value)

    @property
    def intercept_(self) -> np.ndarray:
        if getattr(self, "_bias", None) is None:
            raise AttributeError("intercept_: not fitted yet")
        _, b = self._inference_parameters()
        b = b.detach().cpu().numpy()
        # scikit-learn's binary intercept_ is float64 whatever X was (its loop
        # keeps the intercept in a double and returns it as one).
        return b.astype(np.float64) if len(self.classes_) == 2 else b

    @intercept_.setter
    def intercept_(self, value) -> None:
        _assign("intercept_", getattr(self, "_bias", None), value)

    # --- training --------------------------------------------------------------

    def _sums_loss(self) -> bool:
        """Whether the epochs sum the loss: scikit-learn's condition (its
        ``tol`` rule without early stopping, or the verbose line)."""
        return bool(self.verbose) or not self.early_stopping

    def _epoch_loss(self, n_outputs: int) -> Optional[torch.Tensor]:
        """A fresh accumulator for the summed perceptron loss of ``n_outputs``
        outputs over an epoch, ``sum max(0, -y * z)`` with y in {-1, +1} and z
        taken before each sample's step, in float64 as scikit-learn sums it:
        what its ``tol`` rule and verbose line use. The op calls of the
        epoch's chunks (dense or CSR) add to it in sample order. With a
        penalty, ``[2, n_outputs]``: the loss and scikit-learn's objective (loss
        plus penalty, what its ``tol`` rule uses then), dense or sparse X. None
        when not needed."""
        if not self._sums_loss():
            return None
        if self.penalty is not None:
            # Row 0 the loss, row 1 the objective: the penalized ops sum both,
            # dense or sparse.
            return torch.zeros(2, n_outputs, dtype=torch.float64, device=self._weight.device)
        return torch.zeros(n_outputs, dtype=torch.float64, device=self._weight.device)

    def _train(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, max_iter: int,
               dtype: np.dtype) -> int:
        """Runs up to max_iter epochs of every output as scikit-learn's
        fit_binary would; returns the most epochs any output ran."""
        positive = self._output_targets(y)
        self._arrange_state(self._feature_major(X, positive.shape[1]))
        steps, lr = self._output_steps(y, positive, sample_weight, dtype,
                                       fold_eta0=self.penalty is None)
        on_device = {id(s): self._tensor(s, dtype) for s in steps if s is not None}
        mask, seeds = self._draw(y, positive, sample_weight)
        k = positive.shape[1]
        data = EpochData(
            x=self._tensor(X, dtype),
            targets=self._tensor(positive, dtype),
            steps=[None if s is None else on_device[id(s)] for s in steps],
            lr=lr,
            mask=mask,
            X_val=X[mask],
            sw_val=sample_weight[mask],
            y_val=np.where(positive[mask], 1.0, -1.0).astype(dtype),
            train_count=int(X.shape[0] - mask.sum()),
        )
        runs = [OutputRun(o) for o in range(k)]
        # With shuffle each one-vs-rest output has its own seed, so its own
        # order; the ops (dense or CSR, penalized or not) read the rows
        # through the orders, one per output, so every output trains in one
        # call an epoch, in place. Unshuffled they share the data's order.
        perm = None
        if self.shuffle:
            perms = sgd_permutations(X.shape[0], [seeds[r.output] for r in runs])
            perm = perms[0] if k == 1 else perms
        self._start_penalty()
        try:
            self._run_group(runs, perm, data, max_iter)
        finally:
            self._end_penalty()
        epochs = max(r.ran for r in runs)
        for e in range(epochs):
            self.mistakes_per_epoch_.append(sum(r.mistakes[e] for r in runs if e < r.ran))
        return epochs

    def _run_group(self, group: list[OutputRun], perm: Optional[np.ndarray], data: EpochData,
                   max_iter: int) -> None:
        """The epochs of outputs that visit the samples in one order (perm
        ``[N]``), or each in its own (``[len(group), N]``), each output
        stopping on its own (scikit-learn's ``_plain_sgd`` per output)."""
        columns: dict = {}  # the targets of the active outputs (_epoch)
        position = {run.output: p for p, run in enumerate(group)}
        order = np.arange(data.x.shape[0], dtype=np.int64)
        if perm is not None and perm.ndim == 2:
            # Row r's permutation as indices into the flat [G, N] orders, so
            # that an epoch's orders are one take (take_along_axis builds
            # index arrays on every call).
            order = np.broadcast_to(order, perm.shape).copy()
            perm = perm + np.arange(0, perm.size, perm.shape[1], dtype=np.int64)[:, None]
        held_out = bool(data.mask.any())
        tol = -np.inf if self.tol is None else float(self.tol)
        for run in group:
            run.stopping = Stopping(tol, int(self.n_iter_no_change), bool(self.early_stopping))
        active = list(group)
        started = time.time()
        # scikit-learn trains the outputs one after the other, so its lines
        # come output by output; here they train side by side, so each
        # output's lines wait for the group's end (one output: printed live).
        buffered = len(group) > 1

        def say(run: OutputRun, line: str) -> None:
            if buffered:
                run.log.append(line)
            else:
                print(line)

        for epoch in range(max_iter):
            if not active:
                break
            if perm is not None:
                order = np.take(order, perm)
            visit = None
            if perm is not None or held_out:
                # Every output's order holds the same held-out rows: the
                # rows left are as many in each.
                visit = (order[~data.mask[order]].reshape(*order.shape[:-1], -1)
                         if held_out else order)
            # One op call per set of outputs that share step sizes (and per
            # chunk of the epoch); the reports of the chunks add up.
            calls: dict[int, list[OutputRun]] = {}
            for run in active:
                calls.setdefault(id(data.steps[run.output]), []).append(run)
            reports: dict[int, torch.Tensor] = {}
            losses = {key: self._epoch_loss(len(members)) for key, members in calls.items()}
            self._epoch(calls, visit, position, data, losses, reports, columns)
            for key, members in calls.items():
                mistakes = reports[key].cpu().numpy()
                loss = None if losses[key] is None else losses[key].cpu().numpy()
                for m, run in enumerate(members):
                    run.mistakes.append(int(mistakes[m]))
                    if loss is not None and loss.ndim == 2:  # penalized: loss, objective
                        run.loss, run.objective = float(loss[0, m]), float(loss[1, m])
                    else:
                        run.loss = None if loss is None else float(loss[m])
            for run in list(active):
                run.ran = epoch + 1
                score = self._validation_score(run.output, data) if self.early_stopping else None
                if self.verbose:
                    self._print_epoch(run, epoch, data.train_count, started, score, say)
                # scikit-learn 1.9 compares the mean objective (objective_sum /
                # train_count: the loss alone without a penalty) with the best
                # so far minus tol, computed as here.
                if self.early_stopping:
                    value = score
                else:
                    total = run.objective if run.objective is not None else run.loss
                    value = total / data.train_count
                if run.stopping.update(value):
                    active.remove(run)
                    if self.verbose:
                        say(run, f"Convergence after {epoch + 1} epochs took "
                                 f"{time.time() - started:.2f} seconds")
        for run in group if buffered else ():
            if run.log:
                print("\n".join(run.log))

    def _epoch(self, calls: dict, visit: Optional[np.ndarray], position: dict,
               data: EpochData, losses: dict, reports: dict, columns: dict) -> None:
        """One epoch, dense or CSR x, penalized or not: one op call per set of
        outputs that share step sizes, reading x, the targets and the steps
        in place through the visiting order (``[M]`` for all, or a row per
        output of the group), only the active outputs' weight rows. ``columns`` keeps the
        target columns of the sets of active outputs, from epoch to epoch."""
        device = self._weight.device
        wanted = {tuple(r.output for r in members) for members in calls.values()}
        for gone in [c for c in columns if c not in wanted]:
            del columns[gone]
        for key, members in calls.items():
            rows = [r.output for r in members]
            order = None
            if visit is not None:
                part = visit
                if visit.ndim == 2 and len(members) != visit.shape[0]:
                    part = visit[[position[o] for o in rows]]
                order = torch.from_numpy(np.ascontiguousarray(part)).to(device)
            targets = data.targets
            if rows != list(range(data.targets.shape[1])):
                targets = columns.get(tuple(rows))
                if targets is None:
                    # numpy on the CPU: torch's column gather of a small [N, K]
                    # ran on two threads, waking the second one each call.
                    targets = (torch.from_numpy(data.targets.numpy()[:, rows].copy())
                               if data.targets.device.type == "cpu"
                               else data.targets[:, rows].contiguous())
                    columns[tuple(rows)] = targets
            reports[key] = self._update_rows(rows, data.x, targets, data.steps[rows[0]], data.lr,
                                             losses[key], order)

    def _validation_score(self, output: int, data: EpochData) -> float:
        """scikit-learn's _ValidationScoreCallback for one output: the
        (weighted) accuracy of ``sign(z)`` on the held-out samples, computed
        with the same numpy operations on the current weights."""
        coef = self._weight[output].detach().cpu().numpy()
        intercept = float(self._bias[output])
        scores = data.X_val @ coef.reshape(1, -1).T + np.atleast_1d(intercept)
        classes = np.array([-1, 1], dtype=data.y_val.dtype)
        pred = classes.take((scores.reshape(-1) > 0).astype(np.intp))
        return accuracy_score(data.y_val[:, output], pred, sample_weight=data.sw_val)

    def _print_epoch(self, run: OutputRun, epoch: int, train_count: int, started: float,
                     score: Optional[float], say) -> None:
        """scikit-learn's epoch lines (without a penalty the objective is the
        loss; with one, the norm is its bookkeeping's and NNZs counts the
        weights before the scale, as there)."""
        w = self._weight[run.output].detach().cpu().numpy()
        if self._penalty_run:
            norm = float(np.sqrt(float(self._penalty_run[0][run.output, 2])).astype(w.dtype))
        else:
            norm = float(np.sqrt(np.dot(w.astype(np.float64), w)))
        objective = run.objective if run.objective is not None else run.loss
        fields = [
            f"Norm: {norm:.2f}",
            f"NNZs: {np.count_nonzero(w)}",
            f"Bias: {float(self._bias[run.output]):.6f}",
            f"T: {(epoch + 1) * train_count}",
        ]
        fields += [f"Avg. loss: {run.loss / train_count:f}",
                   f"Objective: {objective / train_count:f}"]
        if score is not None:
            fields.append(f"Validation score: {score:f}")
        say(run, f"-- Epoch {epoch + 1}")
        say(run, ", ".join(fields))
        say(run, f"Total training time: {time.time() - started:.2f} seconds.")

    def fit(self, X, y, sample_weight=None):
        """Fits the perceptron for up to ``max_iter`` epochs (from zeros, or
        from the last solution with ``warm_start``). X: [n_samples, n_features];
        y: [n_samples] class labels; sample_weight: [n_samples] >= 0."""
        self._check_params(for_partial_fit=False)
        X, y = validate_data(self, X, y, accept_sparse=_SPARSE_FORMATS,
                             dtype=[np.float64, np.float32], order="C", reset=True)
        check_classification_targets(y)
        dtype = self._work_dtype(X.dtype)
        X = _as_rows(X, dtype)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"The number of classes has to be greater than one; got {len(classes)} class"
            )
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
            self._init_state(n_outputs, X.shape[1], dtype,
                             self._feature_major(X, n_outputs))
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
        X, y = validate_data(self, X, y, accept_sparse=_SPARSE_FORMATS,
                             dtype=[np.float64, np.float32], order="C", reset=first)
        check_classification_targets(y)
        _check_partial_fit_first_call(self, classes)
        if len(self.classes_) < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got "
                f"{len(self.classes_)} class"
            )
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
        X = validate_data(self, X, accept_sparse=_SPARSE_FORMATS,
                          dtype=[np.float64, np.float32], reset=False)
        w, b = self._inference_parameters()
        if X.dtype == np.float64 and w.dtype != torch.float64:
            w, b = w.to(torch.float64), b.to(torch.float64)
        x = self._tensor(X, _numpy_dtype(w.dtype))
        if isinstance(x, CSRRows):
            z = ops.decision_function_csr(*x.tensors(), x.n_features, w, b).cpu().numpy()
        else:
            z = ops.decision_function(x, w, b).cpu().numpy()
        # As scikit-learn's X @ coef_.T + intercept_ (a binary intercept_ is float64).
        b_dtype = np.float64 if len(self.classes_) == 2 else _numpy_dtype(self._weight.dtype)
        z = z.astype(np.result_type(X.dtype, _numpy_dtype(self._weight.dtype), b_dtype),
                     copy=False)
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


def _check_device(device) -> None:
    """Refuses a device torch cannot use, in one line, before any tensor is
    made there (torch's own refusal is an AssertionError deep in a fit)."""
    try:
        kind = torch.device(device).type
    except RuntimeError as err:
        raise ValueError(f"device: expected a torch device such as 'cpu' or 'cuda', got "
                         f"{device!r} ({err})") from None
    if kind == "cuda" and not torch.cuda.is_available():
        why = ("this torch was built without CUDA" if torch.version.cuda is None
               else "torch sees no CUDA GPU here")
        raise ValueError(f"device: got {device!r}, but {why} (torch {torch.__version__}); "
                         "use device='cpu'")


def _assign(name: str, state: Optional[torch.Tensor], value) -> None:
    """``coef_ = ...`` / ``intercept_ = ...``: the values written into the
    rule's weights (or bias), in their dtype and layout."""
    value = np.asarray(value)
    if state is None:
        raise AttributeError(f"{name}: not fitted yet; fit or partial_fit first")
    if value.shape != tuple(state.shape):
        raise ValueError(f"{name}: expected shape {tuple(state.shape)} (set by fit), "
                         f"got {value.shape}")
    with torch.no_grad():
        state.copy_(torch.as_tensor(value, dtype=state.dtype))


def _shuffle_seed(seed: int) -> int:
    """The shuffling seed of the one-vs-rest output that fit_binary seeds
    with ``seed`` (make_dataset's draws)."""
    rng = check_random_state(seed)
    rng.randint(1, _MAX_INT)  # make_dataset's seed for random access, unused
    return int(rng.randint(_MAX_INT))


def _as_rows(X, dtype):
    """X in the working dtype; sparse X as CSR (CSC and COO converted once,
    CSR of that dtype shared), which the held-out rows of early stopping index
    and the ops take apart without a copy."""
    if sp.issparse(X):
        return X.tocsr().astype(dtype, copy=False)
    return X.astype(dtype, copy=False)


def _blas_norms(weight: torch.Tensor) -> tuple:
    """Each row's ``w . w`` and ``sum |w|`` as scikit-learn's WeightVector
    starts from them: its ``_dot`` and ``_asum`` are scipy's BLAS, in the
    weights' dtype."""
    from scipy.linalg import blas

    w = weight.detach().cpu().numpy()
    sq, l1 = np.zeros(w.shape[0]), np.zeros(w.shape[0])
    if w.shape[1] and np.any(w):
        dot, asum = blas.get_blas_funcs(("dot", "asum"), (w,))
        for k, row in enumerate(w):
            row = np.ascontiguousarray(row)
            sq[k], l1[k] = float(dot(row, row)), float(asum(row))
    return sq, l1


def _torch_dtype(dtype: np.dtype) -> torch.dtype:
    return torch.float32 if np.dtype(dtype) == np.float32 else torch.float64


def _numpy_dtype(dtype: torch.dtype):
    return np.float32 if dtype == torch.float32 else np.float64
