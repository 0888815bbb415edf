"""The weights after every mistake: what watching the rule learn needs.

The update ops report how many mistakes a call made, not where, and their
schemas stay as they are. Stepping the op one sample at a time would give the
trace, but as a Python loop as long as the data, each step a full op call.
Between two mistakes the weights do not move, so the next mistake is among
the samples ahead that the current weights get wrong: a vectorized guess (the
decision values in float64, with a bound on the rounding error of any
summation order) splits them into samples whose decision is certain and the
rest. Certain-correct samples are skipped; the first sample that is wrong or
too close to the threshold to be sure of goes to the op, which decides it and
takes the step. So the Python loop is about as long as the number of
mistakes, every decision that could go either way is the op's own, and the
weights end exactly where one call of the op over all samples leaves them
(checked on every call).

Each mistake still costs a guess and an op call from Python (what that comes
to against one op call per sample: BENCHMARKS.md). Callers only see :class:`MistakeTrace`, so a mistake
mask reported by the op itself (one call over the batch, then the states
rebuilt from the masked steps) could later produce the same trace without
changing them.
"""

from typing import Callable, NamedTuple, Optional

import torch
from torch import Tensor

from . import ops

# Samples the first vectorized look ahead covers; it doubles while the weights
# make no mistake, so a long correct stretch costs a few calls.
_FIRST_WINDOW = 64

Step = Callable[[Tensor, Tensor, Tensor, Tensor, Optional[Tensor]], Tensor]
# (weight, bias, start, end) -> bool [end - start]: the samples of x[start:end]
# that the op must decide (a mistake, or too close to call, under weight, bias).
ToDecide = Callable[[Tensor, Tensor, int, int], Tensor]


class MistakeTrace(NamedTuple):
    """The rule's state after each sample it got wrong, in order.

    ``index``: int64 ``[M]``, the positions in ``x`` of the samples at which at
    least one output made a mistake. ``weight [M, K, in]`` and ``bias [M, K]``:
    the weights and bias right after each of them (a mistake of a sample with
    weight 0 counts, and leaves them as they were). ``mistakes``: what the
    update op returns, int64 ``[K]`` (multiclass: ``[1]``).
    """

    index: Tensor
    weight: Tensor
    bias: Tensor
    mistakes: Tensor


def update_traced(
    weight: Tensor,
    bias: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    *,
    rule: str = "online",
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    bias_step: float = 1.0,
) -> MistakeTrace:
    """The dense update op of ``rule`` ("online" or "multiclass"), in place,
    with the arguments :func:`torch_perceptron.ops.update` passes it, also
    returning the weights after every mistake. ``zero_is_mistake`` is the
    online rule's only. ``bias_step=0`` leaves ``bias`` as it is (the rule for
    inputs that carry their own constant feature)."""
    if rule not in ("online", "multiclass"):
        raise ValueError(f"rule: expected 'online' or 'multiclass', got {rule!r}")
    kw = {"bias_step": bias_step}
    if rule == "online":
        kw["zero_is_mistake"] = zero_is_mistake
    elif zero_is_mistake:
        raise ValueError("zero_is_mistake: not defined for the multiclass rule")

    def step(w: Tensor, b: Tensor, xs: Tensor, ys: Tensor, sw: Optional[Tensor]) -> Tensor:
        return ops.update(w, b, xs, ys, lr, rule=rule, sample_weight=sw, **kw)

    to_decide = _online_to_decide if rule == "online" else _multiclass_to_decide
    return _trace(step, to_decide(x, y, zero_is_mistake), weight, bias, x, y, sample_weight)


def online_update_traced(weight: Tensor, bias: Tensor, x: Tensor, y: Tensor, lr: float = 1.0, **kwargs) -> MistakeTrace:
    """:func:`update_traced` of the online rule (keywords ``sample_weight``,
    ``zero_is_mistake``, ``bias_step``)."""
    return update_traced(weight, bias, x, y, lr, rule="online", **kwargs)


def multiclass_update_traced(
    weight: Tensor, bias: Tensor, x: Tensor, y: Tensor, lr: float = 1.0, **kwargs
) -> MistakeTrace:
    """:func:`update_traced` of the multiclass rule (keywords
    ``sample_weight``, ``bias_step``)."""
    return update_traced(weight, bias, x, y, lr, rule="multiclass", **kwargs)


def _online_to_decide(x: Tensor, y: Tensor, zero_is_mistake: bool) -> ToDecide:
    def undecided(z: Tensor, margin: Tensor, ys: Tensor) -> Tensor:
        wrong = (z > 0) != (ys.reshape(z.shape) != 0)
        if zero_is_mistake:
            wrong |= z == 0
        return (wrong | (z.abs() <= margin)).any(1)

    return _to_decide(x, y, undecided)


def _multiclass_to_decide(x: Tensor, y: Tensor, zero_is_mistake: bool) -> ToDecide:
    def undecided(z: Tensor, margin: Tensor, ys: Tensor) -> Tensor:
        t = ys[:, None].to(device=z.device, dtype=torch.int64)
        z_t, margin_t = z.gather(1, t), margin.gather(1, t)
        # argmax returns the first maximum: the op's tie rule.
        wrong = z.argmax(1) != t[:, 0]
        close = (z - z_t).abs() <= margin + margin_t
        close.scatter_(1, t, False)
        return wrong | close.any(1)

    return _to_decide(x, y, undecided)


def _to_decide(x: Tensor, y: Tensor, undecided: Callable[[Tensor, Tensor, Tensor], Tensor]) -> ToDecide:
    """The samples of ``x[start:end]`` whose decision ``undecided(z, margin,
    their labels)`` says the op must take."""

    def to_decide(w: Tensor, b: Tensor, start: int, end: int) -> Tensor:
        z, margin = _decision_with_margin(w, b, x[start:end])
        return undecided(z, margin, y[start:end])

    return to_decide


def _decision_with_margin(w: Tensor, b: Tensor, xs: Tensor) -> tuple[Tensor, Tensor]:
    """The decision values ``[n, K]`` of ``xs`` in float64, and a bound on how
    far the op's own (weight.dtype, any summation order, with or without FMA
    or flushed subnormals) can be from them: where ``|z| > margin`` the op
    sees the same sign."""
    x64, w64, b64 = xs.double(), w.double().T, b.double()
    z = torch.addmm(b64, x64, w64)
    magnitude = torch.addmm(b64.abs(), x64.abs(), w64.abs())
    info = torch.finfo(w.dtype)
    terms = w.shape[1] + 2
    # gamma_n <= n * eps / 2 for each of the two roundings (the op's and the
    # float64 one); 2 * n * eps covers both with room to spare.
    return z, magnitude * (2 * terms * info.eps) + terms * info.tiny


def _trace(
    step: Step,
    to_decide: ToDecide,
    weight: Tensor,
    bias: Tensor,
    x: Tensor,
    y: Tensor,
    sample_weight: Optional[Tensor],
) -> MistakeTrace:
    # One call on copies first: the op validates every argument with its own
    # messages before anything here touches the weights, and says where the
    # weights must end.
    final_weight, final_bias = weight.clone(), bias.clone()
    expected = step(final_weight, final_bias, x, y, sample_weight)
    start = (weight.clone(), bias.clone())

    def run() -> MistakeTrace:
        """The op at each sample the guess cannot decide, in place."""
        n = x.shape[0]
        mistakes = torch.zeros_like(expected)
        index: list[int] = []
        weights: list[Tensor] = []
        biases: list[Tensor] = []
        s, window = 0, _FIRST_WINDOW
        while s < n:
            e = min(n, s + window)
            hits = to_decide(weight, bias, s, e).nonzero()
            if hits.numel() == 0:
                # Every sample of the stretch is certainly right: nothing moves.
                s, window = e, window * 2
                continue
            g = s + int(hits[0, 0])
            sw = None if sample_weight is None else sample_weight[g : g + 1]
            m = step(weight, bias, x[g : g + 1], y[g : g + 1], sw)
            mistakes += m
            if any(m.tolist()):
                index.append(g)
                weights.append(weight.clone())
                biases.append(bias.clone())
            s, window = g + 1, _FIRST_WINDOW

        k, d = weight.shape
        if index:
            w_trace, b_trace = torch.stack(weights), torch.stack(biases)
        else:
            w_trace, b_trace = weight.new_empty((0, k, d)), bias.new_empty((0, k))
        index_t = torch.tensor(index, dtype=torch.int64, device=weight.device)
        return MistakeTrace(index_t, w_trace, b_trace, mistakes)

    try:
        result = run()
        if not (
            torch.equal(result.mistakes, expected)
            and torch.equal(weight, final_weight)
            and torch.equal(bias, final_bias)
        ):
            raise RuntimeError(
                "trace: the op stepped sample by sample ended elsewhere than over the whole "
                "batch at once; its decisions depend on more than the sample and the weights"
            )
        return result
    except BaseException:
        # A rejected call leaves the weights as they were, as the ops do.
        weight.copy_(start[0])
        bias.copy_(start[1])
        raise
