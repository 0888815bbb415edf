"""The rules written plainly, one sample and one output at a time.

These are the oracle the compiled kernels are tested against: slow, obvious, and
rounded the way the textbook writes the rule (the step ``lr * err`` first, then
``w + step * x`` as a product and a sum). They work on copies and return the new
weights, bias and mistakes.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor

Result = Tuple[Tensor, Tensor, Tensor]


def _step(lr: float, err: float, sample_weight: Optional[Tensor], i: int, dtype) -> Tensor:
    lr_t = torch.tensor(lr, dtype=dtype)
    if sample_weight is not None:
        lr_t = lr_t * sample_weight[i].to(dtype)
    return lr_t * err


def online_update(
    weight: Tensor,
    bias: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
) -> Result:
    """The seed's rule: for each sample, for each output on its own,
    ``yhat = [z > 0]``, ``err = y - yhat``, ``w += lr*err*x``, ``b += lr*err``."""
    w, b = weight.clone(), bias.clone()
    k = w.shape[0]
    y = y.reshape(x.shape[0], k).to(w.dtype)
    mistakes = torch.zeros(k, dtype=torch.int64)
    for i in range(x.shape[0]):
        for o in range(k):
            z = (x[i] * w[o]).sum() + b[o]
            yhat = 1.0 if z > 0 else 0.0
            if zero_is_mistake and z == 0:
                yhat = 1.0 - float(y[i, o])
            err = float(y[i, o]) - yhat
            if err != 0:
                mistakes[o] += 1
                step = _step(lr, err, sample_weight, i, w.dtype)
                w[o] = w[o] + step * x[i]
                b[o] = b[o] + step
    return w, b, mistakes


def multiclass_update(
    weight: Tensor,
    bias: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
) -> Result:
    """The multiclass rule: ``yhat = argmax z`` (lowest index on a tie); on a
    mistake the true class's row gains ``lr*x`` and the predicted one loses it."""
    w, b = weight.clone(), bias.clone()
    mistakes = torch.zeros(1, dtype=torch.int64)
    for i in range(x.shape[0]):
        z = [(x[i] * w[c]).sum() + b[c] for c in range(w.shape[0])]
        yhat = 0
        for c in range(1, len(z)):
            if z[c] > z[yhat]:
                yhat = c
        t = int(y[i])
        if yhat != t:
            mistakes[0] += 1
            step = _step(lr, 1.0, sample_weight, i, w.dtype)
            w[t] = w[t] + step * x[i]
            b[t] = b[t] + step
            w[yhat] = w[yhat] + (-step) * x[i]
            b[yhat] = b[yhat] - step
    return w, b, mistakes


def batch_update(
    weight: Tensor,
    bias: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
) -> Result:
    """The mini-batch rule: all errors under the current weights, then one step
    of their sum."""
    w, b = weight.clone(), bias.clone()
    k = w.shape[0]
    y = y.reshape(x.shape[0], k).to(w.dtype)
    err = torch.zeros_like(y)
    for i in range(x.shape[0]):
        for o in range(k):
            z = (x[i] * w[o]).sum() + b[o]
            yhat = 1.0 if z > 0 else 0.0
            if zero_is_mistake and z == 0:
                yhat = 1.0 - float(y[i, o])
            err[i, o] = y[i, o] - yhat
    mistakes = (err != 0).sum(0)
    for i in range(x.shape[0]):
        scale = err[i] if sample_weight is None else err[i] * sample_weight[i].to(w.dtype)
        w = w + lr * scale[:, None] * x[i][None, :]
        b = b + lr * scale
    return w, b, mistakes


def predict(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """``[x . w + b > 0]`` as 0/1 in x's dtype, ``[N, K]``."""
    z = torch.stack([(x * weight[o]).sum(1) + bias[o] for o in range(weight.shape[0])], 1)
    return (z > 0).to(x.dtype)


def online_update_averaged(
    weight: Tensor,
    bias: Tensor,
    weight_sum: Tensor,
    bias_sum: Tensor,
    count: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    fit_intercept: bool = True,
):
    """The averaged perceptron written literally: after every sample, add each
    output's weights to ``weight_sum`` / ``bias_sum`` and count the sample.
    The average is ``weight_sum / count``.

    Returns ``(w, b, weight_sum, bias_sum, count, mistakes)``, all new tensors
    (the kernels keep a different accumulator; see ops.averaged_parameters).
    """
    w, b = weight.clone(), bias.clone()
    ws, bs, c = weight_sum.clone(), bias_sum.clone(), count.clone()
    k = w.shape[0]
    mistakes = torch.zeros(k, dtype=torch.int64)
    for i in range(x.shape[0]):
        b_before = b
        w, b, m = online_update(
            w, b, x[i : i + 1], y.reshape(x.shape[0], k)[i : i + 1], lr,
            None if sample_weight is None else sample_weight[i : i + 1], zero_is_mistake,
        )
        if not fit_intercept:  # the bias takes no step
            b = b_before
        mistakes += m
        ws, bs, c = ws + w, bs + b, c + 1
    return w, b, ws, bs, c, mistakes


def multiclass_update_averaged(
    weight: Tensor,
    bias: Tensor,
    weight_sum: Tensor,
    bias_sum: Tensor,
    count: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    fit_intercept: bool = True,
):
    """The averaged multiclass perceptron written literally; as
    :func:`online_update_averaged`, ``count`` of shape ``[1]``."""
    w, b = weight.clone(), bias.clone()
    ws, bs, c = weight_sum.clone(), bias_sum.clone(), count.clone()
    mistakes = torch.zeros(1, dtype=torch.int64)
    for i in range(x.shape[0]):
        b_before = b
        w, b, m = multiclass_update(
            w, b, x[i : i + 1], y[i : i + 1], lr,
            None if sample_weight is None else sample_weight[i : i + 1],
        )
        if not fit_intercept:  # the bias takes no step
            b = b_before
        mistakes += m
        ws, bs, c = ws + w, bs + b, c + 1
    return w, b, ws, bs, c, mistakes


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
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    fit_intercept: bool = True,
):
    """The pocket perceptron written literally, per output: after each correct
    prediction the run grows, and whenever it is longer than the record the
    current weights go into the pocket; a mistake ends the run.

    Returns ``(w, b, pocket_weight, pocket_bias, run, best_run, mistakes)``.
    """
    w, b = weight.clone(), bias.clone()
    pw, pb = pocket_weight.clone(), pocket_bias.clone()
    run, best = run.clone(), best_run.clone()
    k = w.shape[0]
    y = y.reshape(x.shape[0], k)
    mistakes = torch.zeros(k, dtype=torch.int64)
    for i in range(x.shape[0]):
        b_before = b
        w, b, m = online_update(
            w, b, x[i : i + 1], y[i : i + 1], lr,
            None if sample_weight is None else sample_weight[i : i + 1], zero_is_mistake,
        )
        if not fit_intercept:  # the bias takes no step
            b = b_before
        mistakes += m
        for o in range(k):
            if m[o] == 0:
                run[o] += 1
                if run[o] > best[o]:
                    best[o] = run[o]
                    pw[o], pb[o] = w[o], b[o]
            else:
                run[o] = 0
    return w, b, pw, pb, run, best, mistakes


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
    sample_weight: Optional[Tensor] = None,
    fit_intercept: bool = True,
):
    """The pocket multiclass perceptron written literally (one run for the
    whole model); as :func:`online_update_pocket`, counters of shape ``[1]``."""
    w, b = weight.clone(), bias.clone()
    pw, pb = pocket_weight.clone(), pocket_bias.clone()
    run, best = run.clone(), best_run.clone()
    mistakes = torch.zeros(1, dtype=torch.int64)
    for i in range(x.shape[0]):
        b_before = b
        w, b, m = multiclass_update(
            w, b, x[i : i + 1], y[i : i + 1], lr,
            None if sample_weight is None else sample_weight[i : i + 1],
        )
        if not fit_intercept:  # the bias takes no step
            b = b_before
        mistakes += m
        if m[0] == 0:
            run[0] += 1
            if run[0] > best[0]:
                best[0] = run[0]
                pw, pb = w.clone(), b.clone()
        else:
            run[0] = 0
    return w, b, pw, pb, run, best, mistakes
