"""online_update_penalized and its CSR form against the plain reference
(torch_perceptron.reference_penalized), bit for bit: the kernel and the
reference do the same operations in the same order with the same types, so on
any data (continuous, not only dyadic) every written tensor must agree to the
last bit, on every device. Then the op's contract: validation before any
write, restore on a bad row, non-contiguous tensors, chunked calls equal to one
call, opcheck."""

import pytest
import torch

import csr_cases
from support import DEVICES, DTYPES, assert_bits_equal, binary_labels, continuous, gen
from torch_perceptron import ops, reference

# (l1_ratio, alpha): "l2", "l1", elastic nets, a shrink that clamps to 0, one
# that resets wscale within the call (0.9 per sample: below 1e-9 after ~200).
PENALTIES = [(0.0, 1e-4), (1.0, 1e-3), (0.15, 1e-2), (0.5, 0.05), (0.0, 2.0), (0.0, 0.1),
             (0.3, 0.7)]


def problem(seed, n, d, k, dtype, device, sparse=False):
    g = gen(seed)
    if sparse:
        x, crow, col, values = csr_cases.random_csr(n, d, g, dtype=dtype, device=device)
        x = (crow, col, values)
    else:
        x = continuous((n, d), g, dtype, device)
    w = (continuous((k, d), g, dtype, device) * 0.1)
    b = continuous((k,), g, dtype, device)
    y = binary_labels(n, k, g, device)
    sw = torch.rand(n, generator=g, dtype=torch.float64).to(dtype=dtype, device=device) * 2
    state = ops.penalty_state(w)
    q = (continuous((k, d), g, dtype, device) * 0.01).abs()
    return x, w, b, y, sw, state, q


def run_both(x, w, b, y, sw, state, q, device, sparse, **kw):
    sums = {name: torch.zeros(w.shape[0], dtype=torch.float64, device=device) + 0.5
            for name in ("loss", "objective")}
    got = [t.clone() for t in (w, b, state)] + [None if q is None else q.clone()]
    got_sums = {name: s.clone() for name, s in sums.items()}
    if sparse:
        mistakes = ops.online_update_penalized_csr(*got, *x, w.shape[1], y, sample_weight=sw,
                                                   **got_sums, **kw)
        dense = torch.sparse_csr_tensor(*(t.cpu() for t in x), size=(y.shape[0], w.shape[1]))
        want = reference.online_update_penalized_csr(w, b, state, q, dense, y, sample_weight=sw,
                                                     **sums, **kw)
    else:
        mistakes = ops.online_update_penalized(*got, x, y, sample_weight=sw, **got_sums, **kw)
        want = reference.online_update_penalized(w, b, state, q, x, y, sample_weight=sw,
                                                 **sums, **kw)
    got = got + [mistakes, got_sums["loss"], got_sums["objective"]]
    for name, a, e in zip(("weight", "bias", "state", "q", "mistakes", "loss", "objective"),
                          got, want):
        if e is not None:
            assert_bits_equal(a.cpu(), e, name)
    return got


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("l1_ratio, alpha", PENALTIES)
def test_equals_reference(l1_ratio, alpha, dtype, sparse, device):
    for seed, (n, d, k) in enumerate([(40, 5, 1), (60, 7, 3), (1, 3, 2)]):
        x, w, b, y, sw, state, q = problem(seed, n, d, k, dtype, device, sparse)
        for zero_is_mistake, bias_step, weights in ((True, 1.0, None), (False, 0.01, sw)):
            run_both(x, w, b, y, weights, state, q if l1_ratio > 0 else None, device, sparse,
                     lr=0.7, alpha=alpha, l1_ratio=l1_ratio, zero_is_mistake=zero_is_mistake,
                     bias_step=bias_step)


@pytest.mark.parametrize("dtype", DTYPES)
def test_wscale_is_reset_and_clamped(dtype):
    """alpha 0.1 (shrink 0.9): wscale falls below the floor and is folded in
    within the call; alpha 2 (shrink clamped to 0): each sample's step starts
    from zero weights, so the weights end as the last mistake's step."""
    x, w, b, y, sw, state, q = problem(3, 300, 4, 2, dtype, "cpu")
    got = run_both(x, w, b, y, None, state, None, "cpu", False, alpha=0.1, l1_ratio=0.0,
                   zero_is_mistake=True)
    floor = 1e-6 if dtype == torch.float32 else 1e-9
    assert (got[2][:, 0] >= floor).all() and (got[2][:, 0] < 0.9 ** 10).all()
    got = run_both(x, w, b, y, None, state, None, "cpu", False, alpha=2.0, l1_ratio=0.0,
                   zero_is_mistake=True)
    assert (got[2][:, 0] == 1).all()


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_chunked_calls_equal_one_call(dtype, sparse):
    """state, q and the sums carry everything across calls: an epoch in
    chunks gives the one call's bits (the estimator calls per chunk)."""
    x, w, b, y, sw, state, q = problem(5, 90, 6, 2, dtype, "cpu", sparse)
    kw = dict(lr=0.5, alpha=0.02, l1_ratio=0.4, zero_is_mistake=True)
    one = [t.clone() for t in (w, b, state, q)]
    sums1 = [torch.zeros(2, dtype=torch.float64) for _ in range(2)]
    parts = [t.clone() for t in (w, b, state, q)]
    sums2 = [torch.zeros(2, dtype=torch.float64) for _ in range(2)]
    if sparse:
        crow, col, values = x
        ops.online_update_penalized_csr(*one, crow, col, values, 6, y, sample_weight=sw,
                                        loss=sums1[0], objective=sums1[1], **kw)
        for lo, hi in ((0, 31), (31, 32), (32, 90)):
            # The rows' own slices: their explicit zeros kept.
            a, e = int(crow[lo]), int(crow[hi])
            part = (crow[lo : hi + 1] - a, col[a:e], values[a:e])
            ops.online_update_penalized_csr(*parts, *part, 6, y[lo:hi],
                                            sample_weight=sw[lo:hi], loss=sums2[0],
                                            objective=sums2[1], **kw)
    else:
        ops.online_update_penalized(*one, x, y, sample_weight=sw, loss=sums1[0],
                                    objective=sums1[1], **kw)
        for lo, hi in ((0, 31), (31, 32), (32, 90)):
            ops.online_update_penalized(*parts, x[lo:hi], y[lo:hi], sample_weight=sw[lo:hi],
                                        loss=sums2[0], objective=sums2[1], **kw)
    for a, e in zip(parts + sums2, one + sums1):
        assert_bits_equal(a, e)


def test_non_contiguous_tensors():
    x, w, b, y, sw, state, q = problem(7, 30, 5, 3, torch.float64, "cpu")
    kw = dict(lr=0.5, alpha=0.01, l1_ratio=0.5, zero_is_mistake=True, sample_weight=sw)
    want = [t.clone() for t in (w, b, state, q)]
    ops.online_update_penalized(*want, x, y, **kw)
    got = [w.t().contiguous().t(), b.clone(), state.t().contiguous().t(), q.t().contiguous().t()]
    assert not got[0].is_contiguous() and not got[2].is_contiguous()
    ops.online_update_penalized(*got, x.t().contiguous().t(), y, **kw)
    for a, e in zip(got, want):
        assert_bits_equal(a, e)


def _args(dtype=torch.float64):
    x, w, b, y, sw, state, q = problem(11, 20, 4, 2, dtype, "cpu")
    return dict(weight=w, bias=b, state=state, q=q, x=x, y=y, sample_weight=sw,
                loss=torch.zeros(2, dtype=torch.float64),
                objective=torch.zeros(2, dtype=torch.float64))


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
            args["weight"], args["bias"], args["state"], args["q"], args["x"], args["y"],
            sample_weight=args["sample_weight"], loss=args["loss"],
            objective=args["objective"], **kw)
    for k, v in before.items():
        # As integers: the bits themselves, NaN included.
        ints = {torch.float64: torch.int64, torch.float32: torch.int32}.get(v.dtype, v.dtype)
        assert torch.equal(args[k].view(ints), v.view(ints)), k


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_bad_row_restores_every_written_tensor(sparse):
    x, w, b, y, sw, state, q = problem(13, 30, 4, 2, torch.float64, "cpu", sparse)
    tensors = [w, b, state, q, torch.zeros(2, dtype=torch.float64),
               torch.zeros(2, dtype=torch.float64)]
    before = [t.clone() for t in tensors]
    kw = dict(lr=0.5, alpha=0.01, l1_ratio=0.5, sample_weight=sw, loss=tensors[4],
              objective=tensors[5])
    if sparse:
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
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_opcheck(sparse, device):
    for seed, (n, d, k, dtype) in enumerate([(12, 3, 1, torch.float32), (9, 4, 3, torch.float64),
                                              (0, 2, 2, torch.float32)]):
        x, w, b, y, sw, state, q = problem(seed, n, d, k, dtype, device, sparse)
        sums = dict(loss=torch.zeros(k, dtype=torch.float64, device=device),
                    objective=torch.zeros(k, dtype=torch.float64, device=device))
        kw = dict(lr=0.5, alpha=0.01, l1_ratio=0.5 if seed != 1 else 0.0,
                  sample_weight=sw if seed else None, zero_is_mistake=bool(seed % 2), **sums)
        if seed == 1:
            q = None
        if sparse:
            args = (w, b, state, q, *x, d, y)
            op = torch.ops.torch_perceptron.online_update_penalized_csr.default
        else:
            args = (w, b, state, q, x, y)
            op = torch.ops.torch_perceptron.online_update_penalized.default
        torch.library.opcheck(op, args, kw)


@pytest.mark.parametrize("op", ["online_update_penalized", "online_update_penalized_csr"])
def test_schema_declares_mutation(op):
    schema = getattr(torch.ops.torch_perceptron, op).default._schema
    written = [a.name for a in schema.arguments
               if a.alias_info is not None and a.alias_info.is_write]
    assert written == ["weight", "bias", "state", "q", "loss", "objective"]
    assert schema.returns[0].alias_info is None


def test_version_of_every_written_tensor_goes_up():
    x, w, b, y, sw, state, q = problem(2, 10, 3, 2, torch.float64, "cpu")
    tensors = [w, b, state, q, torch.zeros(2, dtype=torch.float64),
               torch.zeros(2, dtype=torch.float64)]
    before = [t._version for t in tensors]
    ops.online_update_penalized(*tensors[:4], x, y, alpha=0.01, l1_ratio=0.5,
                                loss=tensors[4], objective=tensors[5])
    assert all(t._version > v for t, v in zip(tensors, before))
