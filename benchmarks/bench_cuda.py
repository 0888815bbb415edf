"""Times the rules on CUDA against the project's CPU kernels, on the same data.

Cases (defaults, as in issue 3):
  online      1,000,000 x 1,000 float32, K = 1, labels from a random hyperplane
  multiclass  100,000 x 100 float32, K = 10 classes, labels from argmax of random rows
  batch       the mini-batch rule on the online case's data, one call per 10,000 rows

Each case runs a few epochs from zero weights on both devices: it prints the
seconds per epoch, the mistakes per epoch (CPU and CUDA must agree; float32 sums
in another order could in principle flip a sample with z within rounding of 0,
which the script reports), the ratio CPU / CUDA, and the two floors of the
notes: the time to read x once on the GPU (x.sum()) and, for the sequential
rules, the mistakes times the measured cost of one launch plus synchronisation.

Usage: python benchmarks/bench_cuda.py [--n 1000000 --d 1000 --epochs 3]
Exits with a message and status 0 when no GPU is available.
"""

import argparse
import time

import torch

import torch_perceptron
from torch_perceptron import ops


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


def cpu_time(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


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


def hyperplane_data(n, d, k, seed):
    g = torch.Generator(device="cuda").manual_seed(seed)
    x = torch.randn(n, d, device="cuda", generator=g)
    w_true = torch.randn(k, d, device="cuda", generator=g)
    z = x @ w_true.t()
    return x, z


def run_epochs(name, epochs, make_params, step_cuda, step_cpu, x_bytes, read_s, latency):
    w_cuda, b_cuda = make_params("cuda")
    w_cpu, b_cpu = make_params("cpu")
    print(f"\n{name}")
    print(f"{'epoch':>5} {'CUDA s':>9} {'CPU s':>9} {'CPU/CUDA':>9} "
          f"{'mistakes CUDA':>14} {'mistakes CPU':>13} {'latency floor s':>16}")
    for epoch in range(1, epochs + 1):
        holder = {}
        t_cuda = cuda_time(lambda: holder.__setitem__("m", step_cuda(w_cuda, b_cuda)))
        t_cpu = cpu_time(lambda: holder.__setitem__("c", step_cpu(w_cpu, b_cpu)))
        m_cuda, m_cpu = int(holder["m"].sum()), int(holder["c"].sum())
        flag = "" if m_cuda == m_cpu else "  (differ)"
        print(f"{epoch:>5} {t_cuda:>9.4f} {t_cpu:>9.4f} {t_cpu / t_cuda:>9.2f} "
              f"{m_cuda:>14} {m_cpu:>13} {m_cuda * latency:>16.4f}{flag}")
    diff = (w_cuda.cpu() - w_cpu).abs().max().item()
    print(f"read floor (x.sum() on the GPU): {read_s:.4f} s for {x_bytes / 1e9:.2f} GB "
          f"({x_bytes / read_s / 1e12:.2f} TB/s); max |w_cuda - w_cpu| = {diff:.3g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=1_000)
    parser.add_argument("--mc-n", type=int, default=100_000)
    parser.add_argument("--mc-d", type=int, default=100)
    parser.add_argument("--mc-k", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-rows", type=int, default=10_000)
    args = parser.parse_args()

    if not torch.cuda.is_available():
        print("no GPU available: nothing to time (see benchmarks/cuda_notes.md)")
        return
    if not torch_perceptron._extension.with_cuda():
        raise SystemExit("torch_perceptron was built without CUDA: "
                         "TORCH_PERCEPTRON_CUDA=1 pip install --no-build-isolation -e .")
    props = torch.cuda.get_device_properties(0)
    print(f"device: {props.name}, {props.multi_processor_count} SMs; torch {torch.__version__}; "
          f"CPU threads: {torch.get_num_threads()}")
    latency = launch_sync_latency()
    print(f"launch + synchronize latency: {latency * 1e6:.1f} us")

    # Online rule, K = 1.
    x, z = hyperplane_data(args.n, args.d, 1, seed=0)
    y = (z > 0).float()
    x_cpu, y_cpu = x.cpu(), y.cpu()
    read_s = cuda_time(lambda: x.sum(), repeat=5)

    def zeros(k, d):
        return lambda device: (torch.zeros(k, d, device=device), torch.zeros(k, device=device))

    run_epochs(
        f"online rule, {args.n} x {args.d} float32, K=1",
        args.epochs, zeros(1, args.d),
        lambda w, b: ops.online_update(w, b, x, y),
        lambda w, b: ops.online_update(w, b, x_cpu, y_cpu),
        x.numel() * x.element_size(), read_s, latency,
    )

    # Mini-batch rule on the same data, one call per batch of rows.
    rows = args.batch_rows

    def batches(w, b, xs, ys):
        total = torch.zeros(1, dtype=torch.int64, device=xs.device)
        for s in range(0, xs.shape[0], rows):
            total += ops.batch_update(w, b, xs[s:s + rows], ys[s:s + rows])
        return total

    run_epochs(
        f"mini-batch rule, {args.n} x {args.d} float32, K=1, batches of {rows}",
        args.epochs, zeros(1, args.d),
        lambda w, b: batches(w, b, x, y),
        lambda w, b: batches(w, b, x_cpu, y_cpu),
        x.numel() * x.element_size(), read_s, 0.0,
    )
    del x, y, x_cpu, y_cpu, z
    torch.cuda.empty_cache()

    # Multiclass rule.
    x, z = hyperplane_data(args.mc_n, args.mc_d, args.mc_k, seed=1)
    c = z.argmax(1)
    x_cpu, c_cpu = x.cpu(), c.cpu()
    read_s = cuda_time(lambda: x.sum(), repeat=20)
    run_epochs(
        f"multiclass rule, {args.mc_n} x {args.mc_d} float32, K={args.mc_k}",
        args.epochs, zeros(args.mc_k, args.mc_d),
        lambda w, b: ops.multiclass_update(w, b, x, c),
        lambda w, b: ops.multiclass_update(w, b, x_cpu, c_cpu),
        x.numel() * x.element_size(), read_s, latency,
    )


if __name__ == "__main__":
    main()
