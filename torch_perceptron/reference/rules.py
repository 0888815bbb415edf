"""The rules' loops over rows, one sample and one output at a time (see
:mod:`torch_perceptron.reference` for what they promise), and the variants
and the visiting order, written once over any rule."""

from typing import Callable, Optional, Sequence, Tuple

import torch
from torch import Tensor

from .rows import Row

Result = Tuple[Tensor, Tensor, Tensor]


def perceptron_loss(target: float, z: float) -> float:
    """scikit-learn's ``Hinge(threshold=0).loss(y, z)`` for a 0/1 ``target``
    (y = 2 target - 1), in double as its ``_plain_sgd`` computes it:
    ``max(0, -y z)``, which is ``|z|`` at a mistake and 0 otherwise."""
    yz = (2.0 * target - 1.0) * z
    return 0.0 - yz if yz <= 0 else 0.0


def step_size(lr: float, err: float, sample_weight: Optional[Tensor], i: int, dtype) -> Tensor:
    lr_t = torch.tensor(lr, dtype=dtype)
    if sample_weight is not None:
        lr_t = lr_t * sample_weight[i].to(dtype)
    return lr_t * err


def online(w, b, rows: Sequence[Row], y, lr, sample_weight, zero_is_mistake, bias_step, loss: Optional[Tensor] = None):
    w, b = w.clone(), b.clone()
    k = w.shape[0]
    y = y.reshape(len(rows), k).to(w.dtype)
    mistakes = torch.zeros(k, dtype=torch.int64)
    total = None if loss is None else loss.cpu().to(torch.float64, copy=True)
    for i, row in enumerate(rows):
        for o in range(k):
            z = row.dot(w[o]) + b[o]
            if total is not None:
                total[o] += perceptron_loss(float(y[i, o]), float(z))
            yhat = 1.0 if z > 0 else 0.0
            if zero_is_mistake and z == 0:
                yhat = 1.0 - float(y[i, o])
            err = float(y[i, o]) - yhat
            if err != 0:
                mistakes[o] += 1
                step = step_size(lr, err, sample_weight, i, w.dtype)
                w[o] = row.add_to(w[o], step)
                if bias_step != 0:
                    b[o] = b[o] + step * bias_step
    return (w, b, mistakes) if total is None else (w, b, mistakes, total)


def multiclass(w, b, rows: Sequence[Row], y, lr, sample_weight, bias_step) -> Result:
    w, b = w.clone(), b.clone()
    mistakes = torch.zeros(1, dtype=torch.int64)
    for i, row in enumerate(rows):
        z = [row.dot(w[c]) + b[c] for c in range(w.shape[0])]
        yhat = 0
        for c in range(1, len(z)):
            if z[c] > z[yhat]:
                yhat = c
        t = int(y[i])
        if yhat != t:
            mistakes[0] += 1
            step = step_size(lr, 1.0, sample_weight, i, w.dtype)
            w[t] = row.add_to(w[t], step)
            w[yhat] = row.add_to(w[yhat], -step)
            if bias_step != 0:
                b[t] = b[t] + step * bias_step
                b[yhat] = b[yhat] - step * bias_step
    return w, b, mistakes


def batch(w, b, rows: Sequence[Row], y, lr, sample_weight, zero_is_mistake, bias_step) -> Result:
    w, b = w.clone(), b.clone()
    k = w.shape[0]
    y = y.reshape(len(rows), k).to(w.dtype)
    err = torch.zeros_like(y)
    for i, row in enumerate(rows):
        for o in range(k):
            z = row.dot(w[o]) + b[o]
            yhat = 1.0 if z > 0 else 0.0
            if zero_is_mistake and z == 0:
                yhat = 1.0 - float(y[i, o])
            err[i, o] = y[i, o] - yhat
    mistakes = (err != 0).sum(0)
    scale_sum = torch.zeros(k, dtype=w.dtype)
    for i, row in enumerate(rows):
        scale = err[i] if sample_weight is None else err[i] * sample_weight[i].to(w.dtype)
        step = lr * scale
        for o in range(k):
            w[o] = row.add_to(w[o], step[o])
        scale_sum = scale_sum + scale
    # The bias takes one step, of the summed errors.
    if bias_step != 0:
        b = b + (lr * scale_sum) * bias_step
    return w, b, mistakes


def decision(rows: Sequence[Row], weight, bias) -> Tensor:
    z = torch.empty(len(rows), weight.shape[0], dtype=weight.dtype)
    for i, row in enumerate(rows):
        for o in range(weight.shape[0]):
            z[i, o] = row.dot(weight[o]) + bias[o]
    return z


def each_sample(update: Callable, w, b, rows, y, sample_weight, k, loss, after: Callable):
    """Runs ``update(w, b, one_row, its_y, its_sample_weight, loss)`` sample by
    sample, calling ``after(w, b, m)`` with the weights and mistakes after
    each; returns ``(w, b, mistakes, loss)``."""
    mistakes = torch.zeros(k, dtype=torch.int64)
    for i in range(len(rows)):
        w, b, m, *rest = update(
            w,
            b,
            rows[i : i + 1],
            y[i : i + 1],
            None if sample_weight is None else sample_weight[i : i + 1],
            loss,
        )
        if loss is not None:
            loss = rest[0]
        mistakes += m
        after(w, b, m)
    return w, b, mistakes, loss


def averaged(update: Callable, w, b, ws, bs, c, rows, y, sample_weight, k, loss=None):
    """``update`` sample by sample, adding the weights after each to the sums
    and counting the sample."""
    sums = [ws.clone(), bs.clone(), c.clone()]

    def after(w, b, m):
        sums[:] = sums[0] + w, sums[1] + b, sums[2] + 1

    w, b, mistakes, loss = each_sample(update, w.clone(), b.clone(), rows, y, sample_weight, k, loss, after)
    out = (w, b, *sums, mistakes)
    return out if loss is None else out + (loss,)


def pocket(update: Callable, w, b, pw, pb, run, best, rows, y, sample_weight, per_output: bool, loss=None):
    """``update`` sample by sample, keeping the pocket: a run per output
    (``per_output``), else one for the whole model; a correct sample grows a
    run, a run longer than its record puts its weights in the pocket, a
    mistake ends it."""
    pw, pb = pw.clone(), pb.clone()
    run, best = run.clone(), best.clone()
    parts = list(range(w.shape[0])) if per_output else [slice(None)]

    def after(w, b, m):
        for o, part in enumerate(parts):
            if m[o] == 0:
                run[o] += 1
                if run[o] > best[o]:
                    best[o] = run[o]
                    pw[part], pb[part] = w[part], b[part]
            else:
                run[o] = 0

    w, b, mistakes, loss = each_sample(update, w.clone(), b.clone(), rows, y, sample_weight, len(parts), loss, after)
    out = (w, b, pw, pb, run, best, mistakes)
    return out if loss is None else out + (loss,)


def ordered(
    rule,
    state: Sequence[Tensor],
    x: Tensor,
    y: Tensor,
    sample_weight: Optional[Tensor],
    loss: Optional[Tensor],
    order: Tensor,
):
    """``rule(*state, x, y, sample_weight, loss)`` on the rows ``order``
    visits: gathered once for ``[M]``; for ``[K, M]`` output k alone (its rows
    of every per-output tensor of ``state``, and of ``loss``) on
    ``x[order[k]]``, the results put back together. ``x`` is the list of
    the rows (row i of the walk is ``x[order[i]]``)."""
    k = state[0].shape[0]
    y = y.reshape(len(x), k)
    order = order.cpu()

    def gather(idx, outputs):
        sw = None if sample_weight is None else sample_weight.cpu()[idx]
        return [x[j] for j in idx.tolist()], y.cpu()[idx][:, outputs], sw

    if order.dim() == 1:
        return rule(*state, *gather(order, slice(None)), loss)
    parts = []
    for o in range(k):
        part = [t[o : o + 1] for t in state]
        part_loss = None if loss is None else loss[o : o + 1]
        parts.append(rule(*part, *gather(order[o], slice(o, o + 1)), part_loss))
    return tuple(torch.cat(ts) for ts in zip(*parts))
