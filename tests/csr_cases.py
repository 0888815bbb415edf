"""Random CSR problems and a uniform way to call every sparse op, for the tests
of the CSR kernels (test_plain_rule_ops.py, test_validation.py, opcheck).

Values are dyadic (multiples of 1/4, small sums), so every summation order
gives the same bits: a CSR kernel must then equal the reference's ``*_csr``
form and the dense kernel on ``x.to_dense()`` bit for bit. Every problem has
empty rows and a few explicit zeros among the stored values.
"""

import torch
from torch import Tensor

from torch_perceptron import ops

FORWARDS = ("decision_function_csr", "predict_csr")
MULTICLASS = ("multiclass_update_csr", "multiclass_update_averaged_csr", "multiclass_update_pocket_csr")
# (The penalized op has its own state and tests: test_penalized_ops.py.)
CSR_OPS = tuple(name for name in ops.OPS if name.endswith("_csr") and "_penalized" not in name)
UPDATES = tuple(name for name in CSR_OPS if name not in FORWARDS)


def variant_of(op):
    return "averaged" if "_averaged" in op else "pocket" if "_pocket" in op else None


def random_csr(n, d, g, *, density=0.2, dtype=torch.float64, index_dtype=torch.int64, device="cpu"):
    """(dense x [n, d], crow, col, values): canonical CSR of x, every third row
    empty, some stored values zero."""
    mask = torch.rand(n, d, generator=g) < density
    mask[::3] = False
    ints = torch.randint(-8, 9, (n, d), generator=g)
    x = torch.where(mask, ints, 0).to(torch.float64) / 4
    nz = mask.nonzero()
    counts = mask.sum(1)
    crow = torch.zeros(n + 1, dtype=torch.int64)
    crow[1:] = counts.cumsum(0)
    col = nz[:, 1]
    values = x[nz[:, 0], nz[:, 1]]  # some are 0: explicit zeros
    return (
        x.to(dtype).to(device),
        crow.to(index_dtype).to(device),
        col.to(index_dtype).to(device),
        values.to(dtype).to(device),
    )


def labels(op, n, k, g, device="cpu"):
    if op in MULTICLASS:
        return torch.randint(0, k, (n,), generator=g).to(device)
    return torch.randint(0, 2, (n, k), generator=g).to(device)


def state(op, w, b, g=None):
    """The variant state beside weight and bias (fresh, or with a history)."""
    variant = variant_of(op)
    if variant is None:
        return []
    counters = 1 if op in MULTICLASS else w.shape[0]
    dev = w.device
    if variant == "averaged":
        if g is None:
            return [torch.zeros_like(w), torch.zeros_like(b), torch.zeros(counters, dtype=torch.int64, device=dev)]
        return [
            (torch.randint(-8, 9, w.shape, generator=g) / 4).to(w),
            (torch.randint(-8, 9, b.shape, generator=g) / 4).to(b),
            torch.randint(0, 50, (counters,), generator=g).to(dev),
        ]
    if g is None:
        return [
            w.clone(),
            b.clone(),
            torch.zeros(counters, dtype=torch.int64, device=dev),
            torch.zeros(counters, dtype=torch.int64, device=dev),
        ]
    return [
        (torch.randint(-8, 9, w.shape, generator=g) / 4).to(w),
        (torch.randint(-8, 9, b.shape, generator=g) / 4).to(b),
        torch.randint(0, 6, (counters,), generator=g).to(dev),
        torch.randint(0, 4, (counters,), generator=g).to(dev),
    ]


def csr_args(op, w, b, st, crow, col, values, n_features, y):
    """Positional arguments of `op` (without lr and options)."""
    if op in FORWARDS:
        return (crow, col, values, n_features, w, b)
    return (w, b, *st, crow, col, values, n_features, y)


def call_csr(op, w, b, st, crow, col, values, n_features, y, lr=1.0, **kw):
    """Runs the wrapper of `op`; returns its result."""
    fn = getattr(ops, op)
    if op in FORWARDS:
        return fn(crow, col, values, n_features, w, b)
    return fn(w, b, *st, crow, col, values, n_features, y, lr, **kw)


def dense_call(op, w, b, st, x, y, lr=1.0, *, bias_step=1.0, **kw):
    """The dense kernel of `op` on the same data (bias_step 0 or 1: the dense
    ops of this branch's main take fit_intercept, those after the stable-ABI
    port bias_step; either is read from the schema)."""
    name = op[: -len("_csr")]
    schema = getattr(torch.ops.torch_perceptron, name).default._schema
    args = [a.name for a in schema.arguments]
    fn = getattr(ops, name)
    if name in ("decision_function", "predict"):
        return fn(x, w, b)
    if "bias_step" in args:
        kw["bias_step"] = bias_step
    else:
        assert bias_step in (0.0, 1.0)
        kw["fit_intercept"] = bias_step == 1.0
    return fn(w, b, *st, x, y, lr, **kw)


def bits(t: Tensor) -> Tensor:
    """The raw bits of t, so that -0.0 vs 0.0 and NaN payloads count."""
    t = t.detach().cpu().contiguous()
    if t.is_floating_point():
        return t.view(torch.int64 if t.element_size() == 8 else torch.int32).clone()
    return t.clone()
