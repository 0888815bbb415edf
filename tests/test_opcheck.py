"""torch.library.opcheck on every op: schema (mutation declared, no aliasing
outputs), the fake kernels, the autograd registration and AOT dispatch."""

import pytest
import torch

from support import DEVICES, OPS, class_labels, binary_labels, dyadic, dyadic_sample_weight, gen


def samples(op, device):
    """(args, kwargs) for `op`: several shapes, both dtypes, optional arguments,
    an empty batch and non-contiguous views. Fresh tensors each time: the update
    ops mutate their arguments."""
    out = []
    for seed, (n, in_features, k, dtype) in enumerate(
        [(12, 3, 1, torch.float32), (12, 3, 4, torch.float64), (0, 2, 3, torch.float32),
         (7, 1, 2, torch.float64), (20, 9, 3, torch.float32)]
    ):
        g = gen(seed)
        if op == "multiclass_update" and k == 1:
            k = 2
        x = dyadic((n, in_features), g, dtype, device)
        w = dyadic((k, in_features), g, dtype, device)
        b = dyadic((k,), g, dtype, device)
        if seed == 4:
            x, w = x.t().contiguous().t(), w.t().contiguous().t()
        if op in ("decision_function", "predict"):
            out.append(((x, w, b), {}))
            continue
        if op == "multiclass_update":
            y = class_labels(n, k, g, device)
        else:
            y = binary_labels(n, k, g, device)
            if k == 1 and seed % 2 == 0:
                y = y[:, 0].bool()
        kwargs = {}
        if seed % 2 == 1:
            kwargs["sample_weight"] = dyadic_sample_weight(n, g, dtype, device)
        if op != "multiclass_update" and seed in (1, 4):
            kwargs["zero_is_mistake"] = True
        out.append(((w, b, x, y), {"lr": 0.5, **kwargs}))
    return out


OP_NAMES = ["decision_function", "predict", "online_update", "multiclass_update", "batch_update"]


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
        args = tuple(a.requires_grad_(True) if a.is_floating_point() else a for a in args)
        torch.library.opcheck(getattr(OPS, op).default, args, kwargs)


@pytest.mark.parametrize("op", OP_NAMES)
def test_schema_declares_mutation(op):
    schema = getattr(OPS, op).default._schema
    mutated = [a.name for a in schema.arguments if a.alias_info is not None and a.alias_info.is_write]
    if op.endswith("_update"):
        assert mutated == ["weight", "bias"]
        assert schema.returns[0].alias_info is None, "mistakes must not alias an input"
    else:
        assert mutated == []
    assert len(schema.returns) == 1
