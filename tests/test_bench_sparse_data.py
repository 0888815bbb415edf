"""The RCV1-shaped sparse benchmark data: canonical CSR of the requested shape,
deterministic from its seed, labelled by a planted model that a linear rule can
mostly (not wholly) recover, and the read floor over it."""

import numpy as np
import torch

from benchmarks.data import (
    read_floor_seconds,
    sparse_rows,
    sparse_teacher_binary,
    sparse_teacher_multiclass,
)
from torch_perceptron.sparse import as_csr


def test_rows_are_canonical_rcv1_shaped_and_deterministic():
    x = sparse_rows(2000, n_features=1 << 18, nnz=(50, 80), seed=3)
    assert x.shape == (2000, 1 << 18) and x.dtype == torch.float32
    assert x.index_dtype == torch.int32
    as_csr(x)  # validates: offsets, range, strictly increasing columns
    counts = torch.diff(x.crow_indices)
    assert counts.max() <= 80 and counts.min() >= 1
    assert 45 <= counts.float().mean() <= 80
    norms = torch.zeros(2000, dtype=torch.float64).index_add_(
        0, torch.repeat_interleave(torch.arange(2000), counts), x.values.double() ** 2
    )
    torch.testing.assert_close(norms, torch.ones(2000, dtype=torch.float64), rtol=1e-5, atol=0)
    # Zipf: a few columns are in many rows, most in few.
    df = np.bincount(x.col_indices.numpy(), minlength=1 << 18)
    assert df.max() > 1000 and np.median(df) <= 1
    again = sparse_rows(2000, n_features=1 << 18, nnz=(50, 80), seed=3)
    assert all(torch.equal(a, b) for a, b in zip(x.tensors(), again.tensors()))
    other = sparse_rows(2000, n_features=1 << 18, nnz=(50, 80), seed=4)
    assert not torch.equal(x.col_indices[:50], other.col_indices[:50])


def test_labels_from_the_planted_model():
    b = sparse_teacher_binary(6000, n_features=1 << 12, seed=1, dtype=torch.float64)
    assert b.x.dtype == torch.float64 and b.y.dtype == torch.float64
    assert abs(b.y.mean().item() - 0.3) < 0.01
    m = sparse_teacher_multiclass(3000, k=20, n_features=1 << 12, seed=1)
    assert m.onehot.shape == (3000, 20) and torch.equal(m.onehot.argmax(1), m.labels)
    assert torch.bincount(m.labels, minlength=20).min() > 0
    # Learnable but noisy: a linear model predicts held-out labels well above
    # the 70 % of always saying 0, yet not all of them.
    from sklearn.linear_model import Perceptron

    x, y = b.x.to_scipy(), b.y.numpy()
    clf = Perceptron(max_iter=20, tol=None, random_state=0).fit(x[:4000], y[:4000])
    assert 0.74 < clf.score(x[4000:], y[4000:]) < 0.99


def test_read_floor_is_a_positive_time():
    x = sparse_rows(100, n_features=1 << 10, seed=0)
    assert 0 < read_floor_seconds(x, repeats=2) < float("inf")
