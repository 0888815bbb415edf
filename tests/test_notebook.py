"""examples/lecture.ipynb executes from top to bottom (so it never rots), and is
stored without outputs."""

import json
import os
import sys

import nbformat
from nbclient import NotebookClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "examples", "lecture.ipynb")
KERNEL = "torch-perceptron-tests"


def test_lecture_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 10
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_lecture_notebook_executes(tmp_path, monkeypatch):
    # A kernel spec of our own, for this interpreter: a "python3" installed
    # elsewhere on the machine could run another Python without the package.
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": KERNEL,
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(sys.path))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=180, kernel_name=KERNEL, resources={"metadata": {"path": str(run_dir)}})
    client.execute()  # raises CellExecutionError, naming the cell, if one fails

    text = "".join(
        out.get("text", "") + "".join(out.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
    )
    assert "XOR   mistakes per epoch" in text
    assert "same predictions: True" in text
    assert "per loop (mean ± std. dev. of 3 runs" in text
    accuracy = float(text.split("Test set accuracy:")[1].split("%")[0])
    assert accuracy > 75.0
    assert os.path.getsize(run_dir / "outputs" / "lecture_first_epoch.gif") > 1000
    images = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if "image/png" in out.get("data", {}) or "image/gif" in out.get("data", {})
    ]
    assert len(images) >= 3  # the gates, the two sets, the animation
