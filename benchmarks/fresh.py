"""Each method timed in a fresh interpreter, in the environment its users have.

With ``OMP_PROC_BIND`` set, an OpenMP runtime binds the main thread to one
core as soon as it loads (``import torch`` is enough, and so is importing
scikit-learn's Perceptron, which loads scikit-learn's own copy), and threads
that the process starts later (joblib's, for scikit-learn's ``n_jobs``)
inherit that one core. So no method may be timed in a process
whose environment or libraries were chosen for another: the suite saves the
data once (``.npy``), and each method loads it in its own ``python -m
benchmarks.fresh`` process, started with the suite's own environment (the
caller's, unchanged) or, for the pinning table, with exactly the variables
asked for. A process timing scikit-learn imports numpy and scikit-learn only.

A job names a function ``module:function`` of this package and its keyword
arguments; the function returns ``{seconds, times, mistakes, note}`` (and may
add fields). The worker reads a JSON list of jobs on stdin and prints one JSON
list of results as its last line of output.
"""

import importlib
import json
import os
import statistics
import subprocess
import sys
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What the pinning table sets; the default environment has neither.
PIN = {"OMP_PROC_BIND": "spread", "OMP_PLACES": "cores"}


def job(target: str, **kwargs) -> dict:
    """A job for ``run``: ``target`` is ``"module:function"`` within this
    package (e.g. ``"online:time_kernel"``)."""
    return dict(target=target, kwargs=kwargs)


def environment(pinned: Optional[bool] = None) -> dict[str, str]:
    """The suite's environment (``None``: the caller's, unchanged), or the
    caller's without (``False``) or with (``True``) the pinning variables."""
    env = dict(os.environ)
    if pinned is None:
        return env
    for name in PIN:
        env.pop(name, None)
    if pinned:
        env.update(PIN)
    return env


def run(jobs: list[dict], env: Optional[dict[str, str]] = None, min_total_seconds: float = 0.5) -> list[dict]:
    """Runs ``jobs`` one after the other in one fresh interpreter with ``env``
    (default: the caller's environment) and returns their results."""
    payload = json.dumps(dict(jobs=jobs, min_total_seconds=min_total_seconds))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.fresh"],
        input=payload,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment() if env is None else env,
    )
    if proc.returncode != 0:
        targets = [j["target"] for j in jobs]
        raise RuntimeError(f"fresh process for {targets} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_each(
    planned: list[tuple[str, dict]],
    shared: bool = False,
    env: Optional[dict[str, str]] = None,
    min_total_seconds: float = 0.5,
    log=print,
    prefix: str = "",
    rounds: int = 1,
) -> list[tuple[str, dict]]:
    """Runs each (label, job) pair in its own fresh interpreter (``shared``:
    all in one, for quick mode) and returns (label, result) pairs. With
    ``rounds`` > 1 every job runs that many times, round after round, each
    time in a fresh process: on a shared virtual machine the same method's
    time differs from process to process by up to half, so the result is the
    median of the rounds' medians (``round_seconds``), with the timings of all rounds."""
    runs: list[list[dict]] = [[] for _ in planned]
    for _ in range(rounds):
        batches = [list(enumerate(planned))] if shared else [[p] for p in enumerate(planned)]
        for batch in batches:
            results = run([j for _, (_, j) in batch], env, min_total_seconds)
            for (i, (label, _)), r in zip(batch, results):
                log(f"  {prefix}{label}: {r['seconds'] * 1e3:.3f} ms")
                runs[i].append(r)
    out = []
    for (label, _), rs in zip(planned, runs):
        merged = dict(rs[0])
        if rounds > 1:
            merged["round_seconds"] = [r["seconds"] for r in rs]
            merged["seconds"] = statistics.median(merged["round_seconds"])
            merged["times"] = [t for r in rs for t in r["times"]]
        out.append((label, merged))
    return out


def _main() -> None:
    payload = json.loads(sys.stdin.read())
    from . import timing

    timing.MIN_TOTAL_SECONDS = payload["min_total_seconds"]
    out = []
    for j in payload["jobs"]:
        module, _, function = j["target"].partition(":")
        fn = getattr(importlib.import_module(f"benchmarks.{module}"), function)
        out.append(fn(**j["kwargs"]))
    print(json.dumps(out, default=float))


if __name__ == "__main__":
    _main()
