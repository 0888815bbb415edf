"""What :class:`~torch_perceptron.layer.PerceptronLayer`'s entry points take,
checked in one place, before the layer's own code runs.

Two decorators, one for the calls that read the weights (``forward``,
``decision_function``) and one for those that change them (``update``,
``update_traced``). They

* take numpy arrays as tensors (``torch.as_tensor``: no copy on the CPU) on
  the weights' device, and refuse anything else that is not a tensor or a
  sparse matrix in one line saying what to pass;
* hold dense and sparse ``x`` to one dtype rule: its values already in the
  weights' dtype (a cast would be a hidden copy of ``x`` on every call and,
  float64 into float32, a hidden loss of precision, so it is the caller's, once);
* give ``update`` a 1-D ``x`` as ``forward`` takes it (one sample);
* name the offending value in the ops' label errors, and leave the update's
  "the weights were left unchanged" out of a forward's errors.

The ops check every label in the pass that reads it; the value is looked up
only once a call has failed, so a call that succeeds pays nothing for it.
"""

import functools
import numbers
import re
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import Tensor

from .sparse import is_sparse

_NUMPY_DTYPES = {torch.float32: np.dtype(np.float32), torch.float64: np.dtype(np.float64)}
# The ops' label errors ("found other values" / "found values outside it"),
# to which the value found is added.
_BINARY_LABELS = "y: expected binary labels with values 0 or 1, found other values"
_CLASS_LABELS = re.compile(r"(y: expected class indices in \[0, \d+\)[^,]*), found values outside it")
# The ops share their row checks between forward and update; only an update
# has weights to leave unchanged.
_UPDATE_CLAUSE = re.compile(r";? the weights were left unchanged")


def check_x(layer: Any, x: Any) -> Any:
    """``x`` as the layer's code takes it: a sparse input as given, a dense
    one as a tensor on the weights' device; either in the weights' dtype."""
    weight = layer.weight
    if is_sparse(x):
        _check_dtype(x.dtype, weight.dtype, numpy=not isinstance(x.dtype, torch.dtype))
        return x
    if isinstance(x, np.ndarray):
        _check_dtype(x.dtype, weight.dtype, numpy=True)
        return torch.as_tensor(x, device=weight.device)
    if not isinstance(x, Tensor):
        raise TypeError(
            f"x: expected a torch.Tensor, a numpy array or a sparse matrix [N, "
            f"{layer.in_features}], got {type(x).__name__}; make one with "
            "torch.as_tensor(x, dtype=layer.weight.dtype)"
        )
    _check_dtype(x.dtype, weight.dtype, numpy=False)
    return x


def as_tensor_arg(value: Any, name: str, device: torch.device) -> Optional[Tensor]:
    """``y`` or ``sample_weight``: a tensor as given, a numpy array or a
    number (one sample's) as a tensor on ``device``, None as None; anything
    else refused."""
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic, numbers.Number)):
        return torch.as_tensor(value, device=device)
    raise TypeError(
        f"{name}: expected a torch.Tensor, a numpy array or a number, got "
        f"{type(value).__name__}; "
        f"make one with torch.as_tensor({name})"
    )


def _check_dtype(got: Any, want: torch.dtype, *, numpy: bool) -> None:
    if numpy:
        if np.dtype(got) == _NUMPY_DTYPES[want]:
            return
        got_name, fix = f"numpy.{np.dtype(got).name}", f"x.astype(numpy.{_NUMPY_DTYPES[want].name})"
    else:
        if got == want:
            return
        got_name, fix = str(got), "x.to(layer.weight.dtype)"
    raise TypeError(f"x: expected dtype {want} (the layer's weight.dtype), got {got_name}; convert it once with {fix}")


def reads_weights(method: Callable) -> Callable:
    """For ``forward`` and ``decision_function``: ``x`` checked by
    :func:`check_x`, and errors that speak of a forward."""

    @functools.wraps(method)
    def call(self, x):
        x = check_x(self, x)
        try:
            return method(self, x)
        except ValueError as err:
            text = str(err)
            if _UPDATE_CLAUSE.search(text) is None:
                raise
            raise ValueError(_UPDATE_CLAUSE.sub("", text)) from None

    return call


def changes_weights(method: Callable) -> Callable:
    """For ``update`` and ``update_traced``: ``x`` checked by :func:`check_x`,
    ``y`` and ``sample_weight`` made tensors, a 1-D ``x`` taken as one
    sample, and label errors that name the value found."""

    @functools.wraps(method)
    def call(self, x, y, *args: Any, sample_weight: Any = None, **kwargs: Any):
        x = check_x(self, x)
        device = self.weight.device
        y = as_tensor_arg(y, "y", device)
        sample_weight = as_tensor_arg(sample_weight, "sample_weight", device)
        if isinstance(x, Tensor) and x.dim() == 1:
            # One sample, as forward takes it: its label a scalar (or [1]),
            # or [out_features] 0/1 labels for one-vs-rest.
            x = x.unsqueeze(0)
            y = y.reshape(1) if self.multiclass else y.reshape(1, -1)
            if sample_weight is not None:
                sample_weight = sample_weight.reshape(1)
        try:
            return method(self, x, y, *args, sample_weight=sample_weight, **kwargs)
        except ValueError as err:
            named = _name_label(str(err), y, self.out_features)
            if named is None:
                raise
            raise ValueError(named) from None

    return call


def _name_label(text: str, y: Tensor, k: int) -> Optional[str]:
    """The ops' label error with the first offending value and its place, or
    None for any other error."""
    if text.startswith(_BINARY_LABELS):
        bad = (y != 0) & (y != 1)
        head = _BINARY_LABELS[: -len("other values")]
    else:
        match = _CLASS_LABELS.match(text)
        if match is None:
            return None
        bad = (y < 0) | (y >= k)
        head = match.group(1) + ", found "
    where = torch.nonzero(bad)
    if len(where) == 0:  # not this y's values after all: leave the message be
        return None
    at = where[0].tolist()
    value = y[tuple(at)].item()
    return f"{head}{value!r} at y[{', '.join(map(str, at))}]"
