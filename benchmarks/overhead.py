"""Small batches, where the fixed cost of a call matters more than the data:
time per call of each op beside the plain PyTorch it replaces (Lightning and
the accuracy table call the ops on batches of this size)."""

import torch

from torch_perceptron import ops

from . import baselines
from .timing import median_seconds, size_row

CALLS = 100  # calls per timed repeat, so that the timer's own cost vanishes


def run(n: int, d: int, k: int, repeats: int, log=print) -> list[dict]:
    """One row per call: method, seconds per call (median) and a note."""
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(n, d, generator=gen)
    y = (torch.rand(n, k, generator=gen) > 0.5).to(torch.float32)
    labels = torch.randint(0, k, (n,), generator=gen)
    w, b = torch.randn(k, d, generator=gen) * 0.01, torch.zeros(k)
    w0, b0 = w.clone(), b.clone()
    calls = [
        ("plain PyTorch: torch.addmm(b, x, w.T)", lambda: torch.addmm(b, x, w.T)),
        ("torch_perceptron decision_function", lambda: ops.decision_function(x, w, b)),
        ("torch_perceptron predict", lambda: ops.predict(x, w, b)),
        ("plain PyTorch: one mini-batch step", lambda: baselines.torch_minibatch_epoch(w, b, x, y, n)),
        ("torch_perceptron batch_update", lambda: ops.batch_update(w, b, x, y)),
        ("torch_perceptron online_update", lambda: ops.online_update(w, b, x, y)),
        ("torch_perceptron multiclass_update", lambda: ops.multiclass_update(w, b, x, labels)),
    ]
    rows = []
    for method, call in calls:

        def many(call=call):
            for _ in range(CALLS):
                call()

        def reset():
            w.copy_(w0)
            b.copy_(b0)

        t, ts = median_seconds(many, repeats, setup=reset)
        rows.append(
            size_row("overhead", n, d, k=k, method=method, seconds=t / CALLS, times=[u / CALLS for u in ts], note="")
        )
        log(f"  {n}x{d} K={k} {method}: {t / CALLS * 1e6:.1f} us")
    base = rows[0]["seconds"]
    for row in rows:
        row["vs_addmm"] = row["seconds"] / base
    return rows
