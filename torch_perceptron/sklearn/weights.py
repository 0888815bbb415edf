"""The estimator's weight state: the weights, bias and the variant's state
as tensors on the estimator's device, their layout (row-major or
feature-major), scikit-learn's penalty bookkeeping over a fit, the one call
into the ops (:func:`torch_perceptron.ops.update`) and ``coef_`` /
``intercept_``.

Dense or sparse is decided once, where X becomes tensors
(:meth:`WeightState._tensor`): sparse X becomes
:class:`~torch_perceptron.sparse.CSRRows`, and from there the ops pick their
CSR forms by ``x``'s type; the only other thing sparse X changes is the
intercept's step (:meth:`WeightState._bias_step`)."""

from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sp
import torch

from .. import ops
from ..sparse import CSRRows, as_csr


class WeightState:
    """The estimator's weights and the calls that change them."""

    def _tensor(self, a, dtype):
        """A dense array as a tensor, a sparse one as canonical CSR rows (one
        conversion, no dense copy), in ``dtype`` on the estimator's device."""
        if sp.issparse(a):
            return as_csr(a, _torch_dtype(dtype), name="X").to(device=self.device)
        a = np.ascontiguousarray(a, dtype=dtype)
        if not a.flags.writeable:  # torch warns on read-only arrays (memmaps)
            a = a.copy()
        return torch.from_numpy(a).to(self.device)

    def _feature_major(self, X, n_outputs: int) -> bool:
        """Whether the weights are best kept feature-major for X: the
        transpose of a contiguous ``[n_features, K]``, which the CPU's plain
        sparse op updates in place, a sample's non-zeros reading every output's
        weights in one go, with no copy per call (the CPU's feature-major CSR
        strategy). Only where every output visits the samples in one order
        (unshuffled: with shuffle each output has its own, a [K, M] order,
        which the op runs row-major, on a contiguous copy of feature-major
        weights), and only where the op runs on one thread: its outputs share a
        feature's cache line in that layout, so one thread runs them all, where
        the row-major layout's per-call copy splits them between threads
        (BENCHMARKS.md has the timings)."""
        return (
            sp.issparse(X)
            and n_outputs >= 2
            and not self.shuffle
            and not self.average
            and not self.pocket
            and self.penalty is None
            and torch.device(self.device).type == "cpu"
            and torch.get_num_threads() == 1
        )

    def _arrange_state(self, feature_major: bool) -> None:
        """The weights in the layout the coming epochs want (one copy when it
        changes: a warm start, or partial_fit, on other data)."""
        w = self._weight
        is_fm = w.dim() == 2 and w.shape[0] > 1 and not w.is_contiguous() and w.stride(0) == 1
        if feature_major and not is_fm:
            self._weight = w.t().contiguous().t()
        elif not feature_major and not w.is_contiguous():
            self._weight = w.contiguous()

    def _init_state(self, n_outputs: int, n_features: int, dtype: np.dtype, feature_major: bool = False) -> None:
        opts = {"dtype": _torch_dtype(dtype), "device": self.device}
        counters = {"dtype": torch.int64, "device": self.device}
        if feature_major:  # see _feature_major
            self._weight = torch.zeros(n_features, n_outputs, **opts).t()
        else:
            self._weight = torch.zeros(n_outputs, n_features, **opts)
        self._bias = torch.zeros(n_outputs, **opts)
        if self.pocket:
            self._extra = (
                torch.zeros(n_outputs, n_features, **opts),
                torch.zeros(n_outputs, **opts),
                torch.zeros(n_outputs, **counters),
                torch.zeros(n_outputs, **counters),
            )
        elif self.average:
            self._extra = (
                torch.zeros(n_outputs, n_features, **opts),
                torch.zeros(n_outputs, **opts),
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
        return ops.penalty_l1_ratio(self.penalty, self.l1_ratio)

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

    def _bias_step(self, x) -> float:
        """The intercept's step factor: 0 without ``fit_intercept``; on sparse
        X damped as scikit-learn damps it (``sparse_intercept_decay``)."""
        if not self.fit_intercept:
            return 0.0
        return float(self.sparse_intercept_decay) if isinstance(x, CSRRows) else 1.0

    def _update(
        self, state, x, y, sw, lr: float, loss: Optional[torch.Tensor], order: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """The online op on ``state`` (weights, bias, then the variant's or
        the penalty's tensors), x dense or CSR. ``loss`` gains the epoch's
        loss sums; with a penalty it is float64 ``[2, K]``, the loss (row 0)
        and scikit-learn's objective (row 1)."""
        w, b, *extra = state
        kw = {
            "sample_weight": sw,
            "zero_is_mistake": bool(self.zero_is_mistake),
            "bias_step": self._bias_step(x),
            "order": order,
        }
        if self.penalty is not None:
            penalty_state, q = extra
            l1_ratio = self._ops_l1_ratio()
            variant = ops.Penalized(penalty_state, q if l1_ratio > 0 else None)
            kw.update(
                alpha=float(self.alpha),
                l1_ratio=l1_ratio,
                loss=None if loss is None else loss[0],
                objective=None if loss is None else loss[1],
            )
        else:
            variant = ops.Pocket(*extra) if self.pocket else ops.Averaged(*extra) if self.average else None
            kw["loss"] = loss
        return ops.update(w, b, x, y, lr, rule="online", state=variant, **kw)

    def _update_rows(
        self, rows: list[int], x, y, sw, lr: float, loss: Optional[torch.Tensor], order: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
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


def _assign(name: str, state: Optional[torch.Tensor], value) -> None:
    """``coef_ = ...`` / ``intercept_ = ...``: the values written into the
    rule's weights (or bias), in their dtype and layout."""
    value = np.asarray(value)
    if state is None:
        raise AttributeError(f"{name}: not fitted yet; fit or partial_fit first")
    if value.shape != tuple(state.shape):
        raise ValueError(f"{name}: expected shape {tuple(state.shape)} (set by fit), got {value.shape}")
    with torch.no_grad():
        state.copy_(torch.as_tensor(value, dtype=state.dtype))


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
