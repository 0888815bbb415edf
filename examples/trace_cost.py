"""What the weights after every mistake cost: PerceptronLayer.update_traced
against plain update and against one op call per sample, side by side in one
run, float32, one thread, min of interleaved repeats.

    python examples/trace_cost.py [--epochs 5] [--repeats 5] [--n 100000] [--d 100]

Two data sets: the seed experiment's training set (300 x 2, 5 epochs from zero
weights: the animation's workload) and n x d Gaussian data with labels from a
random linear rule (separable; mistakes thin out epoch after epoch). One op
call per sample on the large data is timed on its first 5,000 samples and
extrapolated (marked).
"""

import argparse
import time
from typing import Callable

import torch

from torch_perceptron import PerceptronLayer, ops
from torch_perceptron.datasets import seed_split


def per_sample(layer: PerceptronLayer, x: torch.Tensor, y: torch.Tensor, limit: int) -> int:
    for i in range(min(limit, x.shape[0])):
        ops.online_update(layer.weight, layer.bias, x[i : i + 1], y[i : i + 1])
    return min(limit, x.shape[0])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--d", type=int, default=100)
    a = p.parse_args()
    torch.set_num_threads(1)
    seed = seed_split(0)
    g = torch.Generator().manual_seed(0)
    xb = torch.randn(a.n, a.d, generator=g)
    yb = (xb @ torch.randn(a.d, generator=g) > 0).long()
    datasets = {"seed 300x2": (seed.x_train, seed.y_train), f"random {a.n:,}x{a.d}": (xb, yb)}

    for name, (x, y) in datasets.items():
        n = x.shape[0]
        limit = n if n <= 5000 else 5000
        mistakes = 0
        ways: dict[str, Callable[[PerceptronLayer], float]] = {
            "update": lambda layer: (layer.update(x, y), n)[1],
            "update_traced": lambda layer: (layer.update_traced(x, y), n)[1],
            "op per sample": lambda layer: per_sample(layer, x, y, limit),
        }
        best = {k: float("inf") for k in ways}
        for _ in range(a.repeats):
            for way, run in ways.items():
                layer = PerceptronLayer(x.shape[1])
                total = 0.0
                for _ in range(a.epochs):
                    start = time.perf_counter()
                    done = run(layer)
                    total += (time.perf_counter() - start) * n / done
                best[way] = min(best[way], total)
        check = PerceptronLayer(x.shape[1])
        mistakes = sum(int(check.update_traced(x, y).mistakes) for _ in range(a.epochs))
        print(f"{name}: {a.epochs} epochs, {mistakes:,} mistakes in {n * a.epochs:,} samples")
        for way, t in best.items():
            note = f" (extrapolated from {limit:,} samples per epoch)" if way == "op per sample" and limit < n else ""
            print(
                f"  {way:14s} {t * 1e3:10.2f} ms  {t / best['update']:8.1f}x update"
                f"  {t / max(mistakes, 1) * 1e6:8.1f} µs per mistake{note}"
            )


if __name__ == "__main__":
    main()
