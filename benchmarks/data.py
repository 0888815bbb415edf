"""Synthetic benchmark data: standard normal features labelled by a random
teacher hyperplane, so that the data is linearly separable and the epoch's
mistakes are a meaningful count. Saved as ``.npy`` for the fresh processes
that time each method (fresh.py)."""

import os
from typing import NamedTuple

import torch
from torch import Tensor


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


def teacher_multiclass(
    n: int, d: int, k: int, seed: int = 0, dtype: torch.dtype = torch.float32
) -> Multiclass:
    """``x ~ N(0, 1)^[n, d]``, class ``argmax_k (x . W*_k + b*_k)`` for a random
    teacher ``W* [k, d]``; also returned one-hot for the one-vs-rest rule."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=dtype)
    w = torch.randn(k, d, generator=gen, dtype=dtype)
    b = torch.randn(k, generator=gen, dtype=dtype) * 0.1
    labels = (x @ w.T + b).argmax(1)
    onehot = torch.nn.functional.one_hot(labels, k).to(dtype)
    return Multiclass(x, labels, onehot)


def _save(path: str, t: Tensor) -> str:
    import numpy as np

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
    return dict(x=_save(f"{stem}_x.npy", data.x), labels=_save(f"{stem}_labels.npy", data.labels),
                onehot=_save(f"{stem}_onehot.npy", data.onehot))


def load(path: str) -> Tensor:
    """A saved array as a tensor in torch's own memory, as a PyTorch user has
    it (``np.load``'s buffer is aligned differently)."""
    import numpy as np

    return torch.from_numpy(np.load(path)).clone()
