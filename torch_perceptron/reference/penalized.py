"""The penalized online rule written plainly (scikit-learn's ``_plain_sgd``
with a penalty): the oracle of the penalized ops, dense and CSR.

One output, one sample, one entry at a time, with scikit-learn's types: Python
floats where its loop keeps doubles, numpy scalars of the weights' dtype where
its float32 variant rounds (``_weight_vector.pyx.tp``). So on any data the
kernels must give these bits. Public through :mod:`torch_perceptron.reference`.
"""

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..sparse import as_csr

__all__ = ["entries", "penalized"]


def _walk(w, b, st, q, entries, y, lr, alpha, l1_ratio, sw, zero_is_mistake, bias_step, loss, objective, f):
    """One output's samples. w, q: numpy rows of dtype ``f`` (changed in
    place); st: [wscale, u, sq_norm, l1_norm] floats. Returns (b, mistakes,
    loss, objective)."""
    wscale, u, sq_norm, l1_norm = st
    shrink = 1.0 - ((1.0 - l1_ratio) * lr * alpha)
    decay = f(shrink if shrink > 0 else 0.0)
    l1_step = l1_ratio * lr * alpha
    floor = 1e-6 if f is np.float32 else 1e-9
    mistakes = 0
    for i, (cols, vals) in enumerate(entries):
        dot = 0.0
        for c, v in zip(cols, vals):
            dot += float(w[c] * v)
        p = float(f(dot * wscale)) + float(b)
        if not math.isfinite(p):
            raise ValueError(f"row {i}: non-finite decision value")
        ys = 1.0 if y[i] != 0 else -1.0
        z = p * ys
        if loss is not None or objective is not None:
            cur = 0.0 - z if z <= 0.0 else 0.0
            loss += cur
            objective += cur
            norm = f(math.sqrt(sq_norm))
            objective += alpha * ((1 - l1_ratio) * 0.5 * float(f(norm * norm)) + l1_ratio * float(f(l1_norm)))
        mistake = z <= 0.0 if zero_is_mistake else ((p > 0.0) != (y[i] != 0))
        update = 0.0
        if mistake:
            mistakes += 1
            update = lr * ys
            if sw is not None:
                update *= float(sw[i])
        wscale *= float(decay)
        sq_norm *= float(f(decay * decay))
        l1_norm *= abs(float(decay))
        if wscale < floor:
            w *= f(wscale)
            wscale = 1.0
        if update != 0.0:
            ws = f(wscale)
            step = f(update) / ws
            l2acc = l1acc = 0.0
            for c, v in zip(cols, vals):
                w[c] = f(float(w[c]) + float(v) * float(step))
                l2acc += float(w[c] * w[c])
                l1acc += abs(float(w[c]))
            sq_norm = l2acc * float(f(ws * ws))
            l1_norm = l1acc * float(ws)
            if bias_step != 0.0:
                b = f(float(b) + update * bias_step)
        if q is not None and l1_ratio > 0:
            u += l1_step
            for c in cols:
                before = float(w[c])
                if wscale * before > 0.0:
                    v = float(w[c]) - ((u + float(q[c])) / wscale)
                    w[c] = f(v if v > 0.0 else 0.0)
                elif wscale * before < 0.0:
                    v = float(w[c]) + ((u - float(q[c])) / wscale)
                    w[c] = f(v if v < 0.0 else 0.0)
                q[c] = f(float(q[c]) + wscale * (float(w[c]) - before))
    st[:] = [wscale, u, sq_norm, l1_norm]
    return b, mistakes, loss, objective


def penalized(
    weight,
    bias,
    state,
    q,
    entries,
    y,
    lr,
    alpha,
    l1_ratio,
    sample_weight,
    zero_is_mistake,
    bias_step,
    loss,
    objective,
    order=None,
):
    """Every output's walk over ``entries`` (a list of the rows' (columns,
    values)), in the rows' order or, with ``order``, over the rows it names:
    ``[M]`` for every output, ``[K, M]`` one per output."""
    f = np.float32 if weight.dtype == torch.float32 else np.float64
    w = weight.detach().cpu().numpy().astype(f, copy=True)
    b = bias.detach().cpu().numpy().astype(f, copy=True)
    st = state.detach().cpu().numpy().astype(np.float64, copy=True)
    qn = None if q is None else q.detach().cpu().numpy().astype(f, copy=True)
    n = len(entries)
    yy = y.detach().cpu().reshape(n, -1).to(torch.float64).numpy()
    sw = None if sample_weight is None else sample_weight.detach().cpu().numpy().astype(f)
    ls = None if loss is None else loss.detach().cpu().numpy().copy()
    ob = None if objective is None else objective.detach().cpu().numpy().copy()
    k = w.shape[0]
    mistakes = np.zeros(k, dtype=np.int64)
    if order is not None:
        order = order.detach().cpu().numpy()
        if order.size and (order.min() < 0 or order.max() >= n):
            raise ValueError(f"order: expected row indices of x in [0, {n})")
    for o in range(k):
        row = list(st[o])
        visits = None if order is None else (order if order.ndim == 1 else order[o])
        rows = entries if visits is None else [entries[r] for r in visits]
        yo = yy[:, 0 if yy.shape[1] == 1 else o]
        swo = sw
        if visits is not None:
            yo = yo[visits]
            swo = None if sw is None else sw[visits]
        b[o], mistakes[o], lo, oo = _walk(
            w[o],
            b[o],
            row,
            None if qn is None else qn[o],
            rows,
            yo,
            lr,
            alpha,
            l1_ratio,
            swo,
            zero_is_mistake,
            bias_step,
            None if ls is None else float(ls[o]),
            None if ob is None else float(ob[o]),
            f,
        )
        st[o] = row
        if ls is not None:
            ls[o] = lo
        if ob is not None:
            ob[o] = oo
    out = [
        torch.from_numpy(w),
        torch.from_numpy(b),
        torch.from_numpy(st),
        None if qn is None else torch.from_numpy(qn),
        torch.from_numpy(mistakes),
        None if ls is None else torch.from_numpy(ls),
        None if ob is None else torch.from_numpy(ob),
    ]
    return tuple(out)


def entries(x: Any, weight: Tensor, csr: bool) -> list:
    """Each row's (columns, values): all of a dense row's, a CSR row's stored
    ones (``x`` anything :func:`~torch_perceptron.sparse.as_csr` takes)."""
    if csr:
        crow, col, values = (t.cpu().numpy() for t in as_csr(x, weight.dtype).tensors())
        return [(list(col[crow[i] : crow[i + 1]]), list(values[crow[i] : crow[i + 1]])) for i in range(len(crow) - 1)]
    xn = x.detach().cpu().numpy()
    cols = list(range(xn.shape[1]))
    return [(cols, list(xn[i])) for i in range(xn.shape[0])]
