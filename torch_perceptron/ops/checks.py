"""What a fake (meta) kernel can check without data, and the fake itself.

The bottom of the ops package: it imports nothing of it. The compiled kernels
check the same things (and the values, which a fake cannot see); a fake must
check them too, since a call with a ``meta`` tensor among CPU or CUDA ones
dispatches to it (Meta outranks both), where an unchecked call would hand back
an uninitialised result and leave the weights alone without a word.

One fake serves every op: :func:`make_fake` reads the op's schema (its
argument names) and checks what each argument present needs, in one order:
the shapes, the penalized state, the loss sums, the order, the variants'
state, then every tensor's device (the bias first, as the kernels do).
"""

from typing import Callable, Optional, Sequence

import torch
from torch import Tensor

# The variants' state that must have the weights' (or the bias's) shape.
LIKE_WEIGHT = ("weight_acc", "pocket_weight")
LIKE_BIAS = ("bias_acc", "pocket_bias")
CSR_ARGS = ("crow_indices", "col_indices", "values", "n_features")


def _check_devices(weight: Tensor, **tensors: Optional[Tensor]) -> None:
    """Every tensor given on weight's device."""
    for name, t in tensors.items():
        if t is not None:
            torch._check(
                t.device == weight.device,
                lambda: f"{name}: expected device {weight.device} (the weight's), got {t.device}",
            )


def _check_shapes(x: Tensor, weight: Tensor, bias: Tensor) -> None:
    torch._check(weight.dim() == 2, lambda: f"weight: expected 2-D, got {weight.dim()}-D")
    torch._check(bias.dim() == 1, lambda: f"bias: expected 1-D, got {bias.dim()}-D")
    torch._check(x.dim() == 2, lambda: f"x: expected 2-D, got {x.dim()}-D")
    torch._check(
        x.shape[1] == weight.shape[1],
        lambda: f"x: expected {weight.shape[1]} features, got {x.shape[1]}",
    )
    torch._check(x.dtype == weight.dtype, lambda: f"x: expected {weight.dtype}, got {x.dtype}")


def _check_loss(weight: Tensor, loss: Optional[Tensor]) -> None:
    """The online ops' optional loss sums: float64 [K]."""
    if loss is not None:
        torch._check(
            loss.shape == (weight.shape[0],),
            lambda: f"loss: expected shape [{weight.shape[0]}], got {list(loss.shape)}",
        )
        torch._check(loss.dtype == torch.float64, lambda: f"loss: expected float64, got {loss.dtype}")


def _check_order(weight: Tensor, order: Optional[Tensor]) -> None:
    """The online ops' optional sample order: int64 [M] or [K, M] (its values,
    which a fake cannot see, the kernels check)."""
    if order is not None:
        k = weight.shape[0]
        torch._check(
            order.dim() == 1 or (order.dim() == 2 and order.shape[0] == k),
            lambda: f"order: expected shape [M] or [{k}, M], got {list(order.shape)}",
        )
        torch._check(order.dtype == torch.int64, lambda: f"order: expected int64, got {order.dtype}")


def _check_like(name: str, t: Tensor, like: Tensor, what: str) -> None:
    torch._check(t.shape == like.shape, lambda: f"{name}: expected {what}'s shape")


def _check_penalized(
    weight: Tensor,
    bias: Tensor,
    state: Tensor,
    q: Optional[Tensor],
    loss: Optional[Tensor],
    objective: Optional[Tensor],
) -> None:
    """The penalized ops' state float64 [K, 4], ``q`` like the weights, and
    their sums float64 [K]."""
    torch._check(weight.dim() == 2, lambda: f"weight: expected 2-D, got {weight.dim()}-D")
    torch._check(bias.dim() == 1, lambda: f"bias: expected 1-D, got {bias.dim()}-D")
    k = weight.shape[0]
    torch._check(state.shape == (k, 4), lambda: f"state: expected shape [{k}, 4], got {list(state.shape)}")
    torch._check(state.dtype == torch.float64, lambda: f"state: expected float64, got {state.dtype}")
    if q is not None:
        torch._check(q.shape == weight.shape, lambda: "q: expected weight's shape")
        torch._check(q.dtype == weight.dtype, lambda: "q: expected weight's dtype")
    for name, t in (("loss", loss), ("objective", objective)):
        if t is not None:
            torch._check(t.shape == (k,), lambda: f"{name}: expected shape [{k}]")
            torch._check(t.dtype == torch.float64, lambda: f"{name}: expected float64")


def _check_csr(crow_indices, col_indices, values, n_features, weight, bias, **tensors) -> None:
    """A CSR ``x``'s dims, dtypes and n_features, then every tensor's device."""
    torch._check(weight.dim() == 2, lambda: f"weight: expected 2-D, got {weight.dim()}-D")
    torch._check(bias.dim() == 1, lambda: f"bias: expected 1-D, got {bias.dim()}-D")
    for name, t in (("crow_indices", crow_indices), ("col_indices", col_indices), ("values", values)):
        torch._check(t.dim() == 1, lambda: f"{name}: expected 1-D, got {t.dim()}-D")
    torch._check(
        crow_indices.dtype in (torch.int32, torch.int64),
        lambda: f"crow_indices: expected int32 or int64, got {crow_indices.dtype}",
    )
    torch._check(
        col_indices.dtype == crow_indices.dtype,
        lambda: f"col_indices: expected {crow_indices.dtype}, got {col_indices.dtype}",
    )
    torch._check(values.dtype == weight.dtype, lambda: f"values: expected {weight.dtype}, got {values.dtype}")
    torch._check(
        n_features == weight.shape[1],
        lambda: f"n_features: expected {weight.shape[1]}, got {n_features}",
    )
    _check_devices(weight, bias=bias, crow_indices=crow_indices, col_indices=col_indices, values=values, **tensors)


def make_fake(
    arg_names: Sequence[str], tensor_names: Sequence[str], forward: bool, multiclass: bool
) -> Callable[..., Tensor]:
    """The fake kernel of an op whose schema names ``arg_names`` (its tensors:
    ``tensor_names``): a forward op returns ``[N, K]``, an update op its
    mistakes, int64 ``[1]`` (multiclass) or ``[K]``."""
    csr = "crow_indices" in arg_names
    # Devices: the bias first, then the rest in the schema's order.
    others = [n for n in tensor_names if n not in ("weight", "bias") + CSR_ARGS]

    def fake(*args, **kwargs):
        a = dict(zip(arg_names, args), **kwargs)
        weight, bias = a["weight"], a["bias"]
        if not csr:
            _check_shapes(a["x"], weight, bias)
        if "state" in a:
            _check_penalized(weight, bias, a["state"], a.get("q"), a.get("loss"), a.get("objective"))
        else:
            _check_loss(weight, a.get("loss"))
        _check_order(weight, a.get("order"))
        for name in LIKE_WEIGHT:
            if name in a:
                _check_like(name, a[name], weight, "weight")
        for name in LIKE_BIAS:
            if name in a:
                _check_like(name, a[name], bias, "bias")
        rest = {n: a.get(n) for n in others}
        if csr:
            _check_csr(*(a[n] for n in CSR_ARGS), weight, bias, **rest)
        else:
            _check_devices(weight, bias=bias, **rest)
        k = weight.shape[0]
        if forward:
            if csr:
                return weight.new_empty((a["crow_indices"].shape[0] - 1, k))
            return a["x"].new_empty((a["x"].shape[0], k))
        return weight.new_empty((1 if multiclass else k,), dtype=torch.int64)

    return fake
