"""Every ```python block of README.md runs as written, each on its own (a
reader may copy any one of them), in a directory of its own."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(), re.M | re.S)


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # Lightning writes its logs and checkpoints here
    exec(compile(code, "README.md python block", "exec"), {"__name__": "__readme__"})
