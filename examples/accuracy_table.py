"""Test accuracy of every perceptron variant beside scikit-learn's, on the data
sets that ship with scikit-learn (breast cancer: binary; digits, iris:
multiclass), standardised with training statistics, on a stratified 75/25
split with a fixed seed, after the same number of epochs.

    python examples/accuracy_table.py [--epochs 50] [--seed 0] [--seeds 1]

Rows: this project's online rule (one-vs-rest above two classes), multiclass
rule, mini-batch rule (batches of 32), averaged and pocket perceptrons (one-vs-
rest through PerceptronClassifier, multiclass through PerceptronLayer; all
float32, a fresh permutation every epoch from one seeded torch.Generator),
scikit-learn's Perceptron and SGDClassifier(loss="perceptron", average=True),
both with shuffling, max_iter=epochs, tol=None.
"""

import argparse
import warnings

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from torch_perceptron import PerceptronLayer
from torch_perceptron.sklearn import PerceptronClassifier

DATASETS = {"breast cancer": load_breast_cancer, "digits": load_digits, "iris": load_iris}


def split(loader, seed):
    x, y = loader(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, random_state=seed)
    scaler = StandardScaler().fit(x_tr)
    return scaler.transform(x_tr), scaler.transform(x_te), y_tr, y_te


def layer_accuracy(x_tr, x_te, y_tr, y_te, epochs, seed, rule, **variant):
    """The multiclass rule (plain, averaged or pocket: ``variant``) or the
    mini-batch rule through PerceptronLayer."""
    xt = torch.tensor(x_tr, dtype=torch.float32)
    xe = torch.tensor(x_te, dtype=torch.float32)
    yt = torch.tensor(y_tr)
    k = int(y_tr.max()) + 1
    gen = torch.Generator().manual_seed(seed)
    if rule == "multiclass":
        layer = PerceptronLayer(xt.shape[1], k, multiclass=True, **variant)
        for _ in range(epochs):
            order = torch.randperm(len(yt), generator=gen)
            layer.update(xt[order], yt[order])
        pred = layer(xe)
    else:
        out = 1 if k == 2 else k
        layer = PerceptronLayer(xt.shape[1], out)
        targets = yt[:, None].float() if k == 2 else torch.eye(k)[yt]
        for _ in range(epochs):
            order = torch.randperm(len(yt), generator=gen)
            for start in range(0, len(yt), 32):
                part = order[start : start + 32]
                layer.update(xt[part], targets[part], rule="batch", zero_is_mistake=True)
        z = layer.decision_function(xe)
        pred = (z[:, 0] > 0).long() if k == 2 else z.argmax(1)
    return float((pred.numpy() == y_te).mean())


def accuracies(x_tr, x_te, y_tr, y_te, epochs, seed):
    common = {"max_iter": epochs, "tol": None, "random_state": seed}
    rows = {
        "ours: online (OvR)": PerceptronClassifier(**common),
        "ours: multiclass": None,
        "ours: mini-batch (32)": None,
        "ours: averaged": PerceptronClassifier(average=True, **common),
        "ours: pocket": PerceptronClassifier(pocket=True, **common),
        "ours: averaged multiclass": None,
        "ours: pocket multiclass": None,
        "sklearn Perceptron": Perceptron(**common),
        "sklearn SGDClassifier(perceptron, average=True)": SGDClassifier(loss="perceptron", average=True, **common),
    }
    result = {}
    for name, est in rows.items():
        if est is None:
            rule = "multiclass" if "multiclass" in name else "batch"
            variant = {"average": "averaged" in name, "pocket": "pocket" in name}
            result[name] = layer_accuracy(x_tr, x_te, y_tr, y_te, epochs, seed, rule, **variant)
        else:
            result[name] = est.fit(x_tr, y_tr).score(x_te, y_te)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="average over seeds seed, seed+1, ... (split, shuffles and all): one test "
        "sample of digits is 0.002 of accuracy, so a single split cannot tell close "
        "models apart",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    seeds = range(args.seed, args.seed + args.seeds)
    runs = [
        {name: accuracies(*split(loader, seed), args.epochs, seed) for name, loader in DATASETS.items()}
        for seed in seeds
    ]
    datasets = list(runs[0])
    rows = list(runs[0][datasets[0]])
    mean = {d: {r: float(np.mean([run[d][r] for run in runs])) for r in rows} for d in datasets}
    std = {d: {r: float(np.std([run[d][r] for run in runs])) for r in rows} for d in datasets}

    def cell(d, r):
        return f"{mean[d][r]:.3f}" + (f" ± {std[d][r]:.3f}" if len(runs) > 1 else "")

    which = f"seed {args.seed}" if len(runs) == 1 else (f"mean ± std over seeds {seeds.start}-{seeds.stop - 1}")
    print(f"Test accuracy, {args.epochs} epochs, {which}\n")
    print("| model | " + " | ".join(datasets) + " |")
    print("|---|" + "---:|" * len(datasets))
    for row in rows:
        print(f"| {row} | " + " | ".join(cell(d, row) for d in datasets) + " |")
    sgd = "sklearn SGDClassifier(perceptron, average=True)"
    for avg in ("ours: averaged", "ours: averaged multiclass"):
        for d in datasets:
            verdict = ">=" if mean[d][avg] >= mean[d][sgd] else "<"
            print(f"{d}: {avg} {mean[d][avg]:.3f} {verdict} SGDClassifier averaged {mean[d][sgd]:.3f}")


if __name__ == "__main__":
    main()
