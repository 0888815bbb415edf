"""What one call costs: the calls that online learning is made of, not epochs.

    python -m benchmarks.call_cost            # every table (a few minutes on 2 cores)
    python -m benchmarks.call_cost --quick    # tiny sizes: checks that it runs and is right
    python -m benchmarks.call_cost --only one_row,stream,estimator,text,busy

- grid: the time of one update call against rows per call (1, 10, 1000) and the
  model's size (F features, K outputs), sparse (CSR rows of 56 non-zeros, as
  hashed text has) and dense, for the online and multiclass rules, averaged and
  pocket; a call's time should follow its rows, not F.
- one_row: one CSR row into 58 outputs over 2^20 features beside one dense
  row into a 100-feature, 10-output layer, both through the layer.
- stream: one sample a call into a 2-feature layer (the seed's loop, and how a
  stream learner is fed), ``PerceptronLayer.update`` against River's
  ``Perceptron.learn_one`` on the same samples, where River is installed.
- estimator: ``partial_fit`` of 1,000 hashed rows (58 classes, 2^18
  features) a call, ours against scikit-learn's ``Perceptron``.
- text: the hashed-text stream end to end (``HashingVectorizer`` +
  ``partial_fit`` over Debian's package descriptions, docs/sparse_corpus.md):
  documents a second and the share of the time spent learning, beside River
  and Vowpal Wabbit where the registries gave them (optional).
- busy: a second process keeps one core busy; the estimator on scikit-learn's
  digits with torch's default threads, with one thread, and scikit-learn's;
  and ``GridSearchCV(n_jobs=2)`` over each.

Medians of repeated calls (benchmarks/timing.py), measured side by side in one
process, each peer with its own defaults. Nothing here asserts on time; the
checks (``--quick`` in CI) are of results: every rejected or accepted call
computes what the reference rule does.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Callable, Optional

import numpy as np
import torch

from . import timing

NNZ = 56  # non-zeros a row: the hashed Debian descriptions with bigrams have ~12-60


def _csr(n: int, f: int, g: torch.Generator, dtype=torch.float32):
    cols = torch.argsort(torch.rand(n, f if f <= 4096 else 4096, generator=g), dim=1)[:, :NNZ]
    if f > 4096:  # spread the columns over all F (distinct within a row)
        cols = cols * (f // 4096) + torch.randint(0, f // 4096, (n, NNZ), generator=g)
    cols = cols.sort(dim=1).values
    # Dyadic (k / 8): every sum exact, so any order of additions gives the
    # reference's bits (checks below).
    vals = torch.randint(1, 17, (n, NNZ), generator=g).to(dtype) / 8
    crow = torch.arange(0, (n + 1) * NNZ, NNZ, dtype=torch.int64)
    return crow, cols.reshape(-1).contiguous(), vals.reshape(-1).contiguous()


def _median(run: Callable[[], object], repeats: int, budget: float = 0.3) -> float:
    """Median seconds of run(), repeated up to `budget` seconds of calls."""
    run()
    times = []
    while len(times) < repeats or (sum(times) < budget and len(times) < 2000):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# ------------------------------------------------------------------ grid


def grid_sizes(quick: bool):
    if quick:
        return dict(
            rows=(1, 10), features=(1 << 10, 1 << 12), outputs=(1, 10), dense_features=(64, 256), dense_outputs=(1, 10)
        )
    return dict(
        rows=(1, 10, 1000),
        features=(1 << 14, 1 << 16, 1 << 18, 1 << 20),
        outputs=(1, 10, 58),
        dense_features=(1 << 10, 1 << 12, 1 << 14),
        dense_outputs=(1, 10, 58),
    )


def _call(fmt: str, variant: str, k: int, f: int, x, y, multiclass: bool):
    """A closure that runs one ``PerceptronLayer.update`` call, as users make
    it (the layer keeps its weights in the layout its updates want), on a
    fresh layer of K outputs over F features."""
    from torch_perceptron import PerceptronLayer
    from torch_perceptron.sparse import CSRRows

    layer = PerceptronLayer(f, k, multiclass=multiclass, average=variant == "averaged", pocket=variant == "pocket")
    if fmt == "csr":
        x = CSRRows(*x, f)
    return lambda: layer.update(x, y)


def grid(quick: bool, repeats: int, log=print) -> list[dict]:
    sizes = grid_sizes(quick)
    g = torch.Generator().manual_seed(0)
    rows_out = []
    for fmt in ("csr", "dense"):
        feats = sizes["features"] if fmt == "csr" else sizes["dense_features"]
        outs = sizes["outputs"] if fmt == "csr" else sizes["dense_outputs"]
        for k in outs:
            for f in feats:
                for n in sizes["rows"]:
                    if fmt == "dense" and n * f > (1 << 24):
                        continue
                    x = _csr(n, f, g) if fmt == "csr" else torch.rand(n, f, generator=g) - 0.5
                    rules = ["online"] + (["multiclass"] if k > 1 else [])
                    variants = ("averaged", "pocket") if n in (1, sizes["rows"][-1]) else ()
                    for rule in rules:
                        if rule == "multiclass":
                            y = torch.randint(0, k, (n,), generator=g)
                        else:
                            y = (torch.rand(n, k, generator=g) < 1 / max(k, 2)).float()
                        for variant in ("online", *variants):
                            run = _call(fmt, variant, k, f, x, y, rule == "multiclass")
                            sec = _median(run, repeats, budget=0.05 if quick else 0.3)
                            rows_out.append(
                                dict(format=fmt, rule=rule, variant=variant, k=k, features=f, rows=n, seconds=sec)
                            )
                    log(
                        f"  {fmt} K={k} F={f} rows={n}: "
                        + ", ".join(
                            f"{r['rule']}/{r['variant']} {r['seconds'] * 1e3:.3f} ms"
                            for r in rows_out
                            if (r["format"], r["k"], r["features"], r["rows"]) == (fmt, k, f, n)
                        )
                    )
    return rows_out


def flatness(rows: list[dict]) -> list[dict]:
    """Each (format, rule, variant, K, rows)'s time at its largest F over its
    smallest: 1 is flat in the model's size."""
    out = []
    keys = {(r["format"], r["rule"], r["variant"], r["k"], r["rows"]) for r in rows}
    for key in sorted(keys):
        same = sorted(
            (r for r in rows if (r["format"], r["rule"], r["variant"], r["k"], r["rows"]) == key),
            key=lambda r: r["features"],
        )
        if len(same) < 2:
            continue
        out.append(
            dict(
                format=key[0],
                rule=key[1],
                variant=key[2],
                k=key[3],
                rows=key[4],
                small=same[0]["features"],
                large=same[-1]["features"],
                ratio=same[-1]["seconds"] / same[0]["seconds"],
            )
        )
    return out


def dense_reads(quick: bool, repeats: int) -> list[dict]:
    """One dense row into an in x K layer against the read the rule must make,
    one ``x @ W.T``; and the reference call of the CSR target, one dense row
    into a 100-feature, 10-output layer. Timed in turn, round after round."""
    from torch_perceptron import ops

    g = torch.Generator().manual_seed(1)
    out = []
    for f, k in ((100, 10), (256, 64) if quick else (4096, 1000)):
        w, b = torch.zeros(k, f), torch.zeros(k)
        x = torch.rand(1, f, generator=g) - 0.5
        y = (torch.rand(1, k, generator=g) < 0.5).float()
        c = torch.randint(0, k, (1,), generator=g)
        runs = {
            "x @ W.T": lambda: x @ w.T,
            "online": lambda: ops.online_update(w, b, x, y),
            "multiclass": lambda: ops.multiclass_update(w, b, x, c),
        }
        times = {name: [] for name in runs}
        for _ in range(3):
            for name, run in runs.items():
                times[name].append(_median(run, repeats, budget=0.1 if quick else 0.4))
        read = float(np.median(times["x @ W.T"]))
        for name in runs:
            sec = float(np.median(times[name]))
            out.append(dict(features=f, k=k, method=name, seconds=sec, over_read=sec / read))
    return out


def one_row(quick: bool, repeats: int) -> list[dict]:
    """One CSR row into 58 outputs over 2^20 features against one dense row
    into a 100-feature, 10-output layer, both through PerceptronLayer.update,
    round after round."""
    from torch_perceptron import PerceptronLayer
    from torch_perceptron.sparse import CSRRows

    g = torch.Generator().manual_seed(2)
    f, k = (1 << 12, 10) if quick else (1 << 20, 58)
    sparse = PerceptronLayer(f, k)
    rows = CSRRows(*_csr(1, f, g), f)
    y_sparse = (torch.rand(1, k, generator=g) < 0.1).float()
    dense = PerceptronLayer(100, 10)
    x = torch.rand(1, 100, generator=g) - 0.5
    y_dense = (torch.rand(1, 10, generator=g) < 0.5).float()
    runs = {
        f"CSR row, {k} x 2^{f.bit_length() - 1}": lambda: sparse.update(rows, y_sparse),
        "dense row, 10 x 100": lambda: dense.update(x, y_dense),
    }
    times = {name: [] for name in runs}
    for _ in range(3):
        for name, run in runs.items():
            times[name].append(_median(run, repeats, budget=0.05 if quick else 0.3))
    return [dict(method=name, seconds=float(np.median(t))) for name, t in times.items()]


# ------------------------------------------------------------------ stream


def stream(quick: bool) -> list[dict]:
    """One sample a call into a 2-feature model: the seed's data, repeated."""
    from torch_perceptron import PerceptronLayer
    from torch_perceptron.datasets import seed_split

    x, y, _, _ = seed_split()
    reps = 5 if quick else 100
    xs = [x[i : i + 1] for i in range(len(x))] * reps
    ys = [y[i : i + 1] for i in range(len(y))] * reps
    out = []
    layer = PerceptronLayer(2)
    for a, c in zip(xs[:200], ys[:200]):
        layer.update(a, c)
    start = time.perf_counter()
    for a, c in zip(xs, ys):
        layer.update(a, c)
    out.append(dict(method="PerceptronLayer.update", us=(time.perf_counter() - start) / len(xs) * 1e6))
    try:
        from river import linear_model
    except ImportError:
        return out
    model = linear_model.Perceptron()
    samples = [({"x0": float(a[0, 0]), "x1": float(a[0, 1])}, bool(c)) for a, c in zip(xs, ys)]
    for s, c in samples[:200]:
        model.learn_one(s, c)
    start = time.perf_counter()
    for s, c in samples:
        model.learn_one(s, c)
    out.append(dict(method="river Perceptron.learn_one", us=(time.perf_counter() - start) / len(xs) * 1e6))
    return out


# ------------------------------------------------------------------ estimator


def _hashed_rows(n: int, k: int, f: int, seed: int):
    """scipy CSR rows as HashingVectorizer gives them (float64, ~56 non-zeros,
    l2-normalised) and labels of k classes."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    cols = np.sort(np.stack([rng.choice(f, NNZ, replace=False) for _ in range(n)]), axis=1)
    vals = np.full((n, NNZ), 1 / np.sqrt(NNZ))
    x = sp.csr_matrix((vals.ravel(), cols.ravel(), np.arange(0, (n + 1) * NNZ, NNZ)), shape=(n, f))
    y = rng.integers(0, k, n)
    return x, y


def estimator(quick: bool, repeats: int) -> list[dict]:
    from sklearn.linear_model import Perceptron

    from torch_perceptron.sklearn import PerceptronClassifier

    n, k, f = (200, 10, 1 << 12) if quick else (1000, 58, 1 << 18)
    chunks = [_hashed_rows(n, k, f, seed) for seed in range(6 if quick else 12)]
    classes = np.arange(k)
    out = []
    for name, make in (("ours", PerceptronClassifier), ("scikit-learn", Perceptron)):
        model = make()
        model.partial_fit(*chunks[0], classes=classes)
        times = []
        for x, y in chunks[1:]:
            start = time.perf_counter()
            model.partial_fit(x, y)
            times.append(time.perf_counter() - start)
        out.append(dict(method=name, rows=n, k=k, features=f, seconds=float(np.median(times))))
    return out


# ------------------------------------------------------------------ text


def text(quick: bool) -> Optional[dict]:
    """HashingVectorizer + partial_fit over the corpus' training stream: the
    seconds spent hashing and learning, and the documents a second."""
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import Perceptron

    from torch_perceptron import text_corpus
    from torch_perceptron.sklearn import PerceptronClassifier

    why = text_corpus.available()
    if why is not None:
        return dict(skipped=why)
    docs = [p for p in text_corpus.load("train")]
    limit = 3000 if quick else 30000
    docs = docs[:limit]
    classes = np.array(sorted({p.section for p in text_corpus.load("all")}))
    vec = HashingVectorizer(n_features=1 << 18, alternate_sign=False, ngram_range=(1, 2))
    chunk = 1000
    out = dict(docs=len(docs), learners=[])
    hashed = []
    start = time.perf_counter()
    for i in range(0, len(docs), chunk):
        part = docs[i : i + chunk]
        hashed.append((vec.transform([p.text for p in part]), np.array([p.section for p in part])))
    out["hash_seconds"] = time.perf_counter() - start
    for name, model in (("ours", PerceptronClassifier()), ("scikit-learn", Perceptron())):
        start = time.perf_counter()
        for x, y in hashed:
            model.partial_fit(x, y, classes=classes)
        out["learners"].append(dict(method=name, learn_seconds=time.perf_counter() - start))
    try:
        from river import linear_model, multiclass

        model = multiclass.OneVsRestClassifier(linear_model.Perceptron())
        few = hashed[: max(1, len(hashed) // 10)]
        start = time.perf_counter()
        count = 0
        for x, y in few:
            for i in range(x.shape[0]):
                row = x.getrow(i)
                model.learn_one(dict(zip(row.indices.tolist(), row.data.tolist())), y[i])
                count += 1
        sec = time.perf_counter() - start
        out["learners"].append(
            dict(
                method="river OneVsRest(Perceptron)",
                docs=count,
                learn_seconds=sec * len(docs) / count,
                note=f"timed on {count} documents, scaled",
            )
        )
    except ImportError:
        pass
    try:
        import vowpalwabbit

        index = {c: i + 1 for i, c in enumerate(classes)}
        vw = vowpalwabbit.Workspace(f"--oaa {len(classes)} --loss_function hinge -b 18 --quiet")
        lines = [
            f"{index[p.section]} | " + " ".join(w for w in p.text.replace("|", " ").replace(":", " ").split())
            for p in docs
        ]
        start = time.perf_counter()
        for line in lines:
            vw.learn(line)
        out["learners"].append(
            dict(method="Vowpal Wabbit --oaa (its own hashing)", learn_seconds=time.perf_counter() - start)
        )
        vw.finish()
    except ImportError:
        pass
    return out


# ------------------------------------------------------------------ busy


# Each side in its own fresh process, as its users run it: scikit-learn's
# imports neither torch nor this project (torch's OpenMP runtime, loaded in a
# process, changes how scikit-learn's threads are placed; BENCHMARKS.md).
_BUSY_CHILD = r"""
import json, sys, time, warnings
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
warnings.simplefilter("ignore")
side, repeats = sys.argv[1], int(sys.argv[2])
if side == "ours":
    import torch
    from torch_perceptron.sklearn import Perceptron
else:
    from sklearn.linear_model import Perceptron
x, y = load_digits(return_X_y=True)
def med(run):
    run()
    ts = []
    for _ in range(repeats):
        s = time.perf_counter(); run(); ts.append(time.perf_counter() - s)
    return float(np.median(ts))
out = {}
for params in ({"shuffle": False}, {"penalty": "l2"}, {}):
    key = json.dumps(params)
    out[key] = {"default": med(lambda: Perceptron(**params).fit(x, y))}
    if side == "ours":
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        out[key]["one thread"] = med(lambda: Perceptron(**params).fit(x, y))
        torch.set_num_threads(threads)
grid = {"alpha": [1e-4, 1e-3, 1e-2], "penalty": [None, "l2"]}
out["grid"] = {"default": med(lambda: GridSearchCV(Perceptron(), grid, n_jobs=2).fit(x, y))}
print(json.dumps(out))
"""


def busy(quick: bool, repeats: int) -> list[dict]:
    """The estimator rows while another process keeps a core busy, each side
    in a fresh process of its own with the default environment."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    sides = {}
    try:
        time.sleep(0.5)
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_PROC_BIND", "OMP_PLACES")}
        for side in ("theirs", "ours"):
            res = subprocess.run(
                [sys.executable, "-c", _BUSY_CHILD, side, str(2 if quick else repeats)],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            sides[side] = json.loads(res.stdout.strip().splitlines()[-1])
    finally:
        hog.kill()
        hog.wait()
    rows = []
    for key, theirs in sides["theirs"].items():
        ours = sides["ours"][key]
        rows.append(
            {
                "params": "GridSearchCV(n_jobs=2), 6 candidates x 5 folds" if key == "grid" else json.loads(key),
                "scikit-learn": theirs["default"],
                "ours, default threads": ours["default"],
                "ours, one thread": ours.get("one thread"),
            }
        )
    return rows


# ------------------------------------------------------------------ checks


def checks(quick: bool) -> list[dict]:
    """Results, not speed: streams of small calls (one row, ten rows) into
    large sparse and dense models reach, bit for bit, what the reference rule
    reaches, and a rejected call in the middle of the stream changes nothing."""
    from torch_perceptron import ops, reference

    g = torch.Generator().manual_seed(3)
    out = []
    f, k = (1 << 12, 10) if quick else (1 << 16, 58)
    crow, col, val = _csr(40, f, g, dtype=torch.float64)
    dense = torch.zeros(40, f, dtype=torch.float64)
    for i in range(40):
        dense[i, col[i * NNZ : (i + 1) * NNZ]] = val[i * NNZ : (i + 1) * NNZ]
    y = (torch.rand(40, k, generator=g) < 0.3).to(torch.float64)
    w, b = torch.zeros(k, f, dtype=torch.float64), torch.zeros(k, dtype=torch.float64)
    ok = True
    for start, step in ((0, 1), (1, 10), (11, 29)):
        rows = slice(start, start + step)
        nz = slice(start * NNZ, (start + step) * NNZ)
        ops.online_update_csr(w, b, crow[start : start + step + 1] - crow[start], col[nz], val[nz], f, y[rows])
        before = (w.clone(), b.clone())
        bad = val[nz].clone()
        bad[-1] = float("nan")
        try:
            ops.online_update_csr(w, b, crow[start : start + step + 1] - crow[start], col[nz], bad, f, y[rows])
            ok = False
        except ValueError:
            ok &= torch.equal(w, before[0]) and torch.equal(b, before[1])
    w_ref, b_ref, _ = reference.online_update(
        torch.zeros(k, f, dtype=torch.float64), torch.zeros(k, dtype=torch.float64), dense, y
    )
    ok &= torch.equal(w, w_ref) and torch.equal(b, b_ref)
    out.append(
        dict(
            group="check",
            check="call cost: a CSR stream of 1-, 10- and 29-row calls "
            "equals the reference; rejected calls change nothing",
            passed=bool(ok),
            detail=f"K={k}, F={f}",
        )
    )
    w2, b2 = torch.zeros(k, f, dtype=torch.float64), torch.zeros(k, dtype=torch.float64)
    for i in range(40):
        ops.online_update(w2, b2, dense[i : i + 1], y[i : i + 1])
    out.append(
        dict(
            group="check",
            check="call cost: one dense row a call equals the reference",
            passed=bool(torch.equal(w2, w_ref) and torch.equal(b2, b_ref)),
            detail=f"K={k}, F={f}",
        )
    )
    return out


# ------------------------------------------------------------------ report


def _table(header: str, rows, title: str = "") -> list[str]:
    """A markdown table (``header``: its "| a | b |" line) and the blank line
    after it, under ``title`` and a blank line when there is one."""
    return [*([title, ""] if title else []), header, "|" + "---|" * (header.count("|") - 1), *rows, ""]


def _grid_md(grid: list[dict]) -> list[str]:
    return _table(
        "| format | rule | variant | K | rows | F small | F large | large / small |",
        [
            f"| {r['format']} | {r['rule']} | {r['variant']} | {r['k']} | {r['rows']} | "
            f"2^{r['small'].bit_length() - 1} | 2^{r['large'].bit_length() - 1} | x{r['ratio']:.2f} |"
            for r in flatness(grid)
        ],
        "Per call (ms) against the model's size; ratio = largest F over smallest:",
    ) + _table(
        "| format | rule | variant | K | F | rows | ms a call |",
        [
            f"| {r['format']} | {r['rule']} | {r['variant']} | {r['k']} | "
            f"2^{r['features'].bit_length() - 1} | {r['rows']} | {r['seconds'] * 1e3:.3f} |"
            for r in grid
        ],
    )


def _text_md(t: dict) -> list[str]:
    if "skipped" in t:
        return [f"Text stream: skipped ({t['skipped']})", ""]
    return _table(
        "| learner | learning s | docs/s learning | learning / hashing |",
        [
            f"| {r['method']} | {r['learn_seconds']:.2f} | {t['docs'] / r['learn_seconds']:.0f} | "
            f"{r['learn_seconds'] / t['hash_seconds']:.2f} |"
            for r in t["learners"]
        ],
        f"Text stream, {t['docs']} documents: hashing {t['hash_seconds']:.2f} s",
    )


# The other parts' tables, in the order they print: (part, title, header, one row).
_TABLES = (
    (
        "dense_reads",
        "One dense row (ms) against one `x @ W.T`:",
        "| in x K | method | ms | over x @ W.T |",
        lambda r: f"| {r['features']} x {r['k']} | {r['method']} | {r['seconds'] * 1e3:.4f} | x{r['over_read']:.2f} |",
    ),
    (
        "one_row",
        "One row a call through PerceptronLayer.update (ms):",
        "| call | ms |",
        lambda r: f"| {r['method']} | {r['seconds'] * 1e3:.4f} |",
    ),
    (
        "stream",
        "One sample a call, 2 features (us a sample):",
        "| method | us |",
        lambda r: f"| {r['method']} | {r['us']:.2f} |",
    ),
    (
        "estimator",
        "partial_fit a call (ms):",
        "| method | rows | K | F | ms |",
        lambda r: (
            f"| {r['method']} | {r['rows']} | {r['k']} | 2^{r['features'].bit_length() - 1} | "
            f"{r['seconds'] * 1e3:.2f} |"
        ),
    ),
)


def markdown(res: dict) -> str:
    lines = _grid_md(res["grid"]) if res.get("grid") else []
    for part, title, header, row in _TABLES:
        if res.get(part):
            lines += _table(header, [row(r) for r in res[part]], title)
    if res.get("text"):
        lines += _text_md(res["text"])
    if res.get("busy"):
        lines += _table(
            "| case | scikit-learn | ours, default threads | ours, one thread |",
            [
                f"| {r['params']} | {r['scikit-learn'] * 1e3:.1f} | "
                f"{r['ours, default threads'] * 1e3:.1f} | {_ms_or_blank(r.get('ours, one thread'))} |"
                for r in res["busy"]
            ],
            "Another process keeps one core busy (ms a fit, digits):",
        )
    return "\n".join(lines)


def _ms_or_blank(seconds) -> str:
    return "" if seconds is None else f"{seconds * 1e3:.1f}"


PARTS = ("grid", "dense_reads", "one_row", "stream", "estimator", "text", "busy")
# benchmarks.run --quick (CI): small sizes, the parts that need no corpus or
# second process; the checks run in every mode.
QUICK_PARTS = ("grid", "dense_reads", "one_row", "stream", "estimator")


def run(quick: bool, repeats: int, log=print, only=PARTS) -> dict:
    # Each part: what the log line calls it, and its measurement ("busy" only in a full run).
    parts = {
        "grid": ("the grid", lambda: grid(quick, repeats, log=log)),
        "dense_reads": ("one dense row against x @ W.T", lambda: dense_reads(quick, repeats)),
        "one_row": ("one row, sparse and dense", lambda: one_row(quick, repeats)),
        "stream": ("one sample a call", lambda: stream(quick)),
        "estimator": ("partial_fit", lambda: estimator(quick, repeats)),
        "text": ("the hashed-text stream", lambda: text(quick)),
        "busy": ("a busy machine", lambda: busy(quick, repeats)),
    }
    res: dict = {}
    for part, (what, measure) in parts.items():
        if part in only and not (part == "busy" and quick):
            log(f"call cost: {what} ...")
            res[part] = measure()
    res["checks"] = checks(quick)
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of {PARTS}")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    if args.quick:
        timing.MIN_TOTAL_SECONDS = 0.0
    res = run(
        args.quick, args.repeats, log=lambda s: print(s, file=sys.stderr, flush=True), only=tuple(args.only.split(","))
    )
    print(markdown(res))
    for c in res["checks"]:
        print(f"{'ok' if c['passed'] else 'FAILED'}: {c['check']} ({c['detail']})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)
    return 0 if all(c["passed"] for c in res["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
