"""Two or more builds of the extension side by side: the stable-ABI port's check.

    python benchmarks/abi_port.py BUILD_DIR BUILD_DIR [BUILD_DIR ...] [--rounds R]

Each BUILD_DIR is a checkout whose ``torch_perceptron`` has its library built in
place (``setup.py build_ext --inplace``). The builds are compared on the same
data (saved once as ``.npy``), each timed in its own fresh interpreter with the
caller's environment, round after round and in a rotating order, so that a
shared machine's slow spell falls on every build alike. A round's ratio is a
build's median over the first build's median in that round; the table gives
the median over rounds of each build's medians, and of the per-round ratios
with their range. The mistakes each build makes must be the same (the rule is
exact), or the script fails.

Cases: the K=1 online epoch, the K=10 one-vs-rest and multiclass epochs (all
100,000 x 100 float32, every repeat the first epoch from zero weights), and the
fixed cost of a small call (online_update on 1 x 2, decision_function on
16 x 8). Only calls that every build since the port has are used.

It is a script rather than part of ``benchmarks.run``: the builds it compares
are other checkouts, and each worker must import the package from its own
build directory, never from this one.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

N, D, K = 100_000, 100, 10
CASES = [
    ("online K=1, 100000 x 100 float32 (ms)", "online1", 1e3),
    ("one-vs-rest K=10, 100000 x 100 float32 (ms)", "ovr10", 1e3),
    ("multiclass K=10, 100000 x 100 float32 (ms)", "multi10", 1e3),
    ("online_update, 1 x 2 (µs per call)", "small_update", 1e6),
    ("decision_function, 16 x 8 (µs per call)", "small_decision", 1e6),
]


def make_data(directory: str) -> None:
    """A planted linear model with label noise, so that every epoch updates."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, D), dtype=np.float32)
    w = rng.standard_normal((K, D)).astype(np.float32)
    z = x @ w.T + 2.0 * rng.standard_normal((N, K)).astype(np.float32)
    np.save(os.path.join(directory, "x.npy"), x)
    np.save(os.path.join(directory, "y1.npy"), (z[:, 0] > 0).astype(np.float32))
    np.save(os.path.join(directory, "y10.npy"), (z > 0).astype(np.float32))
    np.save(os.path.join(directory, "c10.npy"), z.argmax(axis=1).astype(np.int64))


def _median_epoch(update, k: int, repeats: int) -> tuple[float, int]:
    import torch

    w, b = torch.zeros(k, D), torch.zeros(k)
    times, mistakes = [], None
    for i in range(repeats + 1):
        w.zero_()
        b.zero_()
        start = time.perf_counter()
        m = update(w, b)
        elapsed = time.perf_counter() - start
        if i:  # the first call warms up
            times.append(elapsed)
        mistakes = int(m.sum())
    return statistics.median(times), mistakes


def _median_call(call, calls: int = 2000, batches: int = 15) -> float:
    for _ in range(200):
        call()
    per_call = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        per_call.append((time.perf_counter() - start) / calls)
    return statistics.median(per_call)


def worker(build: str, data: str) -> dict:
    sys.path.insert(0, build)
    import numpy as np
    import torch

    import torch_perceptron
    from torch_perceptron import ops

    where = os.path.realpath(torch_perceptron.__file__)
    if not where.startswith(os.path.realpath(build) + os.sep):
        raise RuntimeError(f"torch_perceptron came from {where}, not from {build}")
    load = lambda name: torch.from_numpy(np.load(os.path.join(data, name)))  # noqa: E731
    x, y1, y10, c10 = load("x.npy"), load("y1.npy"), load("y10.npy"), load("c10.npy")
    out: dict = {"threads": torch.get_num_threads()}
    out["online1"] = _median_epoch(lambda w, b: ops.online_update(w, b, x, y1), 1, 15)
    out["ovr10"] = _median_epoch(lambda w, b: ops.online_update(w, b, x, y10), K, 7)
    out["multi10"] = _median_epoch(lambda w, b: ops.multiclass_update(w, b, x, c10), K, 7)
    xs, ys, ws, bs = torch.tensor([[1.0, -2.0]]), torch.ones(1), torch.zeros(1, 2), torch.zeros(1)
    out["small_update"] = (_median_call(lambda: ops.online_update(ws, bs, xs, ys)), None)
    xd, wd, bd = torch.randn(16, 8), torch.randn(1, 8), torch.zeros(1)
    out["small_decision"] = (_median_call(lambda: ops.decision_function(xd, wd, bd)), None)
    return out


def run_one(build: str, data: str) -> dict:
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", build, "--data", data],
        capture_output=True,
        text=True,
        cwd=build,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker for {build} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def describe(build: str) -> str:
    try:
        return subprocess.run(
            ["git", "-C", build, "log", "-1", "--format=%h %s"], capture_output=True, text=True, check=True
        ).stdout.strip()[:60]
    except (OSError, subprocess.CalledProcessError):
        return build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("builds", nargs="*")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--worker")
    parser.add_argument("--data")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.data)))
        return
    if len(args.builds) < 2:
        parser.error("give at least two build directories")
    builds = [os.path.abspath(b) for b in args.builds]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as data:
        make_data(data)
        results: list[list[dict]] = [[] for _ in builds]
        for r in range(args.rounds):
            order = [(r + i) % len(builds) for i in range(len(builds))]
            for i in order:
                results[i].append(run_one(builds[i], data))
            print(f"round {r + 1}/{args.rounds} done, load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    load_after = os.getloadavg()

    for key in ("online1", "ovr10", "multi10"):
        seen = {res[key][1] for runs in results for res in runs}
        if len(seen) != 1:
            raise SystemExit(f"{key}: the builds disagree on the mistakes: {sorted(seen)}")
    threads = sorted({res["threads"] for runs in results for res in runs})

    print(f"Builds (torch {__import__('torch').__version__}, {threads} intra-op threads):")
    for i, b in enumerate(builds):
        print(f"- {'AB'[i] if i < 2 else chr(65 + i)}: `{b}` ({describe(b)})")
    print(
        f"\n{args.rounds} rounds, each build in its own fresh process per round; load average "
        f"{load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f} before, "
        f"{load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f} after.\n"
    )
    names = [chr(65 + i) for i in range(len(builds))]
    header = ["case"] + names + [f"{n}/A per round: median (min-max)" for n in names[1:]]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for label, key, scale in CASES:
        medians = [statistics.median(res[key][0] for res in runs) * scale for runs in results]
        cells = [label] + [f"{m:.3g}" for m in medians]
        for runs in results[1:]:
            ratios = [res[key][0] / base[key][0] for res, base in zip(runs, results[0])]
            cells.append(f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
        print("| " + " | ".join(cells) + " |")
    mistakes = ", ".join(f"{key} {results[0][0][key][1]}" for key in ("online1", "ovr10", "multi10"))
    print(f"\nMistakes of the first epoch, the same for every build: {mistakes}.")


if __name__ == "__main__":
    main()
