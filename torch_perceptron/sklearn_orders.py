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

The outputs of one-vs-rest each have a seed: ``sgd_permutations`` makes all
of theirs together, the streams as rows of one array and the shuffles side by
side in one flat resolution, and keeps the last ones made (they depend only on
n and the seed, and a user fits the same data with the same random_state
again and again).
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


def our_rand_r_streams(seeds, count: int) -> np.ndarray:
    """The first ``count`` values of ``our_rand_r(&seed)`` for every seed,
    uint32 ``[len(seeds), count]``: one seed per row, all rows at once (the
    sequential start is ``lanes`` numpy steps over the seeds, not a Python
    loop per seed)."""
    states = np.array([int(s) & _MASK or _DEFAULT_SEED for s in seeds], dtype=np.uint32)
    out = np.empty((len(states), count), dtype=np.uint32)
    lanes = min(count, _lanes(count))
    for k in range(lanes):
        states ^= states << np.uint32(13)
        states ^= states >> np.uint32(17)
        states ^= states << np.uint32(5)
        out[:, k] = states
    if count > lanes:
        tables = _jump_tables(lanes)
        for start in range(lanes, count, lanes):
            stop = min(start + lanes, count)
            prev = out[:, start - lanes : stop - lanes]
            out[:, start:stop] = (
                tables[0][prev & 0xFF]
                ^ tables[1][(prev >> 8) & 0xFF]
                ^ tables[2][(prev >> 16) & 0xFF]
                ^ tables[3][prev >> 24]
            )
    return out % np.uint32(_RAND_R_MOD)


def our_rand_r_stream(seed: int, count: int) -> np.ndarray:
    """The first ``count`` values of ``our_rand_r(&seed)``, uint32 ``[count]``."""
    return our_rand_r_streams([seed], count)[0]


def _swap_targets(n: int, seeds) -> np.ndarray:
    """``j_i`` of every Fisher-Yates swap of every seed, int64 ``[len(seeds),
    n]``; ``j_{n-1} = n - 1`` (no swap)."""
    i = np.arange(n, dtype=np.int64)
    j = np.tile(i, (len(seeds), 1))
    if n > 1:
        r = our_rand_r_streams(seeds, n - 1).astype(np.int64)
        j[:, :-1] += r % (n - i[:-1])
    return j


def _resolve(j: np.ndarray) -> np.ndarray:
    """The permutation that the swaps ``(s, j[s])``, s = 0, 1, ..., make of
    the identity, for a flat ``j`` with ``j[s] >= s`` (several shuffles side
    by side, each in its own range of positions, resolve as one)."""
    n = j.shape[0]
    steps = np.arange(n, dtype=np.int64)
    # The swaps grouped by target, in swap order within a group: one sort of
    # unique keys (faster than a stable argsort).
    keys = np.sort(j * n + steps)
    order = keys % n
    sorted_j = keys // n
    same = sorted_j[1:] == sorted_j[:-1]
    # last[t]: the swap before t into the same position, or -1.
    last = np.full(n, -1, dtype=np.int64)
    last[order[1:][same]] = order[:-1][same]
    # Position v before swap v holds what the last earlier swap into v
    # brought: parent[v] = that swap, or v itself (untouched, holds v) when
    # none. Every swap t into v has t <= v, so the last of v's group is that
    # swap, unless it is swap v itself (j_v = v), whose predecessor it is then.
    ends = np.ones(n, dtype=np.bool_)
    ends[:-1] = ~same
    target, final = sorted_j[ends], order[ends]
    before = np.where(final < target, final, last[final])
    parent = steps.copy()
    parent[target[before >= 0]] = before[before >= 0]
    # A swap t < s into s brings what position t held before swap t: follow
    # parents to a root, which still holds its own index.
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        parent = grand
    # Position i receives what j_i held before swap i: the value the last
    # swap t < i into j_i brought (parent root of t), or j_i if none.
    return np.where(last >= 0, parent[np.maximum(last, 0)], j)


def sgd_permutation(n: int, seed: int) -> np.ndarray:
    """``perm`` such that ``SequentialDataset.shuffle(seed)`` turns its index
    array ``a`` into ``a[perm]``; int64 ``[n]``."""
    return _permutations(n, [seed])[0]


# Seeds resolved together hold at most this many positions: the gathers of
# pointer jumping stay in cache (at 100,000 x 10 one batch was slower than
# ten single ones).
_BATCH_POSITIONS = 1 << 18


def _permutations(n: int, seeds) -> np.ndarray:
    """sgd_permutation of every seed, ``[len(seeds), n]``, resolved together
    (a few at a time where n is large)."""
    seeds = list(seeds)
    if n <= 1 or len(seeds) == 0:
        return np.tile(np.arange(n, dtype=np.int64), (len(seeds), 1))
    per = max(1, _BATCH_POSITIONS // n)
    if len(seeds) > per:
        return np.concatenate([_permutations(n, seeds[i : i + per])
                               for i in range(0, len(seeds), per)])
    offsets = np.arange(0, len(seeds) * n, n, dtype=np.int64)[:, None]
    flat = (_swap_targets(n, seeds) + offsets).reshape(-1)
    return _resolve(flat).reshape(len(seeds), n) - offsets


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


def sgd_permutations(n: int, seeds) -> np.ndarray:
    """``sgd_permutation(n, seed)`` of every seed, int64 ``[len(seeds), n]``:
    the one-vs-rest outputs' permutations, one row each, those not in the
    cache made together."""
    global _cache_bytes
    keys = [(int(n), int(seed)) for seed in seeds]
    out = np.empty((len(keys), n), dtype=np.int64)
    with _cache_lock:
        missing = []
        for row, key in enumerate(keys):
            if key in _cache:
                _cache.move_to_end(key)
                out[row] = _cache[key]
            else:
                missing.append(row)
    if missing:
        made = _permutations(n, [keys[row][1] for row in missing])
        out[missing] = made
        with _cache_lock:
            for row, perm in zip(missing, made):
                if keys[row] in _cache or perm.nbytes > _CACHE_BYTES:
                    continue
                _cache[keys[row]] = perm.copy()
                _cache_bytes += perm.nbytes
                while _cache_bytes > _CACHE_BYTES:
                    _, old = _cache.popitem(last=False)
                    _cache_bytes -= old.nbytes
    return out
