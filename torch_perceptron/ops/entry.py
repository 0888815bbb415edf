"""One entry for every update and one for every forward: the op is picked
from the rule, the variant state's type and ``x``'s format, here and nowhere
else. :class:`~torch_perceptron.PerceptronLayer`, the scikit-learn estimator
and the trace call these, never an op by name."""

from typing import Any, Optional, Union

from torch import Tensor

from ..sparse import CSRRows
from .state import Averaged, Penalized, Pocket
from .table import find

State = Union[Averaged, Pocket, Penalized]
_VARIANT = {Averaged: "averaged", Pocket: "pocket", Penalized: "penalized"}


def _x_args(x: Union[Tensor, CSRRows]):
    if isinstance(x, CSRRows):
        return "csr", (*x.tensors(), x.n_features)
    return "dense", (x,)


def update(
    weight: Tensor,
    bias: Tensor,
    x: Union[Tensor, CSRRows],
    y: Tensor,
    lr: float = 1.0,
    *,
    rule: str = "online",
    state: Optional[State] = None,
    **kwargs: Any,
) -> Tensor:
    """The update op of ``rule`` ("online", "multiclass" or "batch") for the
    variant ``state`` is of (None: the plain perceptron; an
    :class:`~torch_perceptron.ops.Averaged`, :class:`~torch_perceptron.ops.Pocket`
    or :class:`~torch_perceptron.ops.Penalized`), on ``x`` dense (a tensor) or
    CSR (a :class:`~torch_perceptron.sparse.CSRRows`), in place. ``kwargs``
    are the op's own keyword arguments (``sample_weight``, ``bias_step``,
    ``zero_is_mistake``, ``loss``, ``order``, ``alpha``, ...). Returns the
    op's mistakes. ValueError for a rule the variant has not."""
    fmt, xs = _x_args(x)
    variant = None if state is None else _VARIANT[type(state)]
    op = find(rule, variant, fmt)
    return op.overload(weight, bias, *(state or ()), *xs, y, lr, **kwargs)


def forward(x: Union[Tensor, CSRRows], weight: Tensor, bias: Tensor, *, threshold: bool = False) -> Tensor:
    """The net input ``x @ weight.T + bias`` ``[N, K]`` of dense or CSR ``x``,
    or with ``threshold`` the 0/1 predictions ``[z > 0]``."""
    fmt, xs = _x_args(x)
    op = find("predict" if threshold else "decision_function", None, fmt)
    return op.overload(*xs, weight, bias)
