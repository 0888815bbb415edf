"""`make run` and `make test` from a fresh clone: the compile step, the one
that keeps a cold run quiet for minutes, is announced before it starts."""

import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.skipif(
    not os.path.exists(os.path.join(ROOT, "Makefile")),
    reason="no Makefile here (the tests run from an installed wheel)",
)
def test_a_line_says_the_extension_compiles_and_about_how_long_before_it_does():
    # A dry run (-n) of a forced rebuild (-B): every command, run or not, in order.
    out = subprocess.run(
        ["make", "-n", "-B", "setup"], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True
    ).stdout.splitlines()
    compile_at = next(i for i, line in enumerate(out) if "pip install" in line and "--no-build-isolation" in line)
    said = [line for line in out[:compile_at] if line.startswith("echo ")]
    assert said, out
    assert "Compiling the C++ extension" in said[-1] and "minutes" in said[-1]
