"""The suite's results as markdown tables, JSON and a PNG chart."""

import importlib
import json
import math
import os
import statistics
import sys


def _ms(seconds) -> str:
    if seconds is None or math.isnan(seconds):
        return "n/a"
    ms = seconds * 1e3
    return f"{ms:.3g} ms" if ms < 1000 else f"{seconds:.3g} s"


def _rate(per_s) -> str:
    if per_s is None or math.isnan(per_s):
        return "n/a"
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if per_s >= scale:
            return f"{per_s / scale:.3g} {unit}/s"
    return f"{per_s:.3g} /s"


def _x(ratio) -> str:
    if ratio is None or math.isnan(ratio):
        return "n/a"
    return f"{ratio:.3g}x"


def _spread(row) -> str:
    times = row.get("times") or []
    if len(times) < 2 or not row["seconds"] > 0:
        return "n/a"
    q1, _, q3 = statistics.quantiles(times, n=4)
    return f"{(q3 - q1) / row['seconds'] * 100:.0f}% of {len(times)}"


def _mistakes(m) -> str:
    return "" if m is None else str(m)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def machine_md(info: dict) -> str:
    return "\n".join(f"- {k}: {v}" for k, v in info.items())


def _epoch_md(rows: list[dict], versus: dict[str, str]) -> str:
    """A table of one epoch per method: its time, spread and rate, then the
    ratios of ``versus`` (each column's header: the rows' key), the read floor,
    the mistakes and the note."""
    lead = ["size (N x D)", "method", "time (median)", "spread", "samples/s"]
    return _table(
        [*lead, *versus, "vs read floor", "mistakes", "note"],
        [
            [r["size"], r["method"], _ms(r["seconds"]), _spread(r), _rate(r["samples_per_s"])]
            + [_x(r[key]) for key in versus.values()]
            + [_x(r["vs_read"]), _mistakes(r["mistakes"]), r["note"]]
            for r in rows
        ],
    )


def online_md(rows: list[dict]) -> str:
    return _epoch_md(rows, {"vs scikit-learn": "vs_sklearn"})


def multiclass_md(rows: list[dict]) -> str:
    return _epoch_md(rows, {"vs sklearn n_jobs=1": "vs_sklearn_1", "vs sklearn n_jobs=2": "vs_sklearn_2"})


def pinning_md(rows: list[dict]) -> str:
    return _table(
        [
            "method",
            "default environment (median)",
            "spread",
            "OMP_PROC_BIND=spread OMP_PLACES=cores (median)",
            "spread",
            "pinned / default",
        ],
        [
            [
                r["method"],
                _ms(r["seconds"]),
                _spread(r),
                _ms(r["pinned_seconds"]),
                _spread(dict(times=r["pinned_times"], seconds=r["pinned_seconds"])),
                _x(r["pinned_over_default"]),
            ]
            for r in rows
        ],
    )


def overhead_md(rows: list[dict]) -> str:
    return _table(
        ["batch (N x D), K", "call", "time per call (median)", "spread", "vs plain addmm"],
        [
            [f"{r['size']}, K={r['k']}", r["method"], f"{r['seconds'] * 1e6:.3g} us", _spread(r), _x(r["vs_addmm"])]
            for r in rows
        ],
    )


def memory_md(rows: list[dict]) -> str:
    return _table(
        ["case (N x D)", "x (MiB)", "peak extra (MiB)", "extra / x", "weights dtype"],
        [
            [
                f"{r['method']} ({r['n']}x{r['d']})",
                f"{r['data_mib']:.1f}",
                f"{r['extra_mib']:.1f}",
                f"{r['extra_over_data']:.2f}",
                r["weights_dtype"],
            ]
            for r in rows
        ],
    )


def accuracy_md(rows: list[dict]) -> str:
    from .accuracy import DATASETS

    return _table(
        ["model", *DATASETS],
        [[r["method"], *(f"{r[name]:.3f}" for name in DATASETS)] for r in rows],
    )


def checks_md(rows: list[dict]) -> str:
    return _table(
        ["check", "result", "detail"], [[r["check"], "pass" if r["passed"] else "FAIL", r["detail"]] for r in rows]
    )


def exit_status(checks: list[dict]) -> int:
    """A benchmark's exit status: 1 after naming its failed checks on stderr, 0
    when every check passed."""
    failed = [c["check"] for c in checks if not c["passed"]]
    if failed:
        print(f"FAILED checks: {failed}", file=sys.stderr)
        return 1
    return 0


def markdown(results: dict) -> str:
    """Every table, under headings, with how they were measured."""
    p = results["params"]
    parts = [
        f"## Results ({'quick' if p['quick'] else 'full'} run, {results['date']})",
        f"Command: `{results['command']}`",
        "### Machine",
        machine_md(results["machine"]),
        "### One epoch of the online rule (float32, labels from a random teacher hyperplane)",
        f"Medians of at least {p['repeats']} repeats after one warm-up (calls that take less than "
        f"{p.get('min_total_seconds', 0)} s in all are repeated up to {p.get('max_repeats')} times), "
        "each from zero weights; spread = interquartile range / median, of how many repeats. vs scikit-learn = its time / this "
        "time (> 1: faster); vs read floor = this time / the time to read x once. "
        "Every method runs in its own fresh process, started with the environment the suite was "
        "given (it sets no OpenMP variable itself). Floors run on one thread, like the K=1 online "
        "kernel; the mini-batch rule and scikit-learn use what they use by default.",
        online_md(results["online"]),
        f"### Ten classes at {results['multiclass'][0]['size']}: one-vs-rest and multiclass",
        f"Each method in {p.get('rounds', 1)} fresh process(es), one after the other, round after round; "
        "the time is the median of the processes' medians (on a shared virtual machine the same "
        "method's time differs from process to process by up to half), the spread is over all their "
        "timings.",
        multiclass_md(results["multiclass"]),
        "### The OpenMP binding variables, method by method",
        "Each method twice, each time in a fresh process: the default environment (neither "
        "variable set), then `OMP_PROC_BIND=spread OMP_PLACES=cores`. pinned / default > 1: the "
        "variables slow the method down.",
        pinning_md(results["pinning"]) if results.get("pinning") else "(skipped)",
        "### Small batches: the fixed cost of a call",
        f"Each repeat times {100} calls in a row on the same batch (the update ops change the weights "
        "as they go); the table gives the median time per call.",
        overhead_md(results["overhead"]),
        "### Peak extra memory during one epoch",
        "Resident-set high-water mark during the call minus the resident set just before it "
        "(Linux /proc/self/status, the mark reset before the call), "
        + (
            "each case in a fresh process."
            if all(r.get("fresh_process") for r in results["memory"])
            else "all cases one after the other in one process (quick mode)."
        )
        + " The strided control passes a non-contiguous view, which the op must copy: it shows "
        "that the measurement sees a copy of x.",
        memory_md(results["memory"]) if results["memory"] else "(skipped)",
        f"### Test accuracy on scikit-learn's bundled data ({p['epochs']} epochs, stratified 75/25, "
        f"seed {p['seed']}, standardised with training statistics)",
        accuracy_md(results["accuracy"]),
        *optional_md(results),
        "### Correctness checks",
        checks_md(results["checks"]),
    ]
    return "\n\n".join(parts) + "\n"


# The sections a run has only when it measured them: the results' key (also
# the module under benchmarks/ whose markdown() draws the table), the heading,
# and how it was measured ({m.NAME}: a constant of that module).
OPTIONAL_SECTIONS = (
    (
        "sklearn_estimator",
        "### The scikit-learn estimator's fit against scikit-learn's Perceptron",
        "Each side in its own fresh process, default environment, the same arrays; medians; "
        "ratio = scikit-learn's time / ours (> 1: faster). With the defaults both stop on "
        "scikit-learn's tol rule on the epoch loss, after the same epochs; the tol=None "
        "rows run a fixed number of epochs to the same model.",
    ),
    (
        "sparse",
        "### Sparse input: RCV1-shaped CSR, K=1, K=20 one-vs-rest, K=20 multiclass",
        "Each method in its own fresh process, default environment, the same CSR; medians. "
        "fit = fit(max_iter={m.MAX_ITER}, tol=None, shuffle=False); ratio = scikit-learn's "
        "time / ours. The layer's epoch is one PerceptronLayer.update from zeros over every row, "
        "against the floor of reading values and col_indices once.",
    ),
    (
        "call_cost",
        "### What a call costs",
        "PerceptronLayer.update calls as users make them, medians, side by side in this "
        "process (benchmarks/call_cost.py).",
    ),
)


def optional_md(results: dict) -> list[str]:
    """The optional sections the run measured, each a heading, how, and the table."""
    parts = []
    for name, heading, how in OPTIONAL_SECTIONS:
        if results.get(name):
            module = importlib.import_module(f".{name}", __package__)
            parts += [heading, how.format(m=module), module.markdown(results[name])]
    return parts


def chart(results: dict, path: str) -> None:
    """Samples per second of each method at each size (log scale), the K=10
    rows, and the accuracies, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(20, 6.5), gridspec_kw={"width_ratios": [3, 1.6, 1.4]})

    ax = axes[0]
    sizes = list(dict.fromkeys(r["size"] for r in results["online"]))
    methods = list(dict.fromkeys(_short(r["method"]) for r in results["online"]))
    width = 0.8 / len(methods)
    for j, method in enumerate(methods):
        values = []
        for size in sizes:
            match = [r for r in results["online"] if r["size"] == size and _short(r["method"]) == method]
            values.append(match[0]["samples_per_s"] if match else float("nan"))
        ax.bar([i + (j - (len(methods) - 1) / 2) * width for i in range(len(sizes))], values, width, label=method)
    ax.set_yscale("log")
    ax.set_xticks(range(len(sizes)), [s.replace("x", " x ") for s in sizes])
    ax.set_ylabel("samples per second (log)")
    ax.set_title("One epoch of the online rule, float32")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.08), ncol=2)
    ax.grid(axis="y", which="both", alpha=0.3)

    ax = axes[1]
    rows = results["multiclass"]
    colors = [
        "tab:gray"
        if r["method"].startswith("floor")
        else "tab:green"
        if r["method"].startswith("torch_perceptron")
        else "tab:brown"
        if r["method"].startswith("scikit-learn")
        else "tab:purple"
        for r in rows
    ]
    ax.barh([_short(r["method"]) for r in rows], [r["seconds"] * 1e3 for r in rows], color=colors)
    ax.set_xscale("log")
    ax.set_xlabel("ms per epoch (log)")
    ax.set_title(f"K=10 classes, {rows[0]['size']}")
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="x", which="both", alpha=0.3)

    ax = axes[2]
    from .accuracy import DATASETS

    acc = results["accuracy"]
    width = 0.8 / len(acc)
    for j, row in enumerate(acc):
        ax.bar(
            [i + (j - (len(acc) - 1) / 2) * width for i in range(len(DATASETS))],
            [row[name] for name in DATASETS],
            width,
            label=_short(row["method"]),
        )
    ax.set_xticks(range(len(DATASETS)), DATASETS)
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Accuracy after {results['params']['epochs']} epochs")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.08))
    ax.grid(axis="y", alpha=0.3)

    m = results["machine"]
    fig.suptitle(
        f"torch_perceptron benchmarks: {m['cpu']}, {m['cpus']} CPUs, torch {m['torch']}"
        + (f", {m['gpu']}" if m.get("gpu") else "")
        + (" (quick mode: tiny sizes)" if results["params"]["quick"] else "")
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _short(method: str) -> str:
    """A method's label without the parenthesised details, for the chart."""
    for long, short in (
        ("floor: read x once", "floor: read x once"),
        ("floor: one matrix-vector", "floor: x @ w"),
        ("scikit-learn Perceptron (fit on the float32", "scikit-learn Perceptron"),
        ("scikit-learn Perceptron (fit on a float64", "scikit-learn Perceptron, float64"),
        ("scikit-learn Perceptron multi-class, n_jobs=", None),
        ('SGDClassifier(loss="perceptron", average=True)', "scikit-learn averaged SGD perceptron"),
    ):
        if method.startswith(long) or long in method:
            return short or method
    return method.replace("torch_perceptron ", "ours: ")


def _finite(value):
    """NaN (a failed row) as null, so that the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write(results: dict, out_dir: str) -> dict[str, str]:
    """Writes latest.md, latest.json and latest.png into ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {ext: os.path.join(out_dir, f"latest.{ext}") for ext in ("md", "json", "png")}
    with open(paths["md"], "w") as f:
        f.write(markdown(results))
    with open(paths["json"], "w") as f:
        json.dump(_finite(results), f, indent=1, default=str)
    chart(results, paths["png"])
    return paths
