"""One-vs-rest and multiclass epochs at 100,000 x 100, K = 10, on 1 and 2
threads, beside scikit-learn's multi-class Perceptron with n_jobs=2: minimum of
repeats, all in one run. Set OMP_PROC_BIND=spread OMP_PLACES=cores.

    OMP_PROC_BIND=spread OMP_PLACES=cores python benchmarks/k10_threads.py
"""

import time

import numpy as np
import torch
from sklearn.linear_model import Perceptron

import torch_perceptron as tp


def best_ms(f, repeats: int = 10) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main() -> None:
    torch.manual_seed(0)
    n, d, k = 100_000, 100, 10
    x = torch.randn(n, d)
    y = (x @ torch.randn(k, d).T).argmax(1)
    one_hot = torch.nn.functional.one_hot(y, k)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        ovr = best_ms(lambda: tp.ops.online_update(torch.zeros(k, d), torch.zeros(k), x, one_hot))
        mc = best_ms(lambda: tp.ops.multiclass_update(torch.zeros(k, d), torch.zeros(k), x, y))
        print(f"threads={threads}: one-vs-rest {ovr:.2f} ms, multiclass {mc:.2f} ms")
    sk = best_ms(lambda: Perceptron(max_iter=1, tol=None, shuffle=False, n_jobs=2)
                 .fit(x.numpy(), y.numpy()), 3)
    print(f"scikit-learn Perceptron n_jobs=2: {sk:.1f} ms")


if __name__ == "__main__":
    main()
