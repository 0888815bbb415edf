"""One epoch of the online rule on dense float32 data, every implementation
side by side at each size, with the two floors (read the data once, one
matrix-vector product)."""

from typing import Callable, Optional

import torch

from torch_perceptron import ops

from . import baselines
from .data import teacher_binary
from .timing import median_seconds

READ = "floor: read x once (x.sum(), 1 thread)"
MATVEC = "floor: one matrix-vector product (x @ w, 1 thread)"
SEED = "seed's per-sample PyTorch loop"
MINIBATCH = "pure-PyTorch mini-batch rule (B={b})"
SKLEARN = "scikit-learn Perceptron (fit on the float32 array)"
SKLEARN_64 = "scikit-learn Perceptron (fit on a float64 copy, made untimed)"
KERNEL = "torch_perceptron online_update (CPU)"
KERNEL_CUDA = "torch_perceptron online_update (CUDA)"


def one_thread(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` run with torch limited to one thread (the online rule with one
    output runs on one thread, so its floors do too)."""

    def run():
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn()
        finally:
            torch.set_num_threads(threads)

    return run


def cuda_available() -> bool:
    return torch.cuda.is_available()


def run_size(
    n: int, d: int, repeats: int, seed_slice: int, batch_size: int, log=print
) -> list[dict]:
    """Every row for one size ``n x d``. Each row: method, seconds (median of
    ``repeats``), mistakes in the epoch (None where the method does not count
    them) and a note."""
    data = teacher_binary(n, d, seed=n + d)
    x, y = data.x, data.y
    rows: list[dict] = []

    def add(method: str, seconds: float, mistakes: Optional[int], note: str = "", times=()):
        rows.append(
            dict(
                group="online",
                size=f"{n}x{d}",
                n=n,
                d=d,
                method=method,
                seconds=seconds,
                times=list(times),
                mistakes=mistakes,
                note=note,
            )
        )
        log(f"  {n}x{d} {method}: {seconds * 1e3:.3f} ms")

    # Floors.
    t, ts = median_seconds(one_thread(lambda: x.sum()), repeats)
    add(READ, t, None, times=ts)
    v = torch.randn(d)
    t, ts = median_seconds(one_thread(lambda: torch.mv(x, v)), repeats)
    add(MATVEC, t, None, times=ts)

    # The compiled kernel: every repeat is the same first epoch from zeros.
    w, b = torch.zeros(1, d), torch.zeros(1)

    def zero():
        w.zero_()
        b.zero_()

    out = {}

    def kernel():
        out["m"] = ops.online_update(w, b, x, y)

    t, ts = median_seconds(kernel, repeats, setup=zero)
    add(KERNEL, t, int(out["m"].sum()), times=ts)

    # The seed's loop, on the first `seed_slice` samples, scaled to n.
    s = min(n, seed_slice)
    xs, ys = x[:s], y[:s]
    model = {}

    def seed_setup():
        model["p"] = baselines.SeedPerceptron(d)

    seed_setup()
    seed_mistakes = model["p"].train_epoch(xs, ys, count=True)
    t, ts = median_seconds(lambda: model["p"].train_epoch(xs, ys), repeats, setup=seed_setup, warmup=0)
    scale = n / s
    ws, bs = torch.zeros(1, d), torch.zeros(1)
    kernel_on_slice = int(ops.online_update(ws, bs, xs, ys).sum())
    note = f"the CPU kernel on the same {s} samples: {kernel_on_slice} mistakes"
    if s < n:
        note = f"timed on the first {s} samples and scaled by {scale:.4g}; mistakes of those {s} ({note})"
    add(SEED, t * scale, seed_mistakes, note, [u * scale for u in ts])

    # The vectorised pure-PyTorch mini-batch rule (all threads).
    y2 = y.reshape(n, 1)
    t, ts = median_seconds(
        lambda: out.__setitem__("m", baselines.torch_minibatch_epoch(w, b, x, y2, batch_size)),
        repeats,
        setup=zero,
    )
    add(MINIBATCH.format(b=batch_size), t, int(out["m"].sum()), times=ts)

    # scikit-learn, fitted on the float32 arrays a user would pass; any
    # conversion inside fit is part of the time.
    xn, yn = x.numpy(), y.numpy()
    model_sk = baselines.sklearn_perceptron()
    t, ts = median_seconds(lambda: baselines.sklearn_fit(model_sk, xn, yn), repeats)
    add(SKLEARN, t, None, baselines.sklearn_dtype_note(model_sk), ts)
    # What scikit-learn costs in float64, the precision older versions always used.
    xn64 = xn.astype("float64")
    t, ts = median_seconds(lambda: baselines.sklearn_fit(model_sk, xn64, yn), repeats)
    add(SKLEARN_64, t, None, baselines.sklearn_dtype_note(model_sk), ts)
    del xn64

    if cuda_available():
        _cuda_row(d, x, y, repeats, add)
    return rows


def _cuda_row(d, x, y, repeats, add) -> None:
    name = torch.cuda.get_device_name(0)
    try:
        xc, yc = x.cuda(), y.cuda()
        wc, bc = torch.zeros(1, d, device="cuda"), torch.zeros(1, device="cuda")
        out = {}

        def zero():
            wc.zero_()
            bc.zero_()

        def kernel():
            out["m"] = ops.online_update(wc, bc, xc, yc)

        t, ts = median_seconds(kernel, repeats, setup=zero, sync=True)
        add(f"{KERNEL_CUDA} {name}", t, int(out["m"].sum()), "data already on the GPU", ts)
    except RuntimeError as error:  # e.g. an extension built without CUDA
        add(f"{KERNEL_CUDA} {name}", float("nan"), None, f"failed: {str(error).splitlines()[0]}")


def ratios(rows: list[dict]) -> None:
    """Adds samples/s, the ratio to scikit-learn (its time / this time: > 1 is
    faster than scikit-learn) and to the read floor (this time / floor time)."""
    by_size: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_size.setdefault(row["size"], {})[row["method"]] = row
    for size_rows in by_size.values():
        sk = size_rows.get(SKLEARN)
        read = size_rows.get(READ)
        for row in size_rows.values():
            t = row["seconds"]
            row["samples_per_s"] = row["n"] / t if t > 0 else float("nan")
            row["vs_sklearn"] = sk["seconds"] / t if sk and t > 0 else None
            row["vs_read"] = t / read["seconds"] if read and read["seconds"] > 0 else None

