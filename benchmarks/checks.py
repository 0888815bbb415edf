"""Correctness checks the suite runs beside the timings (never on the
timings): the kernels against the plain reference, the seed's loop, the
pure-PyTorch mini-batch rule where the rules coincide, and scikit-learn where
its rule is the same one.

float64 throughout: the rules are exact there up to summation order, so the
mistakes must be equal and the weights equal to a tight tolerance.
"""

import numpy as np
import torch

from torch_perceptron import ops, reference

from . import baselines
from .data import teacher_binary, teacher_multiclass

F64 = torch.float64


def _close(a, b, rtol=1e-9, atol=1e-9) -> tuple[bool, float]:
    a, b = torch.as_tensor(a, dtype=F64), torch.as_tensor(b, dtype=F64)
    diff = float((a - b).abs().max()) if a.numel() else 0.0
    return bool(torch.allclose(a, b, rtol=rtol, atol=atol)), diff


def _check(name: str, same_mistakes: bool, weights_close: tuple[bool, float], detail: str = "") -> dict:
    ok, diff = weights_close
    return dict(
        group="check",
        check=name,
        passed=bool(same_mistakes and ok),
        detail=f"mistakes equal: {same_mistakes}; max |dw| = {diff:.2e}" + (f"; {detail}" if detail else ""),
    )


def _zeros(k, d, dtype=F64):
    return torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype)


def _flat(w, b) -> torch.Tensor:
    """The weights and the biases as one vector, to compare in one call."""
    return torch.cat([w.flatten(), b])


def _against_reference(name: str, rule: str, x, y, k: int, count: bool = False, **tol) -> dict:
    """The op ``rule`` against reference's rule of that name, both from zero
    weights in x's dtype: the same mistakes, the weights close (``tol``:
    _close's). ``count``: the detail gives the number of mistakes."""
    w, b = _zeros(k, x.shape[1], x.dtype)
    m = getattr(ops, rule)(w, b, x, y)
    rw, rb, rm = getattr(reference, rule)(*_zeros(k, x.shape[1], x.dtype), x, y)
    detail = f"{int(m.sum())} mistakes" if count else ""
    return _check(name, torch.equal(m, rm), _close(_flat(w, b), _flat(rw, rb), **tol), detail)


def _against_sklearn(name: str, x, y, labels, k: int, estimator) -> dict:
    """online_update(zero_is_mistake) from zero weights (labels ``y``, K=k)
    against ``estimator`` fitted on the same arrays (``labels``): the weights
    close."""
    w, b = _zeros(k, x.shape[1])
    ops.online_update(w, b, x, y, zero_is_mistake=True)
    sk = baselines.sklearn_fit(estimator, x.numpy(), labels.numpy())
    return _check(name, True, _close(_flat(w, b), np.concatenate([sk.coef_.ravel(), sk.intercept_])))


def run(quick: bool) -> list[dict]:
    n = 1500 if quick else 4000
    d = 12 if quick else 40
    out = []

    # 1. online_update == reference.online_update (K=1 and one-vs-rest K=3).
    data = teacher_binary(300, 7, seed=1, dtype=F64)
    name = "online_update == reference (K=1, 300x7)"
    out.append(_against_reference(name, "online_update", data.x, data.y, 1, count=True))
    mc = teacher_multiclass(200, 5, 3, seed=2, dtype=F64)
    name = "online_update == reference (one-vs-rest K=3, 200x5)"
    out.append(_against_reference(name, "online_update", mc.x, mc.onehot, 3))

    # 2. multiclass_update == reference.multiclass_update.
    name = "multiclass_update == reference (K=3, 200x5)"
    out.append(_against_reference(name, "multiclass_update", mc.x, mc.labels, 3))

    # 3. online_update == the seed's per-sample loop.
    data = teacher_binary(n, d, seed=3, dtype=F64)
    w, b = _zeros(1, d)
    m = ops.online_update(w, b, data.x, data.y)
    seed = baselines.SeedPerceptron(d, dtype=F64)
    sm = seed.train_epoch(data.x, data.y, count=True)
    out.append(
        _check(
            f"online_update == seed's loop ({n}x{d})",
            int(m.sum()) == sm,
            _close(_flat(w, b), _flat(seed.weights, seed.bias)),
            f"{sm} mistakes",
        )
    )

    # 4. The pure-PyTorch mini-batch rule: B=1 is the online rule; each batch
    #    is one batch_update call.
    y2 = data.y[:, None]
    wt, bt = _zeros(1, d)
    mt = baselines.torch_minibatch_epoch(wt, bt, data.x, y2, batch_size=1)
    out.append(
        _check(
            f"pure-PyTorch mini-batch B=1 == online_update ({n}x{d})",
            torch.equal(mt, m),
            _close(_flat(wt, bt), _flat(w, b)),
        )
    )
    bs = 64
    wt, bt = _zeros(1, d)
    mt = baselines.torch_minibatch_epoch(wt, bt, data.x, y2, batch_size=bs)
    wo, bo = _zeros(1, d)
    mo = sum(ops.batch_update(wo, bo, data.x[s : s + bs], y2[s : s + bs]) for s in range(0, n, bs))
    out.append(
        _check(
            f"pure-PyTorch mini-batch B={bs} == batch_update per batch ({n}x{d})",
            torch.equal(mt, mo),
            _close(_flat(wt, bt), _flat(wo, bo)),
        )
    )

    # 5. scikit-learn's Perceptron is the same rule with a zero decision value
    #    counted as a mistake (y * z <= 0): identical weights in float64.
    name = f"online_update(zero_is_mistake) == scikit-learn Perceptron ({n}x{d})"
    out.append(_against_sklearn(name, data.x, data.y, data.y, 1, baselines.sklearn_perceptron()))
    mc = teacher_multiclass(n, d, 10, seed=4, dtype=F64)
    name = f"one-vs-rest K=10 (zero_is_mistake) == scikit-learn multi-class ({n}x{d})"
    out.append(_against_sklearn(name, mc.x, mc.onehot, mc.labels, 10, baselines.sklearn_perceptron(n_jobs=2)))

    # 6. float32: the kernel against the reference in the benchmark's dtype
    #    (summation order may differ: the mistakes must match, weights to 1e-4).
    data = teacher_binary(300, 9, seed=5)
    name = "online_update == reference, float32 (300x9)"
    out.append(_against_reference(name, "online_update", data.x, data.y, 1, rtol=1e-4, atol=1e-4))
    return out


def accuracy_sane(rows: list[dict]) -> list[dict]:
    """Every rule well above chance on every data set (fixed seeds, so these
    are deterministic): breast cancer > 0.85 (majority 0.63), digits > 0.85
    (chance 0.1), iris > 0.7 (chance 0.33)."""
    floor = {"breast_cancer": 0.85, "digits": 0.85, "iris": 0.7}
    out = []
    for row in rows:
        bad = {k: row[k] for k in floor if row[k] <= floor[k]}
        out.append(
            dict(
                group="check",
                check=f"accuracy above chance: {row['method']}",
                passed=not bad,
                detail=f"below the floor: {bad}" if bad else "all above",
            )
        )
    return out
