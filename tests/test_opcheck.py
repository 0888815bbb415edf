"""torch.library.opcheck on every op of torch_perceptron.ops.OPS: schema
(mutation declared, no aliasing outputs), the fake kernels, the autograd
registration and AOT dispatch; and what the schema's mutation promises: the
version counter of every written tensor goes up, so autograd notices."""

import pytest
import torch

import csr_cases
import device_support as ds
from support import (
    ACCELERATORS,
    DENSE_OPS,
    DEVICES,
    ONLINE,
    OPS,
    binary_labels,
    class_labels,
    dyadic,
    dyadic_sample_weight,
    gen,
)
from torch_perceptron import ops
from torch_perceptron.ops import OPS as ALL_OPS

# The penalized ops take their own state (wscale, q): their opcheck, schema
# and version tests are in test_penalized_ops.py.
OP_NAMES = tuple(name for name in ALL_OPS if "_penalized" not in name)

MULTICLASS = ("multiclass_update", "multiclass_update_averaged", "multiclass_update_pocket")


def variant_state(op, w, b):
    """The state an averaged or pocket op carries beside the weights, fresh."""
    counters = 1 if op.startswith("multiclass") else w.shape[0]
    count = torch.zeros(counters, dtype=torch.int64, device=w.device)
    if op.endswith("_averaged"):
        return (torch.zeros_like(w), torch.zeros_like(b), count)
    if op.endswith("_pocket"):
        return (w.clone(), b.clone(), count, count.clone())
    return ()


def samples(op, device):
    """(args, kwargs) for `op`: several shapes, both dtypes, optional arguments,
    an empty batch and non-contiguous views. Fresh tensors each time: the update
    ops mutate their arguments."""
    if op.endswith("_csr"):
        return csr_samples(op, device)
    out = []
    for seed, (n, in_features, k, dtype) in enumerate(
        [
            (12, 3, 1, torch.float32),
            (12, 3, 4, torch.float64),
            (0, 2, 3, torch.float32),
            (7, 1, 2, torch.float64),
            (20, 9, 3, torch.float32),
        ]
    ):
        g = gen(seed)
        if op in MULTICLASS and k == 1:
            k = 2
        x = dyadic((n, in_features), g, dtype, device)
        w = dyadic((k, in_features), g, dtype, device)
        b = dyadic((k,), g, dtype, device)
        if seed == 4:
            x, w = x.t().contiguous().t(), w.t().contiguous().t()
        if op in ("decision_function", "predict"):
            out.append(((x, w, b), {}))
            continue
        if op in MULTICLASS:
            y = class_labels(n, k, g, device)
        else:
            y = binary_labels(n, k, g, device)
            if k == 1 and seed % 2 == 0:
                y = y[:, 0].bool()
        kwargs = {}
        if seed % 2 == 1:
            kwargs["sample_weight"] = dyadic_sample_weight(n, g, dtype, device)
        if op not in MULTICLASS and seed in (1, 4):
            kwargs["zero_is_mistake"] = True
        if seed in (2, 3):
            kwargs["bias_step"] = 0.0 if seed == 2 else 0.01
        if op in ONLINE and seed in (0, 1, 4):
            # The epoch loss sums; non-contiguous on seed 4.
            loss = dyadic((2 * k,), g, torch.float64, device).abs()
            kwargs["loss"] = loss[::2] if seed == 4 else loss[:k].clone()
        if op in ONLINE and seed in (1, 3, 4) and n > 0:
            # The sample order: one for all outputs, one per output (longer
            # than N, rows repeated), and a non-contiguous view of one.
            if seed == 1:
                kwargs["order"] = torch.randperm(n, generator=g).to(device)
            else:
                per_output = torch.randint(0, n, (k, 2 * n), generator=g).to(device)
                kwargs["order"] = per_output[:, ::2] if seed == 4 else per_output
        out.append(((w, b, *variant_state(op, w, b), x, y), {"lr": 0.5, **kwargs}))
    return out


def csr_samples(op, device):
    """The sparse forms' samples: both index dtypes, empty rows, an empty batch,
    strided index and value tensors, every option."""
    out = []
    for seed, (n, in_features, k, dtype, index_dtype) in enumerate(
        [
            (12, 3, 1, torch.float32, torch.int64),
            (12, 5, 4, torch.float64, torch.int32),
            (0, 2, 3, torch.float32, torch.int32),
            (7, 1, 2, torch.float64, torch.int64),
            (20, 9, 3, torch.float32, torch.int32),
        ]
    ):
        g = gen(seed)
        if op in csr_cases.MULTICLASS and k == 1:
            k = 2
        _, crow, col, values = csr_cases.random_csr(
            n, in_features, g, dtype=dtype, index_dtype=index_dtype, device=device
        )
        w = dyadic((k, in_features), g, dtype, device)
        b = dyadic((k,), g, dtype, device)
        if seed == 4:
            w = w.t().contiguous().t()
            col, values = (torch.stack([t, t], -1)[..., 0] for t in (col, values))
        if op in csr_cases.FORWARDS:
            out.append(((crow, col, values, in_features, w, b), {}))
            continue
        y = csr_cases.labels(op, n, k, g, device)
        kwargs = {}
        if seed % 2 == 1:
            kwargs["sample_weight"] = dyadic_sample_weight(n, g, dtype, device)
        if op not in csr_cases.MULTICLASS and seed in (1, 4):
            kwargs["zero_is_mistake"] = True
        if seed in (2, 3):
            kwargs["bias_step"] = 0.0 if seed == 2 else 0.01
        if op.removesuffix("_csr") in ONLINE and seed in (0, 1, 4):
            # The epoch loss sums; non-contiguous on seed 4.
            loss = dyadic((2 * k,), g, torch.float64, device).abs()
            kwargs["loss"] = loss[::2] if seed == 4 else loss[:k].clone()
        if op.removesuffix("_csr") in ONLINE and seed in (1, 3, 4) and n > 0:
            # The sample order, as the dense samples take it: one for all
            # outputs, one per output (rows repeated), a non-contiguous one.
            if seed == 1:
                kwargs["order"] = torch.randperm(n, generator=g).to(device)
            else:
                per_output = torch.randint(0, n, (k, 2 * n), generator=g).to(device)
                kwargs["order"] = per_output[:, ::2] if seed == 4 else per_output
        st = variant_state(op[: -len("_csr")], w, b)
        out.append(((w, b, *st, crow, col, values, in_features, y), {"lr": 0.5, **kwargs}))
    return out


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", OP_NAMES)
def test_opcheck(op, device):
    overload = getattr(OPS, op).default
    for args, kwargs in samples(op, device):
        torch.library.opcheck(overload, args, kwargs)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", OP_NAMES)
def test_opcheck_with_requires_grad(op, device):
    """The autograd check: inputs that require grad, outputs without a graph."""
    for args, kwargs in samples(op, device)[:2]:
        args = tuple(
            a.requires_grad_(True) if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args
        )
        torch.library.opcheck(getattr(OPS, op).default, args, kwargs)


def written(op):
    """The positions and names of the arguments `op` declares it writes."""
    schema = getattr(OPS, op).default._schema
    return [(i, a.name) for i, a in enumerate(schema.arguments) if a.alias_info is not None and a.alias_info.is_write]


@pytest.mark.parametrize("op", OP_NAMES)
def test_schema_declares_mutation(op):
    schema = getattr(OPS, op).default._schema
    mutated = [name for _, name in written(op)]
    op = op.removesuffix("_csr")
    loss = ["loss"] if op in ONLINE else []
    if op.endswith("_update"):
        assert mutated == ["weight", "bias"] + loss
    elif op.endswith("_averaged"):
        assert mutated == ["weight", "bias", "weight_acc", "bias_acc", "count"] + loss
    elif op.endswith("_pocket"):
        assert mutated == ["weight", "bias", "pocket_weight", "pocket_bias", "run", "best_run"] + loss
    else:
        assert mutated == []
    assert len(schema.returns) == 1
    assert schema.returns[0].alias_info is None, "the result must not alias an input"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", [name for name in OP_NAMES if written(name)])
def test_version_counter_of_every_written_tensor_goes_up(op, device):
    """As for PyTorch's own in-place ops, also on non-contiguous weights and
    on an empty batch."""
    for args, kwargs in samples(op, device):
        # Every call, an empty batch's included (one rule for every op,
        # dense or CSR: an in-place op that happens to change nothing).
        given = {name: args[i] if i < len(args) else kwargs.get(name) for i, name in written(op)}
        given = {name: t for name, t in given.items() if t is not None}
        before = {name: t._version for name, t in given.items()}
        getattr(OPS, op).default(*args, **kwargs)
        for name, t in given.items():
            assert t._version > before[name], f"{op}: {name}._version did not go up"


def test_autograd_notices_a_saved_tensor_the_op_changed():
    """weight saved for backward, then changed in place by the op: backward
    refuses, as after any in-place op, rather than using the new values."""
    g = gen(0)
    w, b = dyadic((1, 3), g), dyadic((1,), g)
    x = dyadic((5, 3), g)
    scale = torch.ones(1, 3, dtype=torch.float64, requires_grad=True)
    loss = (scale * w).sum()  # mul saves w for scale's gradient
    ops.online_update(w, b, x, torch.ones(5))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_ops_record_no_graph_even_with_grad_enabled():
    g = gen(0)
    x = dyadic((6, 3), g).requires_grad_(True)
    w, b = dyadic((2, 3), g).requires_grad_(True), dyadic((2,), g)
    z = ops.decision_function(x, w, b)
    assert z.grad_fn is None and not z.requires_grad
    leaf = w.detach().clone().requires_grad_(True)
    m = ops.online_update(leaf, b, x, torch.ones(6, 2))
    assert m.grad_fn is None and leaf.grad_fn is None and leaf.is_leaf


# Ten hand-made calls (every op, and K = 1 labels as a 1-D tensor) on every
# device but the CPU, the first check of the CUDA registrations.

OPCHECK_CASES = [*DENSE_OPS[:3], "online_update_k1_labels", *DENSE_OPS[3:]]


def _opcheck_sample(case, dtype, device):
    """(op name, args) on device tensors; built in the test, never at collection."""
    g = torch.Generator().manual_seed(6)
    x = ds.dyadic((40, 5), g).to(dtype).to(device)
    y = ds.binary_labels(40, 3, g).to(device)
    c = torch.randint(0, 3, (40,), generator=g).to(device)
    sw = torch.rand(40, generator=g, dtype=torch.float64).to(dtype).to(device)
    w, b = ds.params_on(device, 3, 5, dtype)
    if case == "decision_function":
        return case, (x, w, b)
    if case == "predict":
        return case, (x[::2], w, b)
    if case == "online_update":
        return case, (w, b, x, y, 0.5, sw, True)
    if case == "online_update_k1_labels":
        return "online_update", (w[:1].clone(), b[:1].clone(), x, y[:, 0])
    if case == "multiclass_update":
        return case, (w, b, x, c, 1.0, sw)
    if case == "batch_update":
        return case, (w, b, x, y, 0.5, None, False)
    variant = "averaged" if case.endswith("averaged") else "pocket"
    multiclass = case.startswith("multiclass")
    state = ds.on(device, *ds.variant_state(variant, 3, 5, dtype, 1 if multiclass else 3, g))
    if multiclass:
        return case, (w, b, *state, x, c, 1.0, sw, False)
    return case, (w, b, *state, x, y, 0.5, sw, True, False)


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("dtype", ds.DTYPES)
@pytest.mark.parametrize("case", OPCHECK_CASES)
def test_opcheck_on_another_device(case, dtype, device):
    name, args = _opcheck_sample(case, dtype, device)
    op = getattr(torch.ops.torch_perceptron, name).default
    torch.library.opcheck(op, args)
