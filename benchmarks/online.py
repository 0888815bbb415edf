"""One epoch of the online rule on dense float32 data, every implementation
side by side at each size, with the two floors (read the data once, one
matrix-vector product). Each method is timed in its own fresh process (see
fresh.py); the ``time_*`` functions are what those processes run."""

from typing import Callable, Optional

from . import fresh
from .data import load, save_binary
from .timing import measured, median_seconds, size_row

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
    import torch

    def run():
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn()
        finally:
            torch.set_num_threads(threads)

    return run


def _result(t: float, ts: list[float], mistakes: Optional[int] = None, note: str = "", **extra) -> dict:
    return dict(seconds=t, times=ts, mistakes=mistakes, note=note, **extra)


# What the fresh processes run: each loads the saved data and times one method.


def time_read(x: str, repeats: int) -> dict:
    xt = load(x)
    return _result(*median_seconds(one_thread(lambda: xt.sum()), repeats))


def time_matvec(x: str, repeats: int) -> dict:
    import torch

    xt = load(x)
    v = torch.randn(xt.shape[1], generator=torch.Generator().manual_seed(0))
    return _result(*median_seconds(one_thread(lambda: torch.mv(xt, v)), repeats))


def timed_update(update, k: int, d: int, repeats: int, device: str = "cpu") -> dict:
    """Times ``update(w, b)`` (an op that returns its mistakes per output),
    every repeat the same first epoch from zero weights ``[k, d]``."""
    import torch

    w, b = torch.zeros(k, d, device=device), torch.zeros(k, device=device)
    out = {}

    def zero():
        w.zero_()
        b.zero_()

    t, ts = median_seconds(lambda: out.__setitem__("m", update(w, b)), repeats, setup=zero, sync=device != "cpu")
    return _result(t, ts, int(out["m"].sum()))


def time_kernel(x: str, y: str, repeats: int, seed_slice: int) -> dict:
    """The CPU kernel; also its mistakes on the seed loop's slice."""
    import torch

    from torch_perceptron import ops

    xt, yt = load(x), load(y)
    result = timed_update(lambda w, b: ops.online_update(w, b, xt, yt), 1, xt.shape[1], repeats)
    s = min(xt.shape[0], seed_slice)
    ws, bs = torch.zeros(1, xt.shape[1]), torch.zeros(1)
    result["slice_mistakes"] = int(ops.online_update(ws, bs, xt[:s], yt[:s]).sum())
    return result


def time_seed(x: str, y: str, repeats: int, seed_slice: int) -> dict:
    """The seed's loop on the first ``seed_slice`` samples, scaled to N."""
    from . import baselines

    xt, yt = load(x), load(y)
    n, d = xt.shape
    s = min(n, seed_slice)
    xs, ys = xt[:s], yt[:s]
    model = {}

    def setup():
        model["p"] = baselines.SeedPerceptron(d)

    setup()
    mistakes = model["p"].train_epoch(xs, ys, count=True)
    t, ts = median_seconds(lambda: model["p"].train_epoch(xs, ys), repeats, setup=setup, warmup=0)
    scale = n / s
    return _result(t * scale, [u * scale for u in ts], mistakes, slice=s, scale=scale)


def time_minibatch(x: str, y: str, repeats: int, batch_size: int) -> dict:
    """The pure-PyTorch mini-batch rule (all threads); ``y`` [N] or [N, K]."""
    from . import baselines

    xt, yt = load(x), load(y)
    yt = yt.reshape(yt.shape[0], -1)
    return timed_update(
        lambda w, b: baselines.torch_minibatch_epoch(w, b, xt, yt, batch_size), yt.shape[1], xt.shape[1], repeats
    )


def time_cuda(x: str, y: str, repeats: int, multiclass: bool = False, k: int = 1) -> dict:
    """An op on the GPU, data already there: online_update with ``y`` [N] or
    [N, K], or multiclass_update with class labels ``y``."""
    import torch

    from torch_perceptron import ops

    try:
        xc, yc = load(x).cuda(), load(y).cuda()
        op = ops.multiclass_update if multiclass else ops.online_update
        result = timed_update(lambda w, b: op(w, b, xc, yc), k, xc.shape[1], repeats, device="cuda")
    except RuntimeError as error:  # e.g. an extension built without CUDA
        return _result(float("nan"), [], note=f"failed: {str(error).splitlines()[0]}")
    result["note"] = f"data already on the GPU; {torch.cuda.get_device_name(0)}"
    return result


# The parent's side: the rows of one size, each method in a fresh process.


def plan(
    n: int, d: int, data_dir: str, repeats: int, seed_slice: int, batch_size: int, cuda: bool = False
) -> list[tuple[str, dict]]:
    """The (method, job) pairs of one size."""
    p = save_binary(data_dir, n, d, seed=n + d)
    out = [
        (READ, fresh.job("online:time_read", x=p["x"], repeats=repeats)),
        (MATVEC, fresh.job("online:time_matvec", x=p["x"], repeats=repeats)),
        (KERNEL, fresh.job("online:time_kernel", x=p["x"], y=p["y"], repeats=repeats, seed_slice=seed_slice)),
        (SEED, fresh.job("online:time_seed", x=p["x"], y=p["y"], repeats=repeats, seed_slice=seed_slice)),
        (
            MINIBATCH.format(b=batch_size),
            fresh.job("online:time_minibatch", x=p["x"], y=p["y"], repeats=repeats, batch_size=batch_size),
        ),
        # scikit-learn fitted on the float32 arrays a user would pass; any
        # conversion inside fit is part of the time. Then what it costs in
        # float64, the precision older versions always used.
        (SKLEARN, fresh.job("sklearn_peer:time_fit", x_path=p["x"], y_path=p["y"], repeats=repeats)),
        (SKLEARN_64, fresh.job("sklearn_peer:time_fit", x_path=p["x"], y_path=p["y"], repeats=repeats, float64=True)),
    ]
    if cuda:
        out.append((KERNEL_CUDA, fresh.job("online:time_cuda", x=p["x"], y=p["y"], repeats=repeats)))
    return out


def rows(n: int, d: int, labelled: list[tuple[str, dict]]) -> list[dict]:
    """The table rows of one size from its (method, result) pairs."""
    by_method = dict(labelled)
    out = []
    for method, r in labelled:
        note = r["note"]
        if method == SEED:
            s = r["slice"]
            note = f"the CPU kernel on the same {s} samples: {by_method[KERNEL]['slice_mistakes']} mistakes"
            if s < n:
                note = f"timed on the first {s} samples and scaled by {r['scale']:.4g}; mistakes of those {s} ({note})"
        if method == KERNEL_CUDA and "GPU;" in note:
            note, device = note.split("; ", 1)
            method = f"{KERNEL_CUDA} {device}"
        out.append(size_row("online", n, d, method=method, **measured(r), note=note))
    return out


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
