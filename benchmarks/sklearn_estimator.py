"""The scikit-learn estimator against scikit-learn's Perceptron: ``fit`` with
the defaults of both on the same data, and the ratio of the times.

    python -m benchmarks.sklearn_estimator            # prints the table, then JSON
    python -m benchmarks.sklearn_estimator --quick    # digits and a small problem only

Each side runs in its own fresh interpreter with the environment this one
started with, less the OpenMP pinning the suite sets for itself: scikit-learn as
its users run it, and ours as a user who swapped the import runs it. The data
travels as ``.npy`` files, so both fit the very same arrays. Every case is fit
once untimed, then timed ``repeats`` times on a fresh estimator (the median is
reported).

With the defaults, ``tol=1e-3`` stops both on scikit-learn's epoch loss (the
ops sum it as they go), so they run the same epochs (the table shows both
``n_iter_``); the ``tol=None`` rows run a fixed number of epochs to the same
model (checked: ``coef_`` equal). Shuffled, the op reads x
in place through every output's own order in scikit-learn's (its ``order``
argument), all ten one-vs-rest outputs in one call an epoch, as with
``shuffle=False``.

The penalized rows run scikit-learn's ``penalty`` (the penalized ops, read
through the same orders); the CSR rows take digits as a scipy CSR matrix.

``run`` is the suite's hook (``benchmarks.run``); ``markdown`` its table.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

# What benchmarks.run sets for its own kernels; a peer's users do not have it.
SUITE_ONLY_ENV = ("OMP_PROC_BIND", "OMP_PLACES")
OURS = "torch_perceptron PerceptronClassifier"
THEIRS = "scikit-learn Perceptron"


def _case(name: str, data, sparse: bool, params: dict) -> dict:
    """A case named by its data, then its parameters (none: "defaults")."""
    settings = ", ".join(f"{key}={value}" for key, value in params.items()) or "defaults"
    return dict(name=f"{name}, {settings}", data=data, sparse=sparse, params=params)


def _teacher(n: int, d: int, k: int, sparse: bool = False, **params) -> dict:
    """A teacher problem of n x d (as CSR where ``sparse``), k classes."""
    return _case(f"teacher {n}x{d}{' as CSR' if sparse else ''}, {k} classes", (n, d, k), sparse, params)


def _digits(sparse: bool = False, **params) -> dict:
    return _case("digits as CSR" if sparse else "digits", "digits", sparse, params)


def cases(quick: bool) -> list[dict]:
    """name, the data (bundled digits as loaded, or a teacher problem), whether
    X is CSR, and the parameters both sides get (none: the defaults)."""
    full = [
        dict(name="digits 1797x64, 10 classes, defaults", data="digits", sparse=False, params={}),
        _teacher(100_000, 100, 2),
        _teacher(20_000, 100, 10),
        _teacher(100_000, 100, 2, tol=None, max_iter=10),
        _teacher(20_000, 100, 10, tol=None, max_iter=10),
        _teacher(20_000, 100, 10, shuffle=False, tol=None, max_iter=10),
        # scikit-learn's penalties (the penalized ops, the same order argument),
        # and sparse X (scipy CSR) with and without one.
        _digits(penalty="l2"),
        _digits(penalty="elasticnet"),
        _digits(sparse=True),
        _digits(sparse=True, penalty="l2"),
        _digits(sparse=True, penalty="elasticnet"),
        _teacher(20_000, 100, 10, penalty="l2", tol=None, max_iter=10),
    ]
    if quick:
        return [
            full[0],
            _teacher(2_000, 20, 4, tol=None, max_iter=5),
            _teacher(2_000, 20, 4, sparse=True, penalty="l2", tol=None, max_iter=5),
        ]
    return full


def make_data(spec):
    """float64 arrays as a user has them: the bundled digits, or standard
    normal features labelled by a random teacher (argmax over k hyperplanes)."""
    if spec == "digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        return x.astype(np.float64), y
    n, d, k = spec
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, d))
    w = rng.standard_normal((d, 1 if k == 2 else k))
    z = x @ w + 0.1 * rng.standard_normal(w.shape[1])
    y = (z[:, 0] > 0).astype(np.int64) if k == 2 else z.argmax(1)
    return x, y


def _save_x(folder: str, i: int, x, sparse: bool) -> None:
    if sparse:
        import scipy.sparse as sp

        sp.save_npz(os.path.join(folder, f"x{i}.npz"), sp.csr_matrix(x), compressed=False)
    else:
        np.save(os.path.join(folder, f"x{i}.npy"), x)


def _load_x(folder: str, i: int):
    path = os.path.join(folder, f"x{i}.npz")
    if os.path.exists(path):
        import scipy.sparse as sp

        return sp.load_npz(path).tocsr()
    return np.load(os.path.join(folder, f"x{i}.npy"))


def _child(side: str, folder: str, repeats: int) -> None:
    """One side's fits, in this fresh process; prints one JSON line a case."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    if side == "ours":
        from torch_perceptron.sklearn import PerceptronClassifier as Estimator
    else:
        from sklearn.linear_model import Perceptron as Estimator
    with open(os.path.join(folder, "cases.json")) as f:
        todo = json.load(f)
    for i, case in enumerate(todo):
        x = _load_x(folder, i)
        y = np.load(os.path.join(folder, f"y{i}.npy"))
        times = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = Estimator(**case["params"]).fit(x, y)  # untimed: first call
            for _ in range(repeats):
                model = Estimator(**case["params"])
                start = time.perf_counter()
                model.fit(x, y)
                times.append(time.perf_counter() - start)
        np.save(os.path.join(folder, f"coef_{side}_{i}.npy"), model.coef_)
        print(
            json.dumps(
                dict(
                    case=case["name"],
                    times=times,
                    seconds=float(np.median(times)),
                    n_iter=int(model.n_iter_),
                    accuracy=float(model.score(x, y)),
                )
            ),
            flush=True,
        )


def _run_side(side: str, folder: str, repeats: int) -> dict[str, dict]:
    env = {k: v for k, v in os.environ.items() if k not in SUITE_ONLY_ENV}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.sklearn_estimator", "--child", side, folder, str(repeats)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {r["case"]: r for r in rows}


def run(quick: bool, repeats: int, log=print) -> list[dict]:
    """Every case on both sides; one row a case with both times and the ratio
    (scikit-learn's time over ours: above 1, ours is faster)."""
    todo = cases(quick)
    with tempfile.TemporaryDirectory() as folder:
        for i, case in enumerate(todo):
            x, y = make_data(case["data"])
            _save_x(folder, i, x, case["sparse"])
            np.save(os.path.join(folder, f"y{i}.npy"), y)
        with open(os.path.join(folder, "cases.json"), "w") as f:
            json.dump([dict(name=c["name"], params=c["params"]) for c in todo], f)
        theirs = _run_side("theirs", folder, repeats)
        ours = _run_side("ours", folder, repeats)
        rows = []
        for i, case in enumerate(todo):
            a, b = ours[case["name"]], theirs[case["name"]]
            same = np.array_equal(
                np.load(os.path.join(folder, f"coef_ours_{i}.npy")),
                np.load(os.path.join(folder, f"coef_theirs_{i}.npy")),
            )
            row = dict(
                group="sklearn_estimator",
                case=case["name"],
                params=case["params"],
                ours_seconds=a["seconds"],
                theirs_seconds=b["seconds"],
                ours_times=a["times"],
                theirs_times=b["times"],
                ours_n_iter=a["n_iter"],
                theirs_n_iter=b["n_iter"],
                ours_accuracy=a["accuracy"],
                theirs_accuracy=b["accuracy"],
                same_coef=bool(same),
                vs_sklearn=b["seconds"] / a["seconds"] if a["seconds"] > 0 else None,
            )
            rows.append(row)
            log(
                f"  {case['name']}: ours {a['seconds'] * 1e3:.1f} ms ({a['n_iter']} epochs), "
                f"scikit-learn {b['seconds'] * 1e3:.1f} ms ({b['n_iter']} epochs), "
                f"x{row['vs_sklearn']:.2f}, same coef_: {same}"
            )
    return rows


def checks(rows: list[dict]) -> list[dict]:
    """The like-for-like rows (tol=None) must give scikit-learn's model."""
    return [
        dict(
            group="check",
            check=f"PerceptronClassifier == scikit-learn Perceptron: {r['case']}",
            passed=r["same_coef"],
            detail="coef_ equal" if r["same_coef"] else "coef_ differ",
        )
        for r in rows
        if r["params"].get("tol", 1e-3) is None
    ]


def markdown(rows: list[dict]) -> str:
    head = [
        "case",
        f"{OURS} fit",
        f"{THEIRS} fit",
        "ratio",
        "epochs (ours / theirs)",
        "train accuracy (ours / theirs)",
        "same coef_",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append(
            "| "
            + " | ".join(
                [
                    r["case"],
                    f"{r['ours_seconds'] * 1e3:.1f} ms",
                    f"{r['theirs_seconds'] * 1e3:.1f} ms",
                    f"x{r['vs_sklearn']:.2f}",
                    f"{r['ours_n_iter']} / {r['theirs_n_iter']}",
                    f"{r['ours_accuracy']:.3f} / {r['theirs_accuracy']:.3f}",
                    "yes" if r["same_coef"] else "no",
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="digits and one small problem, 2 repeats")
    p.add_argument("--repeats", type=int, help="timed fits per case and side (default 5, quick 2)")
    p.add_argument("--child", nargs=3, metavar=("SIDE", "FOLDER", "REPEATS"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        side, folder, repeats = args.child
        _child(side, folder, int(repeats))
        return
    rows = run(args.quick, args.repeats or (2 if args.quick else 5))
    print(markdown(rows))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
