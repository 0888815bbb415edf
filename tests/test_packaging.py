"""The torch range is stated in four places, which must agree: setup.py's
TORCH_TARGET_VERSION (what the headers let the library use) and MIN_TORCH (what
the import checks, through _build_info.py), pyproject.toml's dependency (what
pip checks, the wheel's Requires-Dist) and its build requirement. The CI
scripts check the Requires-Dist of the built wheels against _build_info.py."""

import ast
import os

import tomllib
from packaging.requirements import Requirement

import torch_perceptron
from torch_perceptron import _build_info

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _setup_constants() -> dict:
    with open(os.path.join(ROOT, "setup.py")) as f:
        tree = ast.parse(f.read())
    return {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.targets[0], ast.Name)
    }


def _pyproject() -> dict:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def _torch_requirements(requirements: list[str]) -> list[str]:
    return [str(Requirement(r).specifier) for r in requirements if Requirement(r).name == "torch"]


def test_target_version_is_the_minimum_torch():
    constants = _setup_constants()
    # As torch/headeronly/version.h packs it: the major in the top byte, the
    # minor in the next.
    target = int(constants["TORCH_TARGET_VERSION"], 16)
    major, minor = target >> 56, (target >> 48) & 0xFF
    assert f"{major}.{minor}" == constants["MIN_TORCH"]


def test_metadata_states_the_minimum_torch():
    min_torch = _setup_constants()["MIN_TORCH"]
    project = _pyproject()
    assert _torch_requirements(project["project"]["dependencies"]) == [f">={min_torch}"]
    assert _torch_requirements(project["build-system"]["requires"]) == [f">={min_torch}"]


def test_build_and_package_agree():
    constants = _setup_constants()
    assert _build_info.MIN_TORCH == constants["MIN_TORCH"]
    assert torch_perceptron.__version__ == constants["VERSION"]
    assert "version" in _pyproject()["project"]["dynamic"], "setup.py sets the version"
