"""LightningDataModules: the seed's two blobs, scikit-learn's bundled data sets
and a user's CSV file. Every split is disjoint and standardized with the
training statistics only; the training order is reshuffled every epoch from a
seed, so a run (and a resumed run) is reproducible.

Every module has a validation set by default, so ``val_acc`` is logged and
``ModelCheckpoint(monitor="val_acc")`` works out of the box: a stratified 15%
of the data (scikit-learn, CSV, tensors), or, for the seed's blobs, 100 fresh
points from the same squares, which leaves the note's 300/100 train/test split
as it is. Without validation data (``val_fraction=0``, or data too small to
spare any) a module has no ``val_dataloader`` as far as Lightning can tell, so
the Trainer skips validation (and says so once)."""

import csv
import functools
import math
import os
from typing import Literal, Optional, Sequence

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from ..datasets import standardize, two_blobs

VAL_FRACTION = 0.15


def _epoch_sampler(dataset, trainer, seed: int) -> DistributedSampler:
    """The training order of an in-memory data module (dense or CSR): a
    DistributedSampler even on one process. Its order depends only on (seed,
    epoch), which Lightning sets every epoch, so a run resumed from a
    checkpoint sees the same orders as an uninterrupted one; with several
    processes it also shards the data."""
    return DistributedSampler(
        dataset,
        num_replicas=trainer.world_size if trainer else 1,
        rank=trainer.global_rank if trainer else 0,
        shuffle=True,
        seed=seed,
    )


class TensorDataModule(L.LightningDataModule):
    """Features ``x [N, in_features]`` and class indices ``y [N]``, tensors or
    numpy arrays (any real dtype: the batches are float32 features and int64
    labels), split into train / val / test once, at construction.

    ``val_fraction`` of the data (15% by default) is held out for validation,
    ``test_fraction`` for testing; ``val=(x_val, y_val)`` gives a validation
    set of its own instead (then ``val_fraction`` must stay unset). With no
    validation data the Trainer skips validation.

    ``in_features`` and ``num_classes`` are known right away, so a command line
    can link them to the model's arguments.
    """

    def __init__(
        self,
        x: Tensor,
        y: Tensor,
        *,
        val_fraction: Optional[float] = None,
        test_fraction: float = 0.25,
        batch_size: int = 32,
        seed: int = 0,
        stratify: bool = False,
        val: Optional[tuple[Tensor, Tensor]] = None,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
        if val is not None and val_fraction:
            raise ValueError(f"val, val_fraction: expected one of them, got val and {val_fraction}")
        if val_fraction is None:
            val_fraction = 0.0 if val is not None else VAL_FRACTION
        if not 0 <= val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
            raise ValueError(
                "val_fraction, test_fraction: expected 0 <= val, 0 < test, val + test < 1, "
                f"got {val_fraction}, {test_fraction}"
            )
        self.batch_size = batch_size
        self.seed = seed
        x, y = _as_tensor(x, "x"), _as_tensor(y, "y").long()
        if val is not None:
            val = (_as_tensor(val[0], "val[0]"), _as_tensor(val[1], "val[1]"))
        self.num_classes = max(int(y.max()) + 1, 2) if len(y) else 2
        self.in_features = x.shape[1]
        gen = torch.Generator().manual_seed(seed)
        train, val_idx, test = _split(y, val_fraction, test_fraction, gen, stratify)
        x_val, y_val = (x[val_idx], y[val_idx]) if val is None else (val[0], val[1].long())
        x_train, x_val, x_test = standardize(x[train], x_val, x[test])
        self.train_set = TensorDataset(x_train.float(), y[train])
        self.val_set = TensorDataset(x_val.float(), y_val)
        self.test_set = TensorDataset(x_test.float(), y[test])
        # Where each test sample sits in x as given: predictions name it.
        self.test_index = test
        if len(self.val_set) == 0:
            # Lightning reads the base class's val_dataloader as "no validation
            # data" and skips the val loop; an empty loader would instead warn
            # "Total length of `list` across ranks is zero" as if by mistake. A
            # partial, unlike a bound method, survives pickling.
            self.val_dataloader = functools.partial(L.LightningDataModule.val_dataloader, self)

    def train_dataloader(self) -> DataLoader:
        sampler = _epoch_sampler(self.train_set, self.trainer, self.seed)
        return DataLoader(self.train_set, batch_size=self.batch_size, sampler=sampler)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=max(self.batch_size, 256))

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.test_set, batch_size=max(self.batch_size, 256))

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()


def _as_tensor(value, name: str) -> Tensor:
    """A tensor as given, a numpy array as a tensor (no copy); else refused."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return torch.as_tensor(value)
    raise TypeError(
        f"{name}: expected a torch.Tensor or a numpy array, got "
        f"{type(value).__name__}; make one with torch.as_tensor({name})"
    )


def _split(
    y: Tensor, val_fraction: float, test_fraction: float, gen: torch.Generator, stratify: bool
) -> tuple[Tensor, Tensor, Tensor]:
    """Index sets of a shuffled split, per class when ``stratify``."""
    groups = [torch.nonzero(y == c).flatten() for c in y.unique()] if stratify else [torch.arange(len(y))]
    parts: list[list[Tensor]] = [[], [], []]
    for idx in groups:
        idx = idx[torch.randperm(len(idx), generator=gen)]
        n_test = round(len(idx) * test_fraction)
        n_val = round(len(idx) * val_fraction)
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test : n_test + n_val])
        parts[0].append(idx[n_test + n_val :])
    return tuple(torch.cat(p) for p in parts)  # type: ignore[return-value]


class TwoBlobsDataModule(TensorDataModule):
    """The lecture note's data: two uniform squares of ``n_per_class`` points
    around (-0.5, -0.5) and (0.5, 0.5), shuffled and split without overlap
    (300 / 100 by default, like the note's sizes, but disjoint; the tensors of
    :func:`torch_perceptron.datasets.seed_split`).

    Validation: ``n_val_per_class`` more points per class, drawn from the same
    squares after the note's (0 for none), so the train and test sets stay the
    note's.
    """

    def __init__(
        self,
        n_per_class: int = 200,
        *,
        n_val_per_class: int = 50,
        test_fraction: float = 0.25,
        batch_size: int = 32,
        seed: int = 0,
    ) -> None:
        if n_val_per_class < 0:
            raise ValueError(f"n_val_per_class: expected >= 0, got {n_val_per_class}")
        gen = torch.Generator().manual_seed(seed)
        x, y = two_blobs(n_per_class, generator=gen)
        val = two_blobs(n_val_per_class, generator=gen)
        super().__init__(x, y, test_fraction=test_fraction, batch_size=batch_size, seed=seed, val=val)


class SklearnDataModule(TensorDataModule):
    """A data set that ships inside scikit-learn: "breast_cancer" (binary),
    "digits" or "iris" (multiclass); a stratified split."""

    def __init__(
        self,
        name: Literal["breast_cancer", "digits", "iris"] = "breast_cancer",
        *,
        val_fraction: float = VAL_FRACTION,
        test_fraction: float = 0.25,
        batch_size: int = 32,
        seed: int = 0,
    ) -> None:
        from sklearn import datasets

        loaders = {
            "breast_cancer": datasets.load_breast_cancer,
            "digits": datasets.load_digits,
            "iris": datasets.load_iris,
        }
        if name not in loaders:
            raise ValueError(f"name: expected one of {sorted(loaders)}, got {name!r}")
        bunch = loaders[name]()
        super().__init__(
            torch.as_tensor(bunch.data, dtype=torch.float64),
            torch.as_tensor(bunch.target, dtype=torch.int64),
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            batch_size=batch_size,
            seed=seed,
            stratify=True,
        )
        self.name = name


class CSVDataModule(TensorDataModule):
    """A CSV file with a header row: numeric feature columns and a label column.

    Labels are mapped to class indices in sorted order (``classes`` keeps the
    original values). ``feature_columns`` defaults to every other column.
    """

    def __init__(
        self,
        path: str,
        label_column: str = "label",
        *,
        feature_columns: Optional[Sequence[str]] = None,
        val_fraction: float = VAL_FRACTION,
        test_fraction: float = 0.25,
        batch_size: int = 32,
        seed: int = 0,
    ) -> None:
        x, labels = _read_csv(path, label_column, feature_columns)
        self.classes = sorted(set(labels), key=_label_key)
        index = {c: i for i, c in enumerate(self.classes)}
        y = torch.tensor([index[v] for v in labels], dtype=torch.int64)
        super().__init__(
            x,
            y,
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            batch_size=batch_size,
            seed=seed,
            stratify=True,
        )
        self.path = path


def _label_key(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def _read_csv(path: str, label_column: str, feature_columns: Optional[Sequence[str]]) -> tuple[Tensor, list[str]]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no CSV file at {path!r}")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise ValueError(f"path: {path!r} is empty; expected a header row")
        header = [h.strip() for h in header]
        if label_column not in header:
            raise ValueError(f"label_column: no column {label_column!r} in {path!r}; columns: {header}")
        features = list(feature_columns) if feature_columns else [h for h in header if h != label_column]
        missing = [c for c in features if c not in header]
        if missing:
            raise ValueError(f"feature_columns: no column(s) {missing} in {path!r}; columns: {header}")
        if not features:
            raise ValueError(f"feature_columns: {path!r} has no feature column besides {label_column!r}")
        cols = [header.index(c) for c in features]
        label_at = header.index(label_column)
        rows, labels = [], []
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"path: {path}:{line}: expected {len(header)} fields, got {len(row)}")
            values = []
            for c, name in zip(cols, features):
                try:
                    v = float(row[c])
                except ValueError:
                    raise ValueError(
                        f"path: {path}:{line}: column {name!r}: expected a number, got {row[c]!r}"
                    ) from None
                if not math.isfinite(v):
                    raise ValueError(f"path: {path}:{line}: column {name!r}: expected a finite number, got {row[c]!r}")
                values.append(v)
            rows.append(values)
            labels.append(row[label_at].strip())
    if not rows:
        raise ValueError(f"path: {path!r} has a header but no data rows")
    return torch.tensor(rows, dtype=torch.float64), labels
