"""scikit-learn's verbose output: its lines per output and epoch."""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from .epochs import OutputRun


class VerboseOutput:
    """The estimator's epoch lines."""

    def _print_epoch(
        self, run: OutputRun, epoch: int, train_count: int, started: float, score: Optional[float], say
    ) -> None:
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
        fields += [f"Avg. loss: {run.loss / train_count:f}", f"Objective: {objective / train_count:f}"]
        if score is not None:
            fields.append(f"Validation score: {score:f}")
        say(run, f"-- Epoch {epoch + 1}")
        say(run, ", ".join(fields))
        say(run, f"Total training time: {time.time() - started:.2f} seconds.")
