"""The rules written plainly, one sample and one output at a time.

These are the oracle the compiled kernels are tested against: slow, obvious, and
rounded the way the textbook writes the rule (the step ``lr * err`` first, then
``w + step * x`` as a product and a sum). They work on copies and return the new
weights, bias and mistakes.

Each rule is one loop over *rows*, as the kernels are: a row only answers its
dot product with a weight row and ``w + step * x``. A dense row is ``x[i]``; a
CSR row is its ``(values, col_indices)`` and touches only those columns. So the
sparse form of every rule (``*_csr``, taking anything
:func:`torch_perceptron.sparse.as_csr` takes) is the dense rule itself, and on
data where every sum is exact the two give the same bits.

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
by output for ``[K, M]`` (:func:`_ordered`).
"""

from typing import Any, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from .sparse import as_csr

Result = Tuple[Tensor, Tensor, Tensor]

# scikit-learn's factor on the intercept step when X is sparse
# (sklearn.linear_model._base.SPARSE_INTERCEPT_DECAY).
SPARSE_INTERCEPT_DECAY = 0.01


class DenseRow:
    """``x[i]``, all ``in_features`` of it."""

    def __init__(self, x: Tensor):
        self.x = x

    def dot(self, w: Tensor) -> Tensor:
        return (self.x * w).sum()

    def add_to(self, w: Tensor, step) -> Tensor:
        """``w + step * x`` as a new row."""
        return w + step * self.x


class CSRRow:
    """Row ``i`` of a CSR matrix: its ``nnz_i`` values and (strictly increasing)
    columns; the other weights are never read nor written."""

    def __init__(self, values: Tensor, indices: Tensor):
        self.values, self.indices = values, indices.long()

    def dot(self, w: Tensor) -> Tensor:
        return (self.values * w[self.indices]).sum()

    def add_to(self, w: Tensor, step) -> Tensor:
        out = w.clone()
        out[self.indices] = w[self.indices] + step * self.values
        return out


Row = Union[DenseRow, CSRRow]


def _dense_rows(x: Tensor) -> List[DenseRow]:
    return [DenseRow(x[i]) for i in range(x.shape[0])]


def _csr_rows(x: Any, weight: Tensor) -> List[CSRRow]:
    rows = as_csr(x, weight.dtype, n_features=weight.shape[1]).to(device=weight.device)
    return [CSRRow(*rows.row(i)) for i in range(rows.n_rows)]


def perceptron_loss(target: float, z: float) -> float:
    """scikit-learn's ``Hinge(threshold=0).loss(y, z)`` for a 0/1 ``target``
    (y = 2 target - 1), in double as its ``_plain_sgd`` computes it:
    ``max(0, -y z)``, which is ``|z|`` at a mistake and 0 otherwise."""
    yz = (2.0 * target - 1.0) * z
    return 0.0 - yz if yz <= 0 else 0.0


def _step(lr: float, err: float, sample_weight: Optional[Tensor], i: int, dtype) -> Tensor:
    lr_t = torch.tensor(lr, dtype=dtype)
    if sample_weight is not None:
        lr_t = lr_t * sample_weight[i].to(dtype)
    return lr_t * err


# -- the loops, over rows -----------------------------------------------------


def _online(w, b, rows: Sequence[Row], y, lr, sample_weight, zero_is_mistake, bias_step,
            loss: Optional[Tensor] = None):
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
                step = _step(lr, err, sample_weight, i, w.dtype)
                w[o] = row.add_to(w[o], step)
                if bias_step != 0:
                    b[o] = b[o] + step * bias_step
    return (w, b, mistakes) if total is None else (w, b, mistakes, total)


def _multiclass(w, b, rows: Sequence[Row], y, lr, sample_weight, bias_step) -> Result:
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
            step = _step(lr, 1.0, sample_weight, i, w.dtype)
            w[t] = row.add_to(w[t], step)
            w[yhat] = row.add_to(w[yhat], -step)
            if bias_step != 0:
                b[t] = b[t] + step * bias_step
                b[yhat] = b[yhat] - step * bias_step
    return w, b, mistakes


def _batch(w, b, rows: Sequence[Row], y, lr, sample_weight, zero_is_mistake, bias_step) -> Result:
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


def _decision(rows: Sequence[Row], weight, bias) -> Tensor:
    z = torch.empty(len(rows), weight.shape[0], dtype=weight.dtype)
    for i, row in enumerate(rows):
        for o in range(weight.shape[0]):
            z[i, o] = row.dot(weight[o]) + bias[o]
    return z


def _averaged(update, w, b, ws, bs, c, rows, y, sample_weight, k, loss=None):
    """Runs ``update(w, b, one_row, its_y, its_sample_weight, loss)`` sample by
    sample and adds the weights after each to the sums."""
    w, b = w.clone(), b.clone()
    ws, bs, c = ws.clone(), bs.clone(), c.clone()
    mistakes = torch.zeros(k, dtype=torch.int64)
    for i in range(len(rows)):
        w, b, m, *rest = update(
            w, b, rows[i : i + 1], y[i : i + 1],
            None if sample_weight is None else sample_weight[i : i + 1], loss,
        )
        if loss is not None:
            loss = rest[0]
        mistakes += m
        ws, bs, c = ws + w, bs + b, c + 1
    out = (w, b, ws, bs, c, mistakes)
    return out if loss is None else out + (loss,)


def _online_averaged(w, b, ws, bs, c, rows, y, lr, sample_weight, zero_is_mistake, bias_step,
                     loss=None):
    k = w.shape[0]

    def update(w, b, rows, y, sw, loss):
        return _online(w, b, rows, y, lr, sw, zero_is_mistake, bias_step, loss)

    return _averaged(update, w, b, ws, bs, c, rows, y.reshape(len(rows), k),
                     sample_weight, k, loss)


def _multiclass_averaged(w, b, ws, bs, c, rows, y, lr, sample_weight, bias_step):
    def update(w, b, rows, y, sw, loss):
        return _multiclass(w, b, rows, y, lr, sw, bias_step)

    return _averaged(update, w, b, ws, bs, c, rows, y, sample_weight, 1)


def _online_pocket(w, b, pw, pb, run, best, rows, y, lr, sample_weight, zero_is_mistake,
                   bias_step, loss=None):
    w, b = w.clone(), b.clone()
    pw, pb = pw.clone(), pb.clone()
    run, best = run.clone(), best.clone()
    k = w.shape[0]
    y = y.reshape(len(rows), k)
    mistakes = torch.zeros(k, dtype=torch.int64)
    for i in range(len(rows)):
        w, b, m, *rest = _online(
            w, b, rows[i : i + 1], y[i : i + 1], lr,
            None if sample_weight is None else sample_weight[i : i + 1], zero_is_mistake,
            bias_step, loss,
        )
        if loss is not None:
            loss = rest[0]
        mistakes += m
        for o in range(k):
            if m[o] == 0:
                run[o] += 1
                if run[o] > best[o]:
                    best[o] = run[o]
                    pw[o], pb[o] = w[o], b[o]
            else:
                run[o] = 0
    out = (w, b, pw, pb, run, best, mistakes)
    return out if loss is None else out + (loss,)


def _multiclass_pocket(w, b, pw, pb, run, best, rows, y, lr, sample_weight, bias_step):
    w, b = w.clone(), b.clone()
    pw, pb = pw.clone(), pb.clone()
    run, best = run.clone(), best.clone()
    mistakes = torch.zeros(1, dtype=torch.int64)
    for i in range(len(rows)):
        w, b, m = _multiclass(
            w, b, rows[i : i + 1], y[i : i + 1], lr,
            None if sample_weight is None else sample_weight[i : i + 1], bias_step,
        )
        mistakes += m
        if m[0] == 0:
            run[0] += 1
            if run[0] > best[0]:
                best[0] = run[0]
                pw, pb = w.clone(), b.clone()
        else:
            run[0] = 0
    return w, b, pw, pb, run, best, mistakes


def _ordered(rule, state: Sequence[Tensor], x: Tensor, y: Tensor,
             sample_weight: Optional[Tensor], loss: Optional[Tensor], order: Tensor):
    """``rule(*state, x, y, sample_weight, loss)`` on the rows ``order``
    visits: gathered once for ``[M]``; for ``[K, M]`` output k alone (its rows
    of every per-output tensor of ``state``, and of ``loss``) on
    ``x[order[k]]``, the results put back together. ``x`` is a dense tensor,
    or the list of a CSR matrix's rows (the ``*_csr`` rules: row i of the walk
    is ``x[order[i]]``)."""
    k = state[0].shape[0]
    rows = isinstance(x, list)
    y = y.reshape(len(x) if rows else x.shape[0], k)
    order = order.cpu()

    def gather(idx, outputs):
        sw = None if sample_weight is None else sample_weight.cpu()[idx]
        xs = [x[j] for j in idx.tolist()] if rows else x.cpu()[idx]
        return xs, y.cpu()[idx][:, outputs], sw

    if order.dim() == 1:
        return rule(*state, *gather(order, slice(None)), loss)
    parts = []
    for o in range(k):
        part = [t[o : o + 1] for t in state]
        part_loss = None if loss is None else loss[o : o + 1]
        parts.append(rule(*part, *gather(order[o], slice(o, o + 1)), part_loss))
    return tuple(torch.cat(ts) for ts in zip(*parts))


# -- the rules: dense x [N, in_features], or sparse x (the ``*_csr`` forms) ----


def online_update(
    weight: Tensor,
    bias: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    bias_step: float = 1.0,
    loss: Optional[Tensor] = None,
    order: Optional[Tensor] = None,
):
    """The seed's rule: for each sample, for each output on its own,
    ``yhat = [z > 0]``, ``err = y - yhat``, ``w += lr*err*x``, ``b += lr*err``.
    Returns ``(w, b, mistakes)``, and the loss sums last when ``loss`` is
    given (see the module docstring)."""
    if order is not None:
        return _ordered(
            lambda w, b, x, y, sw, loss: online_update(
                w, b, x, y, lr, sw, zero_is_mistake, bias_step, loss),
            (weight, bias), x, y, sample_weight, loss, order)
    return _online(weight, bias, _dense_rows(x), y, lr, sample_weight, zero_is_mistake, bias_step,
                   loss)


def online_update_csr(
    weight: Tensor,
    bias: Tensor,
    x: Any,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    bias_step: float = 1.0,
    loss: Optional[Tensor] = None,
    order: Optional[Tensor] = None,
):
    """:func:`online_update` over the rows of a sparse ``x`` [N, in_features];
    ``order`` as there (visit i reads CSR row ``order[i]``)."""
    rows = _csr_rows(x, weight)
    if order is not None:
        return _ordered(
            lambda w, b, rows, y, sw, loss: _online(
                w, b, rows, y, lr, sw, zero_is_mistake, bias_step, loss),
            (weight, bias), rows, y, sample_weight, loss, order)
    return _online(weight, bias, rows, y, lr, sample_weight, zero_is_mistake, bias_step, loss)


def multiclass_update(
    weight: Tensor,
    bias: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    bias_step: float = 1.0,
) -> Result:
    """The multiclass rule: ``yhat = argmax z`` (lowest index on a tie); on a
    mistake the true class's row gains ``lr*x`` and the predicted one loses it."""
    return _multiclass(weight, bias, _dense_rows(x), y, lr, sample_weight, bias_step)


def multiclass_update_csr(
    weight: Tensor,
    bias: Tensor,
    x: Any,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    bias_step: float = 1.0,
) -> Result:
    """:func:`multiclass_update` over the rows of a sparse ``x``."""
    return _multiclass(weight, bias, _csr_rows(x, weight), y, lr, sample_weight, bias_step)


def batch_update(
    weight: Tensor,
    bias: Tensor,
    x: Tensor,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    bias_step: float = 1.0,
) -> Result:
    """The mini-batch rule: all errors under the current weights, then one step
    of their sum."""
    return _batch(weight, bias, _dense_rows(x), y, lr, sample_weight, zero_is_mistake, bias_step)


def batch_update_csr(
    weight: Tensor,
    bias: Tensor,
    x: Any,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    bias_step: float = 1.0,
) -> Result:
    """:func:`batch_update` over the rows of a sparse ``x``."""
    return _batch(
        weight, bias, _csr_rows(x, weight), y, lr, sample_weight, zero_is_mistake, bias_step
    )


def decision_function(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """``z = x . w + b``, ``[N, K]`` in the weights' dtype."""
    return _decision(_dense_rows(x), weight, bias)


def decision_function_csr(x: Any, weight: Tensor, bias: Tensor) -> Tensor:
    """:func:`decision_function` of a sparse ``x``."""
    return _decision(_csr_rows(x, weight), weight, bias)


def predict(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """``[x . w + b > 0]`` as 0/1 in x's dtype, ``[N, K]``."""
    z = torch.stack([(x * weight[o]).sum(1) + bias[o] for o in range(weight.shape[0])], 1)
    return (z > 0).to(x.dtype)


def predict_csr(x: Any, weight: Tensor, bias: Tensor) -> Tensor:
    """``[x . w + b > 0]`` of a sparse ``x`` as 0/1 in the weights' dtype, ``[N, K]``."""
    return (decision_function_csr(x, weight, bias) > 0).to(weight.dtype)


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
    bias_step: float = 1.0,
    loss: Optional[Tensor] = None,
    order: Optional[Tensor] = None,
):
    """The averaged perceptron written literally: after every sample, add each
    output's weights to ``weight_sum`` / ``bias_sum`` and count the sample.
    The average is ``weight_sum / count``.

    Returns ``(w, b, weight_sum, bias_sum, count, mistakes)``, all new tensors
    (the kernels keep a different accumulator; see ops.averaged_parameters),
    and the loss sums last when ``loss`` is given.
    """
    if order is not None:
        return _ordered(
            lambda w, b, ws, bs, c, x, y, sw, loss: online_update_averaged(
                w, b, ws, bs, c, x, y, lr, sw, zero_is_mistake, bias_step, loss),
            (weight, bias, weight_sum, bias_sum, count), x, y, sample_weight, loss, order)
    return _online_averaged(weight, bias, weight_sum, bias_sum, count, _dense_rows(x), y, lr,
                            sample_weight, zero_is_mistake, bias_step, loss)


def online_update_averaged_csr(
    weight: Tensor,
    bias: Tensor,
    weight_sum: Tensor,
    bias_sum: Tensor,
    count: Tensor,
    x: Any,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    bias_step: float = 1.0,
    loss: Optional[Tensor] = None,
    order: Optional[Tensor] = None,
):
    """:func:`online_update_averaged` over the rows of a sparse ``x``;
    ``order`` as in :func:`online_update_csr`."""
    rows = _csr_rows(x, weight)
    if order is not None:
        return _ordered(
            lambda w, b, ws, bs, c, rows, y, sw, loss: _online_averaged(
                w, b, ws, bs, c, rows, y, lr, sw, zero_is_mistake, bias_step, loss),
            (weight, bias, weight_sum, bias_sum, count), rows, y, sample_weight, loss, order)
    return _online_averaged(weight, bias, weight_sum, bias_sum, count, rows, y,
                            lr, sample_weight, zero_is_mistake, bias_step, loss)


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
    bias_step: float = 1.0,
):
    """The averaged multiclass perceptron written literally; as
    :func:`online_update_averaged`, ``count`` of shape ``[1]``."""
    return _multiclass_averaged(weight, bias, weight_sum, bias_sum, count, _dense_rows(x), y, lr,
                                sample_weight, bias_step)


def multiclass_update_averaged_csr(
    weight: Tensor,
    bias: Tensor,
    weight_sum: Tensor,
    bias_sum: Tensor,
    count: Tensor,
    x: Any,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    bias_step: float = 1.0,
):
    """:func:`multiclass_update_averaged` over the rows of a sparse ``x``."""
    return _multiclass_averaged(weight, bias, weight_sum, bias_sum, count, _csr_rows(x, weight),
                                y, lr, sample_weight, bias_step)


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
    bias_step: float = 1.0,
    loss: Optional[Tensor] = None,
    order: Optional[Tensor] = None,
):
    """The pocket perceptron written literally, per output: after each correct
    prediction the run grows, and whenever it is longer than the record the
    current weights go into the pocket; a mistake ends the run.

    Returns ``(w, b, pocket_weight, pocket_bias, run, best_run, mistakes)``,
    and the loss sums last when ``loss`` is given.
    """
    if order is not None:
        return _ordered(
            lambda w, b, pw, pb, r, br, x, y, sw, loss: online_update_pocket(
                w, b, pw, pb, r, br, x, y, lr, sw, zero_is_mistake, bias_step, loss),
            (weight, bias, pocket_weight, pocket_bias, run, best_run), x, y, sample_weight,
            loss, order)
    return _online_pocket(weight, bias, pocket_weight, pocket_bias, run, best_run,
                          _dense_rows(x), y, lr, sample_weight, zero_is_mistake,
                          bias_step, loss)


def online_update_pocket_csr(
    weight: Tensor,
    bias: Tensor,
    pocket_weight: Tensor,
    pocket_bias: Tensor,
    run: Tensor,
    best_run: Tensor,
    x: Any,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    zero_is_mistake: bool = False,
    bias_step: float = 1.0,
    loss: Optional[Tensor] = None,
    order: Optional[Tensor] = None,
):
    """:func:`online_update_pocket` over the rows of a sparse ``x``; ``order``
    as in :func:`online_update_csr`."""
    rows = _csr_rows(x, weight)
    if order is not None:
        return _ordered(
            lambda w, b, pw, pb, r, br, rows, y, sw, loss: _online_pocket(
                w, b, pw, pb, r, br, rows, y, lr, sw, zero_is_mistake, bias_step, loss),
            (weight, bias, pocket_weight, pocket_bias, run, best_run), rows, y, sample_weight,
            loss, order)
    return _online_pocket(weight, bias, pocket_weight, pocket_bias, run, best_run,
                          rows, y, lr, sample_weight, zero_is_mistake, bias_step, loss)


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
    bias_step: float = 1.0,
):
    """The pocket multiclass perceptron written literally (one run for the
    whole model); as :func:`online_update_pocket`, counters of shape ``[1]``."""
    return _multiclass_pocket(weight, bias, pocket_weight, pocket_bias, run, best_run,
                              _dense_rows(x), y, lr, sample_weight, bias_step)


def multiclass_update_pocket_csr(
    weight: Tensor,
    bias: Tensor,
    pocket_weight: Tensor,
    pocket_bias: Tensor,
    run: Tensor,
    best_run: Tensor,
    x: Any,
    y: Tensor,
    lr: float = 1.0,
    sample_weight: Optional[Tensor] = None,
    bias_step: float = 1.0,
):
    """:func:`multiclass_update_pocket` over the rows of a sparse ``x``."""
    return _multiclass_pocket(weight, bias, pocket_weight, pocket_bias, run, best_run,
                              _csr_rows(x, weight), y, lr, sample_weight,
                              bias_step)


# scikit-learn's penalties: their own rule (wscale, u, q), their own file.
from .reference_penalized import (  # noqa: E402,F401
    online_update_penalized,
    online_update_penalized_csr,
)
