"""Rosenblatt's perceptron as a compiled PyTorch custom op.

``torch.ops.torch_perceptron`` holds the ops (see :mod:`torch_perceptron.ops`);
:class:`PerceptronLayer` is the nn.Module over them. The Lightning module lives in
:mod:`torch_perceptron.lightning`, imported on its own so that importing this
package does not import Lightning.
"""

from ._extension import load as _load

_load()

from . import ops, reference  # noqa: E402
from .layer import PerceptronLayer  # noqa: E402

__all__ = ["PerceptronLayer", "ops", "reference"]
__version__ = "0.1.0"
