#!/usr/bin/env bash
# Builds the CUDA wheel and proves it, without a GPU.
#
# A separate environment (.venv-cuda, git-ignored, reused when present) holds
# torch 2.14.1, a CUDA 13.0 build. The sources are copied to a temporary
# directory and built there into a wheel (`pip wheel --no-build-isolation`,
# as .ci/wheel_check.sh builds the CPU one), so the CPU build in the working
# tree (torch_perceptron/_C*.so, _build_info.py) is never touched. The wheel
# must be a cp310-abi3 wheel that states its torch range, hold a cubin for
# every architecture asked for (and the PTX asked for), link the CUDA runtime
# and hold the kernels. That file is then installed into a temporary --target
# directory and everything else runs from there: the ops must be registered
# for CUDA, the CPU ops must still agree with the reference, the CUDA tests
# (`pytest -m cuda` over the files in CUDA_TESTS) skip without a GPU and run in
# full where there is one, and torch-abi-audit reads the installed library.
#
# Environment: CUDA_HOME (default /usr/local/cuda), TORCH_CUDA_ARCH_LIST
# (default: all, every architecture the toolkit offers, see setup.py),
# MAX_JOBS (default 2), NVCC_THREADS (default 2), CUDA_VENV (default
# .venv-cuda), KEEP_BUILD=1 keeps the temporary directory (and the wheel in it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${CUDA_VENV:-$ROOT/.venv-cuda}"
TORCH_CUDA_VERSION="2.14.1"
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-all}"
export MAX_JOBS="${MAX_JOBS:-2}"
export NVCC_THREADS="${NVCC_THREADS:-2}"
export TORCH_PERCEPTRON_CUDA=1
# A portable build: the wheel is for other machines.
export TORCH_PERCEPTRON_MARCH=""
start=$SECONDS

step() { printf '\n== %s (%ds)\n' "$*" "$((SECONDS - start))"; }

NVCC="$CUDA_HOME/bin/nvcc"
[ -x "$NVCC" ] || { echo "no nvcc at $NVCC" >&2; exit 1; }

step "environment $VENV"
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_CUDA_VERSION' or torch.version.cuda is None)" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "torch==$TORCH_CUDA_VERSION" ninja setuptools wheel numpy pytest
fi
PY="$VENV/bin/python"
# The environment's ninja (BuildExtension looks for one on PATH; without it
# the build runs one file at a time).
export PATH="$VENV/bin:$PATH"
"$PY" -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'GPU available:', torch.cuda.is_available())"
"$NVCC" --version | tail -n 2

# The toolkit here is nvcc and the runtime headers only; ATen's CUDA headers
# also include the cuBLAS/cuSPARSE/cuSOLVER ones, which torch's wheels bring.
# CPATH comes after nvcc's own -I, so the toolkit's headers still win.
NV_INCLUDE="$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/nvidia/cu13/include"
if [ ! -f "$CUDA_HOME/include/cusparse.h" ] && [ -d "$NV_INCLUDE" ]; then
  export CPATH="$NV_INCLUDE${CPATH:+:$CPATH}"
  echo "CPATH=$CPATH"
fi
# The toolkit here has no cuobjdump; torch's triton brings one.
CUOBJDUMP="$CUDA_HOME/bin/cuobjdump"
[ -x "$CUOBJDUMP" ] || CUOBJDUMP="$("$PY" -c "import os, triton; print(os.path.join(os.path.dirname(triton.__file__), 'backends/nvidia/bin/cuobjdump'))")"
[ -x "$CUOBJDUMP" ] || { echo "no cuobjdump ($CUDA_HOME/bin, triton)" >&2; exit 1; }

# The cubins and the PTX the wheel must hold (cuobjdump names both sm_XY): for
# "all", every architecture nvcc offers and PTX of the newest major one
# (sm_120 with CUDA 13.0); otherwise what the list names (X.Y, X.Y+PTX).
if [ "$TORCH_CUDA_ARCH_LIST" = all ]; then
  mapfile -t CUBINS < <("$NVCC" --list-gpu-code | grep '^sm_' | sort -t_ -k2,2n)
  newest="${CUBINS[-1]#sm_}"
  PTX=("sm_${newest%?}0")
else
  CUBINS=() PTX=()
  for arch in ${TORCH_CUDA_ARCH_LIST//;/ }; do
    num="${arch%+PTX}"; num="${num//./}"
    CUBINS+=("sm_$num")
    if [ "$arch" != "${arch%+PTX}" ]; then PTX+=("sm_$num"); fi
  done
fi

BUILD="$(mktemp -d "${TMPDIR:-/tmp}/torch_perceptron_cuda.XXXXXX")"
if [ "${KEEP_BUILD:-0}" != 1 ]; then trap 'rm -rf "$BUILD"' EXIT; fi

step "copy the sources to $BUILD/src"
# The test files with CUDA cases that need nothing beyond torch and pytest, and
# the helpers they import.
CUDA_TESTS=(tests/test_plain_rule_ops.py tests/test_variant_ops.py tests/test_opcheck.py
            tests/test_layer.py tests/test_cuda_streams.py tests/test_validation.py
            tests/test_loss.py tests/test_order.py tests/test_penalized_ops.py)
mkdir -p "$BUILD/src" "$BUILD/run/tests"
tar --exclude='*.so' --exclude='_build_info.py' --exclude='__pycache__' \
  -cf - setup.py pyproject.toml README.md csrc torch_perceptron | tar -xf - -C "$BUILD/src"
# The tests run from a directory without the sources, so that only the
# installed wheel can be imported.
cp pyproject.toml "$BUILD/run/"
cp "${CUDA_TESTS[@]}" tests/support.py tests/device_support.py tests/csr_cases.py \
  tests/order_cases.py "$BUILD/run/tests/"

step "build the CUDA wheel: ${CUBINS[*]}${PTX[*]:+ + PTX ${PTX[*]}} (TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST, MAX_JOBS=$MAX_JOBS, NVCC_THREADS=$NVCC_THREADS)"
build_start=$SECONDS
(cd "$BUILD/src" && "$PY" -m pip wheel --quiet --disable-pip-version-check \
  --no-build-isolation --no-deps -w "$BUILD/dist" .)
echo "built in $((SECONDS - build_start)) s"
WHEEL="$(ls "$BUILD"/dist/torch_perceptron-*.whl)"
echo "$WHEEL ($(du -h "$WHEEL" | cut -f1))"
case "$(basename "$WHEEL")" in
  torch_perceptron-*+cu*-cp310-abi3-*.whl) ;;
  *) echo "not a cp310-abi3 CUDA wheel (+cuXY): $WHEEL" >&2; exit 1 ;;
esac

step "install the wheel into $BUILD/lib"
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps --target "$BUILD/lib" "$WHEEL"
SO="$(ls "$BUILD"/lib/torch_perceptron/_C*.so)"
case "$SO" in *_C.abi3.so) ;; *) echo "not an abi3 library: $SO" >&2; exit 1 ;; esac

step "the wheel's metadata and library"
# The torch range the metadata states is the one the library was built for.
"$PY" - "$WHEEL" "$BUILD/lib/torch_perceptron/_build_info.py" <<'PYEOF'
import re, runpy, sys, zipfile
wheel, info = sys.argv[1], runpy.run_path(sys.argv[2])
with zipfile.ZipFile(wheel) as z:
    meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
torch_req = [line for line in meta.splitlines() if re.match(r"Requires-Dist: torch\b(?![-_.])", line)]
print("\n".join(torch_req))
assert torch_req == [f"Requires-Dist: torch>={info['MIN_TORCH']}"], (torch_req, info["MIN_TORCH"])
assert info["WITH_CUDA"] is True, "the library was not built with CUDA"
PYEOF
# (Listings go to files: `nm | grep -q` would fail under pipefail when grep
# stops early.)
readelf -d "$SO" > "$BUILD/dynamic.txt"
nm "$SO" > "$BUILD/symbols.txt"
"$CUOBJDUMP" --list-elf "$SO" > "$BUILD/elf.txt"
"$CUOBJDUMP" --list-ptx "$SO" > "$BUILD/ptx.txt"
for arch in "${CUBINS[@]}"; do
  grep -q "\.$arch\.cubin" "$BUILD/elf.txt" || { echo "no $arch cubin in $SO" >&2; cat "$BUILD/elf.txt" >&2; exit 1; }
done
for arch in "${PTX[@]}"; do
  grep -q "\.$arch\.ptx" "$BUILD/ptx.txt" || { echo "no $arch PTX in $SO" >&2; cat "$BUILD/ptx.txt" >&2; exit 1; }
done
echo "cubins: $(grep -o 'sm_[0-9a-z]*' "$BUILD/elf.txt" | sort -u -t_ -k2,2n | tr '\n' ' ')"
echo "PTX: $(grep -o 'sm_[0-9a-z]*' "$BUILD/ptx.txt" | sort -u -t_ -k2,2n | tr '\n' ' ')"
# (mangled names: ...online_kernelIfNS_9DenseRowsIfEENS_8NoPolicyE... is
# online_kernel<float, torch_perceptron::DenseRows<float>,
# torch_perceptron::NoPolicy>; CsrRowsIfiE is CsrRows<float, int>. One kernel
# per rule takes both row sources; the wildcards skip the namespaces.)
for scalar in f d; do
  for kernel in "online_kernelI${scalar}N.*9DenseRowsI${scalar}EE.*8NoPolicyE" \
      "multiclass_kernelI${scalar}N.*9DenseRowsI${scalar}EE.*18NoMulticlassPolicyE" \
      "online_kernelI${scalar}N.*9DenseRows.*19AveragedBlockPolicyI${scalar}EE" \
      "multiclass_kernelI${scalar}N.*9DenseRows.*29AveragedMulticlassBlockPolicyI${scalar}EE" \
      "online_kernelI${scalar}N.*9DenseRows.*17PocketBlockPolicyI${scalar}EE" \
      "multiclass_kernelI${scalar}N.*9DenseRows.*27PocketMulticlassBlockPolicyI${scalar}EE" \
      "online_kernelI${scalar}N.*7CsrRowsI${scalar}iEE.*8NoPolicyE" \
      "online_kernelI${scalar}N.*7CsrRowsI${scalar}lEE.*8NoPolicyE" \
      "multiclass_kernelI${scalar}N.*7CsrRowsI${scalar}iEE.*18NoMulticlassPolicyE" \
      "online_kernelI${scalar}N.*7CsrRowsI${scalar}lEE.*17PocketBlockPolicyI${scalar}EE" \
      "multiclass_kernelI${scalar}N.*7CsrRowsI${scalar}lEE.*29AveragedMulticlassBlockPolicyI${scalar}EE"; do
    grep -q "$kernel" "$BUILD/symbols.txt" || { echo "no $kernel (kernel) in $SO" >&2; exit 1; }
  done
done
grep -E 'NEEDED.*(cudart|c10_cuda)' "$BUILD/dynamic.txt" \
  || { echo "$SO does not link the CUDA runtime" >&2; exit 1; }

step "load the installed wheel and check the registrations"
(cd "$BUILD/run" && PYTHONPATH="$BUILD/lib" "$PY" - <<'PYEOF'
import torch
import torch_perceptron
from torch_perceptron import _build_info, reference

assert "/lib/torch_perceptron/" in torch_perceptron.__file__, torch_perceptron.__file__
assert _build_info.WITH_CUDA is True, "the library was not built with CUDA"
ops = torch_perceptron.ops.OPS
for name in ops:
    for key in ("CPU", "CUDA"):
        assert torch._C._dispatch_has_kernel_for_dispatch_key(
            f"torch_perceptron::{name}", key
        ), f"torch_perceptron::{name} has no {key} kernel"
print("registered for CPU and CUDA:", ", ".join(ops))

# The CPU ops of the CUDA build still match the reference.
g = torch.Generator().manual_seed(0)
x = torch.randint(-4, 5, (64, 7), generator=g).double() / 4
y = torch.randint(0, 2, (64, 3), generator=g).double()
w, b = torch.zeros(3, 7, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
m = torch_perceptron.ops.online_update(w, b, x, y)
rw, rb, rm = reference.online_update(torch.zeros(3, 7, dtype=torch.float64), torch.zeros(3, dtype=torch.float64), x, y)
assert torch.equal(m, rm) and torch.equal(w, rw) and torch.equal(b, rb), "online_update differs"
c = torch.randint(0, 4, (64,), generator=g)
w, b = torch.zeros(4, 7, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
m = torch_perceptron.ops.multiclass_update(w, b, x, c)
rw, rb, rm = reference.multiclass_update(torch.zeros(4, 7, dtype=torch.float64), torch.zeros(4, dtype=torch.float64), x, c)
assert torch.equal(m, rm) and torch.equal(w, rw) and torch.equal(b, rb), "multiclass_update differs"
print("CPU ops of the CUDA build match the reference")
PYEOF
)

step "pytest -m cuda ${CUDA_TESTS[*]} (skips without a GPU)"
(cd "$BUILD/run" && PYTHONPATH="$BUILD/lib" "$PY" -m pytest -q -p no:cacheprovider -m cuda \
  "${CUDA_TESTS[@]}")

step "torch-abi-audit of the installed wheel"
"$PY" -m pip install --quiet --disable-pip-version-check torch-abi-audit
# (Through the environment's python: a venv that was moved keeps its scripts'
# old #! line.)
"$PY" "$VENV/bin/torch-abi-audit" --check both -v "$BUILD/lib/torch_perceptron"

step "CUDA build check passed"
