#!/usr/bin/env bash
# The CUDA path on a GPU, in one call: build there, test, sanitize, time.
#
# Made for a lent machine with one GPU and a short lease (an H200 with python3,
# torch, nvcc and compute-sanitizer installed, no internet): one command does
# everything inside GPU_CHECK_BUDGET seconds (default 540), a failing stage does
# not stop the others, and what comes back is a handful of files. The stages,
# most valuable first, each capped at its share of what is left of the budget:
#   env         python, torch, GPU, nvcc, compute-sanitizer    -> build.log
#   build       pip install -e . with the torch found there,
#               TORCH_PERCEPTRON_CUDA=1, sm_90 only, MAX_JOBS=16 -> build.log
#   cuda_tests  pytest -m cuda                                  -> cuda_tests.log
#   memcheck    compute-sanitizer on a small subset of them     -> sanitizer.log
#   racecheck   the same under racecheck                        -> sanitizer.log
#   bench       benchmarks/bench_cuda.py                        -> bench.log
#   suite       the rest of the suite, pytest -m "not cuda"     -> suite.log
# summary.txt holds one line per stage (status, seconds, why) and the verdict.
#
# Usage: .ci/gpu_check.sh [OUTDIR]   (default: $OUT when set, else outputs/gpu_check)
# Exit status: 0 every stage passed (a sanitizer the machine refuses is skipped
# and said so); 1 a stage failed, timed out or found no time left; 2 no GPU was
# visible: the GPU stages skipped and nothing else failed. Environment: PYTHON
# (python3), GPU_CHECK_BUDGET, MAX_JOBS, TORCH_CUDA_ARCH_LIST (9.0).
set -uo pipefail
DIR="${1:-${OUT:-outputs/gpu_check}}"
mkdir -p "$DIR" && DIR="$(cd "$DIR" && pwd)" || exit 1
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
PY="${PYTHON:-python3}"
BUDGET="${GPU_CHECK_BUDGET:-540}"
DEADLINE=$((SECONDS + BUDGET))
export PYTHONUNBUFFERED=1 MAX_JOBS="${MAX_JOBS:-16}" TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
SUMMARY="$DIR/summary.txt"
rm -f "$DIR"/{summary.txt,build.log,cuda_tests.log,sanitizer.log,bench.log,suite.log}
printf '%-11s %-6s %7s  %s\n' stage status seconds note >"$SUMMARY"
FAILED=0

record() {  # record STAGE STATUS SECONDS NOTE: one summary line, echoed
  printf '%-11s %-6s %7s  %s\n' "$@" | tee -a "$SUMMARY"
  [ "$2" = FAIL ] && FAILED=1
  return 0
}

# stage NAME LOG CAP COMMAND...: runs COMMAND, its output appended to LOG, for
# at most CAP seconds and never past the deadline. SKIP_IF (a regex): a failure
# whose output matches it is the machine refusing a tool, not a bug: SKIP.
stage() {
  local name=$1 file=$2 log="$DIR/$2" cap=$3 left=$((DEADLINE - SECONDS)) t0=$SECONDS rc from line
  shift 3
  ((cap > left)) && cap=$left
  if ((cap < 15)); then record "$name" FAIL 0 "not run: no time left of ${BUDGET} s"; return; fi
  touch "$log" && from=$(($(stat -c %s "$log") + 1))
  line="${*//$'\n'/ }" && printf '\n== %s (up to %d s): %s\n' "$name" "$cap" "${line:0:150}" >>"$log"
  timeout -k 10 "$cap" "$@" >>"$log" 2>&1
  rc=$?
  if ((rc == 0)); then
    record "$name" PASS $((SECONDS - t0)) ""
  elif ((rc == 124 || rc == 137)); then
    record "$name" FAIL $((SECONDS - t0)) "timed out after $cap s (see $file)"
  elif [ -n "${SKIP_IF:-}" ] && line=$(tail -c +"$from" "$log" | grep -m1 -E "$SKIP_IF"); then
    record "$name" SKIP $((SECONDS - t0)) "refused by the machine: ${line:0:100}"
  else
    record "$name" FAIL $((SECONDS - t0)) "exit $rc (see $file)"
  fi
}

stage env build.log 60 "$PY" -c '
import os, shutil, subprocess, sys, torch
print("python", sys.version.split()[0], sys.executable, "on", os.cpu_count(), "CPUs")
print("torch", torch.__version__, "CUDA", torch.version.cuda)
print("cuda available:", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("device:", p.name, f"sm_{p.major}{p.minor},", p.multi_processor_count, "SMs")
for tool, flag in (("nvidia-smi", "-L"), ("nvcc", "--version"), ("compute-sanitizer", "--version")):
    where = shutil.which(tool)
    out = subprocess.run([where, flag], capture_output=True, text=True).stdout if where else ""
    print(tool + ":", out.strip().splitlines()[-1] if out.strip() else "not found")
'
if ! grep -qs '^cuda available: True$' "$DIR/build.log"; then
  for s in build cuda_tests memcheck racecheck bench suite; do
    record "$s" SKIP 0 "no GPU visible to torch (make test is the check without one)"
  done
  echo "exit $((FAILED ? 1 : 2)): no GPU; nothing of the CUDA path was checked" | tee -a "$SUMMARY"
  exit $((FAILED ? 1 : 2))
fi

# ATen's CUDA headers include cuSPARSE/cuBLAS ones; where the toolkit lacks
# them, torch's nvidia wheels have them (as in .ci/cuda_build_check.sh).
NV_INCLUDE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/nvidia/cu13/include"
CUDA_DIR="$("$PY" -c 'from torch.utils.cpp_extension import CUDA_HOME; print(CUDA_HOME or "")')"
if [ ! -f "$CUDA_DIR/include/cusparse.h" ] && [ -d "$NV_INCLUDE" ]; then
  export CPATH="$NV_INCLUDE${CPATH:+:$CPATH}"
fi
# --no-index: nothing is downloaded; the torch found there is built against.
TORCH_PERCEPTRON_CUDA=1 stage build build.log 300 \
  "$PY" -m pip install --no-index --no-build-isolation --no-deps -e .

PYTEST=("$PY" -m pytest -p no:cacheprovider -q)
stage cuda_tests cuda_tests.log 150 "${PYTEST[@]}" -m cuda --durations=10

# Both kernels and every path of them, in a few seconds of the GPU: a row in
# shared and one in global memory, the variants, the dense ops, a restore.
# (gVisor machines answer "Device not supported"; Firecracker ones run it.)
REFUSED='Device not supported|not supported on this (device|platform)'
SUBSET=(tests/test_plain_rule_ops.py tests/test_variant_ops.py -m cuda -k "dyadic and (257-17-1 \
or 120-10300-1 or 700-7-3 or 80-2100-5) or test_forward_and_batch_match_cpu and 500-40-7 \
or non_finite_late_row and nan and 4")
SANITIZER=(compute-sanitizer --error-exitcode 99 --print-limit 20)
PATH="$PATH:$CUDA_DIR/bin"
if ! command -v compute-sanitizer >/dev/null; then
  record memcheck SKIP 0 "compute-sanitizer not found"
  record racecheck SKIP 0 "compute-sanitizer not found"
else
  # Without the caching allocator each tensor is an allocation of its own, so
  # memcheck sees a read past its end.
  PYTORCH_NO_CUDA_MEMORY_CACHING=1 SKIP_IF="$REFUSED" stage memcheck sanitizer.log 120 \
    "${SANITIZER[@]}" --tool memcheck "${PYTEST[@]}" "${SUBSET[@]}"
  SKIP_IF="$REFUSED" stage racecheck sanitizer.log 120 \
    "${SANITIZER[@]}" --tool racecheck "${PYTEST[@]}" "${SUBSET[@]}"
fi

stage bench bench.log 180 "$PY" -m benchmarks.bench_cuda
stage suite suite.log 600 "${PYTEST[@]}" -m "not cuda" --durations=10

echo "exit $FAILED: $( ((FAILED)) && echo "a stage failed" || echo "every stage passed")" | tee -a "$SUMMARY"
exit "$FAILED"
