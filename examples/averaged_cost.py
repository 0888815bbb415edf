"""Cost of an averaged (and a pocket) epoch against a plain epoch of the online
rule, side by side in one run, float32, one output: min of repeats.

    python examples/averaged_cost.py [--n 100000] [--d 100] [--repeats 15]

The data: Gaussian x, labels from a linear rule with 10 % flipped (so every
epoch makes mistakes; the extra work of the variants is per mistake).
"""

import argparse
import time

import torch

from torch_perceptron import ops


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--d", type=int, default=100)
    p.add_argument("--repeats", type=int, default=15)
    a = p.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(a.n, a.d, generator=gen)
    y = ((x @ torch.randn(a.d, generator=gen) > 0) ^ (torch.rand(a.n, generator=gen) < 0.1)).float()

    def fresh(extra):
        w, b = torch.zeros(1, a.d), torch.zeros(1)
        if extra == "averaged":
            return w, b, (torch.zeros(1, a.d), torch.zeros(1), torch.zeros(1, dtype=torch.long))
        if extra == "pocket":
            z = torch.zeros(1, dtype=torch.long)
            return w, b, (torch.zeros(1, a.d), torch.zeros(1), z, z.clone())
        return w, b, ()

    runs = {
        "plain": lambda w, b, s: ops.online_update(w, b, x, y),
        "averaged": lambda w, b, s: ops.online_update_averaged(w, b, *s, x, y),
        "pocket": lambda w, b, s: ops.online_update_pocket(w, b, *s, x, y),
    }
    best = {k: float("inf") for k in runs}
    mistakes = {}
    # Interleaved, so that load on the shared machine hits every variant alike.
    for _ in range(a.repeats):
        for name, run in runs.items():
            w, b, s = fresh(name)
            run(w, b, s)  # one epoch from zeros first: the timed epoch is the second
            t0 = time.perf_counter()
            m = run(w, b, s)
            best[name] = min(best[name], time.perf_counter() - t0)
            mistakes[name] = int(m.sum())
    for name in runs:
        print(
            f"{name:9s} {best[name] * 1e3:8.2f} ms/epoch  mistakes {mistakes[name]:6d}  "
            f"ratio to plain {best[name] / best['plain']:.3f}"
        )


if __name__ == "__main__":
    main()
