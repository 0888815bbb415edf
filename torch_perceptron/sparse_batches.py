"""Batches of sparse rows: picking rows of a :class:`~torch_perceptron.sparse.CSRRows`
by index, joining row blocks, and the collate function and dataset that let a
``torch.utils.data.DataLoader`` hand out CSR batches.

Everything here works on the CSR's three tensors with vectorised index
arithmetic (no loop over rows in Python) and copies only the non-zeros of the
rows it picks: a batch costs what its rows hold, never ``rows x n_features``.
Picking and joining keep every row's columns as they were, so canonical input
gives canonical batches (the ops' contract), and the index dtype is kept.
"""

from typing import Any, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from .sparse import CSRRows, as_csr

Index = Union[Tensor, np.ndarray, Sequence[int]]


def take_rows(x: CSRRows, index: Index) -> CSRRows:
    """Rows ``index`` of ``x`` (in that order, repeats allowed) as a new
    ``CSRRows`` on x's device."""
    crow, col, values = x.tensors()
    idx = torch.as_tensor(
        np.asarray(index) if not isinstance(index, Tensor) else index, dtype=torch.int64, device=crow.device
    ).reshape(-1)
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= x.n_rows):
        raise IndexError(f"index: rows must lie in [0, {x.n_rows}), got [{int(idx.min())}, {int(idx.max())}]")
    if crow.device.type == "cpu":
        return _take_rows_numpy(x, idx.numpy())
    starts = crow.index_select(0, idx).to(torch.int64)
    lengths = crow.index_select(0, idx + 1).to(torch.int64) - starts
    new_crow = torch.zeros(idx.numel() + 1, dtype=torch.int64, device=crow.device)
    torch.cumsum(lengths, 0, out=new_crow[1:])
    nnz = int(new_crow[-1])
    # Position j of the batch reads entry starts[r] + (j - new_crow[r]) of x,
    # r being the batch row that j falls in.
    shift = torch.repeat_interleave(starts - new_crow[:-1], lengths, output_size=nnz)
    source = torch.arange(nnz, device=crow.device) + shift
    return CSRRows(new_crow.to(crow.dtype), col.index_select(0, source), values.index_select(0, source), x.n_features)


def _take_rows_numpy(x: CSRRows, idx: np.ndarray) -> CSRRows:
    """take_rows on the CPU, in numpy: the same arithmetic on one thread. (A
    torch op per step starts torch's thread pool each time: on a busy machine,
    gathering the rows of a partial_fit chunk took longer than the update
    itself.)"""
    crow, col, values = (t.numpy() for t in x.tensors())
    starts = crow[idx].astype(np.int64)
    lengths = crow[idx + 1].astype(np.int64) - starts
    new_crow = np.zeros(idx.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_crow[1:])
    nnz = int(new_crow[-1])
    source = np.arange(nnz, dtype=np.int64) + np.repeat(starts - new_crow[:-1], lengths)
    return CSRRows(
        torch.from_numpy(new_crow.astype(crow.dtype, copy=False)),
        torch.from_numpy(np.take(col, source)),
        torch.from_numpy(np.take(values, source)),
        x.n_features,
    )


def concat_rows(parts: Sequence[CSRRows]) -> CSRRows:
    """The rows of ``parts`` one after the other (one dtype, one feature count)."""
    if not parts:
        raise ValueError("parts: expected at least one CSRRows, got none")
    if len(parts) == 1:
        return parts[0]
    n_features = parts[0].n_features
    for p in parts:
        if p.n_features != n_features:
            raise ValueError(f"parts: expected {n_features} features in every part, got {p.n_features}")
    index_dtype = torch.int64 if any(p.index_dtype == torch.int64 for p in parts) else torch.int32
    offsets = np.cumsum([0] + [p.nnz for p in parts])
    crow = torch.cat(
        [parts[0].crow_indices[:1].to(index_dtype)]
        + [(p.crow_indices[1:].to(torch.int64) + int(o)).to(index_dtype) for p, o in zip(parts, offsets[:-1])]
    )
    col = torch.cat([p.col_indices.to(index_dtype) for p in parts])
    values = torch.cat([p.values for p in parts])
    return CSRRows(crow, col, values, n_features)


def collate_csr(batch: Sequence[Tuple[Any, Tensor]]) -> Tuple[CSRRows, Tensor]:
    """A ``DataLoader`` ``collate_fn`` for ``(x, y)`` items whose ``x`` is sparse
    (a ``CSRRows`` of one or more rows, or anything
    :func:`~torch_perceptron.sparse.as_csr` takes): the rows joined into one
    ``CSRRows`` batch and the labels concatenated (0-d labels stacked)."""
    xs = [x if isinstance(x, CSRRows) else as_csr(x) for x, _ in batch]
    ys = [torch.as_tensor(y) for _, y in batch]
    y = torch.stack(ys) if all(t.dim() == 0 for t in ys) else torch.cat([t.reshape(-1) for t in ys])
    return concat_rows(xs), y


class CSRDataset(Dataset):
    """Sparse samples ``x [N, n_features]`` and labels ``y [N]`` as a map-style
    dataset: item ``i`` is ``(row i as a one-row CSRRows, y[i])``.

    Use it with ``collate_fn=collate_csr``. A ``DataLoader`` with a batch size
    fetches a whole batch through ``__getitems__`` in one gather (a one-element
    list that ``collate_csr`` passes through), so any sampler
    (``DistributedSampler`` included) works at the cost of the batch's
    non-zeros, not one Python call per row.
    """

    def __init__(self, x: Any, y: Tensor) -> None:
        self.x = as_csr(x, name="x")
        self.y = torch.as_tensor(y)
        if self.y.shape[0] != self.x.n_rows:
            raise ValueError(f"y: expected {self.x.n_rows} labels (one per row of x), got {self.y.shape[0]}")

    def __len__(self) -> int:
        return self.x.n_rows

    def __getitem__(self, i: int) -> Tuple[CSRRows, Tensor]:
        return self.x.rows(i, i + 1), self.y[i]

    def __getitems__(self, indices: Sequence[int]) -> list:
        idx = torch.as_tensor(list(indices), dtype=torch.int64)
        return [(take_rows(self.x, idx), self.y.index_select(0, idx))]
