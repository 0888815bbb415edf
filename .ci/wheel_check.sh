#!/usr/bin/env bash
# Proves that one CPU wheel serves more than one torch: the wheel is built once,
# against the torch of .venv (2.13.0, `make setup`), then that same file is
# installed into the torch 2.14.1 environment of the CUDA build check
# (.venv-cuda; a CUDA build of torch runs CPU tensors too) and the test suite
# runs there. torch-abi-audit reports what the library links: PyTorch's stable
# ABI only, and CPython's limited API (abi3).
#
# Runs after .ci/cuda_build_check.sh (which creates .venv-cuda) and `make
# setup`. Environment: CUDA_VENV (default .venv-cuda), WHEEL_TESTS (pytest
# arguments; default: the whole suite).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_PY="$ROOT/.venv/bin/python"
TEST_VENV="${CUDA_VENV:-$ROOT/.venv-cuda}"
TEST_PY="$TEST_VENV/bin/python"
start=$SECONDS
step() { printf '\n== %s (%ds)\n' "$*" "$((SECONDS - start))"; }

step "build the CPU wheel against torch $("$BUILD_PY" -c 'import torch; print(torch.__version__)')"
rm -rf dist
# A portable build (no -march=native): the wheel is for other machines.
TORCH_PERCEPTRON_CUDA=0 TORCH_PERCEPTRON_MARCH="" MAX_JOBS="${MAX_JOBS:-2}" \
  "$BUILD_PY" -m pip wheel --quiet --no-build-isolation --no-deps -w dist .
WHEEL="$(ls dist/torch_perceptron-*.whl)"
echo "$WHEEL"
case "$(basename "$WHEEL")" in
  *+cu*) echo "a CUDA wheel, not the CPU one: $WHEEL" >&2; exit 1 ;;
  *-cp310-abi3-*) ;;
  *) echo "not a cp310-abi3 wheel: $WHEEL" >&2; exit 1 ;;
esac
# The torch range the metadata states is the one the library was built for.
"$BUILD_PY" - "$WHEEL" <<'PYEOF'
import re, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    info = {}
    exec(z.read("torch_perceptron/_build_info.py"), info)
min_torch = info["MIN_TORCH"]
torch_req = [line for line in meta.splitlines() if re.match(r"Requires-Dist: torch\b(?![-_.])", line)]
print("\n".join(torch_req))
assert torch_req == [f"Requires-Dist: torch>={min_torch}"], (torch_req, min_torch)
PYEOF
"$BUILD_PY" -m pip install --quiet --disable-pip-version-check torch-abi-audit
# (The in-place build of `make setup` is restored below: pip wheel rewrote
# _build_info.py with the portable build's facts, which are the same.)

step "install the same file beside torch $("$TEST_PY" -c 'import torch; print(torch.__version__)')"
SITE="$(mktemp -d "${TMPDIR:-/tmp}/torch_perceptron_wheel.XXXXXX")"
trap 'rm -rf "$SITE"' EXIT
"$TEST_PY" -m pip install --quiet --disable-pip-version-check --no-deps --target "$SITE/lib" "$WHEEL"
# The test suite's own dependencies, with the torch already there.
grep -v '^torch==' requirements.txt > "$SITE/requirements.txt"
"$TEST_PY" -m pip install --quiet --disable-pip-version-check -r "$SITE/requirements.txt"

step "torch-abi-audit of the installed wheel"
"$ROOT/.venv/bin/torch-abi-audit" --check both -v "$SITE/lib/torch_perceptron"

step "test suite under the second torch, from the wheel"
# From a copy of the tests, so that the checkout's torch_perceptron (and its
# in-place build) cannot shadow the installed one.
cp -r tests examples benchmarks docs .ci README.md pyproject.toml setup.py "$SITE/"
cd "$SITE"
PYTHONPATH="$SITE/lib" "$TEST_PY" - <<'PYEOF'
import torch, torch_perceptron
assert "/lib/torch_perceptron/" in torch_perceptron.__file__, torch_perceptron.__file__
from torch_perceptron import _build_info
print(f"torch {torch.__version__}, torch_perceptron from {torch_perceptron.__file__},"
      f" built against torch {_build_info.TORCH_VERSION}")
assert _build_info.TORCH_VERSION != torch.__version__, "not a second torch"
PYEOF
# shellcheck disable=SC2086
PYTHONPATH="$SITE/lib" "$TEST_PY" -m pytest -q -p no:cacheprovider ${WHEEL_TESTS:-tests}
step "wheel check passed"
