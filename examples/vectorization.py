"""Why vectorized computation matters: the lecture note's lesson, measured on this machine.

Part 1, as in the note: the dot product of two vectors of 1,000 elements three
ways (a for loop, a generator expression under sum(), x.dot(w)), timed the way
`%timeit -r R -n N` does: mean and standard deviation per loop over R runs of
N loops (N chosen so that a run lasts long enough to time). One more row runs
the same for loop over Python floats instead of tensor elements: most of the
for loop's time in the note is spent indexing a tensor one element at a time.

Part 2, one level up: one epoch of the perceptron rule, from zero weights,
four ways, on the seed experiment's training set (300 x 2) and on random
data of 100,000 x 100 (float32, labels from a random linear rule):

  Python loop         the rule in plain Python, the dot product being the
                      note's for loop, over Python floats (the rows are
                      converted with .tolist() outside the timing)
  per-sample torch    the note's Perceptron.train: a Python loop over samples,
                      each a vectorized dot product (torch.mm) and update
  compiled op         torch_perceptron.ops.online_update: the same rule in C++
  mini-batch rule     ops.batch_update over batches of --batch-size samples
                      (a different rule: one step per batch, errors under the
                      weights at the start of the batch)

Every way runs on one thread (--threads), so the comparison is about
vectorization, not cores. The two Python loops get a time budget (--budget
seconds): one that has not finished the epoch by then is stopped, and its
time for the whole epoch is extrapolated linearly from the samples it did,
marked "extrapolated" in the table and hatched in the chart (for the Python
loop that overstates a little: early samples make more mistakes, and a
mistake costs a second pass over the row).

Writes the table to stdout and, under --out (default outputs/),
vectorization.png (log-scale bar chart) and vectorization.json (the figures).
Nothing is hard-coded: every figure is measured when the script runs.

    python examples/vectorization.py            # about half a minute
    python examples/vectorization.py --quick    # a few seconds, rougher figures
"""

import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Callable, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402

from _common import save, script_parser, write_json  # noqa: E402
from torch_perceptron import ops  # noqa: E402
from torch_perceptron.datasets import seed_split  # noqa: E402

# The Python loops check the clock once per chunk of rows, and convert one
# chunk at a time to Python floats (100,000 x 100 floats would take ~300 MB).
CHUNK = 512


# --- the note's three dot products, verbatim ------------------------------------


def forloop(x, w):
    z = 0.0
    for i in range(len(x)):
        z += x[i] * w[i]
    return z


def listcomprehension(x, w):
    return sum(x_i * w_i for x_i, w_i in zip(x, w))


def vectorized(x, w):
    return x.dot(w)


# --- timing ---------------------------------------------------------------------


@dataclass
class Timing:
    """Seconds per call: the mean and standard deviation over ``runs`` runs of
    ``loops`` calls each (as %timeit reports), or one partial call scaled to
    the whole epoch (``extrapolated``, from ``done`` of ``total`` samples)."""

    name: str
    mean: float
    std: float
    runs: int
    loops: int
    extrapolated: bool = False
    done: int = 0
    total: int = 0


def timeit_like(name: str, call: Callable[[], object], runs: int, min_run: float) -> Timing:
    """%timeit's procedure: loops per run grow 1, 2, 5, 10, 20, ... until a run
    lasts ``min_run`` seconds, then ``runs`` runs of that many loops."""
    loops = 1
    for factor in _one_two_five():
        loops = factor
        if _run_seconds(call, loops) >= min_run:
            break
    per_loop = [_run_seconds(call, loops) / loops for _ in range(runs)]
    mean = sum(per_loop) / runs
    std = math.sqrt(sum((t - mean) ** 2 for t in per_loop) / runs)
    return Timing(name, mean, std, runs, loops)


def _run_seconds(call: Callable[[], object], loops: int) -> float:
    """Seconds that ``loops`` calls of ``call`` take, one after the other."""
    start = time.perf_counter()
    for _ in range(loops):
        call()
    return time.perf_counter() - start


def _one_two_five():
    scale = 1
    while True:
        for f in (1, 2, 5):
            yield f * scale
        scale *= 10


def time_epoch(name: str, epoch: Callable[[float], int], n: int, budget: float, runs: int, min_run: float) -> Timing:
    """Times ``epoch(budget) -> samples done``. An epoch that stops short of
    ``n`` samples is timed once and extrapolated to ``n``; a complete one is
    timed as %timeit does."""
    start = time.perf_counter()
    done = epoch(budget)
    elapsed = time.perf_counter() - start
    if done < n:
        return Timing(name, elapsed * n / done, 0.0, 1, 1, True, done, n)
    # An epoch that takes seconds gets a few runs, as %timeit's -r would.
    t = timeit_like(name, lambda: epoch(math.inf), runs if elapsed < 0.5 else 3, min_run)
    t.done = t.total = n
    return t


def format_seconds(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            return f"{s / scale:.3g} {unit}"
    raise AssertionError


def describe(t: Timing) -> str:
    if t.extrapolated:
        return f"{format_seconds(t.mean)} per epoch, extrapolated from {t.done:,} of {t.total:,} samples"
    return (
        f"{format_seconds(t.mean)} ± {format_seconds(t.std)} per loop "
        f"(mean ± std. dev. of {t.runs} runs, {t.loops} loops each)"
    )


# --- one epoch, four ways ------------------------------------------------------


def python_loop(x: Tensor, y: Tensor) -> Callable[[float], int]:
    """The rule in plain Python floats, the note's for loop as the dot product."""

    def epoch(budget: float) -> int:
        d = x.shape[1]
        w, b = [0.0] * d, 0.0
        spent, done = 0.0, 0
        for start in range(0, x.shape[0], CHUNK):
            if spent >= budget:
                break
            rows, labels = x[start : start + CHUNK].tolist(), y[start : start + CHUNK].tolist()
            t0 = time.perf_counter()
            for xi, yi in zip(rows, labels):
                yhat = 1.0 if forloop(xi, w) + b > 0.0 else 0.0
                err = yi - yhat
                if err != 0.0:
                    for j in range(d):
                        w[j] += err * xi[j]
                    b += err
            spent += time.perf_counter() - t0
            done += len(rows)
        return done

    return epoch


def per_sample_torch(x: Tensor, y: Tensor) -> Callable[[float], int]:
    """The note's Perceptron.train, one epoch: a Python loop over samples."""
    n, d = x.shape

    def epoch(budget: float) -> int:
        weights, bias = torch.zeros(d, 1), torch.zeros(1)
        ones, zeros = torch.ones((1, 1)), torch.zeros((1, 1))
        deadline = time.perf_counter() + budget
        for i in range(n):
            linear = torch.mm(x[i].reshape(1, d), weights) + bias
            predictions = torch.where(linear > 0.0, ones, zeros)
            errors = (y[i] - predictions).reshape(-1)
            weights += (errors * x[i]).reshape(d, 1)
            bias += errors
            if i % CHUNK == CHUNK - 1 and time.perf_counter() > deadline:
                return i + 1
        return n

    return epoch


def compiled_op(x: Tensor, y: Tensor) -> Callable[[float], int]:
    w, b = torch.zeros(1, x.shape[1]), torch.zeros(1)

    def epoch(budget: float) -> int:
        w.zero_()
        b.zero_()
        ops.online_update(w, b, x, y)
        return x.shape[0]

    return epoch


def mini_batch(x: Tensor, y: Tensor, batch_size: int) -> Callable[[float], int]:
    w, b = torch.zeros(1, x.shape[1]), torch.zeros(1)

    def epoch(budget: float) -> int:
        w.zero_()
        b.zero_()
        for s in range(0, x.shape[0], batch_size):
            ops.batch_update(w, b, x[s : s + batch_size], y[s : s + batch_size])
        return x.shape[0]

    return epoch


def random_data(n: int, d: int, seed: int) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = (x @ torch.randn(d, generator=g) > 0).float()
    return x, y


# --- the chart -----------------------------------------------------------------


def plot(dots: list[Timing], epochs: dict[str, list[Timing]], path: str) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1.35]})
    names = [t.name for t in dots]
    left.barh(range(len(dots)), [t.mean for t in dots], xerr=[t.std for t in dots], color="tab:gray")
    left.set_yticks(range(len(dots)), names)
    left.invert_yaxis()
    left.set(xscale="log", xlabel="seconds per call (log scale)", title="Dot product of 1,000 elements")
    for i, t in enumerate(dots):
        left.text((t.mean + t.std) * 1.2, i, format_seconds(t.mean), va="center", fontsize=8)

    ways = [t.name for t in next(iter(epochs.values()))]
    height = 0.8 / len(epochs)
    colors = ["tab:blue", "tab:orange", "tab:green"]
    for k, (data_name, timings) in enumerate(epochs.items()):
        ys = [i + (k - (len(epochs) - 1) / 2) * height for i in range(len(ways))]
        right.barh(
            ys,
            [t.mean for t in timings],
            height=height,
            color=colors[k % 3],
            label=data_name,
            hatch=None,
            edgecolor="white",
        )
        for yv, t in zip(ys, timings):
            if t.extrapolated:
                right.barh(yv, t.mean, height=height, color="none", edgecolor="black", hatch="///", lw=0)
            label = format_seconds(t.mean) + (" (extrapolated)" if t.extrapolated else "")
            right.text(t.mean * 1.15, yv, label, va="center", fontsize=8)
    right.set_yticks(range(len(ways)), ways)
    right.invert_yaxis()
    lo = min(t.mean for ts in epochs.values() for t in ts)
    hi = max(t.mean for ts in epochs.values() for t in ts)
    right.set(
        xscale="log",
        xlabel="seconds per epoch (log scale)",
        xlim=(lo / 3, hi * 30),
        title="One epoch of the perceptron rule",
    )
    right.legend(loc="upper right", fontsize=8)
    for ax in (left, right):
        ax.grid(axis="x", which="major", alpha=0.3)
    left.set_xlim(min(t.mean for t in dots) / 3, max(t.mean for t in dots) * 30)
    save(fig, path)


# --- main ----------------------------------------------------------------------


def main(argv: Optional[list[str]] = None) -> dict:
    parser = script_parser(__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs and a small budget: seconds, rougher figures (tests)"
    )
    parser.add_argument("--n", type=int, default=100_000, help="rows of the large data")
    parser.add_argument("--d", type=int, default=100, help="features of the large data")
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds a Python loop may run before it is extrapolated (default 5, --quick 0.3)",
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs")
    args = parser.parse_args(argv)
    budget = args.budget if args.budget is not None else (0.3 if args.quick else 5.0)
    runs, min_run = (3, 0.01) if args.quick else (10, 0.05)
    torch.set_num_threads(args.threads)

    torch.manual_seed(args.seed)
    x, w = torch.rand(1000), torch.rand(1000)
    xs, ws = x.tolist(), w.tolist()
    dots = [
        timeit_like("for loop", lambda: forloop(x, w), runs, min_run),
        timeit_like("generator + sum()", lambda: listcomprehension(x, w), runs, min_run),
        timeit_like("x.dot(w)", lambda: vectorized(x, w), runs, min_run),
        timeit_like("for loop over floats", lambda: forloop(xs, ws), runs, min_run),
    ]
    print("Dot product of 1,000 elements (as %timeit):")
    for t in dots:
        print(f"  {t.name:24s} {describe(t)}")

    seed = seed_split(args.seed)
    datasets = {
        f"seed data {tuple(seed.x_train.shape)[0]}x{seed.x_train.shape[1]}": (seed.x_train, seed.y_train.float()),
        f"random {args.n:,}x{args.d}": random_data(args.n, args.d, args.seed),
    }
    epochs: dict[str, list[Timing]] = {}
    for data_name, (xd, yd) in datasets.items():
        n = xd.shape[0]
        ways = [
            ("Python loop", python_loop(xd, yd)),
            ("per-sample torch", per_sample_torch(xd, yd)),
            ("compiled op", compiled_op(xd, yd)),
            (f"mini-batch rule (B={args.batch_size})", mini_batch(xd, yd, args.batch_size)),
        ]
        epochs[data_name] = [time_epoch(name, f, n, budget, runs, min_run) for name, f in ways]

    print(f"\nOne epoch of the perceptron rule from zero weights ({args.threads} thread):")
    header = f"  {'data':20s} {'way':24s} {'seconds':>10s} {'x compiled op':>14s}  how measured"
    print(header)
    for data_name, timings in epochs.items():
        op = next(t for t in timings if t.name == "compiled op").mean
        for t in timings:
            how = (
                "extrapolated from %s of %s samples" % (f"{t.done:,}", f"{t.total:,}")
                if t.extrapolated
                else f"mean of {t.runs} runs x {t.loops} loops"
            )
            print(f"  {data_name:20s} {t.name:24s} {t.mean:10.3e} {t.mean / op:14.1f}  {how}")

    os.makedirs(args.out, exist_ok=True)
    png = os.path.join(args.out, "vectorization.png")
    plot(dots, epochs, png)
    result = {
        "dot_product": [asdict(t) for t in dots],
        "epoch": {k: [asdict(t) for t in ts] for k, ts in epochs.items()},
        "threads": args.threads,
        "budget_seconds": budget,
    }
    write_json(args.out, "vectorization.json", result)
    print("\nChart:", png)
    return result


if __name__ == "__main__":
    main()
