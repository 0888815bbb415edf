"""Test accuracy on real data bundled with scikit-learn (breast cancer, digits,
iris): a stratified 75/25 split with a fixed seed, standardised with the
training statistics, a fixed number of epochs, each rule of this project beside
scikit-learn's Perceptron and its averaged SGD variant on the same split."""

import warnings

import numpy as np
import torch

from torch_perceptron import ops

DATASETS = ("breast_cancer", "digits", "iris")
ONLINE = "torch_perceptron online (K=1 / one-vs-rest)"
MULTI = "torch_perceptron multiclass"
BATCH = "torch_perceptron mini-batch (batch_update, B={b}, one-vs-rest)"
SK = "scikit-learn Perceptron"
SK_AVG = 'scikit-learn SGDClassifier(loss="perceptron", average=True)'


def load(name: str, seed: int):
    """``(x_train, y_train, x_test, y_test)`` as float64 / int64 numpy arrays,
    standardised with the training mean and deviation."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, random_state=seed)
    scaler = StandardScaler().fit(x_tr)
    return scaler.transform(x_tr), y_tr, scaler.transform(x_te), y_te


def _ours(rule: str, x_tr, y_tr, x_te, epochs: int, seed: int, batch_size: int) -> np.ndarray:
    """Trains one of this project's rules for ``epochs`` epochs, the samples
    reshuffled every epoch (as scikit-learn does), and predicts ``x_te``."""
    x = torch.as_tensor(x_tr, dtype=torch.float32)
    labels = torch.as_tensor(y_tr, dtype=torch.int64)
    classes = int(labels.max()) + 1
    # Two classes: one perceptron on 0/1 labels; more: one output per class.
    k = 1 if classes == 2 and rule != "multiclass" else classes
    targets = labels.to(torch.float32)[:, None] if k == 1 else torch.nn.functional.one_hot(labels, k).to(torch.float32)
    w, b = torch.zeros(k, x.shape[1]), torch.zeros(k)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(x.shape[0], generator=gen)
        xs, ts, ls = x[order], targets[order], labels[order]
        if rule == "online":
            ops.online_update(w, b, xs, ts)
        elif rule == "multiclass":
            ops.multiclass_update(w, b, xs, ls)
        else:
            for start in range(0, x.shape[0], batch_size):
                ops.batch_update(w, b, xs[start : start + batch_size], ts[start : start + batch_size])
    z = ops.decision_function(torch.as_tensor(x_te, dtype=torch.float32), w, b)
    pred = (z[:, 0] > 0).long() if k == 1 else z.argmax(1)
    return pred.numpy()


def _sklearn(model, x_tr, y_tr, x_te) -> np.ndarray:
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x_tr, y_tr).predict(x_te)


def run(epochs: int = 50, seed: int = 0, batch_size: int = 16, log=print) -> list[dict]:
    """One row per model: test accuracy on each data set."""
    from sklearn.linear_model import Perceptron, SGDClassifier

    models = {
        ONLINE: lambda *a: _ours("online", *a, epochs, seed, batch_size),
        MULTI: lambda *a: _ours("multiclass", *a, epochs, seed, batch_size),
        BATCH.format(b=batch_size): lambda *a: _ours("batch", *a, epochs, seed, batch_size),
        SK: lambda *a: _sklearn(Perceptron(max_iter=epochs, tol=None, random_state=seed), *a),
        SK_AVG: lambda *a: _sklearn(
            SGDClassifier(loss="perceptron", average=True, max_iter=epochs, tol=None, random_state=seed),
            *a,
        ),
    }
    rows = [dict(group="accuracy", method=name, epochs=epochs) for name in models]
    for name in DATASETS:
        x_tr, y_tr, x_te, y_te = load(name, seed)
        for row, fit_predict in zip(rows, models.values()):
            row[name] = float((fit_predict(x_tr, y_tr, x_te) == y_te).mean())
        log(f"  accuracy {name}: " + ", ".join(f"{r[name]:.3f}" for r in rows))
    return rows
