"""Rows, the one thing a rule asks of its input: a row answers its dot product
with a weight row and ``w + step * x``. A dense row is ``x[i]``; a CSR row is
its ``(values, col_indices)`` and touches only those columns. So every rule is
one loop over rows, written once for dense and sparse ``x``."""

from typing import Any, List, Union

from torch import Tensor

from ..sparse import as_csr


class DenseRow:
    """``x[i]``, all ``in_features`` of it."""

    def __init__(self, x: Tensor):
        self.x = x

    def dot(self, w: Tensor) -> Tensor:
        return (self.x * w).sum()

    def add_to(self, w: Tensor, step) -> Tensor:
        """``w + step * x`` as a new row."""
        return w + step * self.x


class CSRRow:
    """Row ``i`` of a CSR matrix: its ``nnz_i`` values and (strictly increasing)
    columns; the other weights are never read nor written."""

    def __init__(self, values: Tensor, indices: Tensor):
        self.values, self.indices = values, indices.long()

    def dot(self, w: Tensor) -> Tensor:
        return (self.values * w[self.indices]).sum()

    def add_to(self, w: Tensor, step) -> Tensor:
        out = w.clone()
        out[self.indices] = w[self.indices] + step * self.values
        return out


Row = Union[DenseRow, CSRRow]


def dense_rows(x: Tensor) -> List[DenseRow]:
    return [DenseRow(x[i]) for i in range(x.shape[0])]


def csr_rows(x: Any, weight: Tensor) -> List[CSRRow]:
    """The rows of anything :func:`~torch_perceptron.sparse.as_csr` takes, in
    the weights' dtype, on their device."""
    rows = as_csr(x, weight.dtype, n_features=weight.shape[1]).to(device=weight.device)
    return [CSRRow(*rows.row(i)) for i in range(rows.n_rows)]


def rows_of(x: Any, weight: Tensor, csr: bool) -> List[Row]:
    return csr_rows(x, weight) if csr else dense_rows(x)
