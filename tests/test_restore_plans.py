"""A rejected call leaves every tensor bit for bit as it was, whichever way
the call undoes its writes (csrc/restore.h): an undo log of what the kernel
overwrote (dense blocks written back, CSR mistakes in place, row-major or
feature-major), late writes (the multiclass copy), or a snapshot where a log
could outgrow the weights. Each case makes mistakes before the bad row, so
there is something to undo, and starts from non-zero weights, so an undo to
zeros would show."""

import pytest
import torch

from support import binary_labels, class_labels, dyadic, gen
from torch_perceptron import ops
from torch_perceptron.sparse import as_csr


def bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().clone()


def csr_problem(n, d, k, g, dtype, nnz=7):
    cols = torch.stack([torch.randperm(d, generator=g)[:nnz].sort().values for _ in range(n)])
    vals = dyadic((n, nnz), g, dtype=dtype)
    crow = torch.arange(0, (n + 1) * nnz, nnz, dtype=torch.int64)
    return crow, cols.reshape(-1).contiguous(), vals.reshape(-1).contiguous()


def start_weights(k, d, g, dtype, feature_major=False, pad=0):
    w = dyadic((k, d), g, dtype=dtype) / 4
    b = dyadic((k,), g, dtype=dtype) / 4
    if feature_major:
        full = torch.full((d, k + pad), 3.0, dtype=dtype)
        full[:, :k] = w.t()
        w = full[:, :k].t()
    return w, b


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("k", [3, 70, 150])
@pytest.mark.parametrize("fault", ["nan", "overflow"])
def test_dense_online_undoes_written_blocks(dtype, threads, k, fault, num_threads):
    """K above one block (64 outputs) writes earlier blocks back before a
    later block meets the bad row; a bad row late in a long call also comes
    after two threads' handover. Everything is undone."""
    num_threads(threads)
    g = gen(11)
    n, d, row = 1200, 24, 1100
    x = dyadic((n, d), g, dtype=dtype)
    if fault == "nan":
        x[row, 5] = float("nan")
    else:
        x[row] = 3e38 if dtype == torch.float32 else 1e308
    y = binary_labels(n, k, g).to(dtype)
    w, b = start_weights(k, d, g, dtype)
    if fault == "overflow":
        w[:, :] = 4.0
    loss = torch.arange(k, dtype=torch.float64)
    before = [bits(t) for t in (w, b, loss)]
    with pytest.raises(ValueError, match=rf"x: .*row {row}\b"):
        ops.online_update(w, b, x, y, loss=loss)
    for t, was in zip((w, b, loss), before):
        assert torch.equal(t, was)
    # The same call without the bad row changes the weights: there was
    # something to undo.
    x[row] = 0.5
    ops.online_update(w, b, x, y, loss=loss)
    assert not torch.equal(w, before[0])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [1, 5, 58])
@pytest.mark.parametrize(
    "d,layout", [(1 << 16, "row"), (1 << 16, "feature_major"), (1 << 16, "feature_major_padded"), (40, "row")]
)
@pytest.mark.parametrize("threads", [1, 2])
def test_csr_online_undoes_logged_mistakes(dtype, k, d, layout, threads, num_threads):
    """Row-major and in-place feature-major weights log each mistake's
    entries (a call with fewer non-zeros than weights); at 40 features the
    call's log could outgrow the weights and it snapshots them instead."""
    if layout != "row" and k == 1:
        pytest.skip("one output is never feature-major")
    num_threads(threads)
    g = gen(12)
    n, row = 300, 280
    crow, col, val = csr_problem(n, d, k, g, dtype)
    val[row * 7 + 3] = float("nan")
    y = binary_labels(n, k, g).to(dtype)
    w, b = start_weights(
        k, d, g, dtype, feature_major=layout != "row", pad=5 if layout == "feature_major_padded" else 0
    )
    before = (bits(w), bits(b))
    with pytest.raises(ValueError, match=rf"values: .*row {row}\b"):
        ops.online_update_csr(w, b, crow, col, val, d, y)
    assert torch.equal(w, before[0]) and torch.equal(b, before[1])
    if layout != "row":
        assert w.stride()[0] == 1
    val[row * 7 + 3] = 0.5
    ops.online_update_csr(w, b, crow, col, val, d, y)
    assert not torch.equal(w, before[0])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("d", [1 << 16, 40])
def test_csr_multiclass_undoes_logged_mistakes(dtype, d):
    g = gen(13)
    n, k, row = 400, 9, 390
    crow, col, val = csr_problem(n, d, k, g, dtype)
    val[row * 7] = float("inf")
    y = class_labels(n, k, g)
    w, b = start_weights(k, d, g, dtype)
    before = (bits(w), bits(b))
    with pytest.raises(ValueError, match=rf"values: .*row {row}\b"):
        ops.multiclass_update_csr(w, b, crow, col, val, d, y)
    assert torch.equal(w, before[0]) and torch.equal(b, before[1])


@pytest.mark.parametrize("op", ["online", "multiclass"])
def test_dense_one_row_writes_back_only_changed_rows(op):
    """One row into many outputs: only the outputs that made a mistake are
    written back; the result is the rule's all the same."""
    g = gen(14)
    k, d = 200, 96
    w, b = start_weights(k, d, g, torch.float32)
    x = dyadic((1, d), g, dtype=torch.float32)
    w_ref, b_ref = w.clone(), b.clone()
    z = x @ w.t() + b
    if op == "online":
        y = binary_labels(1, k, g).to(torch.float32)
        err = y[0] - (z[0] > 0).float()
        w_ref += err[:, None] * x
        b_ref += err
        ops.online_update(w, b, x, y)
    else:
        y = torch.tensor([int(z.argmin())])
        yhat = int(z.argmax())
        w_ref[y[0]] += x[0]
        w_ref[yhat] -= x[0]
        b_ref[y[0]] += 1
        b_ref[yhat] -= 1
        ops.multiclass_update(w, b, x, y)
    assert torch.equal(w, w_ref) and torch.equal(b, b_ref)


@pytest.mark.parametrize("sparse", [False, True])
def test_non_finite_weights_read_by_the_call_are_rejected_by_name(sparse):
    """The update ops check the weights they read, in their loops: a NaN
    weight that a row reads rejects the call with the weights' message, and
    nothing changes."""
    g = gen(15)
    n, d, k = 50, 12, 3
    x = dyadic((n, d), g, dtype=torch.float32)
    y = binary_labels(n, k, g).to(torch.float32)
    w, b = start_weights(k, d, g, torch.float32)
    w[1, 4] = float("nan")
    before = (bits(w), bits(b))
    with pytest.raises(ValueError, match=r"^weight and bias: expected finite values"):
        if sparse:
            rows = as_csr(x.to_sparse_csr())
            ops.online_update_csr(w, b, *rows.tensors(), d, y)
        else:
            ops.online_update(w, b, x, y)
    assert torch.equal(torch.isnan(w), torch.isnan(before[0]))
    assert torch.equal(torch.nan_to_num(w), torch.nan_to_num(before[0]))
    assert torch.equal(b, before[1])


def test_a_weight_no_row_reads_is_not_checked():
    """What a call never reads it does not check: a sparse call whose rows
    miss a NaN weight's column runs, and leaves that weight as it was."""
    g = gen(16)
    n, d, k = 30, 64, 2
    crow, col, val = csr_problem(n, d, k, g, torch.float32, nnz=3)
    unread = int(torch.tensor([c for c in range(d) if c not in set(col.tolist())][0]))
    y = binary_labels(n, k, g).to(torch.float32)
    w, b = start_weights(k, d, g, torch.float32)
    w[0, unread] = float("nan")
    ops.online_update_csr(w, b, crow, col, val, d, y)
    assert torch.isnan(w[0, unread])
    assert torch.isfinite(w[:, [c for c in range(d) if c != unread]]).all()
