"""The CPU's CSR dot product has one order (csrc/cpu/csr_dot.h): L = 32 /
itemsize partial sums, lane l adding the non-zeros l, l + L, ... of the row,
combined pairwise. int32 columns take the AVX2 gather loop where the build has
AVX2; int64 columns a scalar loop with the same lanes. On random (not dyadic)
data, where every other order gives other bits, both must give exactly the
order's bits, and the rules built on them must agree across index types."""

import numpy as np
import pytest
import torch

from torch_perceptron import ops

DTYPES = (torch.float32, torch.float64)
INDEX = (torch.int32, torch.int64)


def lanes_dot(values: np.ndarray, w: np.ndarray) -> np.generic:
    """The documented order, in numpy scalars of the weights' dtype."""
    dtype = w.dtype.type
    lanes = 32 // w.dtype.itemsize
    sums = [dtype(0)] * lanes
    for p, v in enumerate(values):
        sums[p % lanes] = dtype(sums[p % lanes] + dtype(v * w[p]))
    while len(sums) > 1:
        half = len(sums) // 2
        sums = [dtype(sums[i] + sums[i + half]) for i in range(half)]
    return sums[0]


def random_rows(n, d, dtype, index_dtype, seed):
    """CSR rows of 0 to 40 non-zeros (every tail length of both lane counts),
    values and weights from a normal: no two orders agree on their sums."""
    g = torch.Generator().manual_seed(seed)
    counts = torch.randint(0, 41, (n,), generator=g)
    counts[0] = 0
    cols = [torch.randperm(d, generator=g)[: int(c)].sort().values for c in counts]
    crow = torch.zeros(n + 1, dtype=torch.int64)
    crow[1:] = counts.cumsum(0)
    col = torch.cat(cols).to(index_dtype)
    values = torch.randn(int(crow[-1]), generator=g, dtype=torch.float64).to(dtype)
    return crow.to(index_dtype), col, values


@pytest.mark.parametrize("index_dtype", INDEX)
@pytest.mark.parametrize("dtype", DTYPES)
def test_decision_function_sums_in_the_lanes_order(dtype, index_dtype):
    n, d, k = 60, 97, 3
    crow, col, values = random_rows(n, d, dtype, index_dtype, seed=1)
    g = torch.Generator().manual_seed(2)
    w = torch.randn(k, d, generator=g, dtype=torch.float64).to(dtype)
    b = torch.randn(k, generator=g, dtype=torch.float64).to(dtype)
    z = ops.decision_function_csr(crow, col, values, d, w, b)
    wn, bn, vn = w.numpy(), b.numpy(), values.numpy()
    c64 = col.to(torch.int64).numpy()
    want = np.empty((n, k), dtype=wn.dtype)
    for i in range(n):
        lo, hi = int(crow[i]), int(crow[i + 1])
        for o in range(k):
            want[i, o] = wn.dtype.type(lanes_dot(vn[lo:hi], wn[o, c64[lo:hi]]) + bn[o])
    np.testing.assert_array_equal(z.numpy().view(np.uint8), want.view(np.uint8))


def _rules(dtype, index_dtype, seed):
    """Every row-major CPU rule that dots with csr_dot, on one random problem:
    the results as a list of tensors."""
    n, d, k = 300, 50, 3
    crow, col, values = random_rows(n, d, dtype, index_dtype, seed)
    g = torch.Generator().manual_seed(seed + 1)
    w0 = (torch.randn(k, d, generator=g, dtype=torch.float64) / 8).to(dtype)
    b0 = torch.zeros(k, dtype=dtype)
    y = torch.randint(0, 2, (n, k), generator=g).to(dtype)
    labels = torch.randint(0, k, (n,), generator=g)
    sw = torch.rand(n, generator=g, dtype=torch.float64).to(dtype) + 0.5
    out = []
    # K = 1 and K = 3 on a call too small for the feature-major copy: the
    # row-major loop, with a loss and sample weights.
    for kk in (1, k):
        w, b = w0[:kk].clone(), b0[:kk].clone()
        loss = torch.zeros(kk, dtype=torch.float64)
        m = ops.online_update_csr(w, b, crow, col, values, d, y[:, :kk], 0.3, sample_weight=sw, loss=loss)
        out += [w, b, m, loss]
    w, b = w0.clone(), b0.clone()
    out += [w, b, ops.multiclass_update_csr(w, b, crow, col, values, d, labels, 0.3)]
    w, b = w0.clone(), b0.clone()
    acc = [torch.zeros_like(w), torch.zeros_like(b), torch.zeros(k, dtype=torch.int64)]
    out += [w, b, *acc, ops.online_update_averaged_csr(w, b, *acc, crow, col, values, d, y, 0.3)]
    out.append(ops.decision_function_csr(crow, col, values, d, w, b))
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", (0, 1, 2))
def test_rules_agree_bit_for_bit_across_index_types(dtype, seed):
    """int32 columns (the gather loop) and int64 columns (the scalar loop) on
    the same random rows: every weight, bias, count and loss the same bits."""
    narrow = _rules(dtype, torch.int32, seed)
    wide = _rules(dtype, torch.int64, seed)
    assert len(narrow) == len(wide)
    for a, b in zip(narrow, wide):
        if a.is_floating_point():
            assert torch.equal(
                a.view(torch.int64 if a.element_size() == 8 else torch.int32),
                b.view(torch.int64 if b.element_size() == 8 else torch.int32),
            )
        else:
            assert torch.equal(a, b)
    # Not vacuous: the problem makes mistakes and moves the weights.
    assert int(narrow[2].sum()) > 0


@pytest.mark.parametrize("index_dtype", INDEX)
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_bad_column_in_any_lane_is_caught(dtype, index_dtype):
    """The fused check sees a fault wherever it sits: in a full register, in
    the tail, at the boundary between two registers, or in the last column."""
    d = 64
    for nnz in (1, 3, 4, 7, 8, 9, 16, 17, 23):
        for at in sorted({0, nnz // 2, nnz - 1, min(nnz - 1, 4), min(nnz - 1, 8)}):
            for fault in ("repeat", "negative", "range"):
                cols = torch.arange(0, 2 * nnz, 2)
                if fault == "repeat":
                    if at == 0:
                        continue
                    cols[at] = cols[at - 1]
                elif fault == "negative":
                    cols[at] = -1 - at
                else:
                    cols[at] = d + at
                crow = torch.tensor([0, nnz]).to(index_dtype)
                values = torch.ones(nnz, dtype=dtype)
                w = torch.ones(1, d, dtype=dtype)
                b = torch.zeros(1, dtype=dtype)
                with pytest.raises(ValueError, match="col_indices"):
                    ops.decision_function_csr(crow, cols.to(index_dtype), values, d, w, b)
                before = w.clone()
                with pytest.raises(ValueError, match="col_indices"):
                    ops.online_update_csr(w, b, crow, cols.to(index_dtype), values, d, torch.zeros(1, 1, dtype=dtype))
                assert torch.equal(w, before)
