"""torch_perceptron.sparse.as_csr: every sparse format becomes one canonical,
validated CSR triplet, sharing memory where it can and never densified."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_perceptron import sparse
from torch_perceptron.sparse import CSRRows, as_csr, is_sparse


def random_csr(n, d, density, seed, index_dtype=np.int32, dtype=np.float64):
    rng = np.random.default_rng(seed)
    m = sp.random(n, d, density=density, format="csr", random_state=rng, dtype=dtype)
    m.indices = m.indices.astype(index_dtype)
    m.indptr = m.indptr.astype(index_dtype)
    return m


def assert_matches(rows: CSRRows, m):
    """``rows`` holds exactly scipy's canonical CSR of ``m``."""
    want = sp.csr_array(m, copy=True)
    want.sum_duplicates()
    assert rows.shape == want.shape
    np.testing.assert_array_equal(rows.crow_indices.numpy(), want.indptr)
    np.testing.assert_array_equal(rows.col_indices.numpy(), want.indices)
    np.testing.assert_array_equal(rows.values.numpy(), want.data.astype(rows.values.numpy().dtype))


FORMATS = {
    "scipy-csr_matrix": lambda m: sp.csr_matrix(m),
    "scipy-csr_array": lambda m: sp.csr_array(m),
    "scipy-csc_matrix": lambda m: sp.csc_matrix(m),
    "scipy-csc_array": lambda m: sp.csc_array(m),
    "scipy-coo_matrix": lambda m: sp.coo_matrix(m),
    "scipy-coo_array": lambda m: sp.coo_array(m),
    "torch-csr": lambda m: torch.sparse_csr_tensor(
        torch.from_numpy(m.indptr), torch.from_numpy(m.indices), torch.from_numpy(m.data), m.shape
    ),
    "torch-coo": lambda m: torch.sparse_csr_tensor(
        torch.from_numpy(m.indptr), torch.from_numpy(m.indices), torch.from_numpy(m.data), m.shape
    ).to_sparse_coo(),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_format_gives_the_canonical_triplet(fmt, index_dtype, dtype):
    m = random_csr(30, 50, 0.1, seed=1, index_dtype=index_dtype)
    m.data[m.indptr[3] : m.indptr[4]] = 0  # an empty row among the others
    m.eliminate_zeros()
    rows = as_csr(FORMATS[fmt](m), dtype)
    assert rows.dtype == dtype
    assert rows.n_features == 50 and rows.n_rows == 30 and rows.nnz == m.nnz
    assert rows.crow_indices.dtype == rows.col_indices.dtype
    if fmt in ("scipy-csr_matrix", "scipy-csr_array", "torch-csr"):
        # Canonical CSR keeps its index dtype.
        assert rows.index_dtype == torch.from_numpy(m.indices).dtype
    assert all(t.is_contiguous() for t in rows.tensors())
    assert_matches(rows, m)
    assert is_sparse(FORMATS[fmt](m))


def test_canonical_input_is_shared_not_copied():
    m = random_csr(20, 40, 0.2, seed=2, dtype=np.float32)
    rows = as_csr(m)
    assert rows.values.data_ptr() == m.data.ctypes.data
    assert rows.col_indices.data_ptr() == m.indices.ctypes.data
    assert rows.crow_indices.data_ptr() == m.indptr.ctypes.data
    t = torch.sparse_csr_tensor(
        torch.from_numpy(m.indptr), torch.from_numpy(m.indices), torch.from_numpy(m.data), m.shape
    )
    rows = as_csr(t)
    assert rows.values.data_ptr() == t.values().data_ptr()
    assert rows.col_indices.data_ptr() == t.col_indices().data_ptr()
    # Asking for float64 copies the values only.
    rows64 = as_csr(m, torch.float64)
    assert rows64.col_indices.data_ptr() == m.indices.ctypes.data
    assert rows64.dtype == torch.float64


def test_values_dtype_defaults():
    m = random_csr(5, 6, 0.5, seed=3, dtype=np.float64)
    assert as_csr(m).dtype == torch.float64
    ints = sp.csr_array((np.array([1, 2], dtype=np.int64), np.array([0, 3]), np.array([0, 1, 2])), shape=(2, 4))
    rows = as_csr(ints)
    assert rows.dtype == torch.float32
    np.testing.assert_array_equal(rows.values.numpy(), [1.0, 2.0])
    with pytest.raises(TypeError, match="dtype"):
        as_csr(m, torch.int32)


def test_duplicates_are_summed_and_columns_sorted_on_a_copy():
    # Row 0: columns 4, 1, 4 (unsorted, 4 twice); row 1 empty; row 2: 2, 2.
    data = np.array([1.0, 2.0, 0.5, 3.0, 4.0])
    indices = np.array([4, 1, 4, 2, 2], dtype=np.int32)
    indptr = np.array([0, 3, 3, 5], dtype=np.int32)
    m = sp.csr_matrix((data.copy(), indices.copy(), indptr.copy()), shape=(3, 5))
    for x in (
        m,
        torch.sparse_csr_tensor(torch.from_numpy(indptr), torch.from_numpy(indices), torch.from_numpy(data), (3, 5)),
    ):
        rows = as_csr(x)
        np.testing.assert_array_equal(rows.crow_indices.numpy(), [0, 2, 2, 3])
        np.testing.assert_array_equal(rows.col_indices.numpy(), [1, 4, 2])
        np.testing.assert_array_equal(rows.values.numpy(), [2.0, 1.5, 7.0])
        assert rows.index_dtype == torch.int32
    # The caller's matrix is left as it was.
    np.testing.assert_array_equal(m.indices, indices)
    np.testing.assert_array_equal(m.data, data)
    # Summing duplicates never changes what the matrix means.
    np.testing.assert_array_equal(as_csr(m).to_scipy().toarray(), m.toarray())


def test_coo_duplicates_are_summed():
    coo = torch.sparse_coo_tensor(torch.tensor([[1, 0, 1], [2, 3, 2]]), torch.tensor([1.0, 2.0, 3.0]), (2, 4))
    rows = as_csr(coo)
    np.testing.assert_array_equal(rows.crow_indices.numpy(), [0, 1, 2])
    np.testing.assert_array_equal(rows.col_indices.numpy(), [3, 2])
    np.testing.assert_array_equal(rows.values.numpy(), [2.0, 4.0])


def raw(crow, col, values, shape):
    """A torch CSR tensor built without torch's own checks, as a user may."""
    return torch.sparse_csr_tensor(
        torch.tensor(crow),
        torch.tensor(col),
        torch.tensor(values, dtype=torch.float32),
        shape,
        check_invariants=False,
    )


@pytest.mark.parametrize(
    "x, message",
    [
        (raw([1, 2, 3], [0, 1, 2], [1.0, 1.0, 1.0], (2, 4)), "crow_indices must start at 0, got 1"),
        (raw([0, 2, 2], [0, 1, 2], [1.0, 1.0, 1.0], (2, 4)), "crow_indices must end at nnz = 3, got 2"),
        (
            raw([0, 3, 2, 3], [0, 1, 2], [1.0, 1.0, 1.0], (3, 4)),
            r"crow_indices must be non-decreasing, but crow_indices\[2\] = 2 < crow_indices\[1\] = 3",
        ),
        (raw([0, 1, 3], [0, 1, 4], [1.0, 1.0, 1.0], (2, 4)), r"col_indices must lie in \[0, 4\)"),
        (raw([0, 1, 3], [0, -1, 2], [1.0, 1.0, 1.0], (2, 4)), r"col_indices must lie in \[0, 4\)"),
        (torch.ones(2, 3), "expected a sparse CSR or COO tensor"),
        (np.ones((2, 3)), "expected a sparse matrix"),
        (sp.dia_matrix(np.eye(3)), "expected scipy.sparse CSR, CSC or COO"),
    ],
)
def test_invalid_input_is_rejected_naming_the_argument(x, message):
    with pytest.raises((ValueError, TypeError), match="^features: " + message):
        as_csr(x, name="features")


def test_shapes_must_agree():
    m = random_csr(4, 6, 0.5, seed=4)
    with pytest.raises(ValueError, match="x: expected 7 features"):
        as_csr(m, n_features=7)
    assert as_csr(m, n_features=6).n_features == 6
    bad = CSRRows(torch.tensor([0, 1, 2]), torch.tensor([0, 1]), torch.tensor([1.0]), 3)
    with pytest.raises(ValueError, match="one entry per non-zero"):
        as_csr(bad)
    bad = CSRRows(torch.tensor([0, 1]), torch.tensor([0, 1], dtype=torch.int16), torch.tensor([1.0, 1.0]), 3)
    with pytest.raises(TypeError, match="col_indices must be int32 or int64"):
        as_csr(bad)


def test_empty_matrices():
    for shape in [(0, 5), (3, 5), (3, 0)]:
        rows = as_csr(sp.csr_array(shape, dtype=np.float32))
        assert rows.shape == shape and rows.nnz == 0
        assert rows.crow_indices.tolist() == [0] * (shape[0] + 1)


def test_rows_slices_share_memory():
    m = random_csr(40, 30, 0.2, seed=5)
    rows = as_csr(m)
    part = rows.rows(7, 19)
    np.testing.assert_array_equal(part.to_scipy().toarray(), m[7:19].toarray())
    assert part.values.data_ptr() == rows.values[int(rows.crow_indices[7]) :].data_ptr()
    v, j = rows.row(7)
    np.testing.assert_array_equal(v.numpy(), m[[7]].data)
    np.testing.assert_array_equal(j.numpy(), m[[7]].indices)
    with pytest.raises(IndexError):
        rows.rows(5, 41)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 12),
    d=st.integers(1, 9),
    density=st.floats(0.0, 1.0),
    dup=st.booleans(),
    shuffle=st.booleans(),
    block=st.sampled_from([1, 2, 3, 1 << 20]),
    seed=st.integers(0, 2**32 - 1),
)
def test_canonical_check_and_sum_on_random_layouts(n, d, density, dup, shuffle, block, seed):
    """Across tiny validation blocks too, so the checks' block seams are crossed:
    the result always equals scipy's canonical form, and canonical input is kept."""
    rng = np.random.default_rng(seed)
    m = random_csr(n, d, density, seed)
    indptr, indices, data = m.indptr.copy(), m.indices.copy(), m.data.copy()
    if dup and m.nnz:
        # Repeat some entries inside their own rows.
        rows_of = np.repeat(np.arange(n), np.diff(indptr))
        extra = rng.integers(0, m.nnz, size=rng.integers(1, m.nnz + 1))
        r = np.concatenate([rows_of, rows_of[extra]])
        c = np.concatenate([indices, indices[extra]])
        v = np.concatenate([data, data[extra]])
        order = np.argsort(r, kind="stable")
        r, c, v = r[order], c[order], v[order]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=n))]).astype(np.int32)
        indices, data = c.astype(np.int32), v
    if shuffle:
        for i in range(n):
            lo, hi = indptr[i], indptr[i + 1]
            p = lo + rng.permutation(hi - lo)
            indices[lo:hi], data[lo:hi] = indices[p], data[p]
    x = torch.sparse_csr_tensor(
        torch.from_numpy(indptr), torch.from_numpy(indices), torch.from_numpy(data), (n, d), check_invariants=False
    )
    old = sparse._BLOCK
    sparse._BLOCK = block
    try:
        rows = as_csr(x)
    finally:
        sparse._BLOCK = old
    want = sp.csr_array((data, indices, indptr), shape=(n, d))
    assert_matches(rows, want)
    canonical = sp.csr_array((data, indices, indptr), shape=(n, d)).has_canonical_format
    if canonical:
        assert rows.values.data_ptr() == x.values().data_ptr() or rows.nnz == 0
