"""The state the variant ops carry beside the weights, one type per variant.

The type of the state handed to :func:`torch_perceptron.ops.update` picks the
op: :class:`Averaged` the averaged perceptron's, :class:`Pocket` the pocket
perceptron's, :class:`Penalized` scikit-learn's penalties'. Their fields are
the ops' argument names, in the ops' order (the table checks this against the
schemas when it registers them).
"""

from typing import NamedTuple, Optional, Tuple

import torch
from torch import Tensor

#: Columns of a penalized op's ``state``.
WSCALE, U, SQ_NORM, L1_NORM = 0, 1, 2, 3


class Averaged(NamedTuple):
    """The averaged perceptron's sums: ``weight_acc [K, in]``, ``bias_acc [K]``
    (weight's dtype) and ``count`` (int64, ``[K]``, multiclass ``[1]``)."""

    weight_acc: Tensor
    bias_acc: Tensor
    count: Tensor


class Pocket(NamedTuple):
    """The pocket perceptron's record: ``pocket_weight [K, in]``,
    ``pocket_bias [K]`` and the runs ``run``, ``best_run`` (int64)."""

    pocket_weight: Tensor
    pocket_bias: Tensor
    run: Tensor
    best_run: Tensor


class Penalized(NamedTuple):
    """scikit-learn's penalty bookkeeping: ``state`` float64 ``[K, 4]`` (see
    :func:`penalty_state`) and ``q [K, in]`` (None when ``l1_ratio`` is 0)."""

    state: Tensor
    q: Optional[Tensor]


#: The variants by the name their ops carry (``online_update_<name>``).
VARIANTS = {"averaged": Averaged, "pocket": Pocket, "penalized": Penalized}


def fresh(variant: str, weight: Tensor, bias: Tensor, counters: int):
    """A variant's state at the start: zero sums, the pocket holding the
    weights and its runs at zero (``counters`` of each), scikit-learn's
    penalty state for the weights."""
    if variant == "penalized":
        return Penalized(penalty_state(weight), torch.zeros_like(weight))
    count = torch.zeros(counters, dtype=torch.int64, device=weight.device)
    if variant == "averaged":
        return Averaged(torch.zeros_like(weight), torch.zeros_like(bias), count)
    return Pocket(weight.clone(), bias.clone(), count, count.clone())


def averaged_parameters(
    weight: Tensor, bias: Tensor, weight_acc: Tensor, bias_acc: Tensor, count: Tensor
) -> Tuple[Tensor, Tensor]:
    """The averaged weights ``weight - weight_acc / count`` and bias, new
    tensors of weight's shapes. An output that has seen no sample
    (``count == 0``) averages to its current weights."""
    c = count.to(weight.dtype).clamp_min(1)
    if c.numel() == 1:
        c = c.expand(weight.shape[0])
    return weight - weight_acc / c[:, None], bias - bias_acc / c


def penalty_l1_ratio(penalty: Optional[str], l1_ratio: float) -> float:
    """The ops' ``l1_ratio`` for scikit-learn's ``penalty``: "l2" is 0, "l1"
    is 1, "elasticnet" the given one (what ``_plain_sgd`` sets)."""
    if penalty == "l2":
        return 0.0
    if penalty == "l1":
        return 1.0
    if penalty == "elasticnet":
        return float(l1_ratio)
    raise ValueError(f"penalty: expected 'l2', 'l1' or 'elasticnet', got {penalty!r}")


def penalty_state(weight: Tensor, sq_norm=None, l1_norm=None) -> Tensor:
    """A fresh ``state`` float64 ``[K, 4]`` for ``weight [K, in]``: wscale 1,
    u 0, and the norms a fit starts from: ``sq_norm`` and ``l1_norm`` (``[K]``)
    when given (the estimator passes scikit-learn's, BLAS ``dot`` and ``asum``
    of each row), else each row's ``w . w`` and ``sum |w|`` summed in float64.
    Both are 0 for zero weights."""
    w = weight.detach().to(torch.float64)
    state = torch.zeros(w.shape[0], 4, dtype=torch.float64, device=weight.device)
    state[:, WSCALE] = 1.0
    state[:, SQ_NORM] = (
        (w * w).sum(1) if sq_norm is None else torch.as_tensor(sq_norm, dtype=torch.float64).to(weight.device)
    )
    state[:, L1_NORM] = (
        w.abs().sum(1) if l1_norm is None else torch.as_tensor(l1_norm, dtype=torch.float64).to(weight.device)
    )
    return state


def fold_penalty_scale_(weight: Tensor, state: Tensor) -> Tensor:
    """scikit-learn's ``reset_wscale``, in place: ``weight *= wscale`` (the
    product in weight's dtype, as BLAS ``scal``) and wscale back to 1.
    Returns ``weight``."""
    with torch.no_grad():
        weight.mul_(state[:, WSCALE : WSCALE + 1].to(weight.dtype))
        state[:, WSCALE] = 1.0
    return weight
