"""online_update_penalized and its CSR form against the plain reference
(torch_perceptron.reference), bit for bit: the kernel and the
reference do the same operations in the same order with the same types, so on
any data (continuous, not only dyadic) every written tensor must agree to the
last bit, on every device. Then the op's contract: validation before any
write, restore on a bad row, non-contiguous tensors, chunked calls equal to one
call, opcheck. And its ``order`` argument (the rows of x, y and sample_weight
a call visits, [M] or [K, M], as the online ops take it: test_order.py), held
to the call on the gathered rows and to the reference, bit for bit.
Dense and CSR: ``format`` beside ``device``."""

import pytest
import torch

import csr_cases
from order_cases import assert_all_equal, bad_orders, on_gathered_rows, orders
from support import DEVICES, DTYPES, FORMATS, assert_bits_equal, binary_labels, continuous, gen
from torch_perceptron import ops, reference
from torch_perceptron.sparse import CSRRows
from torch_perceptron.sparse_batches import take_rows

# (l1_ratio, alpha): "l2", "l1", elastic nets, a shrink that clamps to 0, one
# that resets wscale within the call (0.9 per sample: below 1e-9 after ~200).
PENALTIES = [(0.0, 1e-4), (1.0, 1e-3), (0.15, 1e-2), (0.5, 0.05), (0.0, 2.0), (0.0, 0.1), (0.3, 0.7)]


def problem(seed, n, d, k, dtype, device, fmt="dense"):
    """x (dense, or CSR's three tensors) and the rest of a call, as a dict."""
    g = gen(seed)
    if fmt == "csr":
        _, crow, col, values = csr_cases.random_csr(n, d, g, dtype=dtype, device=device)
        x = (crow, col, values)
    else:
        x = continuous((n, d), g, dtype, device)
    w = continuous((k, d), g, dtype, device) * 0.1
    return dict(
        x=x,
        w=w,
        b=continuous((k,), g, dtype, device),
        y=binary_labels(n, k, g, device),
        sw=torch.rand(n, generator=g, dtype=torch.float64).to(dtype=dtype, device=device) * 2,
        state=ops.penalty_state(w),
        q=(continuous((k, d), g, dtype, device) * 0.01).abs(),
        sums=torch.rand(2, k, generator=g, dtype=torch.float64).to(device),
        g=g,
        d=d,
        n=n,
        sparse=fmt == "csr",
    )


def unpack(p):
    return tuple(p[name] for name in ("x", "w", "b", "y", "sw", "state", "q"))


def run_both(x, w, b, y, sw, state, q, device, fmt, **kw):
    sums = {name: torch.zeros(w.shape[0], dtype=torch.float64, device=device) + 0.5 for name in ("loss", "objective")}
    got = [t.clone() for t in (w, b, state)] + [None if q is None else q.clone()]
    got_sums = {name: s.clone() for name, s in sums.items()}
    if fmt == "csr":
        mistakes = ops.online_update_penalized_csr(*got, *x, w.shape[1], y, sample_weight=sw, **got_sums, **kw)
        dense = torch.sparse_csr_tensor(*(t.cpu() for t in x), size=(y.shape[0], w.shape[1]))
        want = reference.online_update_penalized_csr(w, b, state, q, dense, y, sample_weight=sw, **sums, **kw)
    else:
        mistakes = ops.online_update_penalized(*got, x, y, sample_weight=sw, **got_sums, **kw)
        want = reference.online_update_penalized(w, b, state, q, x, y, sample_weight=sw, **sums, **kw)
    got = got + [mistakes, got_sums["loss"], got_sums["objective"]]
    for name, a, e in zip(("weight", "bias", "state", "q", "mistakes", "loss", "objective"), got, want):
        if e is not None:
            assert_bits_equal(a.cpu(), e, name)
    return got


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("l1_ratio, alpha", PENALTIES)
def test_equals_reference(l1_ratio, alpha, dtype, fmt, device):
    for seed, (n, d, k) in enumerate([(40, 5, 1), (60, 7, 3), (1, 3, 2)]):
        x, w, b, y, sw, state, q = unpack(problem(seed, n, d, k, dtype, device, fmt))
        for zero_is_mistake, bias_step, weights in ((True, 1.0, None), (False, 0.01, sw)):
            run_both(
                x,
                w,
                b,
                y,
                weights,
                state,
                q if l1_ratio > 0 else None,
                device,
                fmt,
                lr=0.7,
                alpha=alpha,
                l1_ratio=l1_ratio,
                zero_is_mistake=zero_is_mistake,
                bias_step=bias_step,
            )


@pytest.mark.parametrize("dtype", DTYPES)
def test_wscale_is_reset_and_clamped(dtype):
    """alpha 0.1 (shrink 0.9): wscale falls below the floor and is folded in
    within the call; alpha 2 (shrink clamped to 0): each sample's step starts
    from zero weights, so the weights end as the last mistake's step."""
    x, w, b, y, sw, state, q = unpack(problem(3, 300, 4, 2, dtype, "cpu"))
    got = run_both(x, w, b, y, None, state, None, "cpu", "dense", alpha=0.1, l1_ratio=0.0, zero_is_mistake=True)
    floor = 1e-6 if dtype == torch.float32 else 1e-9
    assert (got[2][:, 0] >= floor).all() and (got[2][:, 0] < 0.9**10).all()
    got = run_both(x, w, b, y, None, state, None, "cpu", "dense", alpha=2.0, l1_ratio=0.0, zero_is_mistake=True)
    assert (got[2][:, 0] == 1).all()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_chunked_calls_equal_one_call(dtype, fmt):
    """state, q and the sums carry everything across calls: an epoch in
    chunks gives the one call's bits (the estimator calls per chunk)."""
    x, w, b, y, sw, state, q = unpack(problem(5, 90, 6, 2, dtype, "cpu", fmt))
    kw = dict(lr=0.5, alpha=0.02, l1_ratio=0.4, zero_is_mistake=True)
    one = [t.clone() for t in (w, b, state, q)]
    sums1 = [torch.zeros(2, dtype=torch.float64) for _ in range(2)]
    parts = [t.clone() for t in (w, b, state, q)]
    sums2 = [torch.zeros(2, dtype=torch.float64) for _ in range(2)]
    if fmt == "csr":
        crow, col, values = x
        ops.online_update_penalized_csr(
            *one, crow, col, values, 6, y, sample_weight=sw, loss=sums1[0], objective=sums1[1], **kw
        )
        for lo, hi in ((0, 31), (31, 32), (32, 90)):
            # The rows' own slices: their explicit zeros kept.
            a, e = int(crow[lo]), int(crow[hi])
            part = (crow[lo : hi + 1] - a, col[a:e], values[a:e])
            ops.online_update_penalized_csr(
                *parts, *part, 6, y[lo:hi], sample_weight=sw[lo:hi], loss=sums2[0], objective=sums2[1], **kw
            )
    else:
        ops.online_update_penalized(*one, x, y, sample_weight=sw, loss=sums1[0], objective=sums1[1], **kw)
        for lo, hi in ((0, 31), (31, 32), (32, 90)):
            ops.online_update_penalized(
                *parts, x[lo:hi], y[lo:hi], sample_weight=sw[lo:hi], loss=sums2[0], objective=sums2[1], **kw
            )
    for a, e in zip(parts + sums2, one + sums1):
        assert_bits_equal(a, e)


def test_non_contiguous_tensors():
    x, w, b, y, sw, state, q = unpack(problem(7, 30, 5, 3, torch.float64, "cpu"))
    kw = dict(lr=0.5, alpha=0.01, l1_ratio=0.5, zero_is_mistake=True, sample_weight=sw)
    want = [t.clone() for t in (w, b, state, q)]
    ops.online_update_penalized(*want, x, y, **kw)
    got = [w.t().contiguous().t(), b.clone(), state.t().contiguous().t(), q.t().contiguous().t()]
    assert not got[0].is_contiguous() and not got[2].is_contiguous()
    ops.online_update_penalized(*got, x.t().contiguous().t(), y, **kw)
    for a, e in zip(got, want):
        assert_bits_equal(a, e)


def _args(dtype=torch.float64):
    x, w, b, y, sw, state, q = unpack(problem(11, 20, 4, 2, dtype, "cpu"))
    return dict(
        weight=w,
        bias=b,
        state=state,
        q=q,
        x=x,
        y=y,
        sample_weight=sw,
        loss=torch.zeros(2, dtype=torch.float64),
        objective=torch.zeros(2, dtype=torch.float64),
    )


BAD = [
    (dict(alpha=-1.0), ValueError, "alpha"),
    (dict(alpha=float("nan")), ValueError, "alpha"),
    (dict(l1_ratio=1.5), ValueError, "l1_ratio"),
    (dict(lr=0.0), ValueError, "lr"),
    (dict(q=None), ValueError, "q: expected"),
    (dict(state=torch.ones(2, 3, dtype=torch.float64)), RuntimeError, "state: expected shape"),
    (dict(state=torch.ones(2, 4, dtype=torch.float32)), RuntimeError, "state: expected dtype"),
    (dict(state=torch.zeros(2, 4, dtype=torch.float64)), ValueError, "wscale"),
    (dict(state=torch.full((2, 4), float("inf"), dtype=torch.float64)), ValueError, "state"),
    (dict(q=torch.zeros(2, 3, dtype=torch.float64)), RuntimeError, "q: expected shape"),
    (dict(q=torch.zeros(2, 4, dtype=torch.float32)), RuntimeError, "q: expected dtype"),
    (dict(objective=torch.zeros(3, dtype=torch.float64)), RuntimeError, "objective"),
    (dict(objective=torch.zeros(2, dtype=torch.float32)), RuntimeError, "objective"),
    (dict(loss=torch.full((2,), float("nan"), dtype=torch.float64)), ValueError, "loss"),
    (dict(y=torch.full((20, 2), 3)), ValueError, "y"),
    (dict(sample_weight=-torch.ones(20, dtype=torch.float64)), ValueError, "sample_weight"),
]


@pytest.mark.parametrize("change, exc, match", BAD)
def test_rejected_call_writes_nothing(change, exc, match):
    args = _args()
    kw = dict(lr=1.0, alpha=0.01, l1_ratio=0.5)
    for key, value in change.items():
        (kw if key in kw else args)[key] = value
    before = {k: v.clone() for k, v in args.items() if isinstance(v, torch.Tensor)}
    with pytest.raises(exc, match=match):
        ops.online_update_penalized(
            args["weight"],
            args["bias"],
            args["state"],
            args["q"],
            args["x"],
            args["y"],
            sample_weight=args["sample_weight"],
            loss=args["loss"],
            objective=args["objective"],
            **kw,
        )
    for k, v in before.items():
        # As integers: the bits themselves, NaN included.
        ints = {torch.float64: torch.int64, torch.float32: torch.int32}.get(v.dtype, v.dtype)
        assert torch.equal(args[k].view(ints), v.view(ints)), k


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_row_restores_every_written_tensor(fmt):
    x, w, b, y, sw, state, q = unpack(problem(13, 30, 4, 2, torch.float64, "cpu", fmt))
    tensors = [w, b, state, q, torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)]
    before = [t.clone() for t in tensors]
    kw = dict(lr=0.5, alpha=0.01, l1_ratio=0.5, sample_weight=sw, loss=tensors[4], objective=tensors[5])
    if fmt == "csr":
        crow, col, values = (t.clone() for t in x)
        values[-1] = float("nan")
        with pytest.raises(ValueError, match="values"):
            ops.online_update_penalized_csr(*tensors[:4], crow, col, values, 4, y, **kw)
    else:
        x = x.clone()
        x[25, 2] = float("inf")
        with pytest.raises(ValueError, match="row 25"):
            ops.online_update_penalized(*tensors[:4], x, y, **kw)
    for a, e in zip(tensors, before):
        assert_bits_equal(a, e)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_opcheck(fmt, device):
    for seed, (n, d, k, dtype) in enumerate(
        [(12, 3, 1, torch.float32), (9, 4, 3, torch.float64), (0, 2, 2, torch.float32)]
    ):
        x, w, b, y, sw, state, q = unpack(problem(seed, n, d, k, dtype, device, fmt))
        sums = dict(
            loss=torch.zeros(k, dtype=torch.float64, device=device),
            objective=torch.zeros(k, dtype=torch.float64, device=device),
        )
        kw = dict(
            lr=0.5,
            alpha=0.01,
            l1_ratio=0.5 if seed != 1 else 0.0,
            sample_weight=sw if seed else None,
            zero_is_mistake=bool(seed % 2),
            **sums,
        )
        if seed == 1:
            q = None
        if fmt == "csr":
            args = (w, b, state, q, *x, d, y)
            op = torch.ops.torch_perceptron.online_update_penalized_csr.default
        else:
            args = (w, b, state, q, x, y)
            op = torch.ops.torch_perceptron.online_update_penalized.default
        torch.library.opcheck(op, args, kw)


@pytest.mark.parametrize("op", ["online_update_penalized", "online_update_penalized_csr"])
def test_schema_declares_mutation(op):
    schema = getattr(torch.ops.torch_perceptron, op).default._schema
    written = [a.name for a in schema.arguments if a.alias_info is not None and a.alias_info.is_write]
    assert written == ["weight", "bias", "state", "q", "loss", "objective"]
    assert schema.returns[0].alias_info is None


def test_version_of_every_written_tensor_goes_up():
    x, w, b, y, sw, state, q = unpack(problem(2, 10, 3, 2, torch.float64, "cpu"))
    tensors = [w, b, state, q, torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)]
    before = [t._version for t in tensors]
    ops.online_update_penalized(*tensors[:4], x, y, alpha=0.01, l1_ratio=0.5, loss=tensors[4], objective=tensors[5])
    assert all(t._version > v for t, v in zip(tensors, before))


# ------------------------------------------------ order (as the online ops'
# in test_order.py): the call on the gathered rows, bit for bit on any data.

# (l1_ratio, alpha): "l2"; an elastic net whose wscale resets within a call.
ORDER_PENALTIES = [(0.0, 1e-3), (0.3, 0.7)]
NAMES = ("weight", "bias", "state", "q", "mistakes", "loss", "objective")


def in_place(p, order, l1_ratio, alpha, *, x=None, y=None, sw=None, **kw):
    """The op on p's own state and sums (x, y, sw: p's unless given);
    returns the mistakes."""
    x = p["x"] if x is None else x
    y = p["y"] if y is None else y
    sw = p["sw"] if sw is None else sw
    w, b, state, q, sums = (p[name] for name in ("w", "b", "state", "q", "sums"))
    args = dict(
        lr=0.5, alpha=alpha, l1_ratio=l1_ratio, sample_weight=sw, loss=sums[0], objective=sums[1], order=order, **kw
    )
    if p["sparse"]:
        return ops.online_update_penalized_csr(w, b, state, q, *x, p["d"], y, **args)
    return ops.online_update_penalized(w, b, state, q, x, y, **args)


def call(p, order, l1_ratio, alpha, *, rows=slice(None), **kw):
    """The op on copies of p's state (outputs ``rows``); every written tensor,
    on the CPU, in NAMES's order."""
    own = dict(p, **{name: p[name][rows].clone() for name in ("w", "b", "state", "q")}, sums=p["sums"][:, rows].clone())
    m = in_place(own, order, l1_ratio, alpha, **kw)
    return [t.cpu() for t in (own["w"], own["b"], own["state"], own["q"], m, own["sums"][0], own["sums"][1])]


def gathered(p, order, l1_ratio, alpha, **kw):
    """The same without ``order``: the rows gathered (output by output for
    one order per output)."""

    def one_call(rows, outputs):
        x = take_rows(CSRRows(*p["x"], p["d"]), rows).tensors() if p["sparse"] else p["x"][rows]
        return call(p, None, l1_ratio, alpha, rows=outputs, x=x, y=p["y"][rows][:, outputs], sw=p["sw"][rows], **kw)

    return on_gathered_rows(order, one_call)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("l1_ratio, alpha", ORDER_PENALTIES)
@pytest.mark.parametrize("kind, k", [(kind, k) for k in (1, 4) for kind in ("perm", "per_output", "draws")])
def test_order_is_the_call_on_the_gathered_rows(k, kind, l1_ratio, alpha, dtype, fmt, device):
    p = problem(k + 3 * len(kind), 120, 9, k, dtype, device, fmt)
    order = orders(120, k, kind, p["g"], device)
    got = call(p, order, l1_ratio, alpha, zero_is_mistake=True)
    assert_all_equal(got, gathered(p, order, l1_ratio, alpha, zero_is_mistake=True), NAMES)
    # Not vacuous: another order than the data's changes the result (the
    # strong L1 case may clamp every weight to 0 either way: the bias and
    # the sums still tell).
    plain = call(p, None, l1_ratio, alpha, zero_is_mistake=True)
    assert not all(torch.equal(a, e) for a, e in zip(got, plain))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["perm", "draws"])
def test_order_equals_reference(kind, dtype, fmt, device):
    p = problem(len(kind), 50, 6, 3, dtype, device, fmt)
    order = orders(50, 3, kind, p["g"], device)
    l1_ratio, alpha = ORDER_PENALTIES[1]
    got = call(p, order, l1_ratio, alpha)
    kw = dict(
        lr=0.5,
        alpha=alpha,
        l1_ratio=l1_ratio,
        sample_weight=p["sw"],
        loss=p["sums"][0],
        objective=p["sums"][1],
        order=order,
    )
    if fmt == "csr":
        x = torch.sparse_csr_tensor(*(t.cpu() for t in p["x"]), size=(50, 6))
        want = reference.online_update_penalized_csr(p["w"], p["b"], p["state"], p["q"], x, p["y"], **kw)
    else:
        want = reference.online_update_penalized(p["w"], p["b"], p["state"], p["q"], p["x"], p["y"], **kw)
    assert_all_equal(got, want, NAMES)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["perm", "per_output"])
def test_order_on_threads_is_the_gathered_call(kind, fmt, threads, num_threads):
    """Enough work for the outputs to go to two threads (2**15 entries a
    call: csrc/cpu/penalized_kernel.cpp)."""
    num_threads(threads)
    n, d, k = 900, 60, 6
    p = problem(threads, n, d, k, torch.float32, "cpu", fmt)
    entries = p["x"][1].numel() * k + n if fmt == "csr" else n * d * k
    assert entries >= 2**15
    order = orders(n, k, kind, p["g"], "cpu")
    l1_ratio, alpha = ORDER_PENALTIES[1]
    assert_all_equal(call(p, order, l1_ratio, alpha), gathered(p, order, l1_ratio, alpha), NAMES)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_order_is_rejected_by_name_and_nothing_changes(fmt, device):
    p = problem(5, 20, 4, 2, torch.float64, device, fmt)
    before = {name: p[name].clone() for name in ("w", "b", "state", "q", "sums")}
    for order, exc, match in bad_orders(20, 2, device):
        with pytest.raises(exc, match=match):
            in_place(p, order, 0.5, 0.01)
        for name, t in before.items():
            assert_bits_equal(p[name], t, name)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_row_met_through_the_order_restores_and_names_the_row(fmt):
    """A bad row r of x, visited after good rows were stepped on: the error
    names row r of x (not the visit), and every tensor is put back."""
    p = problem(6, 20, 4, 2, torch.float64, "cpu", fmt)
    if fmt == "csr":
        crow, col, values = (t.clone() for t in p["x"])
        r = next(i for i in range(5, 20) if crow[i + 1] > crow[i])
        col[crow[r + 1] - 1] = 4  # a column past n_features
        p["x"] = (crow, col, values)
    else:
        r = 7
        p["x"] = p["x"].clone()
        p["x"][r, 1] = float("inf")
    match = f"row {r}"
    before = {name: p[name].clone() for name in ("w", "b", "state", "q", "sums")}
    order = torch.tensor([[3, 1, r, 0], [2, r, 4, 1]])
    with pytest.raises(ValueError, match=match):
        in_place(p, order, 0.5, 0.01)
    for name, t in before.items():
        assert_bits_equal(p[name], t, name)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_opcheck_with_order(fmt, device):
    for seed, (n, d, k, dtype, kind) in enumerate(
        [(12, 3, 1, torch.float32, "perm"), (9, 4, 3, torch.float64, "per_output"), (10, 2, 2, torch.float32, "draws")]
    ):
        p = problem(seed, n, d, k, dtype, device, fmt)
        kw = dict(
            lr=0.5,
            alpha=0.01,
            l1_ratio=0.5,
            sample_weight=p["sw"],
            loss=p["sums"][0].clone(),
            objective=p["sums"][1].clone(),
            order=orders(n, k, kind, p["g"], device),
        )
        if fmt == "csr":
            args = (p["w"], p["b"], p["state"], p["q"], *p["x"], d, p["y"])
            op = torch.ops.torch_perceptron.online_update_penalized_csr.default
        else:
            args = (p["w"], p["b"], p["state"], p["q"], p["x"], p["y"])
            op = torch.ops.torch_perceptron.online_update_penalized.default
        torch.library.opcheck(op, args, kw)
