"""The sparse (CSR) forms of the ops, one typed wrapper each, and their fake
kernels; :mod:`torch_perceptron.ops` re-exports them and lists them in ``OPS``.

Each takes ``x`` ``[N, in_features]`` as canonical CSR: ``crow_indices``
``[N + 1]`` and ``col_indices`` ``[nnz]`` of one dtype (int32 or int64),
``values`` ``[nnz]`` of the weights' dtype, the columns of each row strictly
increasing (duplicates summed: :func:`torch_perceptron.sparse.as_csr` makes any
sparse input so), and ``n_features``, which must equal ``weight.shape[1]``.
Non-contiguous tensors are accepted. An empty row is a sample whose decision
value is the bias. A sample's dot product and update touch only its non-zeros:
the cost of a call grows with nnz, never with ``N * in_features``, and no dense
copy of ``x`` is made.

Every input is validated (columns in range and increasing, values finite,
labels, ...) before the weights are changed: a rejected call leaves them bit
for bit as they were, and the error names the argument.

The update ops take ``bias_step`` where the dense ops take ``fit_intercept``:
the bias moves by ``bias_step * step`` (1: the textbook rule; 0: the bias stays;
:data:`torch_perceptron.reference.SPARSE_INTERCEPT_DECAY`: scikit-learn's
damping of the intercept on sparse input).
"""

from typing import Optional

import torch
from torch import Tensor

# ops imports this module last, once its own fake checks are defined.
from .ops import _check_loss, _check_order

_ops = torch.ops.torch_perceptron


def decision_function_csr(
    crow_indices: Tensor, col_indices: Tensor, values: Tensor, n_features: int,
    weight: Tensor, bias: Tensor,
) -> Tensor:
    """Net input ``z = x @ weight.T + bias`` of a CSR ``x``, ``[N, K]`` in the
    weights' dtype."""
    return _ops.decision_function_csr.default(
        crow_indices, col_indices, values, n_features, weight, bias
    )


def predict_csr(
    crow_indices: Tensor, col_indices: Tensor, values: Tensor, n_features: int,
    weight: Tensor, bias: Tensor,
) -> Tensor:
    """Threshold forward ``[z > 0]`` of a CSR ``x``: 0/1 ``[N, K]`` in the
    weights' dtype."""
    return _ops.predict_csr.default(crow_indices, col_indices, values, n_features, weight, bias)


def online_update_csr(
    weight: Tensor, bias: Tensor, crow_indices: Tensor, col_indices: Tensor, values: Tensor,
    n_features: int, y: Tensor, lr: float = 1.0, *, sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False, bias_step: float = 1.0, loss: Optional[Tensor] = None,
    order: Optional[Tensor] = None,
) -> Tensor:
    """:func:`torch_perceptron.ops.online_update` over the rows of a CSR ``x``,
    in place: on a mistake of output k at sample i, ``weight[k, cols_i] +=
    step * values_i`` and ``bias[k] += bias_step * step`` with ``step = lr *
    sample_weight[i] * err``. ``y`` 0/1 ``[N]`` / ``[N, 1]`` (K = 1) or
    ``[N, K]``. ``loss`` (float64 ``[K]``) gains each output's perceptron loss
    over the samples as :func:`torch_perceptron.ops.online_update` sums it:
    ``|z|`` at a mistake, z before the step, in sample order. ``order``
    (int64 ``[M]`` or ``[K, M]``) as :func:`torch_perceptron.ops.online_update`
    takes it: visit i reads CSR row ``order[i]`` (of output k: ``order[k, i]``)
    and its label and sample weight in place, bit for bit the call on the
    gathered rows.

    Returns the mistakes per output, int64 ``[K]``.
    """
    return _ops.online_update_csr.default(
        weight, bias, crow_indices, col_indices, values, n_features, y, lr, sample_weight,
        zero_is_mistake, bias_step, loss, order,
    )


def multiclass_update_csr(
    weight: Tensor, bias: Tensor, crow_indices: Tensor, col_indices: Tensor, values: Tensor,
    n_features: int, y: Tensor, lr: float = 1.0, *, sample_weight: Optional[Tensor] = None,
    bias_step: float = 1.0,
) -> Tensor:
    """:func:`torch_perceptron.ops.multiclass_update` over the rows of a CSR
    ``x``, in place; ``y`` class indices ``[N]``.

    Returns the number of mistakes, int64 ``[1]``.
    """
    return _ops.multiclass_update_csr.default(
        weight, bias, crow_indices, col_indices, values, n_features, y, lr, sample_weight,
        bias_step,
    )


def batch_update_csr(
    weight: Tensor, bias: Tensor, crow_indices: Tensor, col_indices: Tensor, values: Tensor,
    n_features: int, y: Tensor, lr: float = 1.0, *, sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False, bias_step: float = 1.0,
) -> Tensor:
    """:func:`torch_perceptron.ops.batch_update` of a CSR ``x``, in place: every
    error under the current weights, then their steps.

    Returns the mistakes per output, int64 ``[K]``.
    """
    return _ops.batch_update_csr.default(
        weight, bias, crow_indices, col_indices, values, n_features, y, lr, sample_weight,
        zero_is_mistake, bias_step,
    )


def online_update_averaged_csr(
    weight: Tensor, bias: Tensor, weight_acc: Tensor, bias_acc: Tensor, count: Tensor,
    crow_indices: Tensor, col_indices: Tensor, values: Tensor, n_features: int, y: Tensor,
    lr: float = 1.0, *, sample_weight: Optional[Tensor] = None, zero_is_mistake: bool = False,
    bias_step: float = 1.0, loss: Optional[Tensor] = None, order: Optional[Tensor] = None,
) -> Tensor:
    """:func:`torch_perceptron.ops.online_update_averaged` over the rows of a
    CSR ``x``: a mistake adds to ``weight_acc`` only at the sample's non-zeros.
    :func:`torch_perceptron.ops.averaged_parameters` gives the average.
    ``loss`` and ``order`` (``count`` counts the visits) as in
    :func:`online_update_csr`.

    Returns the mistakes per output, int64 ``[K]``.
    """
    return _ops.online_update_averaged_csr.default(
        weight, bias, weight_acc, bias_acc, count, crow_indices, col_indices, values,
        n_features, y, lr, sample_weight, zero_is_mistake, bias_step, loss, order,
    )


def multiclass_update_averaged_csr(
    weight: Tensor, bias: Tensor, weight_acc: Tensor, bias_acc: Tensor, count: Tensor,
    crow_indices: Tensor, col_indices: Tensor, values: Tensor, n_features: int, y: Tensor,
    lr: float = 1.0, *, sample_weight: Optional[Tensor] = None, bias_step: float = 1.0,
) -> Tensor:
    """:func:`torch_perceptron.ops.multiclass_update_averaged` over the rows of
    a CSR ``x``; ``count`` int64 ``[1]``.

    Returns the number of mistakes, int64 ``[1]``.
    """
    return _ops.multiclass_update_averaged_csr.default(
        weight, bias, weight_acc, bias_acc, count, crow_indices, col_indices, values,
        n_features, y, lr, sample_weight, bias_step,
    )


def online_update_pocket_csr(
    weight: Tensor, bias: Tensor, pocket_weight: Tensor, pocket_bias: Tensor, run: Tensor,
    best_run: Tensor, crow_indices: Tensor, col_indices: Tensor, values: Tensor,
    n_features: int, y: Tensor, lr: float = 1.0, *, sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False, bias_step: float = 1.0, loss: Optional[Tensor] = None,
    order: Optional[Tensor] = None,
) -> Tensor:
    """:func:`torch_perceptron.ops.online_update_pocket` over the rows of a
    CSR ``x``; ``loss`` (of the weights the rule runs on, not the pocket's) and
    ``order`` (a run counts visits) as in :func:`online_update_csr`.

    Returns the mistakes per output, int64 ``[K]``.
    """
    return _ops.online_update_pocket_csr.default(
        weight, bias, pocket_weight, pocket_bias, run, best_run, crow_indices, col_indices,
        values, n_features, y, lr, sample_weight, zero_is_mistake, bias_step, loss, order,
    )


def multiclass_update_pocket_csr(
    weight: Tensor, bias: Tensor, pocket_weight: Tensor, pocket_bias: Tensor, run: Tensor,
    best_run: Tensor, crow_indices: Tensor, col_indices: Tensor, values: Tensor,
    n_features: int, y: Tensor, lr: float = 1.0, *, sample_weight: Optional[Tensor] = None,
    bias_step: float = 1.0,
) -> Tensor:
    """:func:`torch_perceptron.ops.multiclass_update_pocket` over the rows of a
    CSR ``x``; ``run`` and ``best_run`` int64 ``[1]``.

    Returns the number of mistakes, int64 ``[1]``.
    """
    return _ops.multiclass_update_pocket_csr.default(
        weight, bias, pocket_weight, pocket_bias, run, best_run, crow_indices, col_indices,
        values, n_features, y, lr, sample_weight, bias_step,
    )


# --- fake kernels ------------------------------------------------------------


def _check_csr(crow_indices, col_indices, values, n_features, weight, bias, **tensors) -> None:
    """What a fake kernel can check without data: dims, dtypes, devices and
    n_features (the compiled kernels check the same, and the values)."""
    torch._check(weight.dim() == 2, lambda: f"weight: expected 2-D, got {weight.dim()}-D")
    torch._check(bias.dim() == 1, lambda: f"bias: expected 1-D, got {bias.dim()}-D")
    for name, t in (("crow_indices", crow_indices), ("col_indices", col_indices),
                    ("values", values)):
        torch._check(t.dim() == 1, lambda: f"{name}: expected 1-D, got {t.dim()}-D")
    torch._check(
        crow_indices.dtype in (torch.int32, torch.int64),
        lambda: f"crow_indices: expected int32 or int64, got {crow_indices.dtype}",
    )
    torch._check(
        col_indices.dtype == crow_indices.dtype,
        lambda: f"col_indices: expected {crow_indices.dtype}, got {col_indices.dtype}",
    )
    torch._check(
        values.dtype == weight.dtype, lambda: f"values: expected {weight.dtype}, got {values.dtype}"
    )
    torch._check(
        n_features == weight.shape[1],
        lambda: f"n_features: expected {weight.shape[1]}, got {n_features}",
    )
    tensors = dict(bias=bias, crow_indices=crow_indices, col_indices=col_indices, values=values,
                   **tensors)
    for name, t in tensors.items():
        if t is not None:
            torch._check(
                t.device == weight.device,
                lambda: f"{name}: expected device {weight.device} (the weight's), got {t.device}",
            )


@torch.library.register_fake("torch_perceptron::decision_function_csr")
def _decision_function_csr_fake(crow_indices, col_indices, values, n_features, weight, bias):
    _check_csr(crow_indices, col_indices, values, n_features, weight, bias)
    return weight.new_empty((crow_indices.shape[0] - 1, weight.shape[0]))


@torch.library.register_fake("torch_perceptron::predict_csr")
def _predict_csr_fake(crow_indices, col_indices, values, n_features, weight, bias):
    _check_csr(crow_indices, col_indices, values, n_features, weight, bias)
    return weight.new_empty((crow_indices.shape[0] - 1, weight.shape[0]))


def _mistakes_csr_fake(weight, bias, crow_indices, col_indices, values, n_features, y, lr=1.0,
                       sample_weight=None, zero_is_mistake=False, bias_step=1.0):
    _check_csr(crow_indices, col_indices, values, n_features, weight, bias, y=y,
               sample_weight=sample_weight)
    return weight.new_empty((weight.shape[0],), dtype=torch.int64)


def _online_csr_fake(weight, bias, crow_indices, col_indices, values, n_features, y, lr=1.0,
                     sample_weight=None, zero_is_mistake=False, bias_step=1.0, loss=None,
                     order=None):
    _check_loss(weight, loss)
    _check_order(weight, order)
    _check_csr(crow_indices, col_indices, values, n_features, weight, bias, y=y,
               sample_weight=sample_weight, loss=loss, order=order)
    return weight.new_empty((weight.shape[0],), dtype=torch.int64)


def _multiclass_csr_fake(weight, bias, crow_indices, col_indices, values, n_features, y, lr=1.0,
                         sample_weight=None, bias_step=1.0):
    _check_csr(crow_indices, col_indices, values, n_features, weight, bias, y=y,
               sample_weight=sample_weight)
    return weight.new_empty((1,), dtype=torch.int64)


def _state_like(weight, bias, w_state, b_state, w_name, b_name):
    torch._check(w_state.shape == weight.shape, lambda: f"{w_name}: expected weight's shape")
    torch._check(b_state.shape == bias.shape, lambda: f"{b_name}: expected bias's shape")


def _averaged_csr_fake(weight, bias, weight_acc, bias_acc, count, crow_indices, col_indices,
                       values, n_features, y, lr=1.0, sample_weight=None,
                       zero_is_mistake=False, bias_step=1.0, loss=None, order=None):
    _state_like(weight, bias, weight_acc, bias_acc, "weight_acc", "bias_acc")
    _check_loss(weight, loss)
    _check_order(weight, order)
    _check_csr(crow_indices, col_indices, values, n_features, weight, bias, weight_acc=weight_acc,
               bias_acc=bias_acc, count=count, y=y, sample_weight=sample_weight, loss=loss,
               order=order)
    return weight.new_empty((weight.shape[0],), dtype=torch.int64)


def _multiclass_averaged_csr_fake(weight, bias, weight_acc, bias_acc, count, crow_indices,
                                  col_indices, values, n_features, y, lr=1.0,
                                  sample_weight=None, bias_step=1.0):
    _averaged_csr_fake(weight, bias, weight_acc, bias_acc, count, crow_indices, col_indices,
                       values, n_features, y, sample_weight=sample_weight)
    return weight.new_empty((1,), dtype=torch.int64)


def _pocket_csr_fake(weight, bias, pocket_weight, pocket_bias, run, best_run, crow_indices,
                     col_indices, values, n_features, y, lr=1.0, sample_weight=None,
                     zero_is_mistake=False, bias_step=1.0, loss=None, order=None):
    _state_like(weight, bias, pocket_weight, pocket_bias, "pocket_weight", "pocket_bias")
    _check_loss(weight, loss)
    _check_order(weight, order)
    _check_csr(crow_indices, col_indices, values, n_features, weight, bias,
               pocket_weight=pocket_weight, pocket_bias=pocket_bias, run=run, best_run=best_run,
               y=y, sample_weight=sample_weight, loss=loss, order=order)
    return weight.new_empty((weight.shape[0],), dtype=torch.int64)


def _multiclass_pocket_csr_fake(weight, bias, pocket_weight, pocket_bias, run, best_run,
                                crow_indices, col_indices, values, n_features, y, lr=1.0,
                                sample_weight=None, bias_step=1.0):
    _pocket_csr_fake(weight, bias, pocket_weight, pocket_bias, run, best_run, crow_indices,
                     col_indices, values, n_features, y, sample_weight=sample_weight)
    return weight.new_empty((1,), dtype=torch.int64)


for _name, _fake in (
    ("online_update_csr", _online_csr_fake),
    ("batch_update_csr", _mistakes_csr_fake),
    ("multiclass_update_csr", _multiclass_csr_fake),
    ("online_update_averaged_csr", _averaged_csr_fake),
    ("multiclass_update_averaged_csr", _multiclass_averaged_csr_fake),
    ("online_update_pocket_csr", _pocket_csr_fake),
    ("multiclass_update_pocket_csr", _multiclass_pocket_csr_fake),
):
    torch.library.register_fake(f"torch_perceptron::{_name}")(_fake)
