"""The seed's data: two uniform blobs, shuffled, split without overlap, and
normalized with the training statistics only."""

from typing import NamedTuple, Optional

import torch
from torch import Tensor


class Split(NamedTuple):
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor


def two_blobs(
    n_per_class: int = 200,
    *,
    centers: tuple[float, float] = (-0.5, 0.5),
    half_width: float = 1.0,
    generator: Optional[torch.Generator] = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """Two classes drawn uniformly from squares ``[c - half_width, c + half_width]^2``
    around ``(c, c)`` for each center ``c``, as in the lecture note.

    Returns ``x [2 * n_per_class, 2]`` and labels ``y [2 * n_per_class]`` (int64,
    class 0 first), not shuffled.
    """
    blobs = [
        (torch.rand(n_per_class, 2, generator=generator, dtype=torch.float64) * 2 - 1) * half_width + c for c in centers
    ]
    x = torch.cat(blobs).to(dtype)
    y = torch.cat([torch.full((n_per_class,), i, dtype=torch.int64) for i in range(2)])
    return x, y


def shuffle_split(
    x: Tensor,
    y: Tensor,
    test_fraction: float = 0.25,
    *,
    generator: Optional[torch.Generator] = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Shuffles, then splits into disjoint train and test parts."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: expected a value in (0, 1), got {test_fraction}")
    order = torch.randperm(x.shape[0], generator=generator)
    n_test = round(x.shape[0] * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def standardize(x_train: Tensor, *others: Tensor) -> tuple[Tensor, ...]:
    """Scales every tensor by the mean and standard deviation of ``x_train``
    (features with zero deviation are only centered)."""
    mu = x_train.mean(0)
    sigma = x_train.std(0)
    sigma = torch.where(sigma > 0, sigma, torch.ones_like(sigma))
    return tuple((t - mu) / sigma for t in (x_train, *others))


def seed_split(seed: int = 0, n_per_class: int = 200, test_fraction: float = 0.25) -> Split:
    """The seed's experiment data, fixed: 400 points, shuffled with ``seed``, 300
    for training and 100 for testing with no overlap, standardized with the
    training statistics. The same tensors as ``TwoBlobsDataModule(seed=seed)``
    holds (points drawn from one generator seeded with ``seed``, the shuffle
    from another), so a plain loop and a Lightning run see the same data."""
    x, y = two_blobs(n_per_class, generator=torch.Generator().manual_seed(seed))
    x_train, y_train, x_test, y_test = shuffle_split(x, y, test_fraction, generator=torch.Generator().manual_seed(seed))
    x_train, x_test = standardize(x_train, x_test)
    return Split(x_train, y_train, x_test, y_test)


def epoch_order(n: int, seed: int, epoch: int) -> Tensor:
    """The training order of one epoch, int64 ``[n]``: a permutation drawn from
    ``seed + epoch``, the order the data modules' sampler
    (``DistributedSampler(shuffle=True, seed=seed)`` on one process) gives, so
    a plain loop can train on exactly the sequence a Lightning run sees."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch))
