"""Synthetic benchmark data: standard normal features labelled by a random
teacher hyperplane, so that the data is linearly separable and the epoch's
mistakes are a meaningful count; and sparse data shaped like RCV1 (hashed
text features), labelled by a planted sparse model with noise.

The sparse generator never builds a dense matrix: column ids are drawn from a
Zipf law over the features (a few frequent words, a long tail), scattered by a
fixed permutation as a hashing vectorizer scatters them, deduplicated within
each row with one sort of ``row * n_features + column`` keys; values are
tf-idf-like (rarer columns weigh more) and each row has unit L2 norm, as RCV1's
cosine-normalised tf-idf rows do.

Dense data is saved as ``.npy`` for the fresh processes that time each method
(fresh.py).
"""

import os
import time
from typing import NamedTuple, Tuple

import numpy as np
import torch
from torch import Tensor

from torch_perceptron.sparse import CSRRows, as_csr


class Binary(NamedTuple):
    x: Tensor  # [N, D] float32, contiguous
    y: Tensor  # [N] float32 of 0/1 (what the seed's loop and the ops take)


class Multiclass(NamedTuple):
    x: Tensor  # [N, D] float32, contiguous
    labels: Tensor  # [N] int64 class indices
    onehot: Tensor  # [N, K] float32 of 0/1, the one-vs-rest targets


def teacher_binary(n: int, d: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> Binary:
    """``x ~ N(0, 1)^[n, d]``, ``y = [x . w* + b* > 0]`` for a random teacher
    ``(w*, b*)`` drawn from the same generator."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=dtype)
    w = torch.randn(d, generator=gen, dtype=dtype)
    b = torch.randn((), generator=gen, dtype=dtype) * 0.1
    y = ((x @ w + b) > 0).to(dtype)
    return Binary(x, y)


def teacher_multiclass(n: int, d: int, k: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> Multiclass:
    """``x ~ N(0, 1)^[n, d]``, class ``argmax_k (x . W*_k + b*_k)`` for a random
    teacher ``W* [k, d]``; also returned one-hot for the one-vs-rest rule."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=dtype)
    w = torch.randn(k, d, generator=gen, dtype=dtype)
    b = torch.randn(k, generator=gen, dtype=dtype) * 0.1
    labels = (x @ w.T + b).argmax(1)
    onehot = torch.nn.functional.one_hot(labels, k).to(dtype)
    return Multiclass(x, labels, onehot)


class SparseBinary(NamedTuple):
    x: CSRRows  # [N, n_features], canonical CSR (int32 indices); x.to_scipy() for scikit-learn
    y: Tensor  # [N] of 0/1 in x's dtype


class SparseMulticlass(NamedTuple):
    x: CSRRows
    labels: Tensor  # [N] int64 class indices
    onehot: Tensor  # [N, K] of 0/1 in x's dtype, the one-vs-rest targets


def sparse_rows(
    n: int,
    n_features: int = 1 << 18,
    nnz: Tuple[int, int] = (50, 80),
    zipf: float = 1.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> CSRRows:
    """``n`` rows of about ``nnz`` non-zeros each (drawn uniformly in the
    closed range, fewer after duplicates merge), columns Zipf-distributed with
    exponent ``zipf``; deterministic from ``seed``."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, n_features + 1, dtype=np.float64)
    p = ranks**-zipf
    p /= p.sum()
    cdf = np.cumsum(p)
    # Frequent "words" land on scattered columns, as hashed features do.
    column_of_rank = rng.permutation(n_features).astype(np.int64)
    # idf-like weight: a column's weight grows with its rarity.
    idf = (np.log1p(1.0 / (p * 1000.0))).astype(np.float64)

    drawn = rng.integers(nnz[0], nnz[1] + 1, size=n)
    total = int(drawn.sum())
    rank = np.minimum(np.searchsorted(cdf, rng.random(total)), n_features - 1)
    cols = column_of_rank[rank]
    rows = np.repeat(np.arange(n, dtype=np.int64), drawn)
    keys = np.sort(rows * n_features + cols)
    keep = np.ones(total, dtype=bool)
    keep[1:] = keys[1:] != keys[:-1]
    keys = keys[keep]
    row_of, col = np.divmod(keys, n_features)
    values = rng.uniform(0.5, 1.5, size=keys.shape[0]) * idf[np.argsort(column_of_rank)][col]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of, minlength=n), out=indptr[1:])
    norms = np.sqrt(np.add.reduceat(values * values, indptr[:-1])) if keys.shape[0] else values
    counts = np.diff(indptr)
    values /= np.repeat(np.where(counts > 0, norms[:n] if n else norms, 1.0), counts)
    index = np.int32 if max(n_features, keys.shape[0]) < 2**31 else np.int64
    return as_csr(
        CSRRows(
            torch.from_numpy(indptr.astype(index)),
            torch.from_numpy(col.astype(index)),
            torch.from_numpy(values),
            n_features,
        ),
        dtype,
    )


def _planted_scores(x: CSRRows, k: int, support: int, noise: float, rng) -> np.ndarray:
    """``x . W*^T + noise`` for a planted ``W* [k, n_features]`` with ``support``
    non-zero normal weights per output, on columns drawn in proportion to how
    many rows hold them (a topic's words are common enough to be learnt from);
    the noise is normal, ``noise`` times the scores' own standard deviation."""
    df = np.bincount(x.col_indices.numpy(), minlength=x.n_features).astype(np.float64)
    used = int((df > 0).sum())
    w = np.zeros((x.n_features, k), dtype=np.float64)
    for o in range(k):
        cols = rng.choice(x.n_features, size=min(support, used), replace=False, p=df / df.sum())
        w[cols, o] = rng.standard_normal(cols.shape[0])
    z = x.to(torch.float64).to_scipy() @ w
    z += noise * z.std(axis=0, keepdims=True) * rng.standard_normal(z.shape)
    return z


def _sparse_planted(
    n: int,
    k: int,
    stream: int,
    support: int = 1024,
    noise: float = 0.1,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    **rows,
) -> Tuple[CSRRows, np.ndarray]:
    """``sparse_rows(n, seed=seed, dtype=dtype, **rows)`` (``rows``: its
    ``n_features``, ``nnz``, ``zipf``) and their ``k`` planted scores
    (:func:`_planted_scores`), drawn from the random ``stream`` of ``seed``."""
    x = sparse_rows(n, seed=seed, dtype=dtype, **rows)
    return x, _planted_scores(x, k, support, noise, np.random.default_rng([seed, stream]))


def sparse_teacher_binary(n: int, positive: float = 0.3, **planted) -> SparseBinary:
    """RCV1-shaped rows (:func:`sparse_rows`) labelled 1 for the ``positive``
    fraction with the highest planted scores plus noise (not separable).
    ``planted``: ``n_features``, ``nnz``, ``support``, ``noise``, ``seed`` and
    ``dtype`` (:func:`_sparse_planted`)."""
    x, z = _sparse_planted(n, 1, 1, **planted)
    z = z[:, 0]
    y = z > np.quantile(z, 1.0 - positive) if n else z > 0
    return SparseBinary(x, torch.from_numpy(y).to(x.values.dtype))


def sparse_teacher_multiclass(n: int, k: int = 20, **planted) -> SparseMulticlass:
    """RCV1-shaped rows, class ``argmax_k`` of ``k`` planted scores plus noise;
    also one-hot, the targets of ``k`` one-vs-rest outputs. ``planted``: as
    for :func:`sparse_teacher_binary`."""
    x, z = _sparse_planted(n, k, 2, **planted)
    labels = torch.from_numpy(z.argmax(1))
    return SparseMulticlass(x, labels, torch.nn.functional.one_hot(labels, k).to(x.values.dtype))


def read_floor_seconds(x: CSRRows, repeats: int = 7) -> float:
    """The floor of one sparse epoch: the fastest of ``repeats`` reads of
    ``values`` and ``col_indices`` once each, at torch's current thread count.

    Each read is a vectorised reduction (``sum``, ``amax``; not an int32
    ``sum``, which torch widens element by element at a tenth of the speed), so
    the memory system bounds it, not arithmetic: a lower floor than the issue's
    plain scalar loop (11.9 ms there for 200,000 rows of 50.7 non-zeros)."""
    best = float("inf")
    for _ in range(repeats + 1):  # the first read warms caches and the allocator
        start = time.perf_counter()
        x.values.sum()
        x.col_indices.amax()
        best = min(best, time.perf_counter() - start)
    return best


def _save(path: str, t: Tensor) -> str:
    if not os.path.exists(path):
        np.save(path, t.numpy())
    return path


def save_binary(directory: str, n: int, d: int, seed: int) -> dict[str, str]:
    """``teacher_binary(n, d, seed)`` saved as ``.npy`` files in ``directory``
    (once), for the fresh processes that time each method: ``{x, y}`` paths."""
    stem = os.path.join(directory, f"binary_{n}x{d}_{seed}")
    if os.path.exists(f"{stem}_y.npy"):
        return dict(x=f"{stem}_x.npy", y=f"{stem}_y.npy")
    data = teacher_binary(n, d, seed)
    return dict(x=_save(f"{stem}_x.npy", data.x), y=_save(f"{stem}_y.npy", data.y))


def save_multiclass(directory: str, n: int, d: int, k: int, seed: int) -> dict[str, str]:
    """``teacher_multiclass(n, d, k, seed)`` saved as ``.npy`` files in
    ``directory`` (once): ``{x, labels, onehot}`` paths."""
    stem = os.path.join(directory, f"multiclass_{n}x{d}_k{k}_{seed}")
    if os.path.exists(f"{stem}_onehot.npy"):
        return dict(x=f"{stem}_x.npy", labels=f"{stem}_labels.npy", onehot=f"{stem}_onehot.npy")
    data = teacher_multiclass(n, d, k, seed)
    return dict(
        x=_save(f"{stem}_x.npy", data.x),
        labels=_save(f"{stem}_labels.npy", data.labels),
        onehot=_save(f"{stem}_onehot.npy", data.onehot),
    )


def load(path: str) -> Tensor:
    """A saved array as a tensor in torch's own memory, as a PyTorch user has
    it (``np.load``'s buffer is aligned differently)."""
    import numpy as np

    return torch.from_numpy(np.load(path)).clone()
