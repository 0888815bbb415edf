"""scikit-learn's SGD sample orders, reproduced without its compiled loop.

scikit-learn's ``SequentialDataset.shuffle(seed)`` is a Fisher-Yates shuffle
of the dataset's index array driven by ``our_rand_r``, a 32-bit xorshift
(``sklearn/utils/_random.pxd``): ``j = i + our_rand_r(&seed) % (n - i)`` for
``i = 0 .. n - 2``. The seed is passed by value, so every epoch replays the same
swaps on the array the last epoch left: the order of epoch ``e`` is
``order[e] = order[e - 1][perm]`` with ``perm = shuffle(arange(n))``, the powers
of one permutation. ``perm`` is made once per seed by the library's
``sgd_permutations`` op (both loops are sequential,
so they are compiled); the plain loops are kept here as the reference the tests
hold it to.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import torch

from .. import ops  # noqa: F401  (loads the library that holds the op)

__all__ = ["sgd_permutation", "sgd_permutation_reference", "sgd_permutations"]

_MASK = 0xFFFFFFFF
# scikit-learn's RAND_R_MAX + 1: our_rand_r returns the state modulo 2**31.
_RAND_R_MOD = 0x80000000
# our_rand_r replaces a zero state with DEFAULT_SEED (sklearn/utils/_random.pxd).
_DEFAULT_SEED = 1


def _step(s: int) -> int:
    s ^= (s << 13) & _MASK
    s ^= s >> 17
    s ^= (s << 5) & _MASK
    return s


def sgd_permutations(n: int, seeds: Iterable[int]) -> np.ndarray:
    """``perm`` of every seed, int64 ``[len(seeds), n]``: row r is such that
    ``SequentialDataset.shuffle(seeds[r])`` turns its index array ``a`` into
    ``a[perm]`` (the one-vs-rest outputs' permutations, one row each)."""
    seeds = torch.tensor([int(s) & _MASK for s in seeds], dtype=torch.int64)
    return torch.ops.torch_perceptron.sgd_permutations(seeds, int(n)).numpy()


def sgd_permutation(n: int, seed: int) -> np.ndarray:
    """``sgd_permutations`` of one seed, int64 ``[n]``."""
    return sgd_permutations(n, [seed])[0]


@torch.library.register_fake("torch_perceptron::sgd_permutations")
def _sgd_permutations_fake(seeds: torch.Tensor, n: int) -> torch.Tensor:
    return seeds.new_empty((seeds.shape[0], n), dtype=torch.int64)


def sgd_permutation_reference(n: int, seed: int) -> np.ndarray:
    """The plain loops of scikit-learn's ``our_rand_r`` and ``shuffle``."""
    state = int(seed) & _MASK
    index = list(range(n))
    for i in range(n - 1):
        if state == 0:
            state = _DEFAULT_SEED
        state = _step(state)
        j = i + (state % _RAND_R_MOD) % (n - i)
        index[i], index[j] = index[j], index[i]
    return np.asarray(index, dtype=np.int64)
