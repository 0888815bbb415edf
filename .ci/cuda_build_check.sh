#!/usr/bin/env bash
# Proves the CUDA extension compiles and links, without a GPU.
#
# A separate environment (.venv-cuda, git-ignored, reused when present) holds
# torch 2.14.1, a CUDA 13.0 build; the sources are copied to a temporary
# directory and built there with nvcc for one architecture, so the CPU build in
# the working tree (torch_perceptron/_C*.so, _build_info.py) is never touched.
# Then the built library is loaded under that torch: the ops must be registered
# for CUDA by real kernels (device code in the library), and the CPU ops must
# still agree with the reference. The CUDA tests (`pytest -m cuda` over the
# files in CUDA_TESTS) run last: they skip without a GPU and run in full where
# there is one.
#
# Environment: CUDA_HOME (default /usr/local/cuda), TORCH_CUDA_ARCH_LIST
# (default 9.0), MAX_JOBS (default 2), CUDA_VENV (default .venv-cuda),
# KEEP_BUILD=1 keeps the temporary build directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${CUDA_VENV:-$ROOT/.venv-cuda}"
TORCH_CUDA_VERSION="2.14.1"
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
export MAX_JOBS="${MAX_JOBS:-2}"
export TORCH_PERCEPTRON_CUDA=1
# A portable build: the check is about the CUDA code, not this CPU's features.
export TORCH_PERCEPTRON_MARCH=""
start=$SECONDS

step() { printf '\n== %s (%ds)\n' "$*" "$((SECONDS - start))"; }

[ -x "$CUDA_HOME/bin/nvcc" ] || { echo "no nvcc at $CUDA_HOME/bin/nvcc" >&2; exit 1; }

step "environment $VENV"
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_CUDA_VERSION' or torch.version.cuda is None)" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "torch==$TORCH_CUDA_VERSION" ninja setuptools wheel numpy pytest
fi
PY="$VENV/bin/python"
"$PY" -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'GPU available:', torch.cuda.is_available())"
"$CUDA_HOME/bin/nvcc" --version | tail -n 2

# The toolkit here is nvcc and the runtime headers only; ATen's CUDA headers
# also include the cuBLAS/cuSPARSE/cuSOLVER ones, which torch's wheels bring.
# CPATH comes after nvcc's own -I, so the toolkit's headers still win.
NV_INCLUDE="$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/nvidia/cu13/include"
if [ ! -f "$CUDA_HOME/include/cusparse.h" ] && [ -d "$NV_INCLUDE" ]; then
  export CPATH="$NV_INCLUDE${CPATH:+:$CPATH}"
  echo "CPATH=$CPATH"
fi

BUILD="$(mktemp -d "${TMPDIR:-/tmp}/torch_perceptron_cuda.XXXXXX")"
if [ "${KEEP_BUILD:-0}" != 1 ]; then trap 'rm -rf "$BUILD"' EXIT; fi

step "copy the sources to $BUILD"
# The test files with CUDA cases that need nothing beyond torch and pytest, and
# the helpers they import.
CUDA_TESTS=(tests/test_plain_rule_ops.py tests/test_averaged_ops.py tests/test_pocket_ops.py
            tests/test_variant_ops.py tests/test_opcheck.py tests/test_layer.py
            tests/test_cuda_streams.py tests/test_csr_ops.py tests/test_csr_validation.py)
copy=(setup.py pyproject.toml csrc torch_perceptron "${CUDA_TESTS[@]}" tests/support.py
      tests/device_support.py tests/csr_cases.py)
[ -f README.md ] && copy+=(README.md)
tar --exclude='*.so' --exclude='_build_info.py' --exclude='__pycache__' \
  -cf - "${copy[@]}" | tar -xf - -C "$BUILD"

step "build with nvcc for sm_${TORCH_CUDA_ARCH_LIST//./} (MAX_JOBS=$MAX_JOBS)"
(cd "$BUILD" && "$PY" setup.py --quiet build_ext --inplace)

step "load the library and check the registrations"
SO="$(ls "$BUILD"/torch_perceptron/_C*.so)"
# Device code for the kernels, and the CUDA runtime linked in. (Listings go to
# files: `nm | grep -q` would fail under pipefail when grep stops early.)
readelf -S -W "$SO" > "$BUILD/sections.txt"
readelf -d "$SO" > "$BUILD/dynamic.txt"
nm "$SO" > "$BUILD/symbols.txt"
grep -q '\.nv_fatbin' "$BUILD/sections.txt" \
  || { echo "no device code (.nv_fatbin) in $SO" >&2; exit 1; }
# (mangled names: ...online_kernelIfNS_8NoPolicyE... is online_kernel<float,
# torch_perceptron::NoPolicy>; the variants' block policies are in an
# anonymous namespace, hence the wildcard.)
for scalar in f d; do
  for kernel in "online_kernelI${scalar}NS_8NoPolicyE" \
      "multiclass_kernelI${scalar}NS_18NoMulticlassPolicyE" \
      "online_kernelI${scalar}N.*19AveragedBlockPolicyI${scalar}EE" \
      "multiclass_kernelI${scalar}N.*29AveragedMulticlassBlockPolicyI${scalar}EE" \
      "online_kernelI${scalar}N.*17PocketBlockPolicyI${scalar}EE" \
      "multiclass_kernelI${scalar}N.*27PocketMulticlassBlockPolicyI${scalar}EE" \
      "csr_online_kernelI${scalar}iNS_8NoPolicyE" "csr_online_kernelI${scalar}lNS_8NoPolicyE" \
      "csr_multiclass_kernelI${scalar}iNS_18NoMulticlassPolicyE" \
      "csr_online_kernelI${scalar}lN.*17PocketBlockPolicyI${scalar}EE" \
      "csr_multiclass_kernelI${scalar}lN.*29AveragedMulticlassBlockPolicyI${scalar}EE"; do
    grep -q "$kernel" "$BUILD/symbols.txt" || { echo "no $kernel (kernel) in $SO" >&2; exit 1; }
  done
done
grep -E 'NEEDED.*(cudart|c10_cuda)' "$BUILD/dynamic.txt" \
  || { echo "$SO does not link the CUDA runtime" >&2; exit 1; }
(cd "$BUILD" && "$PY" - <<'PYEOF'
import torch
import torch_perceptron
from torch_perceptron import _build_info, reference

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
(cd "$BUILD" && "$PY" -m pytest -q -p no:cacheprovider -m cuda "${CUDA_TESTS[@]}")

step "torch-abi-audit of the CUDA build"
"$PY" -m pip install --quiet --disable-pip-version-check torch-abi-audit
"$VENV/bin/torch-abi-audit" --check both -v "$BUILD/torch_perceptron"

step "CUDA build check passed"
