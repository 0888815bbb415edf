"""Ten classes at once: the one-vs-rest online rule (K = 10 outputs, each
sample read once for all of them) and the multiclass rule, against
scikit-learn's multi-class Perceptron (one-vs-rest, n_jobs=1 and 2). Each
method in its own fresh process (see fresh.py)."""

from typing import Optional

from . import fresh
from .data import load, save_multiclass
from .online import timed_update
from .timing import measured, size_row

READ = "floor: read x once (x.sum(), 1 thread)"
OVR = "torch_perceptron online_update, one-vs-rest K={k} (CPU, {t} threads)"
MULTI = "torch_perceptron multiclass_update K={k} (CPU)"
MINIBATCH = "pure-PyTorch mini-batch rule, one-vs-rest K={k} (B={b})"
SKLEARN = "scikit-learn Perceptron multi-class, n_jobs={j}"
SKLEARN_1 = SKLEARN.format(j=1)
SKLEARN_2 = SKLEARN.format(j=2)
OVR_CUDA = "torch_perceptron online_update, one-vs-rest K={k} (CUDA)"
MULTI_CUDA = "torch_perceptron multiclass_update K={k} (CUDA)"


def time_ovr(x: str, onehot: str, repeats: int, threads: Optional[int] = None) -> dict:
    """online_update with [N, K] 0/1 labels (on ``threads`` threads, default:
    torch's default); also how many threads it had."""
    import torch

    from torch_perceptron import ops

    if threads is not None:
        torch.set_num_threads(threads)
    xt, yt = load(x), load(onehot)
    result = timed_update(lambda w, b: ops.online_update(w, b, xt, yt), yt.shape[1], xt.shape[1], repeats)
    result["threads"] = torch.get_num_threads()
    return result


def time_multi(x: str, labels: str, k: int, repeats: int, threads: Optional[int] = None) -> dict:
    import torch

    from torch_perceptron import ops

    if threads is not None:
        torch.set_num_threads(threads)
    xt, yt = load(x), load(labels)
    return timed_update(lambda w, b: ops.multiclass_update(w, b, xt, yt), k, xt.shape[1], repeats)


def plan(
    n: int, d: int, k: int, data_dir: str, repeats: int, batch_size: int, cuda: bool = False
) -> list[tuple[str, dict]]:
    """The (method, job) pairs of the K-class table."""
    p = save_multiclass(data_dir, n, d, k, seed=7)
    out = [
        (READ, fresh.job("online:time_read", x=p["x"], repeats=repeats)),
        (OVR, fresh.job("multiclass:time_ovr", x=p["x"], onehot=p["onehot"], repeats=repeats)),
        (MULTI.format(k=k), fresh.job("multiclass:time_multi", x=p["x"], labels=p["labels"], k=k, repeats=repeats)),
        (
            MINIBATCH.format(k=k, b=batch_size),
            fresh.job("online:time_minibatch", x=p["x"], y=p["onehot"], repeats=repeats, batch_size=batch_size),
        ),
    ]
    out += [
        (
            SKLEARN.format(j=j),
            fresh.job("sklearn_peer:time_fit", x_path=p["x"], y_path=p["labels"], repeats=repeats, n_jobs=j),
        )
        for j in (1, 2)
    ]
    if cuda:
        out += [
            (OVR_CUDA.format(k=k), fresh.job("online:time_cuda", x=p["x"], y=p["onehot"], repeats=repeats, k=k)),
            (
                MULTI_CUDA.format(k=k),
                fresh.job("online:time_cuda", x=p["x"], y=p["labels"], repeats=repeats, multiclass=True, k=k),
            ),
        ]
    return out


def rows(n: int, d: int, k: int, labelled: list[tuple[str, dict]]) -> list[dict]:
    """The table rows from the (method, result) pairs."""
    out = []
    for method, r in labelled:
        note = r["note"]
        if method == OVR:
            method = OVR.format(k=k, t=r["threads"])
        if r["mistakes"] is not None and ("one-vs-rest" in method or "mini-batch" in method):
            note = "mistakes summed over the K outputs" + (f"; {note}" if note else "")
        if "(CUDA)" in method and "GPU;" in note:
            note, device = note.rsplit("; ", 1)
            method = method.replace("(CUDA)", f"(CUDA {device})")
        if "round_seconds" in r:
            rounds = ", ".join(f"{t * 1e3:.3g}" for t in r["round_seconds"])
            note = f"median of {len(r['round_seconds'])} processes' medians ({rounds} ms)" + (
                f"; {note}" if note else ""
            )
        out.append(
            size_row(
                "multiclass", n, d, k=k, method=method, **measured(r), note=note, round_seconds=r.get("round_seconds")
            )
        )
    return out


def ratios(rows: list[dict]) -> None:
    """Adds samples/s and the ratios to scikit-learn with n_jobs=1 and 2 (its
    time / this time) and to the read floor (this time / floor time)."""
    by_method = {row["method"]: row for row in rows}
    sk1, sk2, read = by_method[SKLEARN_1], by_method[SKLEARN_2], by_method[READ]
    for row in rows:
        t = row["seconds"]
        row["samples_per_s"] = row["n"] / t if t > 0 else float("nan")
        row["vs_sklearn_1"] = sk1["seconds"] / t if t > 0 else None
        row["vs_sklearn_2"] = sk2["seconds"] / t if t > 0 else None
        row["vs_read"] = t / read["seconds"] if read["seconds"] > 0 else None
