"""The rules written plainly, one sample and one output at a time.

These are the oracle the compiled kernels are tested against: slow, obvious, and
rounded the way the textbook writes the rule (the step ``lr * err`` first, then
``w + step * x`` as a product and a sum). They work on copies and return the new
weights, bias and mistakes.

Each rule is one loop over *rows* (:mod:`.rows`), as the kernels are: a row
only answers its dot product with a weight row and ``w + step * x``. So the
sparse form of every rule (``*_csr``, taking anything
:func:`torch_perceptron.sparse.as_csr` takes) is the dense rule itself, and on
data where every sum is exact the two give the same bits. The averaged and
pocket variants and the visiting order are written once over any rule
(:mod:`.rules`); scikit-learn's penalties are their own walk (:mod:`.penalized`).

``bias_step`` scales the bias's step (``b += step * bias_step``, the product
rounded in the weights' dtype): 1 is the textbook rule, 0 leaves the bias alone
(its bits untouched: scikit-learn's ``fit_intercept=False``), and
scikit-learn's SGD damps it by :data:`SPARSE_INTERCEPT_DECAY` on sparse input,
computing ``intercept += update * decay`` as here.

The online rules also sum, when given ``loss`` (float64 ``[K]``, the start of
each output's sum), scikit-learn's perceptron loss :func:`perceptron_loss` of
every sample before its step, and then return the new sums last.

They take ``order`` (int64 ``[M]``, or ``[K, M]`` for one per output) too:
the rows of ``x``, ``y`` and ``sample_weight`` visited in turn. Here that is
what it means, literally: the rule on the gathered rows ``x[order]``, output
by output for ``[K, M]`` (:func:`.rules.ordered`).
"""

import inspect
from typing import Any, Callable, Dict, Sequence, Tuple

import torch
from torch import Tensor

from . import penalized as _penalized
from . import rules as _rules
from .rows import CSRRow, DenseRow, Row, rows_of
from .rules import Result, perceptron_loss

# scikit-learn's factor on the intercept step when X is sparse
# (sklearn.linear_model._base.SPARSE_INTERCEPT_DECAY).
SPARSE_INTERCEPT_DECAY = 0.01

# Each rule's arguments after ``x, y`` (name, default), in the ops' order.
_OPTIONS = {
    "online": (
        ("lr", 1.0),
        ("sample_weight", None),
        ("zero_is_mistake", False),
        ("bias_step", 1.0),
        ("loss", None),
        ("order", None),
    ),
    "multiclass": (("lr", 1.0), ("sample_weight", None), ("bias_step", 1.0)),
    "batch": (("lr", 1.0), ("sample_weight", None), ("zero_is_mistake", False), ("bias_step", 1.0)),
    "penalized": (
        ("lr", 1.0),
        ("alpha", 0.0001),
        ("l1_ratio", 0.15),
        ("sample_weight", None),
        ("zero_is_mistake", False),
        ("bias_step", 1.0),
        ("loss", None),
        ("objective", None),
        ("order", None),
    ),
}
_REQUIRED = object()  # an argument without a default
# Each variant's state after ``weight, bias``.
_STATE = {
    None: (),
    "averaged": ("weight_sum", "bias_sum", "count"),
    "pocket": ("pocket_weight", "pocket_bias", "run", "best_run"),
    "penalized": ("state", "q"),
}


def _function(name: str, args: Sequence[Tuple[str, Any]], run: Callable[[Dict], Any], doc: str) -> Callable:
    """A public function ``name(*args)`` (each positional or keyword, with
    its default) whose body is ``run(arguments by name)``."""
    sig = inspect.Signature(
        [
            inspect.Parameter(
                n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=inspect.Parameter.empty if d is _REQUIRED else d
            )
            for n, d in args
        ]
    )

    def function(*a, **kw):
        bound = sig.bind(*a, **kw)
        bound.apply_defaults()
        return run(bound.arguments)

    function.__signature__ = sig
    function.__name__ = function.__qualname__ = name
    function.__module__ = __name__
    function.__doc__ = doc
    return function


def _loop(rule: str, a: Dict) -> Callable:
    """``rule``'s loop with ``a``'s options: ``f(w, b, rows, y, sw, loss)``."""
    lr, bias_step = a["lr"], a["bias_step"]
    if rule == "online":
        return lambda w, b, rows, y, sw, loss: _rules.online(
            w, b, rows, y, lr, sw, a["zero_is_mistake"], bias_step, loss
        )
    if rule == "multiclass":
        return lambda w, b, rows, y, sw, loss: _rules.multiclass(w, b, rows, y, lr, sw, bias_step)
    return lambda w, b, rows, y, sw, loss: _rules.batch(w, b, rows, y, lr, sw, a["zero_is_mistake"], bias_step)


def _with_variant(rule: str, variant, loop: Callable) -> Callable:
    """``loop`` with the variant's state kept sample by sample:
    ``f(w, b, *state, rows, y, sw, loss)``."""
    if variant is None:
        return loop

    def fn(w, b, *args):
        *state, rows, y, sw, loss = args
        if rule == "multiclass":
            # One count, one run: the whole model's.
            per_output, k = False, 1
        else:
            per_output, k = True, w.shape[0]
            y = y.reshape(len(rows), k)
        if variant == "averaged":
            return _rules.averaged(loop, w, b, *state, rows, y, sw, k, loss)
        return _rules.pocket(loop, w, b, *state, rows, y, sw, per_output, loss)

    return fn


def _run(rule: str, variant, csr: bool) -> Callable[[Dict], Any]:
    """The body of ``rule`` for ``variant`` on dense or CSR ``x``."""

    def run(a: Dict):
        state = [a[n] for n in ("weight", "bias") + _STATE[variant]]
        rows = rows_of(a["x"], a["weight"], csr)
        fn = _with_variant(rule, variant, _loop(rule, a))
        if a.get("order") is not None:
            return _rules.ordered(fn, state, rows, a["y"], a["sample_weight"], a.get("loss"), a["order"])
        return fn(*state, rows, a["y"], a["sample_weight"], a.get("loss"))

    return run


def _pair(name: str, rule: str, variant, doc: str) -> Tuple[Callable, Callable]:
    """``name`` on dense ``x`` and its ``*_csr`` form."""
    args = [(n, _REQUIRED) for n in ("weight", "bias") + _STATE[variant] + ("x", "y")]
    args += _OPTIONS["penalized" if variant == "penalized" else rule]
    if variant == "penalized":

        def body(csr):
            return lambda a: _penalized.penalized(
                a["weight"],
                a["bias"],
                a["state"],
                a["q"],
                _penalized.entries(a["x"], a["weight"], csr),
                a["y"],
                a["lr"],
                a["alpha"],
                a["l1_ratio"],
                a["sample_weight"],
                a["zero_is_mistake"],
                a["bias_step"],
                a["loss"],
                a["objective"],
                a["order"],
            )
    else:

        def body(csr):
            return _run(rule, variant, csr)

    csr_doc = f":func:`{name}` over the rows of a sparse ``x`` (``order``: visit i reads row ``order[i]``)."
    return (_function(name, args, body(False), doc), _function(name + "_csr", args, body(True), csr_doc))


online_update, online_update_csr = _pair(
    "online_update",
    "online",
    None,
    """\
The seed's rule: for each sample, for each output on its own,
``yhat = [z > 0]``, ``err = y - yhat``, ``w += lr*err*x``, ``b += lr*err``.
Returns ``(w, b, mistakes)``, and the loss sums last when ``loss`` is
given (see the module docstring).""",
)

multiclass_update, multiclass_update_csr = _pair(
    "multiclass_update",
    "multiclass",
    None,
    """\
The multiclass rule: ``yhat = argmax z`` (lowest index on a tie); on a
mistake the true class's row gains ``lr*x`` and the predicted one loses it.""",
)

batch_update, batch_update_csr = _pair(
    "batch_update",
    "batch",
    None,
    """\
The mini-batch rule: all errors under the current weights, then one step
of their sum.""",
)

online_update_averaged, online_update_averaged_csr = _pair(
    "online_update_averaged",
    "online",
    "averaged",
    """\
The averaged perceptron written literally: after every sample, add each
output's weights to ``weight_sum`` / ``bias_sum`` and count the sample.
The average is ``weight_sum / count``.

Returns ``(w, b, weight_sum, bias_sum, count, mistakes)``, all new tensors
(the kernels keep a different accumulator; see ops.averaged_parameters),
and the loss sums last when ``loss`` is given.""",
)

multiclass_update_averaged, multiclass_update_averaged_csr = _pair(
    "multiclass_update_averaged",
    "multiclass",
    "averaged",
    """\
The averaged multiclass perceptron written literally; as the online
averaged rule, ``count`` of shape ``[1]``.""",
)

online_update_pocket, online_update_pocket_csr = _pair(
    "online_update_pocket",
    "online",
    "pocket",
    """\
The pocket perceptron written literally, per output: after each correct
prediction the run grows, and whenever it is longer than the record the
current weights go into the pocket; a mistake ends the run.

Returns ``(w, b, pocket_weight, pocket_bias, run, best_run, mistakes)``,
and the loss sums last when ``loss`` is given.""",
)

multiclass_update_pocket, multiclass_update_pocket_csr = _pair(
    "multiclass_update_pocket",
    "multiclass",
    "pocket",
    """\
The pocket multiclass perceptron written literally (one run for the
whole model); as the online pocket rule, counters of shape ``[1]``.""",
)

online_update_penalized, online_update_penalized_csr = _pair(
    "online_update_penalized",
    "online",
    "penalized",
    """\
The penalized rule (scikit-learn's ``_plain_sgd`` with a penalty) on
copies, through ``order`` when given. Returns (weight, bias, state, q,
mistakes, loss, objective); q, loss, objective None when not given.""",
)


def decision_function(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """``z = x . w + b``, ``[N, K]`` in the weights' dtype."""
    return _rules.decision(rows_of(x, weight, False), weight, bias)


def decision_function_csr(x: Any, weight: Tensor, bias: Tensor) -> Tensor:
    """:func:`decision_function` of a sparse ``x``."""
    return _rules.decision(rows_of(x, weight, True), weight, bias)


def predict(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """``[x . w + b > 0]`` as 0/1 in x's dtype, ``[N, K]``."""
    z = torch.stack([(x * weight[o]).sum(1) + bias[o] for o in range(weight.shape[0])], 1)
    return (z > 0).to(x.dtype)


def predict_csr(x: Any, weight: Tensor, bias: Tensor) -> Tensor:
    """``[x . w + b > 0]`` of a sparse ``x`` as 0/1 in the weights' dtype, ``[N, K]``."""
    return (decision_function_csr(x, weight, bias) > 0).to(weight.dtype)


__all__ = [
    "SPARSE_INTERCEPT_DECAY",
    "CSRRow",
    "DenseRow",
    "Result",
    "Row",
    "perceptron_loss",
    "decision_function",
    "decision_function_csr",
    "predict",
    "predict_csr",
    "online_update",
    "online_update_csr",
    "multiclass_update",
    "multiclass_update_csr",
    "batch_update",
    "batch_update_csr",
    "online_update_averaged",
    "online_update_averaged_csr",
    "multiclass_update_averaged",
    "multiclass_update_averaged_csr",
    "online_update_pocket",
    "online_update_pocket_csr",
    "multiclass_update_pocket",
    "multiclass_update_pocket_csr",
    "online_update_penalized",
    "online_update_penalized_csr",
]
