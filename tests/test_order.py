"""The online ops' ``order`` argument, dense and CSR (``format``): the rows of
x (and their labels and sample weights) that a call visits, one order for
every output ([M]) or one per output ([K, M]), read in place.

Its meaning is the call on the gathered rows (``x[order]`` or
``take_rows(x, order)``, output by output for [K, M]), so every result is held
to that, bit for bit, on continuous data (sums that round): the same
arithmetic in the same order, only read through the order. And to the plain
reference on dyadic data. Both dtypes, both index dtypes of CSR, the three
online ops, every CPU loop (dense; CSR row by row, feature-major on a copy,
feature-major in place), sample weights, loss, one and two threads, an epoch
cut into chunks, and every rejected order leaving every tensor as it was. (The
penalized op's order: test_penalized_ops.py.)"""

import pytest
import torch

from order_cases import assert_all_equal, bad_orders, on_gathered_rows, orders
from order_cases import fresh_state as state
from support import (
    DEVICES,
    DTYPES,
    FORMATS,
    INDEXED_FORMATS,
    ONLINE,
    assert_bits_equal,
    binary_labels,
    dyadic,
    dyadic_sample_weight,
    gen,
)
from torch_perceptron import ops, reference
from torch_perceptron.sparse import CSRRows
from torch_perceptron.sparse_batches import take_rows


def problem(fmt, n, in_features, k, dtype, seed, device="cpu", exact=False, index_dtype=torch.int64, density=0.3):
    """x (dense: every row; CSR: every fourth row empty) and the rest of a
    call. Continuous values unless exact (dyadic: every sum exact). ``dense``
    is x's dense form."""
    g = gen(seed)
    if fmt == "dense":
        if exact:
            x = dyadic((n, in_features), g, dtype, device, bound=4)
        else:
            x = torch.randn(n, in_features, generator=g, dtype=torch.float64).to(dtype=dtype, device=device)
        dense = x
    else:
        mask = torch.rand(n, in_features, generator=g) < density
        mask[::4] = False
        if exact:
            vals = torch.randint(-8, 9, (n, in_features), generator=g).to(torch.float64) / 4
        else:
            vals = torch.randn(n, in_features, generator=g, dtype=torch.float64)
        dense = torch.where(mask, vals, 0).to(dtype)
        nz = mask.nonzero()
        crow = torch.zeros(n + 1, dtype=torch.int64)
        crow[1:] = mask.sum(1).cumsum(0)
        x = CSRRows(
            crow.to(index_dtype).to(device),
            nz[:, 1].to(index_dtype).to(device),
            dense[nz[:, 0], nz[:, 1]].to(device),
            in_features,
        )
    return dict(
        fmt=fmt,
        w=dyadic((k, in_features), g, dtype, device),
        b=dyadic((k,), g, dtype, device),
        x=x,
        dense=dense,
        y=binary_labels(n, k, g, device),
        sw=dyadic_sample_weight(n, g, dtype, device),
        loss=dyadic((k,), g, torch.float64, device).abs(),
        g=g,
    )


def op_of(op, fmt):
    return getattr(ops, op + "_csr" if fmt == "csr" else op)


def x_args(x):
    """x as the op takes it: a tensor, or CSR's three tensors and n_features."""
    return (*x.tensors(), x.n_features) if isinstance(x, CSRRows) else (x,)


def rows_of(x, rows):
    return take_rows(x, rows) if isinstance(x, CSRRows) else x[rows]


def run(op, fmt, w, b, x, y, sw, loss, lr=0.5, **kw):
    extra = state(op, w, b)
    m = op_of(op, fmt)(w, b, *extra, *x_args(x), y, lr, sample_weight=sw, loss=loss, **kw)
    return [t.cpu() for t in (w, b, *extra, m, loss)]


def call(op, p, order, feature_major=False, **kw):
    """The op with ``order`` on copies of p's state; (w, b, state..., mistakes,
    loss). feature_major: the weights as the transpose of a contiguous
    [in, K] (the plain CSR op's in-place path)."""
    w = p["w"].t().contiguous().t() if feature_major else p["w"].clone()
    return run(op, p["fmt"], w, p["b"].clone(), p["x"], p["y"], p["sw"], p["loss"].clone(), order=order, **kw)


def gathered(op, p, order, **kw):
    """The same call without ``order``: the rows gathered, output by output
    for one order per output."""

    def one_call(rows, outputs):
        return run(
            op,
            p["fmt"],
            p["w"][outputs].clone(),
            p["b"][outputs].clone(),
            rows_of(p["x"], rows),
            p["y"][rows][:, outputs],
            p["sw"][rows],
            p["loss"][outputs].clone(),
            **kw,
        )

    return on_gathered_rows(order, one_call)


def state_and_before(op, p):
    w, b, loss = p["w"].clone(), p["b"].clone(), p["loss"].clone()
    extra = state(op, w, b)
    return (w, b, extra, loss), [t.clone() for t in (w, b, *extra, loss)]


def assert_unchanged(tensors, before):
    w, b, extra, loss = tensors
    for t, was in zip((w, b, *extra, loss), before):
        assert torch.equal(t, was)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt, index_dtype", INDEXED_FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE)
@pytest.mark.parametrize("kind", ["perm", "per_output", "draws"])
@pytest.mark.parametrize("k", [1, 5])
def test_order_is_the_call_on_the_gathered_rows(op, kind, k, dtype, fmt, index_dtype, device):
    p = problem(fmt, 150, 9, k, dtype, seed=k + 7 * len(kind), device=device, index_dtype=index_dtype)
    order = orders(150, k, kind, p["g"], device)
    got = call(op, p, order, zero_is_mistake=True)
    assert_all_equal(got, gathered(op, p, order, zero_is_mistake=True))
    # Not vacuous: the rows are visited in another order than the data's, and
    # that changes the result.
    plain = call(op, p, None, zero_is_mistake=True)
    assert not torch.equal(got[0], plain[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["perm", "per_output"])
@pytest.mark.parametrize("k", [3, 12])
def test_csr_order_on_feature_major_weights(kind, k, dtype):
    """The plain CSR op's in-place loop on feature-major weights (an [N]
    order), and its fall-back to the row-major loop on a copy ([K, N]): the
    gathered call on contiguous weights (the copy's feature-major loop, the
    same sums), and the weights written back into the caller's layout."""
    p = problem("csr", 200, 16, k, dtype, seed=k)
    order = orders(200, k, kind, p["g"], "cpu")
    got = call("online_update", p, order, feature_major=True)
    assert_all_equal(got, gathered("online_update", p, order))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE)
@pytest.mark.parametrize("kind", ["perm", "per_output"])
def test_order_on_threads_is_the_gathered_call(op, kind, dtype, fmt, threads, num_threads):
    """Enough work for two threads: [N] orders hand outputs over between them
    (dense: from 2**15 multiply-adds a call; CSR: 2**16 non-zeros times
    outputs), [K, N] orders let the threads claim outputs one at a time (from
    2**22)."""
    num_threads(threads)
    n, in_features, k = (2100, 200, 10) if fmt == "dense" else (6000, 200, 10)
    p = problem(fmt, n, in_features, k, dtype, seed=threads + 3 * len(kind), density=0.5)
    work = n * in_features if fmt == "dense" else p["x"].col_indices.numel()
    assert work * k >= 2**22
    order = orders(n, k, kind, p["g"], "cpu")
    assert_all_equal(call(op, p, order), gathered(op, p, order))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ONLINE)
@pytest.mark.parametrize("kind", ["perm", "draws"])
def test_order_equals_reference(op, kind, dtype, fmt, device):
    p = problem(fmt, 40, 5, 3, dtype, seed=len(kind), device=device, exact=True)
    order = orders(40, 3, kind, p["g"], device)
    got = call(op, p, order)
    cpu = {name: t.cpu() for name, t in p.items() if isinstance(t, torch.Tensor)}
    extra = state(op, cpu["w"], cpu["b"])
    if op == "online_update_averaged":  # the reference keeps plain sums
        extra = [torch.zeros_like(cpu["w"]), torch.zeros_like(cpu["b"]), extra[2]]
    x = cpu["dense"].to_sparse_csr() if fmt == "csr" else cpu["dense"]
    ref = getattr(reference, op + "_csr" if fmt == "csr" else op)
    want = ref(
        cpu["w"], cpu["b"], *extra, x, cpu["y"], 0.5, sample_weight=cpu["sw"], loss=cpu["loss"], order=order.cpu()
    )
    assert_bits_equal(got[0], want[0], "weight")
    assert_bits_equal(got[1], want[1], "bias")
    assert_bits_equal(got[-2], want[-2], "mistakes")
    assert_bits_equal(got[-1], want[-1], "loss")
    if op == "online_update_pocket":
        assert_bits_equal(got[2], want[2], "pocket_weight")
    if op == "online_update_averaged":
        assert_bits_equal(got[4], want[4], "count")
        # The average of the weights after every visit: the kernel's
        # accumulator against the reference's plain sums.
        avg_w, _ = ops.averaged_parameters(*got[:5])
        assert torch.allclose(avg_w, want[2] / want[4].to(dtype)[:, None])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("op", ONLINE)
def test_chunks_of_an_order_add_up_to_one_call(op, fmt, device):
    """An epoch's order cut into chunks, one call each, gives the one call's
    bits: weights, variant state, loss, mistakes summed."""
    n, k = 300, 4
    p = problem(fmt, n, 7, k, torch.float32, seed=5, device=device)
    order = orders(n, k, "per_output", p["g"], device)
    whole = call(op, p, order)
    (w, b, extra, loss), _ = state_and_before(op, p)
    mistakes = 0
    for start in range(0, n, 64):
        mistakes = mistakes + op_of(op, fmt)(
            w,
            b,
            *extra,
            *x_args(p["x"]),
            p["y"],
            0.5,
            sample_weight=p["sw"],
            loss=loss,
            order=order[:, start : start + 64],
        )
    assert_all_equal([t.cpu() for t in (w, b, *extra, mistakes, loss)], whole)


@pytest.mark.parametrize("op", ONLINE)
def test_dense_order_with_non_contiguous_inputs(op):
    p = problem("dense", 120, 6, 3, torch.float64, seed=9)
    order = orders(120, 3, "per_output", p["g"], "cpu")
    want = call(op, p, order)
    p["x"] = p["x"].t().contiguous().t()
    p["y"] = p["y"].t().contiguous().t()
    strided = torch.stack([order, order], dim=2)[..., 0]
    assert not strided.is_contiguous() and torch.equal(strided, order)
    assert_all_equal(call(op, p, strided), want)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("op", ONLINE)
def test_bad_order_is_rejected_by_name_and_nothing_changes(op, fmt, device):
    p = problem(fmt, 20, 3, 2, torch.float64, seed=1, device=device)
    for order, exc, match in bad_orders(20, 2, device):
        tensors, before = state_and_before(op, p)
        w, b, extra, loss = tensors
        with pytest.raises(exc, match=match):
            op_of(op, fmt)(w, b, *extra, *x_args(p["x"]), p["y"], loss=loss, order=order)
        assert_unchanged(tensors, before)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ONLINE)
def test_dense_non_finite_row_visited_late_restores_everything(op, device):
    """A NaN row of x is found when an order visits it (the row named is x's),
    after other outputs may have run to the end: everything is put back."""
    p = problem("dense", 80, 64, 8, torch.float64, seed=2, device=device)
    p["x"][17, 3] = float("nan")
    order = torch.stack([torch.cat([torch.arange(18, 80), torch.arange(0, 18)])] * 8)
    order = order.to(device)
    tensors, before = state_and_before(op, p)
    w, b, extra, loss = tensors
    with pytest.raises(ValueError, match="row 17"):
        getattr(ops, op)(w, b, *extra, p["x"], p["y"], loss=loss, order=order)
    assert_unchanged(tensors, before)
    # A row the order never visits is never read.
    skip = order[:, :62]
    getattr(ops, op)(w, b, *extra, p["x"], p["y"], loss=loss, order=skip)
    assert torch.isfinite(w).all()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["perm", "per_output"])
@pytest.mark.parametrize("op", ONLINE)
def test_csr_bad_column_visited_late_restores_everything(op, kind, device):
    """A column out of range in row 17, found when the order visits it (the
    row named is x's), after other rows and outputs were updated: everything
    is put back."""
    p = problem("csr", 80, 64, 8, torch.float64, seed=2, device=device, density=0.5)
    crow, col, values = p["x"].tensors()
    col = col.clone()
    col[int(crow[18]) - 1] = 64
    order = torch.cat([torch.arange(18, 80), torch.arange(0, 18)])
    if kind == "per_output":
        order = torch.stack([order] * 8)
    order = order.to(device)
    tensors, before = state_and_before(op, p)
    w, b, extra, loss = tensors
    fn = op_of(op, "csr")
    with pytest.raises(ValueError, match=r"col_indices: expected column .* in row 17"):
        fn(w, b, *extra, crow, col, values, 64, p["y"], loss=loss, order=order)
    assert_unchanged(tensors, before)
    if device == "cpu":
        # The CPU checks a row's columns as it visits it: a row the order
        # never visits is never read.
        fn(w, b, *extra, crow, col, values, 64, p["y"], loss=loss, order=order[..., :62])
        assert not torch.equal(w, before[0])


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_order_visits_nothing(fmt):
    p = problem(fmt, 10, 3, 2, torch.float64, seed=3)
    got = call("online_update", p, torch.zeros(2, 0, dtype=torch.int64))
    assert torch.equal(got[0], p["w"]) and got[-2].tolist() == [0, 0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_compiled_epochs_with_orders_match_eager(backend, fmt, device):
    """torch.compile(fullgraph=True) over an epoch that makes its order with
    ATen (argsort of random keys, per output) and hands it to the op."""
    op = getattr(torch.ops.torch_perceptron, "online_update_csr" if fmt == "csr" else "online_update")

    def epoch(w, b, x, y, keys, loss):
        order = keys.argsort(dim=1)
        m = op(w, b, *x, y, 0.5, None, True, 1.0, loss, order)
        return m * 2, order[:, :3]

    torch._dynamo.reset()
    try:
        p = problem(fmt, 48, 5, 3, torch.float32, seed=4, device=device)
        keys = torch.rand(3, 48, generator=p["g"]).to(device)
        x = x_args(p["x"])
        eager = [p["w"].clone(), p["b"].clone(), p["loss"].clone()]
        want = epoch(eager[0], eager[1], x, p["y"], keys, eager[2])
        state = [p["w"].clone(), p["b"].clone(), p["loss"].clone()]
        got = torch.compile(epoch, fullgraph=True, backend=backend)(state[0], state[1], x, p["y"], keys, state[2])
        for a, b in zip([*got, *state], [*want, *eager]):
            assert_bits_equal(a, b)
        assert want[0].sum() > 0
    finally:
        torch._dynamo.reset()
