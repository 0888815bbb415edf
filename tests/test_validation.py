"""Bad inputs of every op, dense and CSR (``format``): a clear error that
names the argument, and every tensor the op writes left bit for bit as it was,
also when the bad value is found after updates were made (a non-finite or, in
CSR, a bad column or value in a late row; a decision value that overflows).
The CSR checks come in docs/sparse_design.md's order (dtypes, shapes,
crow_indices, then columns and values, then labels and sample weights). Then
requires_grad, empty batches, and every registered op's tensors on another
device."""

import re
import warnings

import pytest
import torch

import csr_cases
from csr_cases import CSR_OPS, bits, labels, random_csr, state
from support import DEVICES, OPS, _cuda_param, dyadic, gen, torch_threads
from torch_perceptron import ops

UPDATES = ["online_update", "batch_update", "multiclass_update"]
FORWARDS = ["decision_function", "predict"]
NAN, INF = float("nan"), float("inf")


def problem(op, k=3, n=30, in_features=4, dtype=torch.float64, device="cpu"):
    g = gen(1)
    w = dyadic((k, in_features), g, dtype, device)
    b = dyadic((k,), g, dtype, device)
    x = dyadic((n, in_features), g, dtype, device)
    if op == "multiclass_update":
        y = torch.randint(0, k, (n,), generator=g).to(device)
    else:
        y = torch.randint(0, 2, (n, k), generator=g).to(device)
    return dict(weight=w, bias=b, x=x, y=y)


def call(op, a):
    if op in FORWARDS:
        return getattr(ops, op)(a["x"], a["weight"], a["bias"])
    kw = {}
    if "sample_weight" in a:
        kw["sample_weight"] = a["sample_weight"]
    if "bias_step" in a:
        kw["bias_step"] = a["bias_step"]
    return getattr(ops, op)(a["weight"], a["bias"], a["x"], a["y"], a.get("lr", 1.0), **kw)


def with_value(t, index, value):
    t = t.clone()
    t[index] = value
    return t


# (case id, ops it applies to, change to the arguments, error type, regex the
# message must match: it names the argument).
ALL = UPDATES + FORWARDS
BINARY = ["online_update", "batch_update"]
DENSE_CASES = [
    ("weight-1d", ALL, lambda a: {"weight": a["weight"][0]}, RuntimeError, r"weight: expected a 2-D"),
    ("weight-3d", ALL, lambda a: {"weight": a["weight"][None]}, RuntimeError, r"weight: expected a 2-D"),
    (
        "weight-no-rows",
        ALL,
        lambda a: {"weight": a["weight"][:0], "bias": a["bias"][:0]},
        RuntimeError,
        r"weight: expected at least one",
    ),
    ("weight-int", ALL, lambda a: {"weight": a["weight"].long()}, RuntimeError, r"weight: expected float32 or float64"),
    (
        "weight-half",
        ALL,
        lambda a: {"weight": a["weight"].half()},
        RuntimeError,
        r"weight: expected float32 or float64",
    ),
    (
        "weight-nan",
        ALL,
        lambda a: {"weight": with_value(a["weight"], (1, 2), NAN)},
        ValueError,
        r"weight and bias: expected finite",
    ),
    (
        "bias-inf",
        ALL,
        lambda a: {"bias": with_value(a["bias"], 0, -INF)},
        ValueError,
        r"weight and bias: expected finite",
    ),
    ("bias-short", ALL, lambda a: {"bias": a["bias"][:-1]}, RuntimeError, r"bias: expected shape \[3\]"),
    ("bias-2d", ALL, lambda a: {"bias": a["bias"][None]}, RuntimeError, r"bias: expected shape \[3\]"),
    ("bias-dtype", ALL, lambda a: {"bias": a["bias"].float()}, RuntimeError, r"bias: expected dtype Double"),
    ("x-1d", ALL, lambda a: {"x": a["x"][0]}, RuntimeError, r"x: expected a 2-D"),
    ("x-3d", ALL, lambda a: {"x": a["x"][None]}, RuntimeError, r"x: expected a 2-D"),
    ("x-features", ALL, lambda a: {"x": a["x"][:, :-1]}, RuntimeError, r"x: expected 4 features"),
    ("x-dtype", ALL, lambda a: {"x": a["x"].float()}, RuntimeError, r"x: expected dtype Double"),
    ("x-int", ALL, lambda a: {"x": a["x"].long()}, RuntimeError, r"x: expected dtype Double"),
    (
        "x-nan-first-row",
        ALL,
        lambda a: {"x": with_value(a["x"], (0, 1), NAN)},
        ValueError,
        r"x: expected finite values, but row 0 ",
    ),
    (
        "x-nan-late-row",
        ALL,
        lambda a: {"x": with_value(a["x"], (27, 3), NAN)},
        ValueError,
        r"x: expected finite values, but row 27 ",
    ),
    (
        "x-inf-late-row",
        ALL,
        lambda a: {"x": with_value(a["x"], (29, 0), INF)},
        ValueError,
        r"x: expected finite values, but row 29 ",
    ),
    (
        "x-overflow",
        ALL,
        lambda a: {"x": with_value(a["x"], (12, 0), 1e308), "weight": with_value(a["weight"], (slice(None), 0), 1e10)},
        ValueError,
        r"x: expected finite values, but row 12 ",
    ),
    ("lr-zero", UPDATES, lambda a: {"lr": 0.0}, ValueError, r"lr: expected a finite value > 0, got 0"),
    ("lr-negative", UPDATES, lambda a: {"lr": -1.0}, ValueError, r"lr: expected a finite value > 0, got -1"),
    ("lr-nan", UPDATES, lambda a: {"lr": NAN}, ValueError, r"lr: expected a finite value > 0, got nan"),
    ("lr-inf", UPDATES, lambda a: {"lr": INF}, ValueError, r"lr: expected a finite value > 0, got inf"),
    (
        "bias-step-nan",
        UPDATES,
        lambda a: {"bias_step": NAN},
        ValueError,
        r"bias_step: expected a finite value, got nan",
    ),
    (
        "bias-step-inf",
        UPDATES,
        lambda a: {"bias_step": -INF},
        ValueError,
        r"bias_step: expected a finite value, got -inf",
    ),
    (
        "sample-weight-negative",
        UPDATES,
        lambda a: {"sample_weight": with_value(torch.ones(30, dtype=torch.float64), 17, -0.25)},
        ValueError,
        r"sample_weight: expected finite values >= 0",
    ),
    (
        "sample-weight-nan",
        UPDATES,
        lambda a: {"sample_weight": with_value(torch.ones(30, dtype=torch.float64), 29, NAN)},
        ValueError,
        r"sample_weight: expected finite values >= 0",
    ),
    (
        "sample-weight-inf",
        UPDATES,
        lambda a: {"sample_weight": with_value(torch.ones(30, dtype=torch.float64), 3, INF)},
        ValueError,
        r"sample_weight: expected finite values >= 0",
    ),
    (
        "sample-weight-shape",
        UPDATES,
        lambda a: {"sample_weight": torch.ones(29, dtype=torch.float64)},
        RuntimeError,
        r"sample_weight: expected shape \[N\] with N=30",
    ),
    (
        "sample-weight-2d",
        UPDATES,
        lambda a: {"sample_weight": torch.ones(30, 1, dtype=torch.float64)},
        RuntimeError,
        r"sample_weight: expected shape \[N\] with N=30",
    ),
    (
        "sample-weight-complex",
        UPDATES,
        lambda a: {"sample_weight": torch.ones(30, dtype=torch.complex64)},
        RuntimeError,
        r"sample_weight: expected a real dtype",
    ),
    (
        "y-value-2",
        BINARY,
        lambda a: {"y": with_value(a["y"], (28, 1), 2)},
        ValueError,
        r"y: expected binary labels with values 0 or 1",
    ),
    (
        "y-value-minus-1",
        BINARY,
        lambda a: {"y": with_value(a["y"], (5, 0), -1)},
        ValueError,
        r"y: expected binary labels with values 0 or 1",
    ),
    (
        "y-value-half",
        BINARY,
        lambda a: {"y": with_value(a["y"].double(), (29, 2), 0.5)},
        ValueError,
        r"y: expected binary labels with values 0 or 1",
    ),
    (
        "y-value-nan",
        BINARY,
        lambda a: {"y": with_value(a["y"].double(), (29, 2), NAN)},
        ValueError,
        r"y: expected binary labels with values 0 or 1",
    ),
    (
        "y-rows",
        BINARY,
        lambda a: {"y": a["y"][:-1]},
        RuntimeError,
        r"y: expected 0/1 labels of shape \[N, K\] with N=30, K=3",
    ),
    ("y-columns", BINARY, lambda a: {"y": a["y"][:, :2]}, RuntimeError, r"y: expected 0/1 labels of shape \[N, K\]"),
    ("y-1d-for-k3", BINARY, lambda a: {"y": a["y"][:, 0]}, RuntimeError, r"y: expected 0/1 labels of shape \[N, K\]"),
    ("y-3d", BINARY, lambda a: {"y": a["y"][None]}, RuntimeError, r"y: expected 0/1 labels of shape \[N, K\]"),
    ("y-complex", BINARY, lambda a: {"y": a["y"].to(torch.complex64)}, RuntimeError, r"y: expected real 0/1 labels"),
    (
        "class-too-big",
        ["multiclass_update"],
        lambda a: {"y": with_value(a["y"], 25, 3)},
        ValueError,
        r"y: expected class indices in \[0, 3\)",
    ),
    (
        "class-negative",
        ["multiclass_update"],
        lambda a: {"y": with_value(a["y"], 25, -1)},
        ValueError,
        r"y: expected class indices in \[0, 3\)",
    ),
    (
        "class-float",
        ["multiclass_update"],
        lambda a: {"y": a["y"].double()},
        RuntimeError,
        r"y: expected an integer dtype",
    ),
    ("class-bool", ["multiclass_update"], lambda a: {"y": a["y"] > 0}, RuntimeError, r"y: expected an integer dtype"),
    (
        "class-2d",
        ["multiclass_update"],
        lambda a: {"y": a["y"][:, None]},
        RuntimeError,
        r"y: expected class indices of shape \[N\] with N=30",
    ),
    (
        "class-rows",
        ["multiclass_update"],
        lambda a: {"y": a["y"][:-1]},
        RuntimeError,
        r"y: expected class indices of shape \[N\] with N=30",
    ),
]
# ---------------------------------------------------------------- CSR cases


def csr_problem(op, device, n=30, d=8, k=3, dtype=torch.float64, index_dtype=torch.int64):
    g = gen(2)
    if op in csr_cases.MULTICLASS and k == 1:
        k = 2
    x, crow, col, values = random_csr(n, d, g, density=0.5, dtype=dtype, index_dtype=index_dtype, device=device)
    w = (torch.randint(-8, 9, (k, d), generator=g) / 4).to(dtype).to(device)
    b = (torch.randint(-8, 9, (k,), generator=g) / 4).to(dtype).to(device)
    a = {"weight": w, "bias": b}
    names = (
        ["weight_acc", "bias_acc", "count"]
        if "_averaged" in op
        else (["pocket_weight", "pocket_bias", "run", "best_run"] if "_pocket" in op else [])
    )
    a.update(zip(names, state(op, w, b, g)))
    a.update(crow_indices=crow, col_indices=col, values=values, n_features=d, y=labels(op, n, k, g, device))
    return a


def csr_call(op, a):
    schema = getattr(OPS, op).default._schema
    return getattr(OPS, op)(**{arg.name: a[arg.name] for arg in schema.arguments if arg.name in a})


def late_row(a, k=-1):
    """The position of the k-th non-empty row's first non-zero, and the row."""
    crow = a["crow_indices"].cpu()
    rows = [i for i in range(len(crow) - 1) if crow[i + 1] > crow[i]]
    return int(crow[rows[k]]), rows[k]


# (name, change to the valid arguments, exception, message regex). The
# changes made late in the rows (the last non-empty row) are the ones a CPU
# loop finds after it has updated the weights.
CSR_CASES = [
    (
        "crow dtype",
        lambda a: {"crow_indices": a["crow_indices"].double()},
        RuntimeError,
        r"^crow_indices: expected dtype int32 or int64",
    ),
    (
        "col dtype",
        lambda a: {"col_indices": a["col_indices"].int()},
        RuntimeError,
        r"^col_indices: expected dtype Long \(the crow_indices'\)",
    ),
    (
        "values dtype",
        lambda a: {"values": a["values"].float()},
        RuntimeError,
        r"^values: expected dtype Double \(the weight's\)",
    ),
    (
        "crow 2-D",
        lambda a: {"crow_indices": a["crow_indices"][None]},
        RuntimeError,
        r"^crow_indices: expected a 1-D tensor",
    ),
    ("values short", lambda a: {"values": a["values"][1:]}, RuntimeError, r"^values: expected a 1-D tensor \[nnz\]"),
    ("n_features", lambda a: {"n_features": a["n_features"] + 1}, RuntimeError, r"^n_features: expected 8"),
    (
        "crow start",
        lambda a: {"crow_indices": with_value(a["crow_indices"], 0, 1)},
        ValueError,
        r"^crow_indices: expected crow_indices\[0\] == 0",
    ),
    (
        "crow end",
        lambda a: {"crow_indices": with_value(a["crow_indices"], -1, a["crow_indices"][-1] - 1)},
        ValueError,
        r"^crow_indices: expected crow_indices\[30\] == nnz",
    ),
    (
        "crow decreasing",
        lambda a: {"crow_indices": with_value(a["crow_indices"], 20, 10**6)},
        ValueError,
        r"^crow_indices: expected non-decreasing",
    ),
    (
        "column too large, late",
        lambda a: {"col_indices": with_value(a["col_indices"], late_row(a)[0], 8)},
        ValueError,
        r"^col_indices: expected column indices in \[0, 8\)",
    ),
    (
        "column negative, late",
        lambda a: {"col_indices": with_value(a["col_indices"], late_row(a)[0], -1)},
        ValueError,
        r"^col_indices: expected column indices in \[0, 8\)",
    ),
    (
        "column huge, first row",
        lambda a: {"col_indices": with_value(a["col_indices"], late_row(a, 0)[0], 2**40)},
        ValueError,
        r"^col_indices: expected column indices in \[0, 8\)",
    ),
    (
        "duplicate column, late",
        lambda a: {"col_indices": with_value(a["col_indices"], late_row(a)[0] + 1, a["col_indices"][late_row(a)[0]])},
        ValueError,
        r"^col_indices: expected strictly increasing columns",
    ),
    (
        "NaN value, late",
        lambda a: {"values": with_value(a["values"], late_row(a)[0], NAN)},
        ValueError,
        r"^values: expected finite values",
    ),
    (
        "Inf value, late",
        lambda a: {"values": with_value(a["values"], -1, INF)},
        ValueError,
        r"^values: expected finite values",
    ),
    (
        "NaN weight",
        lambda a: {"weight": with_value(a["weight"], (0, 0), NAN)},
        ValueError,
        r"^weight and bias: expected finite",
    ),
]
CSR_UPDATE_CASES = [
    ("lr", lambda a: {"lr": 0.0}, ValueError, r"^lr: expected a finite value > 0"),
    ("bias_step NaN", lambda a: {"bias_step": NAN}, ValueError, r"^bias_step: expected a finite"),
    ("bias_step Inf", lambda a: {"bias_step": INF}, ValueError, r"^bias_step: expected"),
    ("y rows", lambda a: {"y": a["y"][1:]}, RuntimeError, r"^y: expected"),
    (
        "sample_weight negative",
        lambda a: {"sample_weight": -torch.ones(30, dtype=torch.float64, device=a["weight"].device)},
        ValueError,
        r"^sample_weight: expected finite values >= 0",
    ),
    (
        "sample_weight shape",
        lambda a: {"sample_weight": torch.ones(29, dtype=torch.float64, device=a["weight"].device)},
        RuntimeError,
        r"^sample_weight: expected shape \[N\]",
    ),
]
CSR_BINARY_CASES = [("y not binary", lambda a: {"y": a["y"] * 2}, ValueError, r"^y: expected binary")]
CSR_MULTICLASS_CASES = [
    ("class out of range", lambda a: {"y": a["y"] + 5}, ValueError, r"^y: expected class indices in \[0, 3\)")
]


def csr_cases_of(op):
    out = list(CSR_CASES)
    if op not in csr_cases.FORWARDS:
        out += CSR_UPDATE_CASES + (CSR_MULTICLASS_CASES if op in csr_cases.MULTICLASS else CSR_BINARY_CASES)
    return out


def _bad_inputs():
    """(format, device, op, change, exception, match): the dense cases on the
    CPU, the CSR cases on every device."""
    for case, applies, change, exc, match in DENSE_CASES:
        for op in applies:
            yield pytest.param("dense", "cpu", op, change, exc, match, id=f"dense-{op}-{case}")
    for device in DEVICES:
        name, marks = (device, ()) if isinstance(device, str) else (device.values[0], device.marks)
        for op in CSR_OPS:
            for case, change, exc, match in csr_cases_of(op):
                yield pytest.param("csr", name, op, change, exc, match, marks=marks, id=f"csr-{name}-{op}-{case}")


@pytest.mark.parametrize("fmt, device, op, change, exc, match", list(_bad_inputs()))
def test_bad_input_is_rejected_by_name_and_nothing_changes(fmt, device, op, change, exc, match):
    a = problem(op, device=device) if fmt == "dense" else csr_problem(op, device)
    a.update(change(a))
    before = {
        name: bits(t) for name, t in a.items() if isinstance(t, torch.Tensor) and name not in ("y", "sample_weight")
    }
    with pytest.raises(exc, match=match):
        (call if fmt == "dense" else csr_call)(op, a)
    for name, was in before.items():
        assert torch.equal(bits(a[name]), was), f"{name} changed by a rejected call"


# ------------------------------------------------------------- late rows


def late_bad_row_problem(op, k, n, in_features, value, device="cpu"):
    """Zero weights and labels that make the first rows mistakes, so the kernel
    has moved the weights by the time it reaches the bad last row."""
    dtype = torch.float64
    x = dyadic((n, in_features), gen(2), dtype, device)
    x[-1, in_features // 2] = value
    w = torch.zeros(k, in_features, dtype=dtype, device=device)
    b = torch.zeros(k, dtype=dtype, device=device)
    if op == "multiclass_update":
        y = torch.full((n,), k - 1, dtype=torch.int64, device=device)
    else:
        y = torch.ones(n, k, dtype=torch.int64, device=device)
    return dict(weight=w, bias=b, x=x, y=y)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("value", [NAN, INF, -INF])
@pytest.mark.parametrize(
    "op, k, n, in_features",
    [
        ("online_update", 1, 40, 3),
        ("online_update", 4, 40, 3),
        # K > 1 with enough work to run on several threads (n * in * K >= 2**15).
        ("online_update", 8, 80, 64),
        ("batch_update", 3, 40, 3),
        ("multiclass_update", 2, 40, 3),
        ("multiclass_update", 5, 80, 64),
    ],
)
def test_bad_late_row_restores_weights(op, k, n, in_features, value, device):
    with torch_threads(2):
        check_bad_late_row(op, k, n, in_features, value, device)


def check_bad_late_row(op, k, n, in_features, value, device):
    a = late_bad_row_problem(op, k, n, in_features, value, device)
    # Without the bad row the call makes updates: the restore is not vacuous.
    probe = {**a, "x": a["x"][:-1], "y": a["y"][:-1], "weight": a["weight"].clone(), "bias": a["bias"].clone()}
    assert call(op, probe).sum() > 0 and not torch.all(probe["weight"] == 0)
    before = {name: bits(a[name]) for name in ("weight", "bias")}
    with pytest.raises(ValueError, match=rf"x: expected finite values, but row {n - 1} "):
        call(op, a)
    for name, was in before.items():
        assert torch.equal(bits(a[name]), was), f"{name} changed by a rejected call"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", UPDATES)
def test_bad_late_row_restores_noncontiguous_weights(op, device):
    """Weights that are views: the kernel works on a copy; nothing may leak."""
    a = late_bad_row_problem(op, 3, 20, 4, NAN, device)
    base = torch.zeros(4, 3, dtype=torch.float64, device=device)
    a["weight"] = base.t()
    bias_base = torch.zeros(6, dtype=torch.float64, device=device)
    a["bias"] = bias_base[::2]
    with pytest.raises(ValueError, match=r"row 19"):
        call(op, a)
    assert torch.all(base == 0) and torch.all(bias_base == 0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "op, k",
    [("online_update", 1), ("online_update", 4), ("batch_update", 1), ("batch_update", 4), ("multiclass_update", 3)],
)
def test_empty_batch(op, k, dtype, device):
    g = gen(3)
    w = dyadic((k, 5), g, dtype, device)
    b = dyadic((k,), g, dtype, device)
    x = torch.empty(0, 5, dtype=dtype, device=device)
    y = (
        torch.empty(0, dtype=torch.int64, device=device)
        if op == "multiclass_update" or k == 1
        else torch.empty(0, k, dtype=torch.int64, device=device)
    )
    before = (bits(w), bits(b))
    m = getattr(ops, op)(w, b, x, y)
    expected_len = 1 if op == "multiclass_update" else k
    assert m.dtype == torch.int64 and m.shape == (expected_len,) and torch.all(m == 0)
    assert torch.equal(bits(w), before[0]) and torch.equal(bits(b), before[1])
    # Arguments are still checked on an empty batch.
    with pytest.raises(ValueError, match="lr:"):
        getattr(ops, op)(w, b, x, y, 0.0)
    for fwd in FORWARDS:
        out = getattr(ops, fwd)(x, w, b)
        assert out.shape == (0, k)


def _grad_params():
    for op in UPDATES + FORWARDS:
        whiches = ["x", "weight", "all"]
        if op in UPDATES:
            whiches += ["noncontiguous-weight", "bad-late-row"]
        for which in whiches:
            yield pytest.param(op, which, id=f"{op}-{which}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op, which", list(_grad_params()))
def test_requires_grad_no_crash_no_warning_no_graph(op, which, device):
    if which == "bad-late-row":
        a = late_bad_row_problem(op, 3, 20, 4, NAN, device)
    else:
        a = problem(op, device=device)
    if which == "noncontiguous-weight":
        a["weight"] = a["weight"].t().contiguous().requires_grad_(True).t()
        a["bias"] = a["bias"].clone().requires_grad_(True)
    else:
        names = ("x", "weight", "bias") if which in ("all", "bad-late-row") else (which,)
        for name in names:
            a[name] = a[name].clone().requires_grad_(True)
    plain = {k: (v.detach().clone() if isinstance(v, torch.Tensor) else v) for k, v in a.items()}
    before = {name: bits(a[name]) for name in ("weight", "bias")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if which == "bad-late-row":
            with pytest.raises(ValueError, match="x: expected finite values, but row 19"):
                call(op, a)
            for name, was in before.items():
                assert torch.equal(bits(a[name]), was), f"{name} changed by a rejected call"
            return
        out = call(op, a)
    expected = call(op, plain)
    assert out.grad_fn is None and not out.requires_grad
    assert torch.equal(out, expected)
    for name in ("weight", "bias"):
        assert a[name].grad_fn is None or a[name]._base is not None and a[name]._base.grad_fn is None, (
            f"{name} got a grad_fn"
        )
        assert torch.equal(a[name].detach(), plain[name]), f"{name}: not the plain call's result"


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("op", UPDATES + FORWARDS)
@pytest.mark.parametrize("moved", ["x", "bias", "y", "sample_weight"])
def test_mixed_devices(op, moved):
    a = problem(op, device="cuda")
    if op in FORWARDS and moved in ("y", "sample_weight"):
        pytest.skip("forward ops take no labels")
    if moved == "sample_weight":
        a["sample_weight"] = torch.ones(30, dtype=torch.float64)
    else:
        a[moved] = a[moved].cpu()
    before = (bits(a["weight"]), bits(a["bias"]))
    with pytest.raises(RuntimeError, match=rf"{moved}: expected device|device"):
        call(op, a)
    assert torch.equal(bits(a["weight"]), before[0]) and torch.equal(bits(a["bias"]), before[1])


def test_error_names_are_python_exceptions():
    """TORCH_CHECK_VALUE surfaces as ValueError, TORCH_CHECK as RuntimeError,
    also through torch.ops directly."""
    a = problem("online_update")
    with pytest.raises(ValueError):
        OPS.online_update(a["weight"], a["bias"], a["x"], a["y"] * 2)
    with pytest.raises(RuntimeError) as info:
        OPS.online_update(a["weight"], a["bias"], a["x"][:, :2], a["y"])
    assert not isinstance(info.value, ValueError)
    assert re.search(r"^x: ", str(info.value))


# --- Tensors on different devices, every op -----------------------------------

# Every registered op, from the registry itself, so a new op is covered (or
# fails loudly in registered_call until it is).
# sgd_permutations (the estimator's sample orders) takes no weights and a
# single tensor: tests/test_sklearn_orders.py checks it.
REGISTERED = sorted(
    name.split("::")[1]
    for name in torch._C._dispatch_get_all_op_names()
    if name.startswith("torch_perceptron::") and name != "torch_perceptron::sgd_permutations"
)


def registered_call(op, k=3, n=12, in_features=4):
    """A valid call of `op` on the CPU: its tensor arguments by schema name."""
    g = gen(5)
    multiclass = op.startswith("multiclass")
    counters = 1 if multiclass else k
    values = {
        "weight": dyadic((k, in_features), g),
        "bias": dyadic((k,), g),
        "x": dyadic((n, in_features), g),
        "y": torch.randint(0, k, (n,), generator=g) if multiclass else torch.randint(0, 2, (n, k), generator=g),
        "sample_weight": torch.ones(n, dtype=torch.float64),
        "weight_acc": dyadic((k, in_features), g),
        "bias_acc": dyadic((k,), g),
        "count": torch.full((counters,), 3, dtype=torch.int64),
        "pocket_weight": dyadic((k, in_features), g),
        "pocket_bias": dyadic((k,), g),
        "run": torch.ones(counters, dtype=torch.int64),
        "best_run": torch.full((counters,), 2, dtype=torch.int64),
        "loss": torch.zeros(k, dtype=torch.float64),
        "order": torch.randperm(n, generator=g),
        # The penalized ops': wscale 1, u 0, the norms; q; the objective sums.
        "state": torch.tensor([[1.0, 0.0, 0.0, 0.0]] * k, dtype=torch.float64),
        "q": torch.zeros(k, in_features, dtype=torch.float64),
        "objective": torch.zeros(k, dtype=torch.float64),
    }
    csr = values["x"].to_sparse_csr()
    values.update(crow_indices=csr.crow_indices(), col_indices=csr.col_indices(), values=csr.values())
    schema = getattr(OPS, op).default._schema
    names = [a.name for a in schema.arguments if "Tensor" in str(a.type)]
    unknown = [name for name in names if name not in values]
    assert not unknown, f"{op}: registered_call knows no value for {unknown}"
    return {name: values[name] for name in names}


def not_tensors(op, in_features=4):
    """The arguments without a default that are not tensors (the sparse ops'
    n_features)."""
    schema = getattr(OPS, op).default._schema
    return {"n_features": in_features} if "n_features" in [a.name for a in schema.arguments] else {}


def _moved_params():
    for op in REGISTERED:
        for name in registered_call(op):
            if name != "weight":
                yield pytest.param(op, name, id=f"{op}-{name}")


def _other_devices():
    # meta: a call with one meta tensor among CPU ones dispatches to the fake
    # kernel, which once returned uninitialised mistakes and no error.
    return ["meta"] + ([_cuda_param()] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", _other_devices())
@pytest.mark.parametrize("op, moved", list(_moved_params()))
def test_a_tensor_on_another_device_is_rejected_by_name(op, moved, device):
    args = registered_call(op)
    args[moved] = args[moved].to(device)
    before = {name: bits(t) for name, t in args.items() if t.device.type == "cpu"}
    with pytest.raises(RuntimeError, match=rf"^{moved}: expected device cpu\b.*got {device}"):
        getattr(OPS, op)(**args, **not_tensors(op))
    for name, was in before.items():
        assert torch.equal(bits(args[name]), was), f"{name} changed by a rejected call"


@pytest.mark.parametrize("op", REGISTERED)
def test_weights_on_meta_with_the_rest_on_cpu_is_rejected(op):
    args = registered_call(op)
    args["weight"] = args["weight"].to("meta")
    # bias is checked right after weight, as in the compiled kernels.
    with pytest.raises(RuntimeError, match=r"^bias: expected device meta\b.*got cpu"):
        getattr(OPS, op)(**args, **not_tensors(op))


@pytest.mark.parametrize("op", REGISTERED)
def test_all_on_meta_gives_the_output_shape(op):
    """All on meta is shape inference, a fine use: no error."""
    args = {name: t.to("meta") for name, t in registered_call(op).items()}
    out = getattr(OPS, op)(**args, **not_tensors(op))
    assert out.device.type == "meta"
    expected = {"decision_function": (12, 3), "predict": (12, 3)}.get(
        op.removesuffix("_csr"), (1,) if op.startswith("multiclass") else (3,)
    )
    assert tuple(out.shape) == expected


# ------------------------------------------------------ CSR: in the loop


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", csr_cases.UPDATES)
def test_a_valid_call_of_the_same_problem_changes_the_weights(op, device):
    """The rejections above are of calls that would have updated."""
    a = csr_problem(op, device)
    before = bits(a["weight"])
    assert int(csr_call(op, a).sum()) > 0
    assert not torch.equal(bits(a["weight"]), before)


@pytest.mark.parametrize("op", csr_cases.UPDATES)
@pytest.mark.parametrize("k", [1, 3, 20])
def test_overflow_in_a_late_row_restores_everything(op, k):
    """Finite values whose decision value overflows: found only in the loop,
    after updates; every written tensor comes back, and the error says so."""
    a = csr_problem(op, "cpu", n=400, d=50, k=k, dtype=torch.float32)
    pos, row = late_row(a)
    a["values"] = with_value(a["values"], pos, 3e38)
    a["weight"] = with_value(a["weight"], (slice(None), int(a["col_indices"][pos])), 4.0)
    before = {name: bits(t) for name, t in a.items() if isinstance(t, torch.Tensor) and name not in ("y",)}
    with pytest.raises(ValueError, match=rf"^x: row {row} gives a non-finite decision value"):
        csr_call(op, a)
    for name, was in before.items():
        assert torch.equal(bits(a[name]), was), f"{name} changed by a rejected call"


# (K, in_features, pad): the restore copy of feature-major weights is one
# memcpy when their rows are K wide (pad 0), row by row past padded rows, and
# mapped from the kernel from a megabyte up (K = 20 at 16,384 features).
@pytest.mark.parametrize("k,d,pad", [(3, 50, 0), (20, 50, 0), (20, 50, 5), (20, 16384, 0), (20, 16384, 5)])
def test_overflow_restores_feature_major_weights(k, d, pad):
    """The CPU updates feature-major weights (the transpose of a contiguous
    [in, K], or of the first K columns of a wider one) in place: a late row
    that overflows still leaves them, the bias and the padding bit for bit as
    they were."""
    a = csr_problem("online_update_csr", "cpu", n=400, d=d, k=k, dtype=torch.float32)
    pos, row = late_row(a)
    a["values"] = with_value(a["values"], pos, 3e38)
    w = with_value(a["weight"], (slice(None), int(a["col_indices"][pos])), 4.0)
    full = torch.full((d, k + pad), 7.0)
    full[:, :k] = w.t()
    a["weight"] = full[:, :k].t()
    a["loss"] = torch.arange(k, dtype=torch.float64)
    before = {name: bits(a[name]) for name in ("weight", "bias", "loss")}
    padding = bits(full[:, k:])
    with pytest.raises(ValueError, match=rf"^x: row {row} gives a non-finite decision value"):
        csr_call("online_update_csr", a)
    for name, was in before.items():
        assert torch.equal(bits(a[name]), was), f"{name} changed by a rejected call"
    assert torch.equal(bits(full[:, k:]), padding)
    assert a["weight"].stride() == (1, k + pad)
    # Without the overflow the same call moves the weights in place: the rows
    # before the bad one make mistakes, so the restore above had writes to undo.
    a["values"] = with_value(a["values"], pos, 1.0)
    csr_call("online_update_csr", a)
    assert not torch.equal(bits(a["weight"]), before["weight"])


@pytest.mark.parametrize("op", CSR_OPS)
def test_int32_indices_are_checked_too(op):
    a = csr_problem(op, "cpu", index_dtype=torch.int32)
    a["col_indices"] = with_value(a["col_indices"], late_row(a)[0], 8)
    with pytest.raises(ValueError, match=r"^col_indices: expected column indices"):
        csr_call(op, a)


def test_duplicates_are_the_callers_to_sum():
    """The op takes canonical CSR only; as_csr is what sums duplicates."""
    from torch_perceptron.sparse import as_csr

    crow = torch.tensor([0, 2])
    col = torch.tensor([1, 1])
    values = torch.tensor([1.0, 2.0], dtype=torch.float64)
    w = torch.zeros(1, 3, dtype=torch.float64)
    b = torch.zeros(1, dtype=torch.float64)
    with pytest.raises(ValueError, match="strictly increasing"):
        OPS.decision_function_csr(crow, col, values, 3, w, b)
    x = as_csr(torch.sparse_csr_tensor(crow, col, values, (1, 3)))
    w[0, 1] = 1.0
    assert OPS.decision_function_csr(*x.tensors(), 3, w, b).item() == 3.0
    assert re.search("sum", as_csr.__doc__)
