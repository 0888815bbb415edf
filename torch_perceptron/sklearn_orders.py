"""scikit-learn's SGD sample orders, reproduced without its compiled loop.

scikit-learn's ``SequentialDataset.shuffle(seed)`` is a Fisher-Yates shuffle
of the dataset's index array driven by ``our_rand_r``, a 32-bit xorshift
(``sklearn/utils/_random.pxd``): ``j = i + our_rand_r(&seed) % (n - i)`` for
``i = 0 .. n - 2``. The seed is passed by value, so every epoch replays the same
swaps on the array the last epoch left: the order of epoch ``e`` is
``order[e] = order[e - 1][perm]`` with ``perm = shuffle(arange(n))``, the powers
of one permutation. ``sgd_permutation`` computes ``perm`` once, vectorised
(the plain loops are kept beside it as the reference the tests hold it to),
so that a fit pays O(n) numpy work per epoch for its orders, not a Python loop.

Vectorising the two sequential parts:

* xorshift is linear over GF(2), so ``B`` steps are one 32x32 bit matrix,
  applied to many states at once through four 256-entry byte tables (built
  once per ``B``): the stream is computed ``B`` lanes at a time.
* Fisher-Yates: position ``i`` is final after swap ``i``; what it receives is
  the value position ``j_i`` held just before, which is the value the last
  earlier swap into ``j_i`` brought there, recursively. Those chains are
  resolved by pointer jumping (O(n log n) numpy work).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np

__all__ = ["our_rand_r_stream", "sgd_permutation", "sgd_permutation_reference",
           "sgd_permutations"]

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


def _compose(a: list[int], b: list[int]) -> list[int]:
    """The bit matrix of ``a(b(.))``; a matrix is the images of the 32 unit vectors."""
    return [_apply_scalar(a, v) for v in b]


def _apply_scalar(m: list[int], v: int) -> int:
    out = 0
    bit = 0
    while v:
        if v & 1:
            out ^= m[bit]
        v >>= 1
        bit += 1
    return out


def _power(steps: int) -> list[int]:
    """The bit matrix of ``steps`` xorshift steps, by repeated squaring."""
    result = [1 << b for b in range(32)]
    base = [_step(1 << b) for b in range(32)]
    while steps:
        if steps & 1:
            result = _compose(base, result)
        base = _compose(base, base)
        steps >>= 1
    return result


@lru_cache(maxsize=None)
def _jump_tables(steps: int) -> np.ndarray:
    """``[4, 256]`` uint32: the image under ``steps`` xorshift steps of each
    value of each byte of a state (the state's image is the XOR of its four)."""
    m = _power(steps)
    values = np.arange(256, dtype=np.uint32)
    tables = np.zeros((4, 256), dtype=np.uint32)
    for byte in range(4):
        for bit in range(8):
            image = np.uint32(m[8 * byte + bit])
            tables[byte] ^= np.where((values >> bit) & 1, image, np.uint32(0))
    return tables


def _lanes(count: int) -> int:
    """Lanes that balance the sequential start (``lanes`` Python steps)
    against the numpy calls (about ten per ``lanes`` values): a power of two
    near ``sqrt(8 * count)``, so that few jump tables are ever built."""
    return 1 << max(6, min(13, int(np.log2(max(8 * count, 1))) // 2))


def our_rand_r_stream(seed: int, count: int) -> np.ndarray:
    """The first ``count`` values of ``our_rand_r(&seed)``, uint32 ``[count]``."""
    state = int(seed) & _MASK or _DEFAULT_SEED
    lanes = min(count, _lanes(count))
    states = np.empty(count, dtype=np.uint32)
    for k in range(lanes):
        state = _step(state)
        states[k] = state
    if count > lanes:
        tables = _jump_tables(lanes)
        for start in range(lanes, count, lanes):
            prev = states[start - lanes : start]
            stop = min(start + lanes, count)
            prev = prev[: stop - start]
            states[start:stop] = (
                tables[0][prev & 0xFF]
                ^ tables[1][(prev >> 8) & 0xFF]
                ^ tables[2][(prev >> 16) & 0xFF]
                ^ tables[3][prev >> 24]
            )
    return states % np.uint32(_RAND_R_MOD)


def _swap_targets(n: int, seed: int) -> np.ndarray:
    """``j_i`` of every Fisher-Yates swap, int64 ``[n]``; ``j_{n-1} = n - 1`` (no swap)."""
    i = np.arange(n, dtype=np.int64)
    j = i.copy()
    if n > 1:
        r = our_rand_r_stream(seed, n - 1).astype(np.int64)
        j[:-1] += r % (n - i[:-1])
    return j


def sgd_permutation(n: int, seed: int) -> np.ndarray:
    """``perm`` such that ``SequentialDataset.shuffle(seed)`` turns its index
    array ``a`` into ``a[perm]``; int64 ``[n]``."""
    if n <= 1:
        return np.arange(n, dtype=np.int64)
    j = _swap_targets(n, seed)
    steps = np.arange(n, dtype=np.int64)
    # Position s before swap s holds what the last earlier swap into s brought:
    # parent[s] = that swap, or s itself (untouched, holds s) when none.
    into = j != steps
    parent = np.full(n, -1, dtype=np.int64)
    np.maximum.at(parent, j[into], steps[into])
    parent = np.where(parent >= 0, parent, steps)
    # A swap t < s into s brings what position t held before swap t: follow
    # parents to a root, which still holds its own index.
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        parent = grand
    # Position i receives what j_i held before swap i: the value the last
    # swap t < i into j_i brought (parent root of t), or j_i if none.
    order = np.argsort(j, kind="stable")
    sorted_j = j[order]
    last = np.full(n, -1, dtype=np.int64)
    same = sorted_j[1:] == sorted_j[:-1]
    last[order[1:][same]] = order[:-1][same]
    return np.where(last >= 0, parent[np.maximum(last, 0)], j)


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


# The permutations made lately, by (n, seed): a fit makes one per output, and
# fits again on the same data with the same random_state (a grid search, the
# warm-up before a timing, cross-validation's equal folds) make the same ones.
# Bounded by their bytes, least recently used out first.
_CACHE_BYTES = 64 << 20
_cache: OrderedDict = OrderedDict()
_cache_bytes = 0
_cache_lock = threading.Lock()


def _cached_permutation(n: int, seed: int) -> np.ndarray:
    """sgd_permutation(n, seed), read-only, from the cache when it is there."""
    global _cache_bytes
    key = (int(n), int(seed))
    with _cache_lock:
        perm = _cache.get(key)
        if perm is not None:
            _cache.move_to_end(key)
            return perm
    perm = sgd_permutation(n, seed)
    perm.setflags(write=False)
    with _cache_lock:
        if key not in _cache and perm.nbytes <= _CACHE_BYTES:
            _cache[key] = perm
            _cache_bytes += perm.nbytes
            while _cache_bytes > _CACHE_BYTES:
                _, old = _cache.popitem(last=False)
                _cache_bytes -= old.nbytes
    return perm


def sgd_permutations(n: int, seeds) -> np.ndarray:
    """``sgd_permutation(n, seed)`` of every seed, int64 ``[len(seeds), n]``:
    the one-vs-rest outputs' permutations, one row each."""
    out = np.empty((len(seeds), n), dtype=np.int64)
    for row, seed in enumerate(seeds):
        out[row] = _cached_permutation(n, seed)
    return out
