"""The penalized ops' ``order`` argument (dense and CSR): the rows of x, y and
sample_weight a call visits, one order for every output ([M]) or one per
output ([K, M]), as the online ops take it (test_sample_order.py).

Its meaning is the call on the gathered rows (``x[order]``, output by output
for [K, M]); the penalized walk rounds the same on any data, so every written
tensor is held to that call and to the plain reference bit for bit, on
continuous data. Then the contract: one and two threads, a rejected order and
a bad row met through the order leave every tensor as it was, opcheck."""

import pytest
import torch

import csr_cases
from order_cases import assert_all_equal, bad_orders, on_gathered_rows, orders
from support import DEVICES, DTYPES, assert_bits_equal, binary_labels, continuous, gen
from torch_perceptron import ops, reference
from torch_perceptron.sparse import CSRRows
from torch_perceptron.sparse_batches import take_rows

# (l1_ratio, alpha): "l2"; an elastic net whose wscale resets within a call.
PENALTIES = [(0.0, 1e-3), (0.3, 0.7)]
NAMES = ("weight", "bias", "state", "q", "mistakes", "loss", "objective")


def problem(seed, n, d, k, dtype, device, sparse):
    g = gen(seed)
    if sparse:
        _, crow, col, values = csr_cases.random_csr(n, d, g, dtype=dtype, device=device)
        x = (crow, col, values)
    else:
        x = continuous((n, d), g, dtype, device)
    w = continuous((k, d), g, dtype, device) * 0.1
    return dict(
        x=x, w=w, b=continuous((k,), g, dtype, device), y=binary_labels(n, k, g, device),
        sw=torch.rand(n, generator=g, dtype=torch.float64).to(dtype=dtype, device=device) * 2,
        state=ops.penalty_state(w), q=(continuous((k, d), g, dtype, device) * 0.01).abs(),
        sums=torch.rand(2, k, generator=g, dtype=torch.float64).to(device), g=g, d=d, n=n,
        sparse=sparse,
    )


def in_place(p, order, l1_ratio, alpha, *, x=None, y=None, sw=None, **kw):
    """The op on p's own state and sums (x, y, sw: p's unless given);
    returns the mistakes."""
    x = p["x"] if x is None else x
    y = p["y"] if y is None else y
    sw = p["sw"] if sw is None else sw
    w, b, state, q, sums = (p[name] for name in ("w", "b", "state", "q", "sums"))
    args = dict(lr=0.5, alpha=alpha, l1_ratio=l1_ratio, sample_weight=sw, loss=sums[0],
                objective=sums[1], order=order, **kw)
    if p["sparse"]:
        return ops.online_update_penalized_csr(w, b, state, q, *x, p["d"], y, **args)
    return ops.online_update_penalized(w, b, state, q, x, y, **args)


def call(p, order, l1_ratio, alpha, *, rows=slice(None), **kw):
    """The op on copies of p's state (outputs ``rows``); every written tensor,
    on the CPU, in NAMES's order."""
    own = dict(p, **{name: p[name][rows].clone() for name in ("w", "b", "state", "q")},
               sums=p["sums"][:, rows].clone())
    m = in_place(own, order, l1_ratio, alpha, **kw)
    return [t.cpu() for t in (own["w"], own["b"], own["state"], own["q"], m, own["sums"][0],
                              own["sums"][1])]


def gathered(p, order, l1_ratio, alpha, **kw):
    """The same without ``order``: the rows gathered (output by output for
    one order per output)."""
    def one_call(rows, outputs):
        x = (take_rows(CSRRows(*p["x"], p["d"]), rows).tensors() if p["sparse"]
             else p["x"][rows])
        return call(p, None, l1_ratio, alpha, rows=outputs, x=x, y=p["y"][rows][:, outputs],
                    sw=p["sw"][rows], **kw)

    return on_gathered_rows(order, one_call)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("l1_ratio, alpha", PENALTIES)
@pytest.mark.parametrize("kind", ["perm", "per_output", "draws"])
@pytest.mark.parametrize("k", [1, 4])
def test_order_is_the_call_on_the_gathered_rows(k, kind, l1_ratio, alpha, dtype, sparse, device):
    p = problem(k + 3 * len(kind), 120, 9, k, dtype, device, sparse)
    order = orders(120, k, kind, p["g"], device)
    got = call(p, order, l1_ratio, alpha, zero_is_mistake=True)
    assert_all_equal(got, gathered(p, order, l1_ratio, alpha, zero_is_mistake=True), NAMES)
    # Not vacuous: another order than the data's changes the result (the
    # strong L1 case may clamp every weight to 0 either way: the bias and
    # the sums still tell).
    plain = call(p, None, l1_ratio, alpha, zero_is_mistake=True)
    assert not all(torch.equal(a, e) for a, e in zip(got, plain))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["perm", "draws"])
def test_order_equals_reference(kind, dtype, sparse, device):
    p = problem(len(kind), 50, 6, 3, dtype, device, sparse)
    order = orders(50, 3, kind, p["g"], device)
    l1_ratio, alpha = PENALTIES[1]
    got = call(p, order, l1_ratio, alpha)
    kw = dict(lr=0.5, alpha=alpha, l1_ratio=l1_ratio, sample_weight=p["sw"],
              loss=p["sums"][0], objective=p["sums"][1], order=order)
    if sparse:
        x = torch.sparse_csr_tensor(*(t.cpu() for t in p["x"]), size=(50, 6))
        want = reference.online_update_penalized_csr(p["w"], p["b"], p["state"], p["q"], x,
                                                     p["y"], **kw)
    else:
        want = reference.online_update_penalized(p["w"], p["b"], p["state"], p["q"], p["x"],
                                                 p["y"], **kw)
    assert_all_equal(got, want, NAMES)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("kind", ["perm", "per_output"])
def test_order_on_threads_is_the_gathered_call(kind, sparse, threads, num_threads):
    """Enough work for the outputs to go to two threads (2**15 entries a
    call: csrc/cpu/penalized_kernel.cpp)."""
    num_threads(threads)
    n, d, k = 900, 60, 6
    p = problem(threads, n, d, k, torch.float32, "cpu", sparse)
    entries = p["x"][1].numel() * k + n if sparse else n * d * k
    assert entries >= 2**15
    order = orders(n, k, kind, p["g"], "cpu")
    assert_all_equal(call(p, order, *PENALTIES[1]), gathered(p, order, *PENALTIES[1]), NAMES)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_bad_order_is_rejected_by_name_and_nothing_changes(sparse, device):
    p = problem(5, 20, 4, 2, torch.float64, device, sparse)
    before = {name: p[name].clone() for name in ("w", "b", "state", "q", "sums")}
    for order, exc, match in bad_orders(20, 2, device):
        with pytest.raises(exc, match=match):
            in_place(p, order, 0.5, 0.01)
        for name, t in before.items():
            assert_bits_equal(p[name], t, name)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_bad_row_met_through_the_order_restores_and_names_the_row(sparse):
    """A bad row r of x, visited after good rows were stepped on: the error
    names row r of x (not the visit), and every tensor is put back."""
    p = problem(6, 20, 4, 2, torch.float64, "cpu", sparse)
    if sparse:
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
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_opcheck_with_order(sparse, device):
    for seed, (n, d, k, dtype, kind) in enumerate([(12, 3, 1, torch.float32, "perm"),
                                                    (9, 4, 3, torch.float64, "per_output"),
                                                    (10, 2, 2, torch.float32, "draws")]):
        p = problem(seed, n, d, k, dtype, device, sparse)
        kw = dict(lr=0.5, alpha=0.01, l1_ratio=0.5, sample_weight=p["sw"],
                  loss=p["sums"][0].clone(), objective=p["sums"][1].clone(),
                  order=orders(n, k, kind, p["g"], device))
        if sparse:
            args = (p["w"], p["b"], p["state"], p["q"], *p["x"], d, p["y"])
            op = torch.ops.torch_perceptron.online_update_penalized_csr.default
        else:
            args = (p["w"], p["b"], p["state"], p["q"], p["x"], p["y"])
            op = torch.ops.torch_perceptron.online_update_penalized.default
        torch.library.opcheck(op, args, kw)
