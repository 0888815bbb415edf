"""Data modules for sparse features: batches are ``(x, y)`` with ``x`` a
:class:`~torch_perceptron.sparse.CSRRows` of the batch's rows (never densified)
and ``y`` int64 class indices; :class:`~torch_perceptron.lightning.PerceptronClassifier`
trains on them through the layer's CSR path.

* :class:`SparseDataModule`: a sparse matrix in memory (scipy.sparse, torch
  sparse, ``CSRRows``), split once like :class:`TensorDataModule` (without the
  standardisation, which would densify: centring a sparse column fills it).
* :class:`SvmlightDataModule`: LIBSVM / svmlight files, one file or a
  directory of shards, streamed in byte-range chunks
  (:class:`~torch_perceptron.svmlight.SvmlightChunks`), so memory holds one
  chunk whatever the size of the data, and dealt out across ranks.

Equal step counts under ``perceptron_ddp``: the ranks mix their weights at the
end of an epoch, and Lightning's loops (checkpointing, ``val_check_interval``,
``max_steps``) expect every rank to run the same number of steps. A rank's
chunks hold different numbers of rows, so at ``setup`` every rank counts the
rows of its own chunks (one read of the bytes, no parsing) and the ranks agree
on one step count per epoch: with ``uneven="pad"`` (the default) the longest
rank's, the others ending their epoch with empty batches (a step that changes
nothing), so every row is trained on; with ``uneven="drop"`` the shortest
rank's, the others leaving their last batches out. Batches do not straddle
chunks: a chunk's last batch may be short.
"""

import functools
import re
import warnings
from typing import Any, Iterator, List, Literal, Optional, Sequence, Tuple

import lightning as L
import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor
from torch.utils.data import DataLoader, IterableDataset

from ..sparse import CSRRows, as_csr
from ..sparse_batches import CSRDataset, collate_csr, take_rows
from ..svmlight import Span, SvmlightChunks, ZeroBased, plan, resolve_zero_based, shard_paths
from .data import VAL_FRACTION, _epoch_sampler, _split

Uneven = Literal["pad", "drop"]

# A line holds a sample when its first non-blank character is not "#" (the
# svmlight parser skips blank and comment-only lines).
_SAMPLE_LINE = re.compile(rb"^[ \t\r\f\v]*[^#\s]", re.M)
_COUNT_BLOCK = 16 << 20

# The batches' length is exact: their loaders read in the main process (no
# workers, which would each need a share of the chunks of their own).
warnings.filterwarnings("ignore", message=r"Your `IterableDataset` has `__len__` defined")


class SparseDataModule(L.LightningDataModule):
    """Sparse features ``x [N, in_features]`` and class indices ``y [N]``,
    split into train / val / test once, at construction (as
    :class:`TensorDataModule`, stratified by default, not standardised).

    Batches are ``(CSRRows, y)`` (:func:`~torch_perceptron.sparse_batches.collate_csr`);
    the training order is reshuffled every epoch from ``seed`` and sharded
    across ranks by a ``DistributedSampler`` (whose padding gives every rank the
    same number of batches). ``val=(x_val, y_val)`` / ``test=(x_test, y_test)``
    give held-out sets of their own instead of splitting them off.
    """

    def __init__(
        self,
        x: Any,
        y: Tensor,
        *,
        val_fraction: Optional[float] = None,
        test_fraction: Optional[float] = None,
        batch_size: int = 256,
        seed: int = 0,
        stratify: bool = True,
        val: Optional[Tuple[Any, Tensor]] = None,
        test: Optional[Tuple[Any, Tensor]] = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
        if val_fraction is None:
            val_fraction = 0.0 if val is not None else VAL_FRACTION
        if test_fraction is None:
            test_fraction = 0.0 if test is not None else 0.25
        if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
            raise ValueError(
                f"val_fraction, test_fraction: expected 0 <= each, val + test < 1, got {val_fraction}, {test_fraction}"
            )
        rows = as_csr(x, dtype, name="x")
        y = torch.as_tensor(y).long()
        if y.shape != (rows.n_rows,):
            raise ValueError(f"y: expected {rows.n_rows} class indices, got shape {tuple(y.shape)}")
        self.batch_size, self.seed = batch_size, seed
        self.in_features = rows.n_features
        labels = [y] + [torch.as_tensor(part[1]) for part in (val, test) if part is not None]
        self.num_classes = max(2, max(int(t.max()) + 1 for t in labels if len(t)))
        gen = torch.Generator().manual_seed(seed)
        train, val_idx, test_idx = _split(y, val_fraction, test_fraction, gen, stratify)
        self.train_set = CSRDataset(take_rows(rows, train), y[train])
        self.val_set = (
            CSRDataset(take_rows(rows, val_idx), y[val_idx])
            if val is None
            else CSRDataset(as_csr(val[0], dtype, name="val"), torch.as_tensor(val[1]).long())
        )
        self.test_set = (
            CSRDataset(take_rows(rows, test_idx), y[test_idx])
            if test is None
            else CSRDataset(as_csr(test[0], dtype, name="test"), torch.as_tensor(test[1]).long())
        )
        # Where each test sample sits in x (or in test) as given: predictions name it.
        self.test_index = test_idx if test is None else torch.arange(len(self.test_set))

    def train_dataloader(self) -> DataLoader:
        sampler = _epoch_sampler(self.train_set, self.trainer, self.seed)
        return DataLoader(self.train_set, batch_size=self.batch_size, sampler=sampler, collate_fn=collate_csr)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=max(self.batch_size, 1024), collate_fn=collate_csr)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.test_set, batch_size=max(self.batch_size, 1024), collate_fn=collate_csr)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()


# --- svmlight files, streamed ----------------------------------------------


def count_rows(span: Span) -> int:
    """The samples (lines that are neither blank nor comments) that start in
    ``span``, read in blocks of bounded size, without parsing them."""
    count = 0
    with open(span.path, "rb") as f:
        f.seek(span.start)
        left = span.stop - span.start
        while left > 0:
            block = f.read(min(left, _COUNT_BLOCK))
            if not block:
                break
            left -= len(block)
            if left > 0 and not block.endswith(b"\n"):
                rest = f.readline()[:left]  # finish the line the block cut
                block += rest
                left -= len(rest)
            count += len(_SAMPLE_LINE.findall(block))
    return count


def scan_labels(paths: Sequence[str]) -> List[float]:
    """Every distinct label of the files (the first field of each sample
    line), sorted: one streamed pass, no parsing of the features."""
    labels = set()
    for path in paths:
        with open(path, "rb") as f:
            for line in f:
                text = line.split(b"#", 1)[0].split(None, 1)
                if text:
                    labels.add(float(text[0]))
    return sorted(labels)


class SvmlightBatches(IterableDataset):
    """The batches of one rank's share of svmlight files, chunk after chunk:
    ``(CSRRows [<= batch_size, n_features], y int64 [<= batch_size])``, with
    labels mapped to their index in ``classes``. ``steps`` (when given) is the
    number of batches an epoch yields: empty batches pad a shorter share,
    a longer one stops there. ``len()`` is the number of batches."""

    def __init__(
        self, chunks: SvmlightChunks, classes: Sequence[float], batch_size: int, steps: Optional[int] = None
    ) -> None:
        self.chunks, self.batch_size = chunks, batch_size
        self.classes = np.asarray(sorted(classes), dtype=np.float64)
        self.own_steps = sum(-(-count_rows(s) // batch_size) for s in chunks.spans)
        self.steps = self.own_steps if steps is None else steps

    def __len__(self) -> int:
        return self.steps

    def _labels(self, chunk) -> Tensor:
        y = chunk.y.numpy()
        idx = np.searchsorted(self.classes, y).clip(0, len(self.classes) - 1)
        bad = self.classes[idx] != y
        if bad.any():
            raise ValueError(
                f"{chunk.span.path}: label {float(y[bad][0])!r} is not one of the classes {self.classes.tolist()}"
            )
        return torch.from_numpy(idx.astype(np.int64))

    def __iter__(self) -> Iterator[Tuple[CSRRows, Tensor]]:
        done = 0
        for chunk in self.chunks:
            y = self._labels(chunk)
            for start in range(0, len(chunk), self.batch_size):
                if done == self.steps:
                    return
                stop = min(start + self.batch_size, len(chunk))
                yield chunk.x.rows(start, stop), y[start:stop]
                done += 1
        empty = (
            CSRRows(
                torch.zeros(1, dtype=torch.int64),
                torch.zeros(0, dtype=torch.int64),
                torch.zeros(0, dtype=self.chunks.dtype),
                self.chunks.n_features,
            ),
            torch.zeros(0, dtype=torch.int64),
        )
        for _ in range(done, self.steps):
            yield empty


def _as_batch(batch):
    # The dataset yields whole batches (DataLoader(batch_size=None)).
    return batch


class SvmlightDataModule(L.LightningDataModule):
    """LIBSVM / svmlight files, streamed: ``train`` (and optional ``val``,
    ``test``), each one file or a directory of shards read in name order.

    ``n_features``: the feature count (svmlight lines do not state it).
    ``classes``: the label values, sorted into class indices; None scans the
    training files for them (one pass over their first fields), so
    ``num_classes`` is known at construction, as the command line needs.
    ``chunk_bytes``: the byte length of a chunk, the unit of reading and of
    sharding across ranks; memory holds one chunk (its text, then its CSR).
    ``uneven``: how ranks with different numbers of batches agree on one
    count per epoch, "pad" or "drop" (see the module docstring).
    ``zero_based``: whether column indices start at 0 (scikit-learn's
    ``dump_svmlight_file``) or at 1 (LIBSVM's own data sets); "auto" (the
    default, as scikit-learn's ``load_svmlight_file``) decides once for all the
    files, train, val and test together: 1-based unless a line names column 0.

    The training data are read in file order every epoch: streaming data
    larger than memory has no cheap random order; shuffle the shards (or the
    lines) when writing them.
    """

    def __init__(
        self,
        train: str,
        n_features: int,
        *,
        val: Optional[str] = None,
        test: Optional[str] = None,
        classes: Optional[List[float]] = None,
        batch_size: int = 256,
        chunk_bytes: int = 64 << 20,
        uneven: Uneven = "pad",
        zero_based: ZeroBased = "auto",
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
        if n_features < 1:
            raise ValueError(f"n_features: expected >= 1, got {n_features}")
        if chunk_bytes < 1:
            raise ValueError(f"chunk_bytes: expected >= 1, got {chunk_bytes}")
        if uneven not in ("pad", "drop"):
            raise ValueError(f"uneven: expected 'pad' or 'drop', got {uneven!r}")
        # Checked now (a missing file is an argument error, not a failure at
        # the first epoch); read by rank at setup.
        self.sources = {
            name: source for name, source in (("train", train), ("val", val), ("test", test)) if source is not None
        }
        paths = {name: _shards(name, source) for name, source in self.sources.items()}
        self.classes = sorted(float(c) for c in classes) if classes else scan_labels(paths["train"])
        if len(self.classes) < 2:
            raise ValueError(f"classes: expected at least 2 labels, got {self.classes}")
        self.in_features = n_features
        self.num_classes = len(self.classes)
        self.batch_size, self.chunk_bytes = batch_size, chunk_bytes
        self.paths = paths
        self.uneven = uneven
        self.zero_based = resolve_zero_based(zero_based, [path for split in paths.values() for path in split])
        self.datasets: dict = {}
        for split in ("val", "test"):
            if split not in self.sources:
                # The base class's loader reads as "no such data" to Lightning,
                # which then skips the loop (as TensorDataModule does).
                setattr(
                    self,
                    f"{split}_dataloader",
                    functools.partial(getattr(L.LightningDataModule, f"{split}_dataloader"), self),
                )

    def _batches(self, split: str, agree: Optional[str]) -> SvmlightBatches:
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        chunks = SvmlightChunks(
            self.sources[split],
            self.in_features,
            self.chunk_bytes,
            rank=rank,
            world_size=world,
            zero_based=self.zero_based,
        )
        batches = SvmlightBatches(chunks, self.classes, self.batch_size)
        if agree is not None and world > 1 and dist.is_available() and dist.is_initialized():
            steps = torch.tensor([batches.own_steps], dtype=torch.int64)
            dist.all_reduce(steps, op=dist.ReduceOp.MAX if agree == "pad" else dist.ReduceOp.MIN)
            batches.steps = int(steps)
        return batches

    def setup(self, stage: str) -> None:
        if stage == "fit":
            self.datasets["train"] = self._batches("train", self.uneven)
        if stage in ("fit", "validate") and "val" in self.sources:
            self.datasets["val"] = self._batches("val", "pad")
        if stage in ("test", "predict") and "test" in self.sources:
            self.datasets["test"] = self._batches("test", "pad")

    def _loader(self, split: str) -> DataLoader:
        return DataLoader(self.datasets[split], batch_size=None, collate_fn=_as_batch)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        if "test" not in self.sources:
            raise ValueError("test: predict reads the test files, and none were given (--data.test FILE_OR_DIR)")
        return self._loader("test")

    def n_samples(self, split: str) -> int:
        """The samples of ``split`` ("train", "val" or "test"; 0 where there
        is none), counted in one read of the bytes, without parsing."""
        if split not in self.paths:
            return 0
        return sum(count_rows(span) for span in plan(self.paths[split], self.chunk_bytes))


def _shards(name: str, source: str) -> List[str]:
    """shard_paths, its errors naming the argument ``name``."""
    try:
        return shard_paths(source)
    except (FileNotFoundError, ValueError) as err:
        raise type(err)(str(err).replace("source:", f"{name}:", 1)) from None
