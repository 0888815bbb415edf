"""Runs the whole benchmark suite on this machine and prints its tables last.

    python -m benchmarks.run            # full suite, a few minutes on 2 cores
    python -m benchmarks.run --quick    # tiny sizes: checks that it runs and is right

Every method is timed in its own fresh process with the caller's environment
(fresh.py); nothing here sets an OpenMP variable. Writes ``latest.md``,
``latest.json`` and ``latest.png`` into ``--out-dir`` (default
``benchmarks/results``, or ``benchmarks/results/quick`` with ``--quick``). Exits with status 1 when a correctness check fails. Nothing here
asserts on time.
"""

import argparse
import datetime
import math
import os
import shlex
import sys
import tempfile

import torch

from . import (
    accuracy,
    call_cost,
    checks,
    fresh,
    memory,
    multiclass,
    online,
    overhead,
    pinning,
    report,
    sklearn_estimator,
    sparse,
    timing,
)
from .timing import machine

FULL_SIZES = [(400, 2), (100_000, 100), (20_000, 1_000), (1_000_000, 32)]
QUICK_SIZES = [(400, 2), (2_000, 20), (500, 100), (5_000, 8)]
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes and 2 repeats (CI smoke test)")
    p.add_argument(
        "--repeats",
        type=int,
        help="timed repeats per row, at least (default 7, quick 2); calls faster than "
        "0.5 s in all are repeated up to 200 times",
    )
    p.add_argument("--seed-slice", type=int, help="samples the seed's loop is timed on (default 3000, quick 200)")
    p.add_argument("--batch-size", type=int, default=1024, help="mini-batch size of the pure-PyTorch rule")
    p.add_argument("--epochs", type=int, help="epochs for the accuracy table (default 50, quick 10)")
    p.add_argument("--seed", type=int, default=0, help="split and shuffling seed for the accuracy table")
    p.add_argument("--skip-memory", action="store_true", help="leave out the peak-memory subprocesses")
    p.add_argument(
        "--skip-pinning",
        action="store_true",
        help="leave out the table of each method with and without OMP_PROC_BIND/OMP_PLACES",
    )
    p.add_argument("--skip-sparse", action="store_true", help="leave out the sparse-input section")
    p.add_argument(
        "--rounds",
        type=int,
        help="fresh processes per method of the ten-class table, median of their medians (default 3, quick 1)",
    )
    p.add_argument("--out-dir", help="where latest.md/.json/.png go")
    args = p.parse_args(argv)
    args.repeats = args.repeats or (2 if args.quick else 7)
    args.epochs = args.epochs or (10 if args.quick else 50)
    args.seed_slice = args.seed_slice or (200 if args.quick else 3000)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.out_dir = args.out_dir or (os.path.join(RESULTS, "quick") if args.quick else RESULTS)
    return args


def collect(args: argparse.Namespace, log=print) -> dict:
    """Runs every part of the suite and returns the results as one dict."""
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    if args.quick:
        timing.MIN_TOTAL_SECONDS = 0.0
    results: dict = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.run", *map(shlex.quote, sys.argv[1:])]),
        "machine": machine(),
        "params": dict(
            quick=args.quick,
            repeats=args.repeats,
            min_total_seconds=0.0 if args.quick else timing.MIN_TOTAL_SECONDS,
            max_repeats=timing.MAX_REPEATS,
            seed_slice=args.seed_slice,
            batch_size=args.batch_size,
            epochs=args.epochs,
            seed=args.seed,
            rounds=args.rounds,
            sizes=[f"{n}x{d}" for n, d in sizes],
        ),
    }
    pinned = {v: os.environ[v] for v in fresh.PIN if v in os.environ}
    if pinned:
        log(
            f"note: the caller's environment sets {pinned}; every method runs with it "
            "(the pinning table shows what it does)"
        )
    log("correctness checks ...")
    results["checks"] = checks.run(args.quick)

    # Quick mode runs all jobs of a table in one fresh process; the full suite
    # gives each method its own.
    shared, mts = args.quick, results["params"]["min_total_seconds"]
    cuda = torch.cuda.is_available()
    with tempfile.TemporaryDirectory(prefix="torch_perceptron_bench_") as data_dir:
        log("online epoch ...")
        rows = []
        for n, d in sizes:
            planned = online.plan(n, d, data_dir, args.repeats, args.seed_slice, args.batch_size, cuda)
            rows += online.rows(n, d, fresh.run_each(planned, shared, None, mts, log, f"{n}x{d} "))
        online.ratios(rows)
        results["online"] = rows

        log("ten classes ...")
        n, d = (2_000, 20) if args.quick else (100_000, 100)
        planned = multiclass.plan(n, d, 10, data_dir, args.repeats, args.batch_size, cuda)
        rows = multiclass.rows(
            n, d, 10, fresh.run_each(planned, shared, None, mts, log, f"K=10 {n}x{d} ", rounds=args.rounds)
        )
        multiclass.ratios(rows)
        results["multiclass"] = rows

        results["pinning"] = []
        if not args.skip_pinning:
            log("with and without OMP_PROC_BIND/OMP_PLACES ...")
            planned = pinning.plan(n, d, 10, data_dir, args.repeats, args.seed_slice, args.batch_size)
            results["pinning"] = pinning.run(planned, shared, mts, log)

    log("small batches ...")
    results["overhead"] = overhead.run(32, 64, 10, args.repeats, log=log)

    results["memory"] = []
    if not args.skip_memory:
        log("peak memory ...")
        n, d = (20_000, 32) if args.quick else (1_000_000, 32)
        results["memory"] = memory.measure(list(memory.CASES), n, d, shared=args.quick)
        for r in results["memory"]:
            log(f"  {r['case']}: {r['extra_mib']:.1f} MiB extra")
        results["checks"] += memory_checks(results["memory"])

    log("scikit-learn estimator, each side in a fresh process ...")
    results["sklearn_estimator"] = sklearn_estimator.run(args.quick, args.repeats, log=log)
    results["checks"] += sklearn_estimator.checks(results["sklearn_estimator"])

    log("what a call costs ...")
    results["call_cost"] = call_cost.run(
        args.quick, args.repeats, log=log, only=call_cost.QUICK_PARTS if args.quick else call_cost.PARTS
    )
    results["checks"] += results["call_cost"]["checks"]

    results["sparse"] = None
    if not args.skip_sparse:
        log("sparse input, each method in a fresh process ...")
        results["sparse"] = sparse.run(args.quick, args.repeats if args.quick else 3, log=log, shared=args.quick)
        results["checks"] += results["sparse"]["checks"]

    log("accuracy ...")
    results["accuracy"] = accuracy.run(args.epochs, args.seed, log=log)
    results["checks"] += checks.accuracy_sane(results["accuracy"])
    results["checks"] += completeness(results, sizes)
    return results


def memory_checks(rows: list[dict]) -> list[dict]:
    """The ops must not copy contiguous float32 input: their peak extra memory
    stays well under the size of x (a copy would add all of it; the strided
    control shows that the measurement sees one)."""
    out = []
    for r in rows:
        if r["case"] in ("online_update", "multiclass_update", "batch_update"):
            ok = r["extra_over_data"] < 0.5
            out.append(
                dict(
                    group="check",
                    check=f"no copy of x: {r['case']}",
                    passed=ok,
                    detail=f"{r['extra_mib']:.1f} MiB extra for {r['data_mib']:.1f} MiB of x",
                )
            )
        if r["case"] == "online_update_strided":
            ok = r["extra_over_data"] > 0.8
            out.append(
                dict(
                    group="check",
                    check="the memory measurement sees a copy of x (strided control)",
                    passed=ok,
                    detail=f"{r['extra_mib']:.1f} MiB extra for {r['data_mib']:.1f} MiB of x",
                )
            )
    return out


def completeness(results: dict, sizes) -> list[dict]:
    """Every row the report promises is there and has a finite time."""
    expected = [
        (f"{n}x{d}", m)
        for n, d in sizes
        for m in (online.READ, online.MATVEC, online.SEED, online.SKLEARN, online.SKLEARN_64, online.KERNEL)
    ]
    have = {(r["size"], r["method"]) for r in results["online"]}
    missing = [e for e in expected if e not in have]
    missing += [
        (f"{n}x{d}", "mini-batch")
        for n, d in sizes
        if (f"{n}x{d}", online.MINIBATCH.format(b=results["params"]["batch_size"])) not in have
    ]
    if torch.cuda.is_available():
        for n, d in sizes:
            if not any(
                r["size"] == f"{n}x{d}" and r["method"].startswith(online.KERNEL_CUDA) for r in results["online"]
            ):
                missing.append((f"{n}x{d}", online.KERNEL_CUDA))
    methods = {r["method"] for r in results["multiclass"]}
    k = results["multiclass"][0]["k"]
    missing += [
        m for m in (multiclass.SKLEARN_1, multiclass.SKLEARN_2, multiclass.MULTI.format(k=k)) if m not in methods
    ]
    missing += [m for m in ("one-vs-rest",) if not any(multiclass.OVR.split(",")[0] in x and m in x for x in methods)]
    missing += [] if results["accuracy"] else ["accuracy"]
    bad_time = [
        r["method"]
        for r in results["online"] + results["multiclass"]
        if not (r["seconds"] > 0 and math.isfinite(r["seconds"]))
    ]
    bad_time += [
        f"{r['method']} (pinned)"
        for r in results["pinning"]
        if not (r["pinned_seconds"] > 0 and math.isfinite(r["pinned_seconds"]))
    ]
    return [
        dict(
            group="check",
            check="every row present with a finite time",
            passed=not missing and not bad_time,
            detail=f"missing: {missing}; no time: {bad_time}" if missing or bad_time else "all there",
        )
    ]


def main(argv=None) -> int:
    args = parse_args(argv)
    results = collect(args, log=lambda s: print(s, file=sys.stderr, flush=True))
    paths = report.write(results, args.out_dir)
    print(report.markdown(results))
    print(f"written: {', '.join(paths.values())}", file=sys.stderr)
    return report.exit_status(results["checks"])


if __name__ == "__main__":
    sys.exit(main())
