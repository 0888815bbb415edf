"""Ten classes at once: the one-vs-rest online rule (K = 10 outputs, each
sample read once for all of them) and the multiclass rule, against
scikit-learn's multi-class Perceptron (one-vs-rest, n_jobs=1 and 2)."""

import torch

from torch_perceptron import ops

from . import baselines
from .data import teacher_multiclass
from .online import one_thread
from .timing import median_seconds

READ = "floor: read x once (x.sum(), 1 thread)"
OVR = "torch_perceptron online_update, one-vs-rest K={k} (CPU, {t} threads)"
MULTI = "torch_perceptron multiclass_update K={k} (CPU)"
MINIBATCH = "pure-PyTorch mini-batch rule, one-vs-rest K={k} (B={b})"
SKLEARN = "scikit-learn Perceptron multi-class, n_jobs={j}"
SKLEARN_1 = SKLEARN.format(j=1)
SKLEARN_2 = SKLEARN.format(j=2)


def run(n: int, d: int, k: int, repeats: int, batch_size: int, log=print) -> list[dict]:
    """Every row for ``k`` classes at ``n x d``: method, seconds (median of
    ``repeats``), mistakes and a note."""
    data = teacher_multiclass(n, d, k, seed=7)
    x, labels, onehot = data.x, data.labels, data.onehot
    rows: list[dict] = []

    def add(method, seconds, mistakes, note="", times=()):
        rows.append(
            dict(group="multiclass", size=f"{n}x{d}", n=n, d=d, k=k, method=method,
                 seconds=seconds, times=list(times), mistakes=mistakes, note=note)
        )
        log(f"  K={k} {n}x{d} {method}: {seconds * 1e3:.3f} ms")

    t, ts = median_seconds(one_thread(lambda: x.sum()), repeats)
    add(READ, t, None, times=ts)

    w, b = torch.zeros(k, d), torch.zeros(k)

    def zero():
        w.zero_()
        b.zero_()

    out = {}

    def ovr():
        out["m"] = ops.online_update(w, b, x, onehot)

    t, ts = median_seconds(ovr, repeats, setup=zero)
    add(OVR.format(k=k, t=torch.get_num_threads()), t, int(out["m"].sum()),
        "mistakes summed over the K outputs", ts)

    def multi():
        out["m"] = ops.multiclass_update(w, b, x, labels)

    t, ts = median_seconds(multi, repeats, setup=zero)
    add(MULTI.format(k=k), t, int(out["m"].sum()), times=ts)

    t, ts = median_seconds(
        lambda: out.__setitem__("m", baselines.torch_minibatch_epoch(w, b, x, onehot, batch_size)),
        repeats,
        setup=zero,
    )
    add(MINIBATCH.format(k=k, b=batch_size), t, int(out["m"].sum()),
        "mistakes summed over the K outputs", ts)

    xn, yn = x.numpy(), labels.numpy()
    for jobs in (1, 2):
        model = baselines.sklearn_perceptron(n_jobs=jobs)
        t, ts = median_seconds(lambda: baselines.sklearn_fit(model, xn, yn), repeats)
        add(SKLEARN.format(j=jobs), t, None, baselines.sklearn_dtype_note(model), ts)

    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        xc, onehot_c, labels_c = x.cuda(), onehot.cuda(), labels.cuda()
        wc, bc = torch.zeros(k, d, device="cuda"), torch.zeros(k, device="cuda")

        def zero_c():
            wc.zero_()
            bc.zero_()

        for label, call in (
            (f"torch_perceptron online_update, one-vs-rest K={k} (CUDA {name})",
             lambda: ops.online_update(wc, bc, xc, onehot_c)),
            (f"torch_perceptron multiclass_update K={k} (CUDA {name})",
             lambda: ops.multiclass_update(wc, bc, xc, labels_c)),
        ):
            try:
                t, ts = median_seconds(lambda: out.__setitem__("m", call()), repeats,
                                       setup=zero_c, sync=True)
                add(label, t, int(out["m"].sum()), "data already on the GPU", ts)
            except RuntimeError as error:
                add(label, float("nan"), None, f"failed: {str(error).splitlines()[0]}")
    return rows


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
