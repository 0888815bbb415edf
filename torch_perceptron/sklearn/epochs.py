"""The epochs of the estimator (torch_perceptron.sklearn): what every
output's epochs read, each output's run, and scikit-learn's stopping rule.
Kept apart from the estimator, which decides what runs. (No rows are gathered
for an epoch: every op reads x through the epoch's orders.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np
import torch

from ..sparse import CSRRows

__all__ = ["EpochData", "OutputRun", "Stopping"]


@dataclass
class EpochData:
    """What every output's epochs read, on the estimator's device."""

    x: Union[torch.Tensor, CSRRows]  # [N, in], dense or canonical CSR
    targets: torch.Tensor  # [N, K] of 0/1
    steps: list  # per output: [N] step sizes or None
    lr: float
    mask: np.ndarray  # [N] bool, True on held-out samples
    X_val: np.ndarray  # [N_val, in], the held-out rows (numpy, as scikit-learn scores)
    sw_val: np.ndarray  # [N_val]
    y_val: np.ndarray  # [N_val, K] of -1/+1
    train_count: int


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
