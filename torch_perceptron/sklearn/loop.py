"""The epoch loop and stopping: every output's epochs as scikit-learn's
``fit_binary`` / ``_plain_sgd`` run them, each output stopping on its own,
the outputs that share step sizes trained together in one op call an epoch."""

from __future__ import annotations

import time
from typing import Optional

import numpy as np
import torch
from sklearn.metrics import accuracy_score

from .epochs import EpochData, OutputRun, Stopping
from .orders import sgd_permutations


class EpochLoop:
    """The estimator's epochs (uses :class:`~.arithmetic.SGDArithmetic` and
    :class:`~.weights.WeightState`)."""

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

    def _train(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, max_iter: int, dtype: np.dtype) -> int:
        """Runs up to max_iter epochs of every output as scikit-learn's
        fit_binary would; returns the most epochs any output ran."""
        positive = self._output_targets(y)
        self._arrange_state(self._feature_major(X, positive.shape[1]))
        steps, lr = self._output_steps(y, positive, sample_weight, dtype, fold_eta0=self.penalty is None)
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

    def _run_group(self, group: list[OutputRun], perm: Optional[np.ndarray], data: EpochData, max_iter: int) -> None:
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
                visit = order[~data.mask[order]].reshape(*order.shape[:-1], -1) if held_out else order
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
                        say(run, f"Convergence after {epoch + 1} epochs took {time.time() - started:.2f} seconds")
        for run in group if buffered else ():
            if run.log:
                print("\n".join(run.log))

    def _epoch(
        self,
        calls: dict,
        visit: Optional[np.ndarray],
        position: dict,
        data: EpochData,
        losses: dict,
        reports: dict,
        columns: dict,
    ) -> None:
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
                    targets = (
                        torch.from_numpy(data.targets.numpy()[:, rows].copy())
                        if data.targets.device.type == "cpu"
                        else data.targets[:, rows].contiguous()
                    )
                    columns[tuple(rows)] = targets
            reports[key] = self._update_rows(rows, data.x, targets, data.steps[rows[0]], data.lr, losses[key], order)

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
