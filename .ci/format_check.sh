#!/usr/bin/env bash
# The formatting check, run first by .ci/run (before the CUDA build, so that a
# formatting failure fails the job in a minute): the pinned ruff and
# clang-format (requirements-format.txt, installed into .venv-format) check
# the Python (pyproject.toml's [tool.ruff]: `ruff format --check`, then the
# lint rules) and csrc/ (.clang-format). `make format` fixes the formatting.
set -euo pipefail
cd "$(dirname "$0")/.."
make format-check
