"""The compiled ops, one typed wrapper each, and the entries over them.

The ops live under ``torch.ops.torch_perceptron``; :data:`OPS` lists them and
:data:`~torch_perceptron.ops.table.TABLE` describes them (rule, variant,
format, arguments, the tensors they write). The package in layers, each
importing only those below it:

- :mod:`~torch_perceptron.ops.checks`: what a fake kernel checks;
- :mod:`~torch_perceptron.ops.state`: the variants' state types and helpers;
- :mod:`~torch_perceptron.ops.table`: the op table and registration;
- :mod:`~torch_perceptron.ops.dense`, :mod:`~torch_perceptron.ops.csr`,
  :mod:`~torch_perceptron.ops.penalized`: the ops, declared with their docs;
- :mod:`~torch_perceptron.ops.entry`: :func:`update` and :func:`forward`,
  which pick the op.
"""

from typing import Tuple

# Declaring the ops, in schema order: dense, CSR, penalized.
from . import (
    csr,  # noqa: F401
    dense,  # noqa: F401,I001
    penalized,  # noqa: F401
)
from .entry import forward, update
from .state import (
    L1_NORM,
    SQ_NORM,
    WSCALE,
    Averaged,
    Penalized,
    Pocket,
    U,
    averaged_parameters,
    fold_penalty_scale_,
    penalty_l1_ratio,
    penalty_state,
)
from .table import TABLE, Op, fresh_state

#: Every op of the library, in schema order: the one list that registration,
#: the tests, opcheck and the CI build check enumerate.
OPS: Tuple[str, ...] = tuple(op.name for op in TABLE)
# Each op's wrapper, as torch_perceptron.ops.<name>.
globals().update({op.name: op.wrapper for op in TABLE})

__all__ = [
    *OPS,
    "OPS",
    "TABLE",
    "Op",
    "update",
    "forward",
    "fresh_state",
    "Averaged",
    "Pocket",
    "Penalized",
    "averaged_parameters",
    "penalty_state",
    "fold_penalty_scale_",
    "penalty_l1_ratio",
    "WSCALE",
    "U",
    "SQ_NORM",
    "L1_NORM",
]
