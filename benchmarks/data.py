"""Synthetic benchmark data: standard normal features labelled by a random
teacher hyperplane, so that the data is linearly separable and the epoch's
mistakes are a meaningful count."""

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
