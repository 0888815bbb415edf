"""Times the rules on CUDA against the project's CPU kernels and scikit-learn, on the same data.

Cases (defaults, as in issues 3 and 10):
  online      1,000,000 x 1,000 float32, K = 1, labels from a random hyperplane:
              the plain rule, its averaged and pocket variants, the mini-batch
              rule (one call per 10,000 rows) and the dense ops
              (decision_function, predict)
  multiclass  100,000 x 100 float32, K = 10 classes, labels from the argmax of
              random rows: the plain rule and its averaged and pocket variants

Each rule runs a few epochs from zero state on both devices: it prints the
seconds per epoch, the mistakes per epoch (CPU and CUDA must agree; float32 sums
in another order could in principle flip a sample with z within rounding of 0,
which the script reports), the ratio CPU / CUDA, and the two floors of the
notes: the time to read x once on the GPU (x.sum()) and, for the sequential
rules, the mistakes times the measured cost of one launch plus synchronisation.

scikit-learn's Perceptron fits the same arrays for one epoch (max_iter=1,
tol=None, shuffle=False, as in benchmarks/baselines.py) in a fresh process whose
environment is this one's without any OpenMP setting, as its own users run it:
its seconds are one epoch from zero weights, to set beside epoch 1. For K = 10 it
fits one-vs-rest, a different rule that reads x once per class.

Usage: python -m benchmarks.bench_cuda [--n 1000000 --d 1000 --epochs 3]
Exits with a message and status 0 when no GPU is available. --device cpu runs
the "CUDA" column on the CPU: a check of this script on a machine without a GPU
(tests/test_gpu_check.py), not a measurement.
"""

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

import torch_perceptron
from torch_perceptron import ops

# Thread settings of ours (benchmarks/run.py) or the shell's that scikit-learn's
# users would not have: its process gets the environment without them.
THREAD_SETTINGS = ("OMP_", "GOMP_", "KMP_")

SKLEARN_FIT = """\
import json, os, sys, time, warnings
# Before scikit-learn's import, which sets two KMP_ variables of its own.
omp = sorted(k for k in os.environ if k.startswith(%r))
import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron
x, y = np.load(sys.argv[1]), np.load(sys.argv[2])
warnings.simplefilter("ignore", ConvergenceWarning)
seconds = []
for _ in range(int(sys.argv[3])):
    model = Perceptron(max_iter=1, tol=None, shuffle=False)
    start = time.perf_counter()
    model.fit(x, y)
    seconds.append(time.perf_counter() - start)
print(json.dumps({"seconds": seconds, "dtype": str(model.coef_.dtype),
                  "version": sklearn.__version__,
                  "omp": omp}))
""" % (THREAD_SETTINGS,)


def cuda_time(fn, repeat=1):
    """Seconds per call of fn on the GPU, measured with CUDA events."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for _ in range(repeat):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1000 / repeat


def cpu_time(fn, repeat=1):
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def launch_sync_latency():
    """Seconds for one tiny launch plus a host synchronisation: what a design
    that went back to the host on every mistake would pay per mistake."""
    a = torch.zeros(1, device="cuda")
    for _ in range(100):
        a.add_(1)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(2000):
        a.add_(1)
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / 2000


def hyperplane_data(n, d, k, seed, device):
    g = torch.Generator(device=device).manual_seed(seed)
    x = torch.randn(n, d, device=device, generator=g)
    w_true = torch.randn(k, d, device=device, generator=g)
    z = x @ w_true.t()
    return x, z


def sklearn_epoch(x, y, repeats):
    """One epoch of scikit-learn's Perceptron on the numpy arrays x, y, timed
    ``repeats`` times in a fresh process: {"seconds": [...], "dtype", "version",
    "omp": the thread settings it saw (none)}."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(THREAD_SETTINGS)}
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")]
        np.save(paths[0], x)
        np.save(paths[1], y)
        proc = subprocess.run(
            [sys.executable, "-c", SKLEARN_FIT, *paths, str(repeats)], capture_output=True, text=True, env=env
        )
    if proc.returncode != 0:
        raise RuntimeError(f"scikit-learn's process failed:\n{proc.stderr}")
    return json.loads(proc.stdout.splitlines()[-1])


def print_sklearn(result, epoch1):
    """The scikit-learn line beside epoch 1's CUDA and CPU seconds."""
    t = float(np.median(result["seconds"]))
    t_dev, t_cpu = epoch1
    print(
        f"scikit-learn {result['version']} Perceptron, one epoch from zero weights "
        f"({result['dtype']}, fresh process, OpenMP settings: {result['omp'] or 'none'}, "
        f"median of {len(result['seconds'])}): {t:.4f} s; "
        f"sklearn / CUDA = {t / t_dev:.2f}, sklearn / CPU kernel = {t / t_cpu:.2f}"
    )


def run_epochs(data, data_cpu, x_bytes, read_s, timer, epochs, name, make_state, update, latency):
    """Epochs of ``update(*state, *data)`` from ``make_state(device)`` on both
    devices; returns epoch 1's (device, CPU) seconds. The first six arguments
    are a section's (its data, the floor, the timer, the epochs), the rest a
    run's."""
    device = data[0].device.type
    state, state_cpu = make_state(device), make_state("cpu")
    print(f"\n{name}")
    print(
        f"{'epoch':>5} {'CUDA s':>9} {'CPU s':>9} {'CPU/CUDA':>9} "
        f"{'mistakes CUDA':>14} {'mistakes CPU':>13} {'latency floor s':>16}"
    )
    first = None
    for epoch in range(1, epochs + 1):
        holder = {}
        t_dev = timer(lambda: holder.__setitem__("m", update(*state, *data)))
        t_cpu = cpu_time(lambda: holder.__setitem__("c", update(*state_cpu, *data_cpu)))
        first = first or (t_dev, t_cpu)
        m_dev, m_cpu = int(holder["m"].sum()), int(holder["c"].sum())
        flag = "" if m_dev == m_cpu else "  (differ)"
        print(
            f"{epoch:>5} {t_dev:>9.4f} {t_cpu:>9.4f} {t_cpu / t_dev:>9.2f} "
            f"{m_dev:>14} {m_cpu:>13} {m_dev * latency:>16.4f}{flag}"
        )
    diff = max((a.cpu() - b).abs().max().item() for a, b in zip(state, state_cpu) if a.is_floating_point())
    print(
        f"read floor (x.sum()): {read_s:.4f} s for {x_bytes / 1e9:.2f} GB "
        f"({x_bytes / read_s / 1e12:.2f} TB/s); max |state_cuda - state_cpu| = {diff:.3g}"
    )
    return first


def states(k, d, counters):
    """{op-name suffix: make_state} for the plain rule and its variants, all
    zero: (w, b), (w, b, w_acc, b_acc, count), (w, b, pocket_w, pocket_b, run,
    best_run); a zero pocket equals the zero weights, as the pocket ops ask."""

    def zeros(*shape, dtype=torch.float32):
        return lambda device: torch.zeros(*shape, device=device, dtype=dtype)

    floats, count = [zeros(k, d), zeros(k)], zeros(counters, dtype=torch.int64)
    kinds = {"": floats, "_averaged": floats * 2 + [count], "_pocket": floats * 2 + [count] * 2}
    return {suffix: (lambda device, m=makers: [make(device) for make in m]) for suffix, makers in kinds.items()}


def dense_ops(x, x_cpu, k, timer):
    """decision_function and predict on the whole of x, on both devices."""
    g = torch.Generator().manual_seed(2)
    w_cpu, b_cpu = torch.randn(k, x.shape[1], generator=g), torch.randn(k, generator=g)
    w, b = w_cpu.to(x.device), b_cpu.to(x.device)
    gb = x.numel() * x.element_size() / 1e9
    print(f"\ndense ops, {tuple(x.shape)} float32, K={k} (mean of the repeats)")
    for name in ("decision_function", "predict"):
        op = getattr(ops, name)
        t_dev = timer(lambda: op(x, w, b), repeat=10)
        t_cpu = cpu_time(lambda: op(x_cpu, w_cpu, b_cpu), repeat=3)
        diff = (op(x, w, b).cpu().double() - op(x_cpu, w_cpu, b_cpu).double()).abs().max().item()
        print(
            f"{name:>17}: CUDA {t_dev:.5f} s ({gb / t_dev:.0f} GB/s), CPU {t_cpu:.4f} s "
            f"({gb / t_cpu:.1f} GB/s), CPU/CUDA {t_cpu / t_dev:.1f}; max |CUDA - CPU| = {diff:.3g}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=1_000)
    parser.add_argument("--mc-n", type=int, default=100_000)
    parser.add_argument("--mc-d", type=int, default=100)
    parser.add_argument("--mc-k", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-rows", type=int, default=10_000)
    parser.add_argument("--sklearn-repeats", type=int, default=2)
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    args = parser.parse_args()

    device = args.device
    if device == "cuda":
        if not torch.cuda.is_available():
            print("no GPU available: nothing to time (see benchmarks/cuda_notes.md)")
            return
        if not torch_perceptron._extension.with_cuda():
            raise SystemExit(
                "torch_perceptron was built without CUDA: TORCH_PERCEPTRON_CUDA=1 pip install --no-build-isolation -e ."
            )
        props = torch.cuda.get_device_properties(0)
        print(
            f"device: {props.name}, {props.multi_processor_count} SMs; "
            f"torch {torch.__version__}; CPU threads: {torch.get_num_threads()}"
        )
        timer, latency = cuda_time, launch_sync_latency()
        print(f"launch + synchronize latency: {latency * 1e6:.1f} us")
    else:
        print(
            f"--device cpu: the CUDA column runs on the CPU (a check of this script, "
            f"no measurement); torch {torch.__version__}"
        )
        timer, latency = cpu_time, 0.0

    # Online rule, K = 1, with its variants, the mini-batch rule and the dense ops.
    x, z = hyperplane_data(args.n, args.d, 1, 0, device)
    y = (z > 0).float()
    x_cpu, y_cpu = x.cpu(), y.cpu()
    x_bytes, read_s = x.numel() * x.element_size(), timer(lambda: x.sum(), repeat=5)
    size = f"{args.n} x {args.d} float32, K=1"
    section = functools.partial(run_epochs, (x, y), (x_cpu, y_cpu), x_bytes, read_s, timer, args.epochs)
    for suffix, make_state in states(1, args.d, 1).items():
        update = getattr(ops, f"online_update{suffix}")
        first = section(f"online rule{suffix.replace('_', ', ')}, {size}", make_state, update, latency)
        if not suffix:
            print_sklearn(sklearn_epoch(x_cpu.numpy(), y_cpu.numpy().ravel(), args.sklearn_repeats), first)

    rows = args.batch_rows

    def batches(w, b, xs, ys):
        total = torch.zeros(1, dtype=torch.int64, device=xs.device)
        for s in range(0, xs.shape[0], rows):
            total += ops.batch_update(w, b, xs[s : s + rows], ys[s : s + rows])
        return total

    section(f"mini-batch rule, {size}, batches of {rows}", states(1, args.d, 1)[""], batches, 0.0)
    dense_ops(x, x_cpu, 1, timer)
    del x, y, x_cpu, y_cpu, z, section
    if device == "cuda":
        torch.cuda.empty_cache()

    # Multiclass rule and its variants.
    x, z = hyperplane_data(args.mc_n, args.mc_d, args.mc_k, 1, device)
    c = z.argmax(1)
    x_cpu, c_cpu = x.cpu(), c.cpu()
    x_bytes, read_s = x.numel() * x.element_size(), timer(lambda: x.sum(), repeat=20)
    size = f"{args.mc_n} x {args.mc_d} float32, K={args.mc_k}"
    section = functools.partial(run_epochs, (x, c), (x_cpu, c_cpu), x_bytes, read_s, timer, args.epochs)
    for suffix, make_state in states(args.mc_k, args.mc_d, 1).items():
        update = getattr(ops, f"multiclass_update{suffix}")
        first = section(f"multiclass rule{suffix.replace('_', ', ')}, {size}", make_state, update, latency)
        if not suffix:
            print_sklearn(sklearn_epoch(x_cpu.numpy(), c_cpu.numpy(), args.sklearn_repeats), first)


if __name__ == "__main__":
    main()
