"""The penalized online ops (scikit-learn's ``penalty`` "l2", "l1",
"elasticnet"), dense and CSR, their fake kernels and the state they carry.

scikit-learn keeps a penalized model's weights as ``wscale * w`` and rounds
every step through that scale, across every epoch of one fit; the ops do the
same, so ``weight`` holds ``w`` and ``state[:, 0]`` the scale: start a fit with
:func:`penalty_state` (and zeros for ``q``), call the op per epoch or per
chunk, and end it with :func:`fold_penalty_scale_`, which leaves the true
weights in ``weight`` as scikit-learn's ``reset_wscale`` does.
"""

from typing import Optional

import torch
from torch import Tensor

_ops = torch.ops.torch_perceptron

#: Columns of ``state``.
WSCALE, U, SQ_NORM, L1_NORM = 0, 1, 2, 3


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
    state[:, SQ_NORM] = (w * w).sum(1) if sq_norm is None else torch.as_tensor(
        sq_norm, dtype=torch.float64).to(weight.device)
    state[:, L1_NORM] = w.abs().sum(1) if l1_norm is None else torch.as_tensor(
        l1_norm, dtype=torch.float64).to(weight.device)
    return state


def fold_penalty_scale_(weight: Tensor, state: Tensor) -> Tensor:
    """scikit-learn's ``reset_wscale``, in place: ``weight *= wscale`` (the
    product in weight's dtype, as BLAS ``scal``) and wscale back to 1.
    Returns ``weight``."""
    with torch.no_grad():
        weight.mul_(state[:, WSCALE : WSCALE + 1].to(weight.dtype))
        state[:, WSCALE] = 1.0
    return weight


def online_update_penalized(
    weight: Tensor,
    bias: Tensor,
    state: Tensor,
    q: Optional[Tensor],
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    *,
    alpha: float = 0.0001,
    l1_ratio: float = 0.15,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    bias_step: float = 1.0,
    loss: Optional[Tensor] = None,
    objective: Optional[Tensor] = None,
    order: Optional[Tensor] = None,
) -> Tensor:
    """The online rule with scikit-learn's penalty, in place, one sample after
    the other, each of the K outputs on its own, in scikit-learn's order:

    ``p = (x[i] . weight[k]) * wscale + bias[k]``; then the weights shrink,
    ``wscale *= max(0, 1 - (1 - l1_ratio) * lr * alpha)`` (folded into
    ``weight`` once below 1e-9, float32 1e-6); on a mistake (as
    :func:`~torch_perceptron.ops.online_update`, ``step = lr * err *
    sample_weight[i]``) ``weight[k] += x[i] * (step / wscale)`` and ``bias[k]
    += step * bias_step``; with ``l1_ratio > 0`` every weight of the sample's
    entries moves towards 0 by its unpaid share of ``u += l1_ratio * lr *
    alpha`` (``q`` holds what each has paid). l1_ratio 0 is "l2", 1 "l1".

    Shapes: ``weight [K, in]`` (the weights before the scale), ``bias [K]``,
    ``state`` float64 ``[K, 4]`` (wscale, u, sq_norm, l1_norm: see
    :func:`penalty_state`), ``q [K, in]`` in weight's dtype (None allowed when
    l1_ratio is 0), ``x [N, in]``, ``y`` 0/1 ``[N]``/``[N, 1]`` (K = 1) or
    ``[N, K]``. ``loss`` and ``objective`` (float64 ``[K]``, optional) gain
    each output's perceptron loss and scikit-learn's objective sum (the loss
    plus ``alpha * ((1 - l1_ratio) / 2 * norm^2 + l1_ratio * l1norm)`` with
    its bookkeeping's norms), in sample order. ``order`` (int64 ``[M]``, or
    ``[K, M]`` for one per output) as in
    :func:`~torch_perceptron.ops.online_update`: the call with ``x[order]``,
    ``y[order]`` and ``sample_weight[order]``, read in place. Every tensor on
    one device.

    Returns the mistakes per output, int64 ``[K]``.
    """
    return _ops.online_update_penalized.default(
        weight, bias, state, q, x, y, lr, alpha, l1_ratio, sample_weight, zero_is_mistake,
        bias_step, loss, objective, order,
    )


def online_update_penalized_csr(
    weight: Tensor,
    bias: Tensor,
    state: Tensor,
    q: Optional[Tensor],
    crow_indices: Tensor,
    col_indices: Tensor,
    values: Tensor,
    n_features: int,
    y: Tensor,
    lr: float = 1.0,
    *,
    alpha: float = 0.0001,
    l1_ratio: float = 0.15,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    bias_step: float = 1.0,
    loss: Optional[Tensor] = None,
    objective: Optional[Tensor] = None,
    order: Optional[Tensor] = None,
) -> Tensor:
    """:func:`online_update_penalized` over the rows of a canonical CSR ``x``:
    a sample's entries are its stored ones (explicit zeros included), so the
    step, the L1 step and the norms' bookkeeping touch only those columns, as
    scikit-learn's loop does on sparse X; the shrink scales every weight.
    ``order`` reads CSR rows as it reads dense ones.

    Returns the mistakes per output, int64 ``[K]``.
    """
    return _ops.online_update_penalized_csr.default(
        weight, bias, state, q, crow_indices, col_indices, values, n_features, y, lr, alpha,
        l1_ratio, sample_weight, zero_is_mistake, bias_step, loss, objective, order,
    )


# --- fake kernels ------------------------------------------------------------


def _check_penalized(weight: Tensor, bias: Tensor, state: Tensor, q: Optional[Tensor],
                     loss: Optional[Tensor], objective: Optional[Tensor]) -> None:
    torch._check(weight.dim() == 2, lambda: f"weight: expected 2-D, got {weight.dim()}-D")
    torch._check(bias.dim() == 1, lambda: f"bias: expected 1-D, got {bias.dim()}-D")
    k = weight.shape[0]
    torch._check(
        state.shape == (k, 4), lambda: f"state: expected shape [{k}, 4], got {list(state.shape)}"
    )
    torch._check(state.dtype == torch.float64, lambda: f"state: expected float64, got {state.dtype}")
    if q is not None:
        torch._check(q.shape == weight.shape, lambda: "q: expected weight's shape")
        torch._check(q.dtype == weight.dtype, lambda: "q: expected weight's dtype")
    for name, t in (("loss", loss), ("objective", objective)):
        if t is not None:
            torch._check(t.shape == (k,), lambda: f"{name}: expected shape [{k}]")
            torch._check(t.dtype == torch.float64, lambda: f"{name}: expected float64")


@torch.library.register_fake("torch_perceptron::online_update_penalized")
def _penalized_fake(weight, bias, state, q, x, y, lr=1.0, alpha=0.0001, l1_ratio=0.15,
                    sample_weight=None, zero_is_mistake=False, bias_step=1.0, loss=None,
                    objective=None, order=None):
    from .ops import _check_devices, _check_order, _check_shapes

    _check_shapes(x, weight, bias)
    _check_penalized(weight, bias, state, q, loss, objective)
    _check_order(weight, order)
    _check_devices(weight, bias=bias, state=state, q=q, x=x, y=y, sample_weight=sample_weight,
                   loss=loss, objective=objective, order=order)
    return weight.new_empty((weight.shape[0],), dtype=torch.int64)


@torch.library.register_fake("torch_perceptron::online_update_penalized_csr")
def _penalized_csr_fake(weight, bias, state, q, crow_indices, col_indices, values, n_features,
                        y, lr=1.0, alpha=0.0001, l1_ratio=0.15, sample_weight=None,
                        zero_is_mistake=False, bias_step=1.0, loss=None, objective=None,
                        order=None):
    from .csr_ops import _check_csr
    from .ops import _check_order

    _check_penalized(weight, bias, state, q, loss, objective)
    _check_order(weight, order)
    _check_csr(crow_indices, col_indices, values, n_features, weight, bias, state=state, q=q,
               y=y, sample_weight=sample_weight, loss=loss, objective=objective, order=order)
    return weight.new_empty((weight.shape[0],), dtype=torch.int64)
