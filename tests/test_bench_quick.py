"""The benchmark suite's quick mode runs, its correctness checks pass, and its
tables have every row. Never how fast anything is."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    # As a user runs it: a fresh interpreter, the environment of the tests.
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, out


def test_quick_mode_exits_cleanly(quick_run):
    proc, _ = quick_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_every_correctness_check_passes(quick_run):
    _, out = quick_run
    results = json.loads((out / "latest.json").read_text())
    names = [c["check"] for c in results["checks"]]
    failed = [c for c in results["checks"] if not c["passed"]]
    assert not failed
    # The checks the suite promises are all there.
    for expected in (
        "online_update == reference",
        "multiclass_update == reference",
        "seed's loop",
        "mini-batch B=1 == online_update",
        "== batch_update per batch",
        "== scikit-learn Perceptron",
        "== scikit-learn multi-class",
        "no copy of x: online_update",
        "sees a copy of x",
        "accuracy above chance",
        "every row present",
        "sparse fit == scikit-learn Perceptron: K=1",
        "sparse fit == scikit-learn Perceptron: K=5",
        "sparse layer epoch == dense layer epoch",
        "sparse fit without a dense copy: K=1",
        "sparse fit without a dense copy: K=20",
    ):
        assert any(expected in n for n in names), expected


def test_tables_have_every_row(quick_run):
    proc, out = quick_run
    results = json.loads((out / "latest.json").read_text())
    sizes = results["params"]["sizes"]
    online_methods = {
        "floor: read x once",
        "floor: one matrix-vector product",
        "seed's per-sample",
        "pure-PyTorch mini-batch",
        "scikit-learn Perceptron (fit on the float32",
        "scikit-learn Perceptron (fit on a float64",
        "online_update (CPU)",
    }
    for size in sizes:
        rows = [r for r in results["online"] if r["size"] == size]
        for method in online_methods:
            match = [r for r in rows if method in r["method"]]
            assert len(match) == 1, (size, method)
            assert match[0]["seconds"] > 0
            assert match[0]["vs_sklearn"] > 0 and match[0]["vs_read"] > 0
    kernel = [r for r in results["online"] if "online_update (CPU)" in r["method"]]
    assert all(0 < r["mistakes"] < r["n"] for r in kernel)

    methods = " | ".join(r["method"] for r in results["multiclass"])
    for method in ("one-vs-rest K=10", "multiclass_update K=10", "n_jobs=1", "n_jobs=2"):
        assert method in methods
    # Each method with and without the OpenMP binding variables, both timed.
    pinning = results["pinning"]
    for method in (
        "online_update (CPU)",
        "one-vs-rest K=10",
        "multiclass_update K=10",
        "n_jobs=2",
        "seed's per-sample",
        "mini-batch",
    ):
        assert any(method in r["method"] for r in pinning), method
    assert all(r["seconds"] > 0 and r["pinned_seconds"] > 0 for r in pinning)
    assert "### The OpenMP binding variables" in proc.stdout
    overhead = " | ".join(r["method"] for r in results["overhead"])
    for method in ("addmm", "decision_function", "batch_update", "online_update", "multiclass_update"):
        assert method in overhead
    assert {r["case"] for r in results["memory"]} >= {"online_update", "sklearn"}
    assert {r["method"] for r in results["accuracy"]} >= {
        "scikit-learn Perceptron",
        'scikit-learn SGDClassifier(loss="perceptron", average=True)',
    }
    for row in results["accuracy"]:
        assert {"breast_cancer", "digits", "iris"} <= row.keys()
    sparse = {(r["case"], r["method"]): r for r in results["sparse"]["rows"]}
    for case in ("K=1", "K=20 one-vs-rest", "K=20 multiclass"):
        assert sparse[(case, "ours: PerceptronLayer.update, one epoch")]["vs_floor"] > 0
    for case in ("K=1", "K=20 one-vs-rest"):
        for method in (
            "ours: PerceptronClassifier.fit",
            "scikit-learn Perceptron.fit, n_jobs=1",
            "scikit-learn Perceptron.fit, n_jobs=2",
        ):
            assert sparse[(case, method)]["seconds"] > 0
    assert "### Sparse input" in proc.stdout

    # The markdown tables are printed last on stdout, and written with the chart.
    assert proc.stdout.rstrip().splitlines()[-1].startswith("| ")
    assert "### Correctness checks" in proc.stdout
    assert (out / "latest.md").read_text() == proc.stdout.rstrip("\n") + "\n"
    assert (out / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
