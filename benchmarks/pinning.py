"""What ``OMP_PROC_BIND=spread OMP_PLACES=cores`` does to each method: every
method at one size timed twice, each time in a fresh process, once in the
default environment (neither variable set) and once with both set.

With the variables set, an OpenMP runtime (torch's, or scikit-learn's own)
binds the main thread to one core when it loads, and threads started later by
that process (joblib's, for scikit-learn's ``n_jobs``) inherit that core: the reason the suite times
every method in its own process with the caller's environment (fresh.py)."""

from . import fresh, multiclass, online


def plan(
    n: int, d: int, k: int, data_dir: str, repeats: int, seed_slice: int, batch_size: int
) -> list[tuple[str, dict]]:
    """The methods of the pinning table, K = 1 and K = ``k``."""
    one = dict(online.plan(n, d, data_dir, repeats, seed_slice, batch_size))
    many = dict(multiclass.plan(n, d, k, data_dir, repeats, batch_size))
    label = f"{n}x{d}"
    return [
        (f"{label}, K=1: {online.KERNEL}", one[online.KERNEL]),
        (f"{label}, K=1: {online.READ}", one[online.READ]),
        (f"{label}, K=1: {online.SEED}", one[online.SEED]),
        (f"{label}, K=1: {online.MINIBATCH.format(b=batch_size)}", one[online.MINIBATCH.format(b=batch_size)]),
        (f"{label}, K=1: {online.SKLEARN}", one[online.SKLEARN]),
        (f"{label}, K={k}: {multiclass.OVR.split(' (')[0].format(k=k)} (CPU)", many[multiclass.OVR]),
        (f"{label}, K={k}: {multiclass.MULTI.format(k=k)}", many[multiclass.MULTI.format(k=k)]),
        (
            f"{label}, K={k}: {multiclass.MINIBATCH.format(k=k, b=batch_size)}",
            many[multiclass.MINIBATCH.format(k=k, b=batch_size)],
        ),
        (f"{label}, K={k}: {multiclass.SKLEARN_1}", many[multiclass.SKLEARN_1]),
        (f"{label}, K={k}: {multiclass.SKLEARN_2}", many[multiclass.SKLEARN_2]),
        # What the suite used to time: scikit-learn in a process that has
        # loaded torch (and with it an OpenMP runtime).
        (
            f"{label}, K={k}: {multiclass.SKLEARN_2}, in a process that imported torch",
            _with_torch(many[multiclass.SKLEARN_2]),
        ),
    ]


def _with_torch(job: dict) -> dict:
    return dict(job, kwargs=dict(job["kwargs"], import_torch=True))


def run(planned: list[tuple[str, dict]], shared: bool, min_total_seconds: float, log=print) -> list[dict]:
    """Each method in a fresh process in the default environment, then in
    another with the pinning variables (``shared``: all methods of one
    environment in one process, for quick mode). One row per method."""
    default_env, pinned_env = fresh.environment(pinned=False), fresh.environment(pinned=True)
    if shared:
        default = fresh.run_each(planned, True, default_env, min_total_seconds, log, "default: ")
        pinned = fresh.run_each(planned, True, pinned_env, min_total_seconds, log, "pinned: ")
    else:
        default, pinned = [], []
        for p in planned:
            default += fresh.run_each([p], False, default_env, min_total_seconds, log, "default: ")
            pinned += fresh.run_each([p], False, pinned_env, min_total_seconds, log, "pinned: ")
    out = []
    for (method, a), (_, b) in zip(default, pinned):
        out.append(
            dict(
                group="pinning",
                method=method,
                seconds=a["seconds"],
                times=a["times"],
                pinned_seconds=b["seconds"],
                pinned_times=b["times"],
                pinned_over_default=b["seconds"] / a["seconds"] if a["seconds"] > 0 else None,
            )
        )
    return out


def main(argv=None) -> None:
    """``python -m benchmarks.pinning [--rounds R] [--repeats N] [--only TEXT]``:
    the pinning table alone at 100,000 x 100, every method R times in each
    environment (in turn, each time in a fresh process); prints the median of
    the per-process medians and the load average before and after."""
    import argparse
    import os
    import statistics
    import tempfile

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--only", default="", help="keep the methods whose name contains this")
    args = p.parse_args(argv)
    print(f"load average before: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        planned = [(m, j) for m, j in plan(100_000, 100, 10, tmp, args.repeats, 3000, 1024) if args.only in m]
        rounds = [run(planned, False, 0.5, log=lambda s: None) for _ in range(args.rounds)]
    print("| method | default environment | pinned | pinned / default |")
    print("|---|---|---|---|")
    for i, (method, _) in enumerate(planned):
        a = statistics.median(r[i]["seconds"] for r in rounds)
        b = statistics.median(r[i]["pinned_seconds"] for r in rounds)
        print(f"| {method} | {a * 1e3:.3g} ms | {b * 1e3:.3g} ms | {b / a:.2f}x |")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
