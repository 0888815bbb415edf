"""The epochs of PerceptronClassifier (torch_perceptron.sklearn): what every
output's epochs read, the epoch's samples in a given order, and scikit-learn's
stopping rule. Kept apart from the estimator, which decides what runs; this is
how an epoch runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np
import torch

from .sparse import CSRRows
from .sparse_batches import take_rows

__all__ = ["EpochData", "EpochView", "OutputRun", "Stopping"]


@dataclass
class EpochData:
    """What every output's epochs read, on the estimator's device."""

    x: Union[torch.Tensor, CSRRows]  # [N, in], dense or canonical CSR
    targets: torch.Tensor       # [N, K] of 0/1
    steps: list                 # per output: [N] step sizes or None
    lr: float
    mask: np.ndarray            # [N] bool, True on held-out samples
    X_val: np.ndarray           # [N_val, in], the held-out rows (numpy, as scikit-learn scores)
    sw_val: np.ndarray          # [N_val]
    y_val: np.ndarray           # [N_val, K] of -1/+1
    train_count: int


class EpochView:
    """The samples, in an epoch's order, that a group of outputs trains on:
    their rows of x, their target columns and their step sizes. Penalized
    fits only: the dense and CSR online ops read x in place through the
    order (their ``order`` argument; PerceptronClassifier._dense_epoch), the
    penalized ops take none yet.

    In the data's own order, the tensors themselves. In another order, on
    the CPU: numpy gathers (a fraction of what ``index_select`` costs there)
    about a megabyte of rows at a time into buffers that stay in cache while
    the op reads them, and the op runs chunk after chunk (the rule is
    sequential, so that is the same computation); elsewhere: index_select.
    CSR rows are gathered the same way, a megabyte of their non-zeros at a
    time (:func:`~torch_perceptron.sparse_batches.take_rows`)."""

    CHUNK_BYTES = 1 << 20

    def __init__(self, data: EpochData, outputs: list[int]) -> None:
        self.column = {o: c for c, o in enumerate(outputs)}
        self.x = data.x
        every = outputs == list(range(data.targets.shape[1]))
        # All outputs in order (unshuffled one-vs-rest): the targets themselves,
        # not an [N, K] copy of them.
        self.t = data.targets if every else data.targets[:, outputs].contiguous()
        self.steps = {id(s): s for s in (data.steps[o] for o in outputs) if s is not None}
        self.cpu = data.x.device.type == "cpu"
        self.sparse = isinstance(data.x, CSRRows)
        if self.sparse:
            row_bytes = max(1, data.x.nbytes // max(1, data.x.n_rows))
        else:
            row_bytes = max(1, self.x.shape[1]) * self.x.element_size()
        self.chunk = max(64, self.CHUNK_BYTES // row_bytes)
        self._buffers: Optional[tuple] = None

    def chunks(self, index: Optional[np.ndarray]):
        """Yields ``(x, targets, {id: steps})`` chunks of the epoch that
        visits ``index`` (None: the data's order)."""
        if index is None:
            yield self.x, self.t, self.steps
            return
        if not self.cpu:
            idx = torch.from_numpy(index).to(self.x.device)
            x = take_rows(self.x, idx) if self.sparse else self.x.index_select(0, idx)
            yield (x, self.t.index_select(0, idx),
                   {k: s.index_select(0, idx) for k, s in self.steps.items()})
            return
        rows = min(self.chunk, len(index))
        if self._buffers is None or self._buffers[1].shape[0] != rows:
            self._buffers = (
                None if self.sparse else torch.empty((rows, self.x.shape[1]), dtype=self.x.dtype),
                torch.empty((rows, self.t.shape[1]), dtype=self.t.dtype),
                {k: torch.empty(rows, dtype=s.dtype) for k, s in self.steps.items()},
            )
        xb, tb, sb = self._buffers
        x, t = (None if self.sparse else self.x.numpy()), self.t.numpy()
        for start in range(0, len(index), rows):
            part = index[start : start + rows]
            m = len(part)
            # mode="clip" (the indices are in range): with out=, numpy's
            # default mode first gathers into a temporary.
            if self.sparse:
                xm = take_rows(self.x, torch.from_numpy(part))
            else:
                np.take(x, part, axis=0, out=xb.numpy()[:m], mode="clip")
                xm = xb[:m]
            np.take(t, part, axis=0, out=tb.numpy()[:m], mode="clip")
            for k, s in self.steps.items():
                np.take(s.numpy(), part, out=sb[k].numpy()[:m], mode="clip")
            yield xm, tb[:m], {k: b[:m] for k, b in sb.items()}


@dataclass
class OutputRun:
    """One one-vs-rest output's epochs."""

    output: int
    ran: int = 0
    mistakes: list = field(default_factory=list)
    loss: Optional[float] = None
    objective: Optional[float] = None  # with a penalty: scikit-learn's objective sum
    stopping: Optional[Stopping] = None
    log: list = field(default_factory=list)  # verbose lines, when they wait


class Stopping:
    """scikit-learn's stopping rule for one output (``_plain_sgd``): no
    improvement when the validation score is below ``best + tol`` (early
    stopping) or the epoch's mean loss above ``best - tol``; stop after
    ``n_iter_no_change`` of those in a row. ``tol = -inf`` never stops."""

    def __init__(self, tol: float, n_iter_no_change: int, on_score: bool) -> None:
        self.tol, self.n_iter_no_change, self.on_score = tol, n_iter_no_change, on_score
        self.best = -np.inf if on_score else np.inf
        self.count = 0

    def update(self, value: float) -> bool:
        if self.on_score:
            worse = self.tol > -np.inf and value < self.best + self.tol
            self.best = max(self.best, value)
        else:
            worse = self.tol > -np.inf and value > self.best - self.tol
            self.best = min(self.best, value)
        self.count = self.count + 1 if worse else 0
        return self.count >= self.n_iter_no_change
