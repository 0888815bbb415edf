"""Sparse input, side by side in one run: RCV1-shaped CSR data (200,000 rows of
2^18 hashed features, 50-80 non-zeros per row with Zipf-distributed columns,
float32; benchmarks/data.py), K=1, K=20 one-vs-rest and K=20 multiclass.

    python -m benchmarks.sparse            # prints the tables, then JSON
    python -m benchmarks.sparse --quick    # small data: runs, and is right

Rows, each method in its own fresh process (fresh.py) with the caller's
environment, on the same CSR saved once as ``.npz``:

* ``fit``: our ``PerceptronClassifier`` and scikit-learn's ``Perceptron``,
  both ``fit(max_iter=10, tol=None, shuffle=False)`` on the same CSR matrix,
  scikit-learn with ``n_jobs=1`` and ``n_jobs=2`` (its threads over the
  one-vs-rest outputs; ours runs all outputs in one op call on torch's
  threads). A process timing scikit-learn imports numpy, scipy and
  scikit-learn only.
* ``epoch``: one epoch of ``PerceptronLayer.update`` from zeros over the
  whole CSR (the op's own cost, no estimator around it), beside the floor:
  reading ``values`` and ``col_indices`` once
  (:func:`benchmarks.data.read_floor_seconds`), and at K=1 the rule itself as
  the shortest scalar C loop (``plain_loop.c``, compiled at run time where a
  C compiler is present, else the row says skipped): what a plain loop of
  this rule costs (scikit-learn's epoch takes about as long), whose gathers
  and updates the read alone does not pay; the op's dot is a register of
  AVX2 gathers instead (csrc/cpu/csr_dot.h).
* ``memory``: the peak extra resident memory of a ``fit`` (VmHWM, as
  benchmarks/memory.py reads it), against the CSR's own bytes plus the
  weights: a densified copy would be ``N x 2^18 x 4`` bytes.

Correctness (what ``--quick`` checks; never speed): our fit equals
scikit-learn's on the same sparse data in float64, coefficient for coefficient,
and the sparse layer's epoch equals the dense layer's on the same rows.
Nothing here asserts on time.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile

import numpy as np

from . import report

FULL = dict(n=200_000, n_features=1 << 18)
QUICK = dict(n=2_000, n_features=1 << 14)
K = 20
MAX_ITER = 10
OURS_FIT = "ours: PerceptronClassifier.fit"
SK_FIT = "scikit-learn Perceptron.fit, n_jobs={j}"
EPOCH = "ours: PerceptronLayer.update, one epoch"
FLOOR = "floor: read values and col_indices once"
PLAIN = "the rule as a plain scalar C loop (K=1)"
CASES = ("K=1", "K=20 one-vs-rest", "K=20 multiclass")


# --- data (the parent process only: it imports torch) ------------------------


def save(directory: str, n: int, n_features: int, seed: int = 0) -> dict:
    """The binary and the 20-class data, saved once: ``{x1, y1, x20, y20}``."""
    import scipy.sparse as sp

    from .data import sparse_teacher_binary, sparse_teacher_multiclass

    paths = {}
    binary = sparse_teacher_binary(n, n_features=n_features, seed=seed)
    multi = sparse_teacher_multiclass(n, K, n_features=n_features, seed=seed)
    for name, x, y in (("1", binary.x, binary.y.numpy().astype(np.int64)), ("20", multi.x, multi.labels.numpy())):
        paths[f"x{name}"] = os.path.join(directory, f"sparse_x{name}.npz")
        paths[f"y{name}"] = os.path.join(directory, f"sparse_y{name}.npy")
        sp.save_npz(paths[f"x{name}"], x.to_scipy(), compressed=False)
        np.save(paths[f"y{name}"], y)
    return paths


def _load(x_path: str, y_path: str):
    import scipy.sparse as sp

    x = sp.load_npz(x_path).tocsr()
    return x, np.load(y_path)


# --- jobs, each run in a fresh process (fresh.py) ------------------------------


def time_fit(side: str, x_path: str, y_path: str, n_jobs=None, repeats: int = 3, coef_path=None) -> dict:
    """``fit(max_iter=10, tol=None, shuffle=False)`` of ``side`` ("ours" or
    "sklearn"), a fresh estimator each time; the median of ``repeats``."""
    from .timing import median_seconds

    x, y = _load(x_path, y_path)
    if side == "sklearn":
        from sklearn.linear_model import Perceptron as Estimator
    else:
        from torch_perceptron.sklearn import PerceptronClassifier as Estimator

    def fit():
        models.append(Estimator(max_iter=MAX_ITER, tol=None, shuffle=False, n_jobs=n_jobs).fit(x, y))

    models = []
    seconds, times = median_seconds(fit, repeats)
    model = models[-1]
    if coef_path:
        np.save(coef_path, model.coef_)
    return dict(
        seconds=seconds,
        times=times,
        mistakes=None,
        n_iter=int(model.n_iter_),
        accuracy=float(model.score(x, y)),
        note="",
    )


def time_layer_epoch(x_path: str, y_path: str, k: int, multiclass: bool, repeats: int = 5) -> dict:
    """One epoch of ``PerceptronLayer.update`` from zeros over the whole CSR."""
    import torch

    from torch_perceptron import PerceptronLayer
    from torch_perceptron.sparse import as_csr

    from .timing import median_seconds

    x, labels = _load(x_path, y_path)
    rows = as_csr(x, torch.float32)
    labels = torch.from_numpy(labels)
    if multiclass:
        layer, y = PerceptronLayer(rows.n_features, k, multiclass=True), labels
    elif k == 1:
        layer, y = PerceptronLayer(rows.n_features, 1), labels.float()
    else:
        layer = PerceptronLayer(rows.n_features, k)
        y = torch.nn.functional.one_hot(labels, k).float()
    mistakes = []
    seconds, times = median_seconds(
        lambda: mistakes.append(int(layer.update(rows, y).sum())), repeats, setup=layer.reset_parameters
    )
    return dict(seconds=seconds, times=times, mistakes=mistakes[-1], note="", threads=torch.get_num_threads())


def time_read_floor(x_path: str, y_path: str, repeats: int = 7) -> dict:
    import torch

    from torch_perceptron.sparse import as_csr

    from .data import read_floor_seconds

    x, _ = _load(x_path, y_path)
    rows = as_csr(x, torch.float32)
    seconds = read_floor_seconds(rows, repeats)
    return dict(
        seconds=seconds,
        times=[seconds],
        mistakes=None,
        note="",
        nbytes=rows.values.nbytes + rows.col_indices.numpy().nbytes,
    )


def time_plain_loop(x_path: str, y_path: str, repeats: int = 5) -> dict:
    """One epoch of benchmarks/plain_loop.c (the K = 1 rule as the shortest C
    loop) from zeros over the CSR, compiled here with the system's C compiler;
    ``skipped`` where there is none (or it fails)."""
    import ctypes
    import shutil
    import subprocess

    from .timing import median_seconds

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return dict(seconds=0.0, times=[], mistakes=None, note="no C compiler", skipped=True)
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plain_loop.c")
    with tempfile.TemporaryDirectory(prefix="torch_perceptron_plain_") as folder:
        lib_path = os.path.join(folder, "plain_loop.so")
        flags = ["-O3", "-march=native", "-ffp-contract=off", "-shared", "-fPIC"]
        done = subprocess.run([compiler, *flags, source, "-o", lib_path], capture_output=True)
        if done.returncode != 0:
            return dict(
                seconds=0.0,
                times=[],
                mistakes=None,
                skipped=True,
                note=f"{compiler} failed: {done.stderr.decode()[-200:]}",
            )
        lib = ctypes.CDLL(lib_path)
    lib.plain_epoch.restype = ctypes.c_long
    x, labels = _load(x_path, y_path)
    crow = np.ascontiguousarray(x.indptr, dtype=np.int32)
    col = np.ascontiguousarray(x.indices, dtype=np.int32)
    values = np.ascontiguousarray(x.data, dtype=np.float32)
    y = np.ascontiguousarray(labels, dtype=np.float32)
    w = np.zeros(x.shape[1], dtype=np.float32)
    bias = ctypes.c_float()
    ptr = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
    mistakes = []
    seconds, times = median_seconds(
        lambda: mistakes.append(
            lib.plain_epoch(ptr(crow), ptr(col), ptr(values), ptr(y), x.shape[0], ptr(w), ctypes.byref(bias))
        ),
        repeats,
        setup=lambda: w.fill(0),
    )
    return dict(seconds=seconds, times=times, mistakes=int(mistakes[-1]), note=compiler)


def peak_fit(side: str, x_path: str, y_path: str) -> dict:
    """Peak extra resident memory of one ``fit`` (max_iter=10), after a warm-up
    fit on 100 rows that loads the libraries and thread pools."""
    from .memory import _reset_peak, _status_kib

    x, y = _load(x_path, y_path)
    if side == "sklearn":
        from sklearn.linear_model import Perceptron as make
    else:
        from torch_perceptron.sklearn import PerceptronClassifier as make
    params = dict(max_iter=MAX_ITER, tol=None, shuffle=False)
    make(**params).fit(x[:100], y[:100])
    reset = _reset_peak()
    before = _status_kib("VmRSS")
    model = make(**params).fit(x, y)
    extra = max(0, _status_kib("VmHWM") - before) * 1024
    csr = x.data.nbytes + x.indices.nbytes + x.indptr.nbytes
    return dict(
        seconds=0.0,
        times=[],
        mistakes=None,
        note="",
        extra_bytes=extra,
        csr_bytes=csr,
        weight_bytes=model.coef_.nbytes,
        peak_reset=reset,
        dense_bytes=x.shape[0] * x.shape[1] * x.dtype.itemsize,
    )


# --- the section ---------------------------------------------------------------


def plan(paths: dict, repeats: int, folder: str) -> list:
    from . import fresh

    jobs = []
    for case in CASES:
        k = 1 if case == "K=1" else K
        x, y = paths[f"x{1 if k == 1 else K}"], paths[f"y{1 if k == 1 else K}"]
        data = dict(x_path=x, y_path=y)
        multiclass = case == "K=20 multiclass"
        if not multiclass:
            for side, n_jobs in (("ours", None), ("sklearn", 1), ("sklearn", 2)):
                label = OURS_FIT if side == "ours" else SK_FIT.format(j=n_jobs)
                coef = os.path.join(folder, f"coef_{case}_{side}_{n_jobs}.npy".replace(" ", "_"))
                fit = fresh.job("sparse:time_fit", side=side, **data, n_jobs=n_jobs, repeats=repeats, coef_path=coef)
                jobs.append((case, label, fit))
        epoch = fresh.job("sparse:time_layer_epoch", **data, k=k, multiclass=multiclass, repeats=max(repeats, 5))
        jobs.append((case, EPOCH, epoch))
        if k == 1:
            jobs.append((case, PLAIN, fresh.job("sparse:time_plain_loop", **data, repeats=max(repeats, 5))))
        jobs.append((case, FLOOR, fresh.job("sparse:time_read_floor", **data)))
    return jobs


def run(quick: bool, repeats: int, log=print, shared: bool = False, rounds: int = 1) -> dict:
    """Every row of the section, each in its own fresh process (``shared``:
    all in one, for quick mode), the memory rows and the correctness checks.
    ``rounds`` > 1 runs every row that many times, round after round, each
    in a fresh process (fresh.run_each): a row's time is then the median of
    its rounds, and a fit's ratio the median of the ratios within each round
    (the two fits minutes apart at most, where the machine's speed drifts by
    up to 2x over an hour)."""
    from . import fresh

    size = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="torch_perceptron_sparse_") as folder:
        log(f"sparse data {size['n']} x {size['n_features']} ...")
        paths = save(folder, size["n"], size["n_features"])
        planned = plan(paths, repeats, folder)
        done = fresh.run_each(
            [(f"{case}: {label}", job) for case, label, job in planned],
            shared=shared,
            log=log,
            prefix="sparse ",
            rounds=rounds,
        )
        rows = []
        for (case, label, job), (_, r) in zip(planned, done):
            rows.append(dict(group="sparse", case=case, method=label, **r))
        by = {(r["case"], r["method"]): r for r in rows}
        for case in CASES:
            floor = by[(case, FLOOR)]["seconds"]
            epoch = by[(case, EPOCH)]
            epoch["vs_floor"] = epoch["seconds"] / floor if floor > 0 else None
            plain = by.get((case, PLAIN))
            if plain and not plain.get("skipped") and plain["seconds"] > 0:
                epoch["vs_plain"] = epoch["seconds"] / plain["seconds"]
                plain["vs_floor"] = plain["seconds"] / floor if floor > 0 else None
            ours = by.get((case, OURS_FIT))
            for j in (1, 2):
                theirs = by.get((case, SK_FIT.format(j=j)))
                if ours and theirs:
                    theirs["vs_ours"] = theirs["seconds"] / ours["seconds"]
                    if "round_seconds" in theirs:
                        per_round = [t / o for t, o in zip(theirs["round_seconds"], ours["round_seconds"])]
                        theirs["vs_ours_rounds"] = per_round
                        theirs["vs_ours"] = statistics.median(per_round)
        memory = []
        for side in ("ours", "sklearn"):
            for k in (1, K):
                job = fresh.job("sparse:peak_fit", side=side, x_path=paths[f"x{k}"], y_path=paths[f"y{k}"])
                # glibc's fixed mmap threshold, as benchmarks/memory.py sets it:
                # a freed large buffer goes back to the system, so the mark
                # sees every allocation (a raised threshold would reuse pages).
                r = fresh.run([job], env=dict(fresh.environment(), MALLOC_MMAP_THRESHOLD_="131072"))[0]
                r.update(side=side, k=k)
                memory.append(r)
                log(
                    f"  sparse memory {side} K={k}: {r['extra_bytes'] / 2**20:.1f} MiB extra "
                    f"(CSR {r['csr_bytes'] / 2**20:.1f} MiB, weights {r['weight_bytes'] / 2**20:.1f} MiB)"
                )
        same = {case: _same_coef(folder, case) for case in CASES[:2]}
    return dict(size=size, rows=rows, memory=memory, same_float32_coef=same, checks=checks(memory) + correctness(quick))


def _same_coef(folder: str, case: str) -> bool:
    stem = os.path.join(folder, f"coef_{case}".replace(" ", "_"))
    ours, theirs = np.load(f"{stem}_ours_None.npy"), np.load(f"{stem}_sklearn_1.npy")
    return bool(np.array_equal(ours, theirs))


def checks(memory: list) -> list:
    """A fit holds no densified copy of x: its peak extra memory stays under a
    quarter of what the dense matrix would take. (The issue's target, under
    1.5x the CSR's bytes plus the weights, is a measurement, reported in the
    table: on the quick run's tiny data fixed costs dominate it.)"""
    out = []
    for r in memory:
        if r["side"] != "ours":
            continue
        out.append(
            dict(
                group="check",
                check=f"sparse fit without a dense copy: K={r['k']}",
                passed=r["extra_bytes"] < r["dense_bytes"] / 4,
                detail=f"{r['extra_bytes'] / 2**20:.1f} MiB extra; dense x = {r['dense_bytes'] / 2**20:.0f} MiB",
            )
        )
    return out


def correctness(quick: bool) -> list:
    """In-process checks on small data (float64, where scikit-learn's loop is
    exact too): our sparse fit is scikit-learn's, and the sparse layer's epoch
    is the dense layer's."""
    import torch
    from sklearn.linear_model import Perceptron

    from torch_perceptron import PerceptronLayer
    from torch_perceptron.sklearn import PerceptronClassifier

    from .data import sparse_teacher_multiclass

    data = sparse_teacher_multiclass(1500, 5, n_features=1 << 12, dtype=torch.float64, seed=3)
    x, y = data.x.to_scipy(), data.labels.numpy()
    out = []
    for k, target in ((1, (y == 0).astype(np.int64)), (5, y)):
        ours = PerceptronClassifier(max_iter=5, tol=None, shuffle=False).fit(x, target)
        theirs = Perceptron(max_iter=5, tol=None, shuffle=False).fit(x, target)
        same = np.array_equal(ours.coef_, theirs.coef_) and np.array_equal(ours.intercept_, theirs.intercept_)
        out.append(
            dict(
                group="check",
                check=f"sparse fit == scikit-learn Perceptron: K={k}",
                passed=same,
                detail="coef_ and intercept_ equal" if same else "differ",
            )
        )
    dense = data.x.to_scipy().toarray()
    a, b = PerceptronLayer(1 << 12, 5, dtype=torch.float64), PerceptronLayer(1 << 12, 5, dtype=torch.float64)
    ma = a.update(data.x, data.onehot)
    mb = b.update(torch.from_numpy(dense), data.onehot)
    same = torch.equal(ma, mb) and torch.allclose(a.weight, b.weight, rtol=0, atol=1e-12)
    out.append(
        dict(
            group="check",
            check="sparse layer epoch == dense layer epoch (K=5)",
            passed=bool(same),
            detail=f"mistakes {ma.tolist()} / {mb.tolist()}",
        )
    )
    return out


def markdown(section: dict) -> str:
    size = section["size"]
    lines = [
        f"Data: {size['n']:,} rows x {size['n_features']:,} features, float32 CSR, "
        "50-80 non-zeros per row (Zipf columns).",
        "",
        "| case | method | time | ratio | note |",
        "|---|---|---|---|---|",
    ]
    for r in section["rows"]:
        if r["method"] == EPOCH:
            ratio, note = f"{r['vs_floor']:.2f}x the floor", f"{r['mistakes']} mistakes"
            if "vs_plain" in r:
                ratio += f", {r['vs_plain']:.2f}x the plain scalar loop"
        elif r["method"] == PLAIN:
            if r.get("skipped"):
                ratio, note = "skipped", r["note"]
            else:
                ratio = f"{r['vs_floor']:.2f}x the floor" if r.get("vs_floor") else ""
                note = f"{r['mistakes']} mistakes"
        elif "vs_ours" in r:
            ratio, note = f"ours x{r['vs_ours']:.2f} faster", f"{r['n_iter']} epochs"
            if "vs_ours_rounds" in r:
                spread = r["vs_ours_rounds"]
                ratio += f" (median of {len(spread)} rounds' ratios, {min(spread):.2f}-{max(spread):.2f})"
        elif r["method"] == OURS_FIT:
            ratio, note = "", f"{r['n_iter']} epochs, train accuracy {r['accuracy']:.3f}"
        else:
            ratio, note = "", ""
        lines.append(f"| {r['case']} | {r['method']} | {r['seconds'] * 1e3:.1f} ms | {ratio} | {note} |")
    lines += [
        "",
        "| fit | peak extra memory | CSR bytes | weights | peak / (CSR + weights) | dense x would be |",
        "|---|---|---|---|---|---|",
    ]
    for r in section["memory"]:
        # The measure: the fit's peak (the CSR it was given, plus
        # everything the fit adds, the weights among it) over CSR + weights.
        ratio = (r["csr_bytes"] + r["extra_bytes"]) / (r["csr_bytes"] + r["weight_bytes"])
        lines.append(
            f"| {r['side']}, K={r['k']} | {r['extra_bytes'] / 2**20:.1f} MiB | "
            f"{r['csr_bytes'] / 2**20:.1f} MiB | {r['weight_bytes'] / 2**20:.1f} MiB | "
            f"{ratio:.2f} | {r['dense_bytes'] / 2**30:.1f} GiB |"
        )
    same = section.get("same_float32_coef", {})
    if same:
        lines += [
            "",
            "float32 coef_ equal to scikit-learn's (n_jobs=1): "
            + ", ".join(f"{case} {'yes' if v else 'no'}" for case, v in same.items()),
        ]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small data, 2 repeats, one process")
    p.add_argument("--repeats", type=int, help="timed calls per row (default 3, quick 2)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every row this many times, round after round, in fresh processes; report medians (default 1)",
    )
    args = p.parse_args(argv)
    section = run(
        args.quick,
        args.repeats or (2 if args.quick else 3),
        log=lambda s: print(s, file=sys.stderr, flush=True),
        shared=args.quick,
        rounds=args.rounds,
    )
    print(markdown(section))
    print(json.dumps(section, default=float))
    return report.exit_status(section["checks"])


if __name__ == "__main__":
    sys.exit(main())
