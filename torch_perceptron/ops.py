"""The compiled ops, one typed wrapper each, and their fake (meta) kernels.

The ops live under ``torch.ops.torch_perceptron`` (:data:`OPS` lists them).
None of them records an autograd graph. The update ops change ``weight`` and
``bias`` (and the variants' state) in place, bump the version counter of every
tensor they change, as PyTorch's in-place ops do, and return a new int64
tensor of mistakes. Shapes: ``x [N, in]``, ``weight [K, in]``,
``bias [K]``; ``weight``, ``bias`` and ``x`` share one dtype (float32 or float64)
and one device.

The sparse forms (``*_csr``, in :mod:`torch_perceptron.csr_ops`) take ``x`` as
the three dense tensors of a canonical CSR matrix and its feature count.
scikit-learn's penalties (``online_update_penalized`` and its CSR form, with the
state they carry) are in :mod:`torch_perceptron.penalized_ops`.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor

from . import _build_info

_ops = torch.ops.torch_perceptron

#: Every op of the library, in schema order: the one list that registration,
#: the tests, opcheck and the CI build check enumerate.
OPS: Tuple[str, ...] = (
    "decision_function",
    "predict",
    "online_update",
    "multiclass_update",
    "batch_update",
    "online_update_averaged",
    "multiclass_update_averaged",
    "online_update_pocket",
    "multiclass_update_pocket",
    "decision_function_csr",
    "predict_csr",
    "online_update_csr",
    "multiclass_update_csr",
    "batch_update_csr",
    "online_update_averaged_csr",
    "multiclass_update_averaged_csr",
    "online_update_pocket_csr",
    "multiclass_update_pocket_csr",
    "online_update_penalized",
    "online_update_penalized_csr",
)



def _not_built_with_cuda(name: str):
    def kernel(*args, **kwargs):
        raise RuntimeError(
            f"torch_perceptron::{name}: got CUDA tensors, but torch_perceptron was built "
            "without CUDA support. Rebuild it where the CUDA toolkit and a CUDA build of "
            "torch are present: TORCH_PERCEPTRON_CUDA=1 pip install --no-build-isolation -e ."
        )

    return kernel


# Registrations the stable ABI cannot make from C++ (see csrc/stable.h):
# - Autograd: the ops record no graph by design. A fallthrough sends a call
#   straight to the device kernel, which runs its own ATen calls with grad mode
#   off (the former C++ kernel re-called the op under
#   at::AutoDispatchBelowADInplaceOrView, which the stable ABI does not offer).
#   Being a fallthrough, it costs no Python per call.
# - CUDA, in a CPU-only build: a kernel that says how to get CUDA support,
#   where the dispatcher's own message would not.
_lib = torch.library.Library("torch_perceptron", "IMPL")
for _name in OPS:
    _lib.impl(_name, torch.library.fallthrough_kernel, "Autograd")
    if not _build_info.WITH_CUDA:
        _lib.impl(_name, _not_built_with_cuda(_name), "CUDA")


def decision_function(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """Net input ``z = x @ weight.T + bias``, ``[N, K]`` in x's dtype."""
    return _ops.decision_function.default(x, weight, bias)


def predict(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """Threshold forward ``[z > 0]``: 0/1 predictions ``[N, K]`` in x's dtype."""
    return _ops.predict.default(x, weight, bias)


def online_update(
    weight: Tensor,
    bias: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    *,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    bias_step: float = 1.0,
    loss: Optional[Tensor] = None,
    order: Optional[Tensor] = None,
) -> Tensor:
    """The online rule, in place, one sample after the other.

    For each sample ``i`` in order and each output ``k`` on its own:
    ``err = y[i, k] - [z > 0]``, ``weight[k] += lr * err * x[i]``,
    ``bias[k] += lr * err``. ``y`` holds 0/1 labels, ``[N]`` or ``[N, 1]`` for
    K = 1, ``[N, K]`` for K outputs (one-vs-rest). ``sample_weight [N]`` scales
    each sample's step. ``zero_is_mistake`` counts ``z == 0`` as a mistake for
    either label (scikit-learn's ``y * z <= 0`` with y in {-1, +1}).
    ``bias_step`` scales the bias's step, ``bias[k] += (lr * err) * bias_step``
    (every update op takes it): 1 is the rule above, 0 leaves ``bias`` as it is
    (scikit-learn's ``fit_intercept=False``), scikit-learn damps it by 0.01 on
    sparse input. It must be finite.

    ``loss`` (float64 ``[K]``, on weight's device; every online op takes it)
    gains each output's perceptron loss over the samples, scikit-learn's
    ``sum max(0, -(2 y - 1) * z)`` with ``z`` taken before the sample's step:
    ``|z|`` at a mistake, 0 otherwise, unweighted by ``sample_weight``, added
    in sample order in float64. What it holds is the start of the sum, so the
    calls over an epoch's chunks add up to the epoch's loss, bit for bit as one
    call. None: not computed.

    ``order`` (int64, on weight's device; every online op takes it) is the
    sequence of samples the call visits, each an index into the rows of
    ``x``, ``y`` and ``sample_weight`` (all three read through it, so they
    stay in the data's order): ``[M]`` for one order that every output
    follows, ``[K, M]`` for one per output (output k visits
    ``order[k, 0], order[k, 1], ...``). The call is the call with
    ``x[order]``, ``y[order]``, ``sample_weight[order]`` (per output for
    ``[K, M]``), bit for bit, without gathering them: mistakes and ``loss``
    count the M visits. Every entry must lie in ``[0, N)``; that is checked
    before any write. None: the rows in order, once each.

    Returns the mistakes per output, int64 ``[K]``.
    """
    return _ops.online_update.default(
        weight, bias, x, y, lr, sample_weight, zero_is_mistake, bias_step, loss, order
    )


def multiclass_update(
    weight: Tensor,
    bias: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    *,
    sample_weight: Optional[Tensor] = None,
    bias_step: float = 1.0,
) -> Tensor:
    """The multiclass perceptron rule, in place, one sample after the other.

    ``yhat = argmax_k z_k`` (the lowest index wins a tie); on a mistake
    ``weight[y] += lr * x``, ``bias[y] += lr``, ``weight[yhat] -= lr * x``,
    ``bias[yhat] -= lr`` (the bias's step scaled by ``bias_step``, as in
    :func:`online_update`). ``y`` holds class indices ``[N]`` in ``[0, K)``.

    Returns the number of mistakes, int64 ``[1]``.
    """
    return _ops.multiclass_update.default(weight, bias, x, y, lr, sample_weight, bias_step)


def batch_update(
    weight: Tensor,
    bias: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    *,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    bias_step: float = 1.0,
) -> Tensor:
    """The mini-batch rule, in place: the errors of the whole batch under the
    current weights, then one step ``weight += lr * err.T @ x``,
    ``bias += (lr * err.sum(0)) * bias_step``. Labels and ``bias_step`` as in
    :func:`online_update`.

    Returns the mistakes per output, int64 ``[K]``.
    """
    return _ops.batch_update.default(
        weight, bias, x, y, lr, sample_weight, zero_is_mistake, bias_step
    )


def _check_devices(weight: Tensor, **tensors: Optional[Tensor]) -> None:
    """Every tensor on weight's device. The compiled kernels check this too,
    but a call with a ``meta`` tensor among CPU or CUDA ones dispatches here
    (Meta outranks both), where an unchecked call would hand back an
    uninitialised result and leave the weights alone without a word."""
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


@torch.library.register_fake("torch_perceptron::decision_function")
def _decision_function_fake(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    _check_shapes(x, weight, bias)
    _check_devices(weight, bias=bias, x=x)
    return x.new_empty((x.shape[0], weight.shape[0]))


@torch.library.register_fake("torch_perceptron::predict")
def _predict_fake(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    _check_shapes(x, weight, bias)
    _check_devices(weight, bias=bias, x=x)
    return x.new_empty((x.shape[0], weight.shape[0]))


def _check_loss(weight: Tensor, loss: Optional[Tensor]) -> None:
    """The online ops' optional loss sums: float64 [K] (device: _check_devices)."""
    if loss is not None:
        torch._check(
            loss.shape == (weight.shape[0],),
            lambda: f"loss: expected shape [{weight.shape[0]}], got {list(loss.shape)}",
        )
        torch._check(
            loss.dtype == torch.float64, lambda: f"loss: expected float64, got {loss.dtype}"
        )


def _mistakes_fake(weight, bias, x, y, lr=1.0, sample_weight=None, zero_is_mistake=False,
                   bias_step=1.0):
    _check_shapes(x, weight, bias)
    _check_devices(weight, bias=bias, x=x, y=y, sample_weight=sample_weight)
    return weight.new_empty((weight.shape[0],), dtype=torch.int64)


def _check_order(weight: Tensor, order: Optional[Tensor]) -> None:
    """The online ops' optional sample order: int64 [M] or [K, M] (device:
    _check_devices; its values, which a fake cannot see, the kernels check)."""
    if order is not None:
        k = weight.shape[0]
        torch._check(
            order.dim() == 1 or (order.dim() == 2 and order.shape[0] == k),
            lambda: f"order: expected shape [M] or [{k}, M], got {list(order.shape)}",
        )
        torch._check(
            order.dtype == torch.int64, lambda: f"order: expected int64, got {order.dtype}"
        )


def _online_fake(weight, bias, x, y, lr=1.0, sample_weight=None, zero_is_mistake=False,
                 bias_step=1.0, loss=None, order=None):
    mistakes = _mistakes_fake(weight, bias, x, y, lr, sample_weight, zero_is_mistake, bias_step)
    _check_loss(weight, loss)
    _check_order(weight, order)
    _check_devices(weight, loss=loss, order=order)
    return mistakes


def _multiclass_fake(weight, bias, x, y, lr=1.0, sample_weight=None, bias_step=1.0):
    _check_shapes(x, weight, bias)
    _check_devices(weight, bias=bias, x=x, y=y, sample_weight=sample_weight)
    return weight.new_empty((1,), dtype=torch.int64)


torch.library.register_fake("torch_perceptron::online_update")(_online_fake)
torch.library.register_fake("torch_perceptron::batch_update")(_mistakes_fake)
torch.library.register_fake("torch_perceptron::multiclass_update")(_multiclass_fake)


# --- Averaged and pocket perceptrons -----------------------------------------


def online_update_averaged(
    weight: Tensor,
    bias: Tensor,
    weight_acc: Tensor,
    bias_acc: Tensor,
    count: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    *,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    bias_step: float = 1.0,
    loss: Optional[Tensor] = None,
    order: Optional[Tensor] = None,
) -> Tensor:
    """:func:`online_update` that also keeps the running average of the weights
    (the averaged perceptron, Freund & Schapire 1999), in place.

    ``weight_acc [K, in]`` and ``bias_acc [K]`` (weight's dtype and device) gain
    ``c * step * x`` and ``c * step`` on a mistake of output k at its sample
    number ``c + 1``, and nothing on a correct prediction; ``count`` (int64
    ``[K]``) is the number of samples each output has seen, and grows by N
    (by M, the visits, with ``order``: c counts visits).
    Start them at zero together with the weights; then
    :func:`averaged_parameters` gives the mean of the weights after each sample
    seen, over every call since. ``bias_acc`` follows the bias's own step
    (scaled by ``bias_step``; ``bias_step=0`` leaves ``bias`` and ``bias_acc``
    as they are). Arguments otherwise as in :func:`online_update`, ``loss``
    the sums of the weights the rule runs on (not the average's).

    Returns the mistakes per output, int64 ``[K]``.
    """
    return _ops.online_update_averaged.default(
        weight, bias, weight_acc, bias_acc, count, x, y, lr, sample_weight, zero_is_mistake,
        bias_step, loss, order,
    )


def multiclass_update_averaged(
    weight: Tensor,
    bias: Tensor,
    weight_acc: Tensor,
    bias_acc: Tensor,
    count: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    *,
    sample_weight: Optional[Tensor] = None,
    bias_step: float = 1.0,
) -> Tensor:
    """:func:`multiclass_update` that also keeps the running average of the
    weights, as :func:`online_update_averaged` does; ``count`` is int64 ``[1]``.

    Returns the number of mistakes, int64 ``[1]``.
    """
    return _ops.multiclass_update_averaged.default(
        weight, bias, weight_acc, bias_acc, count, x, y, lr, sample_weight, bias_step
    )


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


def online_update_pocket(
    weight: Tensor,
    bias: Tensor,
    pocket_weight: Tensor,
    pocket_bias: Tensor,
    run: Tensor,
    best_run: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    *,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    bias_step: float = 1.0,
    loss: Optional[Tensor] = None,
    order: Optional[Tensor] = None,
) -> Tensor:
    """:func:`online_update` that also keeps, per output, the pocket (Gallant
    1990): the weights that made the longest run of consecutive correct
    predictions, in place.

    ``pocket_weight [K, in]`` and ``pocket_bias [K]`` (weight's dtype and
    device) hold those weights; ``run`` and ``best_run`` (int64 ``[K]``) the
    length of the current run and of the record. A run that beats the record
    (strictly) puts its weights in the pocket. All of them persist across calls:
    start with the pocket equal to the weights and both counters at zero.
    ``sample_weight`` scales the steps only; a run counts samples.
    ``bias_step``, ``loss`` (of the weights the rule runs on, not the
    pocket's) and ``order`` (a run counts visits) as in :func:`online_update`.

    Returns the mistakes per output, int64 ``[K]``.
    """
    return _ops.online_update_pocket.default(
        weight, bias, pocket_weight, pocket_bias, run, best_run, x, y, lr,
        sample_weight, zero_is_mistake, bias_step, loss, order,
    )


def multiclass_update_pocket(
    weight: Tensor,
    bias: Tensor,
    pocket_weight: Tensor,
    pocket_bias: Tensor,
    run: Tensor,
    best_run: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    *,
    sample_weight: Optional[Tensor] = None,
    bias_step: float = 1.0,
) -> Tensor:
    """:func:`multiclass_update` that also keeps the pocket of the whole model
    (all K rows), as :func:`online_update_pocket` does; ``run`` and
    ``best_run`` are int64 ``[1]``.

    Returns the number of mistakes, int64 ``[1]``.
    """
    return _ops.multiclass_update_pocket.default(
        weight, bias, pocket_weight, pocket_bias, run, best_run, x, y, lr, sample_weight,
        bias_step,
    )


def _averaged_fake(weight, bias, weight_acc, bias_acc, count, x, y, lr=1.0,
                   sample_weight=None, zero_is_mistake=False, bias_step=1.0, loss=None,
                   order=None):
    _check_shapes(x, weight, bias)
    _check_loss(weight, loss)
    _check_order(weight, order)
    torch._check(weight_acc.shape == weight.shape, lambda: "weight_acc: expected weight's shape")
    torch._check(bias_acc.shape == bias.shape, lambda: "bias_acc: expected bias's shape")
    _check_devices(weight, bias=bias, weight_acc=weight_acc, bias_acc=bias_acc, count=count, x=x,
                   y=y, sample_weight=sample_weight, loss=loss, order=order)
    return weight.new_empty((weight.shape[0],), dtype=torch.int64)


def _multiclass_averaged_fake(weight, bias, weight_acc, bias_acc, count, x, y, lr=1.0,
                              sample_weight=None, bias_step=1.0):
    _averaged_fake(weight, bias, weight_acc, bias_acc, count, x, y, sample_weight=sample_weight)
    return weight.new_empty((1,), dtype=torch.int64)


def _pocket_fake(weight, bias, pocket_weight, pocket_bias, run, best_run, x, y, lr=1.0,
                 sample_weight=None, zero_is_mistake=False, bias_step=1.0, loss=None,
                 order=None):
    _check_shapes(x, weight, bias)
    _check_loss(weight, loss)
    _check_order(weight, order)
    torch._check(
        pocket_weight.shape == weight.shape, lambda: "pocket_weight: expected weight's shape"
    )
    torch._check(pocket_bias.shape == bias.shape, lambda: "pocket_bias: expected bias's shape")
    _check_devices(weight, bias=bias, pocket_weight=pocket_weight, pocket_bias=pocket_bias, run=run,
                   best_run=best_run, x=x, y=y, sample_weight=sample_weight, loss=loss,
                   order=order)
    return weight.new_empty((weight.shape[0],), dtype=torch.int64)


def _multiclass_pocket_fake(weight, bias, pocket_weight, pocket_bias, run, best_run, x, y,
                            lr=1.0, sample_weight=None, bias_step=1.0):
    _pocket_fake(weight, bias, pocket_weight, pocket_bias, run, best_run, x, y,
                 sample_weight=sample_weight)
    return weight.new_empty((1,), dtype=torch.int64)


torch.library.register_fake("torch_perceptron::online_update_averaged")(_averaged_fake)
torch.library.register_fake("torch_perceptron::multiclass_update_averaged")(
    _multiclass_averaged_fake
)
torch.library.register_fake("torch_perceptron::online_update_pocket")(_pocket_fake)
torch.library.register_fake("torch_perceptron::multiclass_update_pocket")(
    _multiclass_pocket_fake
)


from .csr_ops import (  # noqa: E402  (the sparse forms; they register their fakes)
    batch_update_csr,
    decision_function_csr,
    multiclass_update_averaged_csr,
    multiclass_update_csr,
    multiclass_update_pocket_csr,
    online_update_averaged_csr,
    online_update_csr,
    online_update_pocket_csr,
    predict_csr,
)
from .penalized_ops import (  # noqa: E402  (scikit-learn's penalties; they register their fakes)
    fold_penalty_scale_,
    online_update_penalized,
    online_update_penalized_csr,
    penalty_state,
)
