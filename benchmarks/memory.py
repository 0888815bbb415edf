"""Peak extra memory of one epoch, each case in a fresh process.

torch's CPU allocations are invisible to tracemalloc, so this reads the
kernel's own accounting of the process: the resident set (VmRSS) just before
the call and its high-water mark (VmHWM) after it. The mark is reset first
(``/proc/self/clear_refs``) so that building the data does not hide the
call's peak; where that is not allowed, the mark since the start is used (a
peak lower than the one building the data reached then goes unseen; the result
says which: ``peak_reset``).

Run as ``python -m benchmarks.memory N D CASE...`` it prints one JSON line a case.
"""

import json
import os
import subprocess
import sys

CASES = {
    "online_update": "torch_perceptron online_update, K=1, contiguous float32",
    "multiclass_update": "torch_perceptron multiclass_update, K=10, contiguous float32",
    "batch_update": "torch_perceptron batch_update, K=1, whole epoch in one call",
    "online_update_strided": "control: online_update on a transposed (non-contiguous) view",
    "sklearn": "scikit-learn Perceptron.fit on the float32 array",
}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _measure(case: str, n: int, d: int) -> dict:
    import torch

    from torch_perceptron import ops

    from . import baselines
    from .data import teacher_binary, teacher_multiclass

    k = 10 if case == "multiclass_update" else 1
    if case == "multiclass_update":
        data = teacher_multiclass(n, d, k)
        x, y = data.x, data.labels
    elif case == "online_update_strided":
        data = teacher_binary(n, d)
        # Same values, feature-major storage: x is a view that is not contiguous.
        x = data.x.T.contiguous().T
        y = data.y
        del data
    else:
        data = teacher_binary(n, d)
        x, y = data.x, data.y
    w, b = torch.zeros(k, d), torch.zeros(k)

    # Warm up on a few rows: loads lazily initialised libraries and thread
    # pools, so that only the call's own buffers are counted below.
    calls = {
        "online_update": lambda xs, ys: ops.online_update(w, b, xs, ys),
        "online_update_strided": lambda xs, ys: ops.online_update(w, b, xs, ys),
        "batch_update": lambda xs, ys: ops.batch_update(w, b, xs, ys),
        "multiclass_update": lambda xs, ys: ops.multiclass_update(w, b, xs, ys),
    }
    if case == "sklearn":
        model = baselines.sklearn_perceptron()
        xn, yn = x.numpy(), y.numpy()
        baselines.sklearn_fit(model, xn[:100], yn[:100])
        call = lambda: baselines.sklearn_fit(model, xn, yn)  # noqa: E731
    else:
        calls[case](x[:100], y[:100])
        w.zero_()
        b.zero_()
        call = lambda: calls[case](x, y)  # noqa: E731

    reset = _reset_peak()
    before = _status_kib("VmRSS")
    call()
    peak = _status_kib("VmHWM")
    dtype = str(model.coef_.dtype) if case == "sklearn" else str(w.dtype).replace("torch.", "")
    data_bytes = x.numel() * x.element_size()
    return dict(
        case=case,
        method=CASES[case],
        n=n,
        d=d,
        x_contiguous=x.is_contiguous(),
        data_mib=data_bytes / 2**20,
        labels_mib=y.numel() * y.element_size() / 2**20,
        extra_mib=max(0, peak - before) / 1024,
        peak_reset=reset,
        weights_dtype=dtype,
    )


def _spawn(cases: list[str], n: int, d: int) -> list[dict]:
    cmd = [sys.executable, "-m", "benchmarks.memory", str(n), str(d), *cases]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # A fixed mmap threshold: glibc otherwise raises it after large frees and
    # serves the next large buffer from pages already resident, which would
    # hide an allocation from the resident-set mark.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"memory cases {cases} failed:\n{proc.stderr}")
    return [json.loads(line) for line in proc.stdout.strip().splitlines()[-len(cases) :]]


def measure(cases: list[str], n: int, d: int, shared: bool = False) -> list[dict]:
    """Runs each case in a fresh interpreter (same environment) and returns
    its result: ``data_mib`` (x), ``extra_mib`` (peak resident memory above
    what was resident just before the call) and their ratio. ``shared`` runs
    them one after the other in one interpreter instead (faster; the peak is
    reset before each call, and where it cannot be, falls back to one process
    per case)."""
    results = _spawn(cases, n, d) if shared else []
    if not results or not all(r["peak_reset"] for r in results):
        results = [_spawn([case], n, d)[0] for case in cases]
    for result in results:
        result["group"] = "memory"
        result["fresh_process"] = not shared
        result["extra_over_data"] = result["extra_mib"] / result["data_mib"]
    return results


def main(argv: list[str]) -> None:
    n, d, cases = int(argv[0]), int(argv[1]), argv[2:]
    for case in cases:
        if case not in CASES:
            raise SystemExit(f"case: expected one of {sorted(CASES)}, got {case!r}")
    for case in cases:
        print(json.dumps(_measure(case, n, d)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
