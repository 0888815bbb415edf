"""The op table: one entry per compiled op, read from its schema.

:func:`declare` is how an op enters the library's Python side: it reads the
op's schema under ``torch.ops.torch_perceptron`` (argument names, defaults,
which tensors it writes), registers what the stable ABI cannot register from
C++ (the Autograd fallthrough, the fake kernel, and in a CPU-only build a CUDA
kernel that says how to get CUDA support), appends an :class:`Op` to
:data:`TABLE`, and returns the typed wrapper. Everything that enumerates the
ops (``ops.OPS``, the opcheck lists, :func:`fresh_state`, the dispatch of
:func:`torch_perceptron.ops.update`) reads :data:`TABLE`.

An op's name says what it is: ``<rule>_update[_<variant>][_csr]`` for the
update ops (rule online, multiclass or batch; variant averaged, pocket or
penalized), the forward ops' own names otherwise; ``_csr``: ``x`` as the three
tensors of a CSR matrix and its feature count.
"""

import inspect
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from .. import _build_info
from .checks import make_fake
from .state import VARIANTS, fresh

_ops = torch.ops.torch_perceptron

# The arguments an update op writes that are not the variant's state.
_WRITTEN_NOT_STATE = ("weight", "bias", "loss", "objective")
_ANNOTATIONS = {
    "Tensor": Tensor,
    "Optional[Tensor]": Optional[Tensor],
    "float": float,
    "bool": bool,
    "SymInt": int,
    "int": int,
}


@dataclass(frozen=True)
class Op:
    """One compiled op as the Python side sees it."""

    name: str
    #: "decision_function" or "predict" (forward ops), else the update's rule:
    #: "online", "multiclass" or "batch".
    rule: str
    #: None, or a key of :data:`~torch_perceptron.ops.state.VARIANTS`.
    variant: Optional[str]
    #: "dense" or "csr".
    format: str
    #: Its arguments' names, in schema order, and those it writes.
    args: Tuple[str, ...]
    mutated: Tuple[str, ...]
    #: The names of the variant's state among ``args`` (empty for none).
    state: Tuple[str, ...]
    overload: Callable
    wrapper: Callable

    @property
    def is_update(self) -> bool:
        return self.rule in ("online", "multiclass", "batch")

    @property
    def online(self) -> bool:
        """Whether it takes ``loss`` and ``order`` (every online rule does)."""
        return "order" in self.args


#: Every op, in the order they are declared (the schemas' order).
TABLE: List[Op] = []
# The same ops by (rule, variant, format): what update and forward look up.
_BY_KEY: Dict[Tuple[str, Optional[str], str], Op] = {}


def _parse(name: str) -> Tuple[str, Optional[str], str]:
    fmt = "csr" if name.endswith("_csr") else "dense"
    base = name.removesuffix("_csr")
    rule, update, variant = base.partition("_update")
    if not update:
        return base, None, fmt
    return rule, variant.lstrip("_") or None, fmt


def _not_built_with_cuda(name: str):
    def kernel(*args, **kwargs):
        raise RuntimeError(
            f"torch_perceptron::{name}: got CUDA tensors, but torch_perceptron was built "
            "without CUDA support. Rebuild it where the CUDA toolkit and a CUDA build of "
            "torch are present: TORCH_PERCEPTRON_CUDA=1 pip install --no-build-isolation -e ."
        )

    return kernel


def _type_name(arg) -> str:
    text = str(arg.type)
    return f"Optional[{text[:-1]}]" if text.endswith("?") else text


def _wrapper(name: str, overload, schema, doc: str) -> Callable:
    """The typed Python function of an op: its schema's arguments, those past
    ``lr`` keyword-only (all positional for the forward ops)."""
    names = [a.name for a in schema.arguments]
    positional = names.index("lr") + 1 if "lr" in names else len(names)

    def call(*args, **kwargs):
        if len(args) > positional:
            raise TypeError(f"{name}() takes at most {positional} positional arguments ({len(args)} given)")
        return overload(*args, **kwargs)

    params = []
    for i, a in enumerate(schema.arguments):
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD if i < positional else inspect.Parameter.KEYWORD_ONLY
        default = a.default_value if a.has_default_value() else inspect.Parameter.empty
        params.append(
            inspect.Parameter(a.name, kind, default=default, annotation=_ANNOTATIONS.get(_type_name(a), Tensor))
        )
    call.__signature__ = inspect.Signature(params, return_annotation=Tensor)
    call.__name__ = call.__qualname__ = name
    call.__module__ = "torch_perceptron.ops"
    call.__doc__ = doc
    return call


_lib = torch.library.Library("torch_perceptron", "IMPL")


def declare(name: str, doc: str) -> Callable:
    """Enters the compiled op ``name`` into :data:`TABLE` (see the module
    docstring) and returns its wrapper, documented by ``doc``."""
    overload = getattr(_ops, name).default
    schema = overload._schema
    args = tuple(a.name for a in schema.arguments)
    tensors = tuple(a.name for a in schema.arguments if "Tensor" in str(a.type))
    mutated = tuple(a.name for a in schema.arguments if a.alias_info is not None and a.alias_info.is_write)
    rule, variant, fmt = _parse(name)
    state = tuple(n for n in mutated if n not in _WRITTEN_NOT_STATE)
    if state != (VARIANTS[variant]._fields if variant else ()):
        raise RuntimeError(f"{name}: its schema's state {state} is not the variant's")
    op = Op(name, rule, variant, fmt, args, mutated, state, overload, _wrapper(name, overload, schema, doc))
    # The ops record no graph by design: a fallthrough sends a call straight
    # to the device kernel, which runs with grad mode off, at no Python cost.
    _lib.impl(name, torch.library.fallthrough_kernel, "Autograd")
    if not _build_info.WITH_CUDA:
        _lib.impl(name, _not_built_with_cuda(name), "CUDA")
    torch.library.register_fake(f"torch_perceptron::{name}")(
        make_fake(args, tensors, forward=not op.is_update, multiclass=rule == "multiclass")
    )
    TABLE.append(op)
    _BY_KEY[(rule, variant, fmt)] = op
    return op.wrapper


def find(rule: str, variant: Optional[str] = None, fmt: str = "dense") -> Op:
    """The op of ``rule`` for ``variant`` on ``fmt`` input; ValueError if
    there is none (a batch rule with a variant, say)."""
    op = _BY_KEY.get((rule, variant, fmt))
    if op is not None:
        return op
    kind = f"the {variant} perceptron" if variant else "the plain perceptron"
    raise ValueError(f"rule: {kind} has no {rule!r} rule on {fmt} x")


def op_named(name: str) -> Op:
    for op in TABLE:
        if op.name == name:
            return op
    raise KeyError(name)


def fresh_state(name: str, weight: Tensor, bias: Tensor) -> tuple:
    """The state op ``name`` carries beside the weights, fresh (zero sums,
    the pocket holding the weights, scikit-learn's penalty state), as the
    variant's type; ``()`` for an op without one."""
    op = op_named(name)
    if op.variant is None:
        return ()
    counters = 1 if op.rule == "multiclass" else weight.shape[0]
    return fresh(op.variant, weight, bias, counters)
