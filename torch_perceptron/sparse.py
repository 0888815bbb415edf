"""Sparse input taken apart in one place: every sparse format a user may hand
the ops becomes one canonical CSR triplet, without ever making a dense copy.

The ops take the CSR's three dense tensors (``crow_indices``, ``col_indices``,
``values``) and the feature count; this module is the only code that knows about
``torch.sparse_csr`` / ``torch.sparse_coo`` tensors and ``scipy.sparse`` matrices
and arrays. What it returns is *canonical*: within each row the column indices
are strictly increasing. Duplicate entries mean what they mean in scipy and
torch, their sum, and are summed here (on a copy, only when the input has any),
because

* a kernel that scatters a row's update in parallel (CUDA lanes over the
  non-zeros, a SIMD scatter) is correct only when a row names each column once;
* "strictly increasing" is checked in the same O(nnz) pass that checks the
  range, with no scratch memory, where "unique" alone would need a marker per
  feature;
* ascending columns make the gathers into the weights walk forward in memory
  and sum in the dense kernel's feature order.

The structure (``crow_indices`` from 0 to nnz and non-decreasing, columns in
range and canonical) is validated here because the conversion depends on it
(summing duplicates on a broken ``indptr`` would read out of bounds). That the
values are finite is left to the op, which validates every call anyway and is
the contract; the conversion's result does not depend on it. Structure checks
run over blocks of non-zeros so their scratch memory stays bounded, whatever
the size of the matrix.
"""

from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

INDEX_DTYPES = (torch.int32, torch.int64)
FLOAT_DTYPES = (torch.float32, torch.float64)

# Non-zeros per validation block: bounds the check's scratch memory (a few
# bytes per entry) independently of the matrix.
_BLOCK = 1 << 20


@dataclass(frozen=True)
class CSRRows:
    """A sparse ``[n_rows, n_features]`` matrix as canonical CSR.

    ``crow_indices`` ``[n_rows + 1]`` and ``col_indices`` ``[nnz]`` share one
    integer dtype (int32 or int64); ``values`` ``[nnz]`` is float32 or float64;
    all three are contiguous and on one device. Row ``i`` holds
    ``values[crow[i]:crow[i+1]]`` at columns ``col_indices[crow[i]:crow[i+1]]``,
    strictly increasing. Build it with :func:`as_csr`, which validates.
    """

    crow_indices: Tensor
    col_indices: Tensor
    values: Tensor
    n_features: int

    @property
    def n_rows(self) -> int:
        return self.crow_indices.shape[0] - 1

    @property
    def shape(self) -> Tuple[int, int]:
        return (self.n_rows, self.n_features)

    @property
    def nnz(self) -> int:
        return self.values.shape[0]

    @property
    def dtype(self) -> torch.dtype:
        return self.values.dtype

    @property
    def index_dtype(self) -> torch.dtype:
        return self.col_indices.dtype

    @property
    def device(self) -> torch.device:
        return self.values.device

    @property
    def nbytes(self) -> int:
        """Bytes held by the three tensors: the floor of any copy of this data."""
        return sum(t.numel() * t.element_size() for t in self.tensors())

    def tensors(self) -> Tuple[Tensor, Tensor, Tensor]:
        """``(crow_indices, col_indices, values)``, the order the ops take."""
        return self.crow_indices, self.col_indices, self.values

    def row(self, i: int) -> Tuple[Tensor, Tensor]:
        """``(values, col_indices)`` of row ``i``: views, ``nnz_i`` long."""
        lo, hi = int(self.crow_indices[i]), int(self.crow_indices[i + 1])
        return self.values[lo:hi], self.col_indices[lo:hi]

    def rows(self, start: int, stop: int) -> "CSRRows":
        """Rows ``[start, stop)`` as a new ``CSRRows``: views of ``values`` and
        ``col_indices``, a rebased copy of the ``stop - start + 1`` row offsets."""
        if not 0 <= start <= stop <= self.n_rows:
            raise IndexError(f"rows [{start}, {stop}) out of range for {self.n_rows} rows")
        crow = self.crow_indices[start : stop + 1]
        lo, hi = int(crow[0]), int(crow[-1])
        return CSRRows(crow - lo, self.col_indices[lo:hi], self.values[lo:hi], self.n_features)

    def to(self, *args, dtype: Optional[torch.dtype] = None, device=None, non_blocking: bool = False) -> "CSRRows":
        """Values in ``dtype`` and everything on ``device`` (copies only what
        changes). As ``Tensor.to``, a dtype and a device may also come
        positionally, so Lightning moves a batch of CSR rows as it moves tensors."""
        for arg in args:
            if isinstance(arg, torch.dtype):
                dtype = arg
            else:
                device = arg
        if non_blocking:
            return CSRRows(
                self.crow_indices.to(device=device, non_blocking=True),
                self.col_indices.to(device=device, non_blocking=True),
                self.values.to(dtype=dtype, device=device, non_blocking=True),
                self.n_features,
            )
        return CSRRows(
            self.crow_indices.to(device=device),
            self.col_indices.to(device=device),
            self.values.to(dtype=dtype, device=device),
            self.n_features,
        )

    def to_scipy(self):
        """A ``scipy.sparse.csr_array`` sharing memory with this one (CPU only)."""
        import scipy.sparse

        return scipy.sparse.csr_array(
            (self.values.numpy(), self.col_indices.numpy(), self.crow_indices.numpy()),
            shape=self.shape,
            copy=False,
        )


def is_sparse(x: Any) -> bool:
    """Whether :func:`as_csr` takes ``x`` as sparse input (a torch sparse CSR or
    COO tensor, a scipy.sparse matrix or array, or a :class:`CSRRows`)."""
    if isinstance(x, CSRRows):
        return True
    if isinstance(x, Tensor):
        return x.layout in (torch.sparse_csr, torch.sparse_coo)
    return _is_scipy_sparse(x)


def _is_scipy_available() -> bool:
    try:
        import scipy.sparse  # noqa: F401
    except ImportError:
        return False
    return True


def _is_scipy_sparse(x: Any) -> bool:
    try:
        import scipy.sparse
    except ImportError:  # scipy absent: nothing can be a scipy matrix
        return False
    return scipy.sparse.issparse(x)


def as_csr(
    x: Any,
    dtype: Optional[torch.dtype] = None,
    *,
    n_features: Optional[int] = None,
    name: str = "x",
) -> CSRRows:
    """Take a sparse ``[n_rows, n_features]`` input apart into a canonical, validated
    :class:`CSRRows`.

    ``x``: a ``torch.sparse_csr`` tensor, a ``torch.sparse_coo`` tensor (converted
    to CSR once), a ``scipy.sparse`` CSR / CSC / COO matrix or array (CSC and COO
    converted to CSR once), or a ``CSRRows``. Never densified.

    ``dtype``: the values' float dtype; ``None`` keeps float32 / float64 as given
    and turns anything else into float32. Indices keep their dtype (int32 or
    int64; both are made int64 if the two differ).

    ``n_features``: when given, ``x`` must have that many columns.

    The result shares memory with ``x`` when ``x`` is already canonical CSR
    with contiguous arrays of the requested dtype; otherwise it is one new CSR
    (duplicates summed, columns sorted). Errors name ``name``.
    """
    if dtype is not None and dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype: expected torch.float32 or torch.float64, got {dtype}")
    if isinstance(x, CSRRows):
        crow, col, values, shape = x.crow_indices, x.col_indices, x.values, x.shape
        canonical = None
    elif isinstance(x, Tensor):
        crow, col, values, shape, canonical = _from_torch(x, name)
    elif _is_scipy_sparse(x):
        crow, col, values, shape, canonical = _from_scipy(x, name)
    else:
        raise TypeError(
            f"{name}: expected a sparse matrix (torch sparse CSR/COO tensor or "
            f"scipy.sparse CSR/CSC/COO), got {type(x).__name__}"
        )
    if n_features is not None and shape[1] != n_features:
        raise ValueError(f"{name}: expected {n_features} features (columns), got {shape[1]}")

    crow, col = _index_tensors(crow, col, name)
    if dtype is None:
        dtype = values.dtype if values.dtype in FLOAT_DTYPES else torch.float32
    if values.dtype.is_complex:
        raise TypeError(f"{name}: values must be real numbers, got {values.dtype}")
    values = values.to(dtype).contiguous()
    if values.dim() != 1:
        raise ValueError(f"{name}: values must be 1-D (no dense dimensions), got {tuple(values.shape)}")

    _check_structure(crow, col, values, shape, name)
    if canonical is None:
        canonical = _is_canonical(crow, col)
    if not canonical:
        crow, col, values = _canonicalize(crow, col, values, shape)
    return CSRRows(crow, col, values, int(shape[1]))


def _from_torch(x: Tensor, name: str):
    if x.layout == torch.sparse_coo:
        if x.sparse_dim() != 2 or x.dense_dim() != 0:
            raise ValueError(
                f"{name}: expected a 2-D sparse COO tensor, got sparse_dim={x.sparse_dim()}, dense_dim={x.dense_dim()}"
            )
        # coalesce sums duplicates and sorts, so the CSR made from it is canonical.
        x = x.coalesce().to_sparse_csr()
        return x.crow_indices(), x.col_indices(), x.values(), tuple(x.shape), True
    if x.layout != torch.sparse_csr:
        raise TypeError(
            f"{name}: expected a sparse CSR or COO tensor, got layout {x.layout}; dense tensors go to the dense ops"
        )
    if x.dim() != 2:
        raise ValueError(f"{name}: expected a 2-D sparse CSR tensor, got {x.dim()} dimensions")
    return x.crow_indices(), x.col_indices(), x.values(), tuple(x.shape), None


def _from_scipy(x, name: str):
    fmt = x.format
    if fmt not in ("csr", "csc", "coo"):
        raise TypeError(f"{name}: expected scipy.sparse CSR, CSC or COO, got format {fmt!r}")
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D sparse matrix, got {x.ndim} dimensions")
    canonical = None
    if fmt != "csr":
        # COO -> CSR sums duplicates; CSC -> CSR sorts but may keep duplicates,
        # which the canonical check below finds.
        x = x.tocsr()
    data = x.data
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{name}: values must be real numbers, got {data.dtype}")
    return (
        torch.from_numpy(np.ascontiguousarray(x.indptr)),
        torch.from_numpy(np.ascontiguousarray(x.indices)),
        torch.from_numpy(np.ascontiguousarray(data)),
        tuple(int(s) for s in x.shape),
        canonical,
    )


def _index_tensors(crow: Tensor, col: Tensor, name: str) -> Tuple[Tensor, Tensor]:
    for arg, t in (("crow_indices", crow), ("col_indices", col)):
        if t.dtype not in INDEX_DTYPES:
            raise TypeError(f"{name}: {arg} must be int32 or int64, got {t.dtype}")
        if t.dim() != 1:
            raise ValueError(f"{name}: {arg} must be 1-D, got {tuple(t.shape)}")
    if crow.dtype != col.dtype:
        crow, col = crow.to(torch.int64), col.to(torch.int64)
    return crow.contiguous(), col.contiguous()


def _check_structure(crow: Tensor, col: Tensor, values: Tensor, shape, name: str) -> None:
    n_rows, n_features = int(shape[0]), int(shape[1])
    nnz = col.shape[0]
    if n_features < 0 or n_rows < 0:
        raise ValueError(f"{name}: shape must be non-negative, got {tuple(shape)}")
    if values.shape[0] != nnz:
        raise ValueError(
            f"{name}: values and col_indices must have one entry per non-zero, got {values.shape[0]} and {nnz}"
        )
    if not (values.device == col.device == crow.device):
        raise ValueError(
            f"{name}: crow_indices, col_indices and values must be on one device, got "
            f"{crow.device}, {col.device}, {values.device}"
        )
    if crow.shape[0] != n_rows + 1:
        raise ValueError(f"{name}: crow_indices must have n_rows + 1 = {n_rows + 1} entries, got {crow.shape[0]}")
    first, last = int(crow[0]), int(crow[-1])
    if first != 0:
        raise ValueError(f"{name}: crow_indices must start at 0, got {first}")
    if last != nnz:
        raise ValueError(f"{name}: crow_indices must end at nnz = {nnz}, got {last}")
    for lo in range(0, n_rows, _BLOCK):
        block = crow[lo : lo + _BLOCK + 1]
        if bool((block[1:] < block[:-1]).any()):
            bad = lo + int((block[1:] < block[:-1]).nonzero()[0])
            raise ValueError(
                f"{name}: crow_indices must be non-decreasing, but crow_indices[{bad + 1}] = "
                f"{int(crow[bad + 1])} < crow_indices[{bad}] = {int(crow[bad])}"
            )
    if nnz:
        # One pass for both ends (min and max apart read col twice).
        lo_col, hi_col = (int(v) for v in torch.aminmax(col))
        if lo_col < 0 or hi_col >= n_features:
            raise ValueError(f"{name}: col_indices must lie in [0, {n_features}), got values in [{lo_col}, {hi_col}]")


def _is_canonical(crow: Tensor, col: Tensor) -> bool:
    """Whether every row's columns strictly increase: one pass over blocks of
    non-zeros, comparing each entry with the one before it unless a row starts
    there. Assumes the structure has been checked (scipy's check, used on the
    CPU, reads ``col`` at the offsets ``crow`` names)."""
    nnz = col.shape[0]
    if crow.device.type == "cpu" and _is_scipy_available():
        # scipy's own C loop answers the same question (sorted, no duplicates)
        # in one pass at memory speed, far faster than the blocks below, which
        # were most of a sparse fit's overhead (BENCHMARKS.md).
        import scipy.sparse

        no_values = np.lib.stride_tricks.as_strided(np.zeros(1, np.int8), shape=(nnz,), strides=(0,))
        m = scipy.sparse.csr_array(
            (no_values, col.numpy(), crow.numpy()),
            # Any width past the largest column will do.
            shape=(crow.shape[0] - 1, torch.iinfo(col.dtype).max),
            copy=False,
        )
        return bool(m.has_canonical_format)
    for lo in range(1, nnz, _BLOCK):
        hi = min(lo + _BLOCK, nnz)
        rising = col[lo:hi] > col[lo - 1 : hi - 1]
        if bool(rising.all()):
            continue
        # Entries that open a row are compared with nothing: mark them rising.
        starts = crow[torch.searchsorted(crow, lo) : torch.searchsorted(crow, hi)]
        rising[(starts - lo).long()] = True
        if not bool(rising.all()):
            return False
    return True


def _canonicalize(crow: Tensor, col: Tensor, values: Tensor, shape):
    """Sum duplicates and sort columns, on a copy: scipy does both in one O(nnz)
    pass. Indices come back in their own dtype (summing only shrinks nnz)."""
    import scipy.sparse

    device, index_dtype = values.device, col.dtype
    m = scipy.sparse.csr_array((values.cpu().numpy(), col.cpu().numpy(), crow.cpu().numpy()), shape=shape, copy=True)
    m.sum_duplicates()
    return (
        torch.from_numpy(m.indptr).to(device=device, dtype=index_dtype),
        torch.from_numpy(m.indices).to(device=device, dtype=index_dtype),
        torch.from_numpy(m.data).to(device=device),
    )
