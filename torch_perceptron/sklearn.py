"""A scikit-learn estimator on the compiled perceptron ops, CPU or CUDA.

``PerceptronClassifier`` names its parameters as ``sklearn.linear_model.Perceptron``
does where they mean the same, and by default breaks ties as it does (a sample
with ``z == 0`` is a mistake whatever its label), so that::

    PerceptronClassifier(shuffle=False, max_iter=50, tol=None, dtype=torch.float64)

takes the same decisions as ``Perceptron(shuffle=False, max_iter=50, tol=None)``
(binary: one output; more classes: one-vs-rest, one output per class, the
class weight applied to each output's positive samples as scikit-learn does).
On top of it: ``average`` (the averaged perceptron), ``pocket`` (the pocket
perceptron), ``device`` and ``dtype``.

Two places differ from scikit-learn on purpose:

* Shuffling draws a fresh permutation every epoch from one ``torch.Generator``
  seeded from ``random_state`` (scikit-learn reshuffles with the same seed each
  epoch, so its orders are powers of one permutation).
* ``tol``: scikit-learn stops an output once its mean perceptron loss over an
  epoch has not fallen below ``best - tol`` for ``n_iter_no_change`` epochs in a
  row. The kernels count mistakes, not the loss, so here the same rule runs on
  the epoch's mistake rate (mistakes / samples). Each one-vs-rest output stops
  on its own, as in scikit-learn; ``n_iter_`` is the most epochs any ran.

This module imports scikit-learn; ``import torch_perceptron`` does not import it
(install the ``sklearn`` extra).
"""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
)
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import ops

__all__ = ["PerceptronClassifier"]


class PerceptronClassifier(ClassifierMixin, BaseEstimator):
    """Rosenblatt's perceptron as a scikit-learn classifier, run by the compiled op.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Learn a bias; if False the bias stays at zero.
    max_iter : int, default=1000
        Epochs (passes over the training data) of ``fit``.
    tol : float or None, default=1e-3
        Stop an output once its epoch mistake rate has not fallen below the
        best rate so far minus ``tol`` for ``n_iter_no_change`` epochs; None runs
        ``max_iter`` epochs.
    shuffle : bool, default=True
        Visit the samples in a fresh random order every epoch.
    eta0 : float, default=1.0
        Learning rate of the rule (> 0).
    random_state : int, RandomState instance or None, default=0
        Seeds the ``torch.Generator`` that draws the orders.
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
    device : str, default="cpu"
        Where the weights live and the rule runs ("cpu", "cuda", ...).
    dtype : torch.dtype or None, default=None
        float32 (None) or float64.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The weights predictions use (averaged or pocket when those are on).
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : int
        Epochs run by the last ``fit`` (1 for ``partial_fit``).
    t_ : float
        1 + the number of sample visits so far, as scikit-learn counts.
    mistakes_per_epoch_ : list of int
        Mistakes of every epoch run, summed over the outputs, for plotting.
    n_features_in_ : int
    """

    def __init__(
        self,
        *,
        fit_intercept: bool = True,
        max_iter: int = 1000,
        tol: Optional[float] = 1e-3,
        shuffle: bool = True,
        eta0: float = 1.0,
        random_state=0,
        n_iter_no_change: int = 5,
        class_weight=None,
        warm_start: bool = False,
        average: bool = False,
        pocket: bool = False,
        zero_is_mistake: bool = True,
        device: str = "cpu",
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.eta0 = eta0
        self.random_state = random_state
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.pocket = pocket
        self.zero_is_mistake = zero_is_mistake
        self.device = device
        self.dtype = dtype

    # --- parameters ------------------------------------------------------------

    def _torch_dtype(self) -> torch.dtype:
        dtype = torch.float32 if self.dtype is None else self.dtype
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype: expected torch.float32, torch.float64 or None, got {dtype!r}")
        return dtype

    def _np_dtype(self):
        return np.float32 if self._torch_dtype() == torch.float32 else np.float64

    def _validate_params(self) -> None:
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ValueError(f"max_iter: expected an int >= 1, got {self.max_iter!r}")
        if not (np.isfinite(self.eta0) and self.eta0 > 0):
            raise ValueError(f"eta0: expected a finite value > 0, got {self.eta0!r}")
        if self.tol is not None and not self.tol >= 0 and self.tol != -np.inf:
            raise ValueError(f"tol: expected a value >= 0 or None, got {self.tol!r}")
        if not (isinstance(self.n_iter_no_change, (int, np.integer)) and self.n_iter_no_change >= 1):
            raise ValueError(
                f"n_iter_no_change: expected an int >= 1, got {self.n_iter_no_change!r}"
            )
        if self.average and self.pocket:
            raise ValueError("average and pocket: expected at most one of them, got both")
        self._torch_dtype()

    # --- data ------------------------------------------------------------------

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        a = np.ascontiguousarray(a, dtype=self._np_dtype())
        if not a.flags.writeable:  # torch warns on read-only arrays (memmaps)
            a = a.copy()
        return torch.from_numpy(a).to(self.device)

    def _targets(self, y: np.ndarray) -> torch.Tensor:
        """0/1 targets [N, K]: K = 1 (positive class classes_[1]) or one per class."""
        idx = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            t = (idx == 1)[:, None]
        else:
            t = idx[:, None] == np.arange(len(self.classes_))[None, :]
        return self._tensor(t)

    def _sample_weights(self, y: np.ndarray, sample_weight: np.ndarray) -> Optional[np.ndarray]:
        """Per-sample step scales [N, K], or [N] when every output shares them,
        or None when all are one. Follows scikit-learn's fit_binary: binary,
        a sample's class weight; one-vs-rest, the class weight of output k
        for the samples of class k and 1 for the rest."""
        cw = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
        idx = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            sw = sample_weight * cw[idx]
        elif np.all(cw == 1):
            sw = sample_weight
        else:
            own = idx[:, None] == np.arange(len(self.classes_))[None, :]
            return sample_weight[:, None] * np.where(own, cw[None, :], 1.0)
        return None if np.all(sw == 1) else sw

    # --- state -----------------------------------------------------------------

    def _init_state(self, n_outputs: int, n_features: int) -> None:
        opts = {"dtype": self._torch_dtype(), "device": self.device}
        counters = {"dtype": torch.int64, "device": self.device}
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
        self._mode = (bool(self.average), bool(self.pocket), bool(self.fit_intercept))
        self._generator = torch.Generator(device="cpu")
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self._generator.manual_seed(int(seed))

    def _update(self, rows: slice, x, y, sw) -> torch.Tensor:
        w, b = self._weight[rows], self._bias[rows]
        extra = [t[rows] for t in self._extra]
        kw = {
            "sample_weight": sw,
            "zero_is_mistake": bool(self.zero_is_mistake),
            "fit_intercept": bool(self.fit_intercept),
        }
        if self.pocket:
            return ops.online_update_pocket(w, b, *extra, x, y, float(self.eta0), **kw)
        if self.average:
            return ops.online_update_averaged(w, b, *extra, x, y, float(self.eta0), **kw)
        return ops.online_update(w, b, x, y, float(self.eta0), **kw)

    def _inference_parameters(self):
        if self.average:
            return ops.averaged_parameters(self._weight, self._bias, *self._extra)
        if self.pocket:
            return self._extra[0], self._extra[1]
        return self._weight, self._bias

    def _publish(self) -> None:
        w, b = self._inference_parameters()
        self.coef_ = w.detach().cpu().numpy().copy()
        self.intercept_ = b.detach().cpu().numpy().copy()

    # --- training --------------------------------------------------------------

    def _epochs(self, X, y, sample_weight, n_epochs: int, tol) -> int:
        """Runs up to n_epochs epochs; returns the most any output ran."""
        x = self._tensor(X)
        targets = self._targets(y)
        sw = self._sample_weights(y, sample_weight)
        sw = None if sw is None else self._tensor(sw)
        k, n = targets.shape[1], x.shape[0]
        active = list(range(k))
        best = [np.inf] * k
        stale = [0] * k
        ran = [0] * k
        for _ in range(n_epochs):
            if not active:
                break
            if self.shuffle:
                order = torch.randperm(n, generator=self._generator).to(self.device)
                xe, te = x[order], targets[order]
                swe = None if sw is None else sw[order]
            else:
                xe, te, swe = x, targets, sw
            mistakes = torch.zeros(k, dtype=torch.int64)
            if len(active) == k and (swe is None or swe.dim() == 1):
                mistakes += self._update(slice(0, k), xe, te, swe).cpu()
            else:
                for o in active:
                    swo = swe if swe is None or swe.dim() == 1 else swe[:, o].contiguous()
                    mistakes[o] = self._update(slice(o, o + 1), xe, te[:, o : o + 1], swo).item()
            self.mistakes_per_epoch_.append(int(mistakes[active].sum()))
            for o in active:
                ran[o] += 1
            if tol is not None:
                for o in list(active):
                    rate = float(mistakes[o]) / max(n, 1)
                    stale[o] = stale[o] + 1 if rate > best[o] - tol else 0
                    best[o] = min(best[o], rate)
                    if stale[o] >= self.n_iter_no_change:
                        active.remove(o)
        return max(ran)

    def _check_state_matches(self, n_outputs: int) -> bool:
        return (
            getattr(self, "_weight", None) is not None
            and self._weight.shape[0] == n_outputs
            and self._mode == (bool(self.average), bool(self.pocket), bool(self.fit_intercept))
            and self._weight.dtype == self._torch_dtype()
            and str(self._weight.device) == str(torch.device(self.device))
        )

    def fit(self, X, y, sample_weight=None):
        """Fits the perceptron for up to ``max_iter`` epochs (from zeros, or
        from the last solution with ``warm_start``). X: [n_samples, n_features];
        y: [n_samples] class labels; sample_weight: [n_samples] >= 0."""
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], reset=True)
        check_classification_targets(y)
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
            and self._check_state_matches(n_outputs)
            and self._weight.shape[1] == X.shape[1]
        )
        self.classes_ = classes
        if not keep:
            self._init_state(n_outputs, X.shape[1])
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        self.mistakes_per_epoch_ = []
        self.t_ = 1.0
        self.n_iter_ = self._epochs(X, y, sample_weight, self.max_iter, self.tol)
        self.t_ += self.n_iter_ * X.shape[0]
        self._publish()
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
            self._validate_params()
            if self.class_weight == "balanced":
                raise ValueError(
                    "class_weight 'balanced' is not supported for partial_fit: pass "
                    "compute_class_weight('balanced', classes=classes, y=y) as a dict"
                )
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], reset=first)
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
        if first or getattr(self, "_weight", None) is None:
            self._init_state(1 if len(self.classes_) == 2 else len(self.classes_), X.shape[1])
            self.mistakes_per_epoch_ = []
            self.t_ = 1.0
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        self.n_iter_ = self._epochs(X, y, sample_weight, 1, None)
        self.t_ += self.n_iter_ * X.shape[0]
        self._publish()
        return self

    # --- prediction ------------------------------------------------------------

    def decision_function(self, X) -> np.ndarray:
        """Net input: [n_samples] for two classes (positive: classes_[1]),
        [n_samples, n_classes] for more."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        w, b = self._inference_parameters()
        z = ops.decision_function(self._tensor(X), w, b).cpu().numpy()
        return z[:, 0] if z.shape[1] == 1 else z

    def predict(self, X) -> np.ndarray:
        """Class labels [n_samples]: classes_[1] where z > 0 (two classes), the
        class of the largest z (lowest index on a tie) for more."""
        z = self.decision_function(X)
        idx = (z > 0).astype(np.intp) if z.ndim == 1 else z.argmax(axis=1)
        return self.classes_[idx]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags
