"""The prepared GPU check (.ci/gpu_check.sh) and its benchmark, on this machine.

The script only pays off on a lent GPU machine with minutes to spend, so its
logic is checked here, where it is cheap: without a visible GPU (hidden with
CUDA_VISIBLE_DEVICES even where there is one, so the suite it runs never runs
it again) every GPU stage skips and the exit status is 2; a failing stage does
not stop the summary. benchmarks/bench_cuda.py runs on small data with its CUDA
column on the CPU, so a slip in it is found here rather than on the GPU.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "gpu_check.sh"
GPU_STAGES = ["build", "cuda_tests", "memcheck", "racecheck", "bench", "suite"]


def run_check(out, **env):
    return subprocess.run(
        ["bash", str(SCRIPT), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": "", **env},
    )


def summary(out):
    """{stage: (status, note)} and the verdict line of summary.txt."""
    lines = (out / "summary.txt").read_text().splitlines()
    assert lines[0].split() == ["stage", "status", "seconds", "note"]
    rows = {}
    for line in lines[1:-1]:
        stage, status, seconds, *note = line.split()
        assert int(seconds) >= 0
        rows[stage] = status, " ".join(note)
    return rows, lines[-1]


def test_without_a_gpu_every_gpu_stage_skips(tmp_path):
    out = tmp_path / "out"
    proc = run_check(out, PYTHON=sys.executable)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    rows, verdict = summary(out)
    assert rows.pop("env") == ("PASS", "")
    assert list(rows) == GPU_STAGES
    for status, note in rows.values():
        assert status == "SKIP" and note.startswith("no GPU visible"), (status, note)
    assert verdict.startswith("exit 2: no GPU")
    assert "cuda available: False" in (out / "build.log").read_text()
    # What the lent machine sends back: at most 8 files, none in a subfolder.
    assert sorted(p.name for p in out.iterdir()) == ["build.log", "summary.txt"]


@pytest.mark.parametrize(
    "env,note",
    [
        ({"PYTHON": "false"}, "exit 1 (see build.log)"),
        ({"PYTHON": sys.executable, "GPU_CHECK_BUDGET": "5"}, "not run: no time left of 5 s"),
    ],
)
def test_a_failed_stage_fails_the_check_and_the_rest_still_report(tmp_path, env, note):
    proc = run_check(tmp_path, **env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rows, verdict = summary(tmp_path)
    assert rows.pop("env")[0] == "FAIL" and note in proc.stdout
    assert list(rows) == GPU_STAGES and {s for s, _ in rows.values()} == {"SKIP"}
    assert verdict.startswith("exit 1")


def test_bench_cuda_runs_every_case_with_its_cuda_column_on_the_cpu():
    args = [
        "--device",
        "cpu",
        "--n",
        "3000",
        "--d",
        "20",
        "--mc-n",
        "2000",
        "--mc-d",
        "8",
        "--mc-k",
        "4",
        "--epochs",
        "2",
        "--batch-rows",
        "500",
        "--sklearn-repeats",
        "1",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_cuda", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_PROC_BIND": "spread"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for case in [
        "online rule, 3000 x 20",
        "online rule, averaged, 3000 x 20",
        "online rule, pocket, 3000 x 20",
        "mini-batch rule, 3000 x 20",
        "decision_function:",
        "predict:",
        "multiclass rule, 2000 x 8 float32, K=4",
        "multiclass rule, averaged, 2000",
        "multiclass rule, pocket, 2000",
    ]:
        assert case in out, case
    # The same kernel on both sides: the same mistakes, the same weights.
    assert "(differ)" not in out and out.count("max |state_cuda - state_cpu| = 0\n") == 7
    # scikit-learn timed twice, in a process without our OpenMP setting.
    assert out.count("OpenMP settings: none") == 2
