"""Out-of-core text classification, scikit-learn's recipe done with this
project: stream a labelled text corpus in chunks, hash each chunk into sparse
features, ``partial_fit`` chunk after chunk, and watch the test accuracy grow
with the documents seen.

    python examples/text_out_of_core.py [--chunk 1000] [--limit N] [--lightning-epochs 2]

The corpus: Debian's package descriptions labelled by their archive section
(``python``, ``libs``, ``games``, ... 58 sections), read from apt's own package
lists (``apt-get update`` fills them; see docs/sparse_corpus.md), streamed in the
lists' order (by package name, so sections come in runs: a drifting stream),
split by source package. Features: ``HashingVectorizer(n_features=2**18,
alternate_sign=False, ngram_range=(1, 2))``, about 12 non-zeros per document,
as CSR: never densified (one chunk densely would be 1000 x 2^18 doubles, 2 GiB).

Learners, side by side on the same chunks, one-vs-rest over the 58 sections:
``PerceptronClassifier()`` of this project, plain and averaged (CPU, and CUDA
where present), scikit-learn's ``Perceptron()`` and
``SGDClassifier(loss="perceptron", average=True)``. The plot of test accuracy
against documents seen, about ten points a curve whatever ``--limit`` (the test
set is scored every ``--eval-every`` documents), goes to
outputs/text_out_of_core.png (README's figure: ``--out
docs/images/text_out_of_core.png``).

Then the same corpus through Lightning: the hashed training stream written as
svmlight shards, streamed back by ``SvmlightDataModule`` under a ``Trainer``
(the multiclass rule, ``--lightning-epochs`` epochs), with the test split as
validation data.
"""

import argparse
import logging
import os
import tempfile
import time
import warnings

import numpy as np
import torch

from torch_perceptron import text_corpus

N_FEATURES = 1 << 18
# Training documents of the whole corpus, about: what --limit defaults to.
CORPUS_TRAIN = 50_000
# Test scores per curve: enough for a curve at any --limit.
POINTS = 10


def learners(cuda: bool) -> dict:
    from sklearn.linear_model import Perceptron, SGDClassifier

    from torch_perceptron.sklearn import PerceptronClassifier

    out = {
        "ours": PerceptronClassifier(),
        "ours, averaged": PerceptronClassifier(average=True),
    }
    if cuda:
        out["ours (CUDA)"] = PerceptronClassifier(device="cuda")
        out["ours, averaged (CUDA)"] = PerceptronClassifier(average=True, device="cuda")
    out["scikit-learn Perceptron"] = Perceptron()
    out['scikit-learn SGDClassifier(loss="perceptron", average=True)'] = SGDClassifier(loss="perceptron", average=True)
    return out


def limited(chunks, limit):
    """The stream's chunks up to ``limit`` documents (None: all of them)."""
    seen = 0
    for chunk in chunks:
        if limit is not None and seen >= limit:
            return
        chunk = chunk if limit is None else chunk[: limit - seen]
        seen += len(chunk)
        yield chunk


def stream_and_score(args, vectorizer, classes, x_test, y_test, models):
    """partial_fit every model on each chunk; the test accuracy after every
    ``--eval-every`` documents. Returns the documents seen at each point, the
    accuracies and the seconds each model spent in partial_fit."""
    seen, points = 0, []
    curves = {name: [] for name in models}
    fit_seconds = dict.fromkeys(models, 0.0)
    next_eval = args.eval_every
    chunks = list(limited(text_corpus.iter_chunks(args.chunk, "train"), args.limit))
    for i, chunk in enumerate(chunks):
        x = vectorizer.transform([p.text for p in chunk])
        y = np.array([p.section for p in chunk])
        for name, model in models.items():
            start = time.perf_counter()
            model.partial_fit(x, y, classes=classes)
            fit_seconds[name] += time.perf_counter() - start
        seen += len(chunk)
        if seen >= next_eval or i == len(chunks) - 1:
            next_eval = seen + args.eval_every
            points.append(seen)
            for name, model in models.items():
                curves[name].append(model.score(x_test, y_test))
    return points, curves, fit_seconds


def plot(points, curves, majority, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, acc in curves.items():
        style = "-" if name.startswith("ours") else "--"
        ax.plot(points, acc, style, marker="o", markersize=3, label=name)
    ax.axhline(majority, color="grey", linewidth=0.8, linestyle=":", label="largest class")
    ax.set_xlabel("training documents seen (one pass, chunks in the lists' order)")
    ax.set_ylabel("test accuracy")
    ax.set_title("Debian package descriptions -> section (58 classes), hashed 2^18, partial_fit")
    ax.set_ylim(0, max(0.8, max(max(a) for a in curves.values()) + 0.05))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def lightning_run(args, vectorizer, classes, x_test, y_test) -> float:
    """The training stream written as svmlight shards (one per chunk, labels
    as class indices), streamed back by SvmlightDataModule under a Trainer;
    returns the validation (test split) accuracy."""
    import lightning as L
    from sklearn.datasets import dump_svmlight_file

    from torch_perceptron.lightning import PerceptronClassifier, SvmlightDataModule
    from torch_perceptron.lightning.console import quiet_lightning

    quiet_lightning()
    # The Trainer's notices about accelerators found; the result line says it all.
    logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
    index = {c: i for i, c in enumerate(classes)}
    with tempfile.TemporaryDirectory() as tmp:
        shards = os.path.join(tmp, "train")
        os.makedirs(shards)
        chunks = limited(text_corpus.iter_chunks(args.chunk, "train"), args.limit)
        for i, chunk in enumerate(chunks):
            x = vectorizer.transform([p.text for p in chunk])
            y = np.array([index[p.section] for p in chunk])
            dump_svmlight_file(x, y, os.path.join(shards, f"part{i:05d}.svm"))
        test_path = os.path.join(tmp, "test.svm")
        dump_svmlight_file(x_test, np.array([index[s] for s in y_test]), test_path)
        data = SvmlightDataModule(
            shards,
            N_FEATURES,
            val=test_path,
            classes=list(range(len(classes))),
            batch_size=args.chunk,
            chunk_bytes=1 << 20,
        )
        model = PerceptronClassifier(N_FEATURES, len(classes), rule="multiclass")
        trainer = L.Trainer(
            max_epochs=args.lightning_epochs,
            accelerator="auto",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=tmp,
        )
        start = time.perf_counter()
        trainer.fit(model, data)
        seconds = time.perf_counter() - start
    accuracy = float(trainer.callback_metrics["val_acc"])
    print(
        f"Lightning Trainer, multiclass rule, {args.lightning_epochs} epoch(s) streamed from "
        f"svmlight shards: test accuracy {accuracy:.3f} ({seconds:.1f} s)"
    )
    return accuracy


def eval_interval(limit, chunk: int) -> int:
    """Documents between two test scores: about ``POINTS`` a pass, in whole
    chunks (a score is taken after a chunk)."""
    per_point = (limit or CORPUS_TRAIN) // POINTS
    return max(chunk, per_point // chunk * chunk)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunk", type=int, default=1000, help="documents per partial_fit")
    parser.add_argument(
        "--limit", type=int, default=None, help="training documents to stream (default: all, about 50,000)"
    )
    parser.add_argument(
        "--test-limit", type=int, default=None, help="test documents to score on (default: all, about 13,000)"
    )
    parser.add_argument(
        "--eval-every",
        type=int,
        default=None,
        help=f"documents between two test scores (default: about {POINTS} scores a pass, in whole chunks)",
    )
    parser.add_argument("--lightning-epochs", type=int, default=2, help="epochs of the Lightning run (0: skip it)")
    parser.add_argument(
        "--out",
        default=os.path.join("outputs", "text_out_of_core.png"),
        help="where the plot goes (README's: docs/images/text_out_of_core.png)",
    )
    parser.add_argument("--no-cuda", action="store_true", help="leave the CUDA learners out")
    args = parser.parse_args(argv)
    if args.eval_every is None:
        args.eval_every = eval_interval(args.limit, args.chunk)
    return args


def main() -> None:
    args = parse_args()
    reason = text_corpus.available()
    if reason is not None:
        raise SystemExit(f"text corpus unavailable: {reason}")
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(n_features=N_FEATURES, alternate_sign=False, ngram_range=(1, 2))
    # Every section, up front: partial_fit needs them on its first call.
    classes = np.array(sorted({p.section for p in text_corpus.iter_packages()}))
    test = text_corpus.load("test")[: args.test_limit]
    x_test = vectorizer.transform([p.text for p in test])
    y_test = np.array([p.section for p in test])
    sections, counts = np.unique(y_test, return_counts=True)
    majority = counts.max() / counts.sum()
    cuda = torch.cuda.is_available() and not args.no_cuda
    models = learners(cuda)
    print(
        f"{len(classes)} sections; test documents {len(test)} (largest class {majority:.3f}); "
        f"features: hashed word 1- and 2-grams, 2^18 columns, CSR"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # torch's "sparse CSR is beta"
        points, curves, seconds = stream_and_score(args, vectorizer, classes, x_test, y_test, models)
    print(f"after {points[-1]} training documents (one pass, chunks of {args.chunk}):")
    width = max(map(len, curves))
    for name in models:
        print(f"  {name:<{width}}  test accuracy {curves[name][-1]:.3f}  partial_fit {seconds[name]:6.1f} s")
    plot(points, curves, majority, args.out)
    print(f"plot: {args.out} ({len(points)} test scores per learner)")
    if args.lightning_epochs > 0:
        lightning_run(args, vectorizer, classes, x_test, y_test)


if __name__ == "__main__":
    main()
