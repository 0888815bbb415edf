"""The layer's weight layout for sparse rows (PerceptronLayer._keep_layout):
feature-major while sparse rows feed the plain one-vs-rest or multiclass
rule on the CPU, updated in place by the ops, row-major otherwise; the same
results as the reference rule either way, and as the other layout's loops."""

import pytest
import torch

from support import dyadic, gen
from torch_perceptron import PerceptronLayer, ops, reference
from torch_perceptron.sparse import CSRRows


def sparse_rows(n, d, g, nnz=5, dtype=torch.float64, dyadic_values=True):
    cols = torch.stack([torch.randperm(d, generator=g)[:nnz].sort().values for _ in range(n)])
    if dyadic_values:
        vals = dyadic((n, nnz), g, dtype=dtype)
    else:
        vals = torch.randn(n, nnz, generator=g, dtype=dtype)
    crow = torch.arange(0, (n + 1) * nnz, nnz, dtype=torch.int64)
    dense = torch.zeros(n, d, dtype=dtype)
    dense.scatter_(1, cols, vals)
    return CSRRows(crow, cols.reshape(-1).contiguous(), vals.reshape(-1).contiguous(), d), dense


def is_feature_major(w):
    return not w.is_contiguous() and w.stride(0) == 1


@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("k", [3, 17, 58])
def test_sparse_stream_keeps_feature_major_weights_and_the_rule(multiclass, k):
    g = gen(21)
    n, d = 120, 300
    rows, dense = sparse_rows(n, d, g)
    if multiclass:
        y = torch.randint(0, k, (n,), generator=g)
    else:
        y = (torch.rand(n, k, generator=g) < 0.3).to(torch.float64)
    layer = PerceptronLayer(d, k, multiclass=multiclass, dtype=torch.float64)
    for start in range(0, n, 7):  # a stream of small calls
        part = slice(start, min(n, start + 7))
        lo, hi = rows.crow_indices[part.start], rows.crow_indices[part.stop]
        chunk = CSRRows(
            rows.crow_indices[part.start : part.stop + 1] - lo, rows.col_indices[lo:hi], rows.values[lo:hi], d
        )
        layer.update(chunk, y[part])
        assert is_feature_major(layer.weight)
        # padded to whole cache lines, as the op updates them in place
        assert layer.weight.stride(1) * layer.weight.element_size() % 64 == 0
    w0 = torch.zeros(k, d, dtype=torch.float64)
    b0 = torch.zeros(k, dtype=torch.float64)
    rule = reference.multiclass_update if multiclass else reference.online_update
    w_ref, b_ref, _ = rule(w0, b0, dense, y)
    assert torch.equal(layer.weight, w_ref) and torch.equal(layer.bias, b_ref)
    # The sparse forward reads the feature-major weights as they are.
    assert torch.equal(layer.decision_function(rows), dense @ w_ref.T + b_ref)
    # A dense update turns them row-major, with the same values.
    before = layer.weight.clone()
    layer.update(dense[:0], y[:0])
    assert layer.weight.is_contiguous() and torch.equal(layer.weight, before)
    # state_dict carries the values whatever the layout.
    fresh = PerceptronLayer(d, k, multiclass=multiclass, dtype=torch.float64)
    fresh.load_state_dict(layer.state_dict())
    assert torch.equal(fresh.weight, before)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_multiclass_in_place_gives_the_feature_major_copy_bits(dtype):
    """Continuous values, where the order of additions shows: the in-place
    loop adds as the feature-major copy's loop does."""
    g = gen(22)
    n, d, k = 200, 40, 9
    rows, _ = sparse_rows(n, d, g, nnz=7, dtype=dtype, dyadic_values=False)
    y = torch.randint(0, k, (n,), generator=g)
    w_rm, b_rm = torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype)
    ops.multiclass_update_csr(w_rm, b_rm, *rows.tensors(), d, y)  # 2 nnz >= d: the copy
    padded = torch.zeros(d, 16, dtype=dtype)
    w_fm, b_fm = padded[:, :k].t(), torch.zeros(k, dtype=dtype)
    ops.multiclass_update_csr(w_fm, b_fm, *rows.tensors(), d, y)  # in place
    assert torch.equal(w_fm, w_rm) and torch.equal(b_fm, b_rm)
    assert torch.equal(padded[:, k:], torch.zeros(d, 16 - k, dtype=dtype))


def test_multiclass_in_place_undoes_a_rejected_call():
    g = gen(23)
    n, d, k, row = 300, 1 << 12, 12, 290
    rows, _ = sparse_rows(n, d, g)
    rows.values[row * 5 + 2] = float("nan")
    y = torch.randint(0, k, (n,), generator=g)
    padded = torch.full((d, 16), 5.0, dtype=torch.float64)
    padded[:, :k] = dyadic((d, k), g)
    w, b = padded[:, :k].t(), dyadic((k,), g)
    before = padded.clone(), b.clone()
    with pytest.raises(ValueError, match=rf"values: .*row {row}\b"):
        ops.multiclass_update_csr(w, b, *rows.tensors(), d, y)
    assert torch.equal(padded, before[0]) and torch.equal(b, before[1])
    rows.values[row * 5 + 2] = 1.0
    ops.multiclass_update_csr(w, b, *rows.tensors(), d, y)
    assert not torch.equal(padded, before[0])
