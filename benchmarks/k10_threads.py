"""One-vs-rest and multiclass epochs at 100,000 x 100 float32, K = 10, on 1
and 2 threads, beside scikit-learn's multi-class Perceptron with n_jobs=2:
medians (and minima) of repeats, each method in its own fresh process with
this environment, all in one run. The machine's load average is printed
before and after (a shared machine moves these numbers).

    python -m benchmarks.k10_threads [--repeats 20] [--rounds 1]
"""

import argparse
import os
import statistics
import tempfile

from . import fresh
from .data import save_multiclass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--rounds", type=int, default=1, help="run every method this many times, in turn")
    args = p.parse_args()
    n, d, k = 100_000, 100, 10
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        data = save_multiclass(tmp, n, d, k, seed=7)
        r = args.repeats
        planned = [
            (
                f"one-vs-rest, {t} thread(s)",
                fresh.job("multiclass:time_ovr", x=data["x"], onehot=data["onehot"], repeats=r, threads=t),
            )
            for t in (1, 2)
        ]
        planned += [
            (
                f"multiclass, {t} thread(s)",
                fresh.job("multiclass:time_multi", x=data["x"], labels=data["labels"], k=k, repeats=r, threads=t),
            )
            for t in (1, 2)
        ]
        planned.append(
            (
                "scikit-learn Perceptron n_jobs=2",
                fresh.job(
                    "sklearn_peer:time_fit", x_path=data["x"], y_path=data["labels"], repeats=max(3, r // 4), n_jobs=2
                ),
            )
        )
        medians: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for label, result in fresh.run_each(planned, log=lambda s: None):
                medians.setdefault(label, []).append(result["seconds"])
                print(
                    f"{label}: median {result['seconds'] * 1e3:.2f} ms, "
                    f"min {min(result['times']) * 1e3:.2f} ms, mistakes {result['mistakes']}",
                    flush=True,
                )
    sk = statistics.median(medians["scikit-learn Perceptron n_jobs=2"])
    for label, values in medians.items():
        m = statistics.median(values)
        print(f"{label}: median of round medians {m * 1e3:.2f} ms, scikit-learn n_jobs=2 / this {sk / m:.1f}x")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
