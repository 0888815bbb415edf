"""scikit-learn's arithmetic of steps and draws: each output's targets and
step sizes rounded as its SGD loop rounds them, and the random numbers (the
validation split, each output's shuffling seed) drawn from ``random_state`` in
its order. The sample orders themselves: :mod:`.orders`."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils import check_random_state, compute_class_weight

# scikit-learn draws its seeds below this (np.iinfo(np.int32).max).
_MAX_INT = np.iinfo(np.int32).max


class SGDArithmetic:
    """The estimator's share of scikit-learn's arithmetic (reads
    ``classes_``, ``class_weight``, ``eta0``, ``early_stopping``,
    ``validation_fraction``, ``random_state``)."""

    def _output_targets(self, y: np.ndarray) -> np.ndarray:
        """bool ``[N, K]``: sample i is a positive of output k (K = 1 for two
        classes, whose positive class is classes_[1])."""
        idx = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            return (idx == 1)[:, None]
        return idx[:, None] == np.arange(len(self.classes_))[None, :]

    def _output_steps(
        self, y: np.ndarray, positive: np.ndarray, sample_weight: np.ndarray, dtype, fold_eta0: bool = True
    ) -> tuple[list, float]:
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
                    shared[key] = both if not fold_eta0 else (self.eta0 * both.astype(np.float64)).astype(np.float32)
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
        cv = StratifiedShuffleSplit(test_size=self.validation_fraction, random_state=self.random_state)
        idx_train, idx_val = next(cv.split(np.zeros(shape=(n, 1)), y_split))
        if not np.any(sample_weight[idx_val] > 0):
            raise ValueError(
                "The sample weights for validation set are all zero, consider using a different random state."
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


def _shuffle_seed(seed: int) -> int:
    """The shuffling seed of the one-vs-rest output that fit_binary seeds
    with ``seed`` (make_dataset's draws)."""
    rng = check_random_state(seed)
    rng.randint(1, _MAX_INT)  # make_dataset's seed for random access, unused
    return int(rng.randint(_MAX_INT))
