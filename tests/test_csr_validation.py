"""Every bad input of every sparse op is rejected with an error that names the
argument, and leaves every tensor the op writes bit for bit as it was: the
checks in docs/sparse_design.md's order (dtypes, shapes, crow_indices, then
columns and values, then labels and sample weights), including the ones the
CPU runs inside its loop (a bad column or value in a late row, after updates
were made, restores them)."""

import re

import pytest
import torch

from csr_cases import FORWARDS, MULTICLASS, UPDATES, CSR_OPS, bits, labels, random_csr, state
from support import DEVICES, OPS, gen

NAN, INF = float("nan"), float("inf")


def problem(op, device, n=30, d=8, k=3, dtype=torch.float64, index_dtype=torch.int64):
    g = gen(2)
    if op in MULTICLASS and k == 1:
        k = 2
    x, crow, col, values = random_csr(n, d, g, density=0.5, dtype=dtype,
                                      index_dtype=index_dtype, device=device)
    w = (torch.randint(-8, 9, (k, d), generator=g) / 4).to(dtype).to(device)
    b = (torch.randint(-8, 9, (k,), generator=g) / 4).to(dtype).to(device)
    a = {"weight": w, "bias": b}
    names = ["weight_acc", "bias_acc", "count"] if "_averaged" in op else (
        ["pocket_weight", "pocket_bias", "run", "best_run"] if "_pocket" in op else [])
    a.update(zip(names, state(op, w, b, g)))
    a.update(crow_indices=crow, col_indices=col, values=values, n_features=d,
             y=labels(op, n, k, g, device))
    return a


def call(op, a):
    schema = getattr(OPS, op).default._schema
    return getattr(OPS, op)(**{arg.name: a[arg.name] for arg in schema.arguments
                               if arg.name in a})


def replaced(t, index, value):
    t = t.clone()
    t[index] = value
    return t


def late_row(a, k=-1):
    """The position of the k-th non-empty row's first non-zero, and the row."""
    crow = a["crow_indices"].cpu()
    rows = [i for i in range(len(crow) - 1) if crow[i + 1] > crow[i]]
    return int(crow[rows[k]]), rows[k]


# (name, change to the valid arguments, exception, message regex). The
# changes made late in the rows (the last non-empty row) are the ones a CPU
# loop finds after it has updated the weights.
CASES = [
    ("crow dtype", lambda a: {"crow_indices": a["crow_indices"].double()}, RuntimeError,
     r"^crow_indices: expected dtype int32 or int64"),
    ("col dtype", lambda a: {"col_indices": a["col_indices"].int()}, RuntimeError,
     r"^col_indices: expected dtype Long \(the crow_indices'\)"),
    ("values dtype", lambda a: {"values": a["values"].float()}, RuntimeError,
     r"^values: expected dtype Double \(the weight's\)"),
    ("crow 2-D", lambda a: {"crow_indices": a["crow_indices"][None]}, RuntimeError,
     r"^crow_indices: expected a 1-D tensor"),
    ("values short", lambda a: {"values": a["values"][1:]}, RuntimeError,
     r"^values: expected a 1-D tensor \[nnz\]"),
    ("n_features", lambda a: {"n_features": a["n_features"] + 1}, RuntimeError,
     r"^n_features: expected 8"),
    ("crow start", lambda a: {"crow_indices": replaced(a["crow_indices"], 0, 1)}, ValueError,
     r"^crow_indices: expected crow_indices\[0\] == 0"),
    ("crow end", lambda a: {"crow_indices": replaced(a["crow_indices"], -1,
                                                      a["crow_indices"][-1] - 1)},
     ValueError, r"^crow_indices: expected crow_indices\[30\] == nnz"),
    ("crow decreasing", lambda a: {"crow_indices": replaced(a["crow_indices"], 20, 10**6)},
     ValueError, r"^crow_indices: expected non-decreasing"),
    ("column too large, late", lambda a: {"col_indices": replaced(
        a["col_indices"], late_row(a)[0], 8)}, ValueError,
     r"^col_indices: expected column indices in \[0, 8\)"),
    ("column negative, late", lambda a: {"col_indices": replaced(
        a["col_indices"], late_row(a)[0], -1)}, ValueError,
     r"^col_indices: expected column indices in \[0, 8\)"),
    ("column huge, first row", lambda a: {"col_indices": replaced(
        a["col_indices"], late_row(a, 0)[0], 2**40)}, ValueError,
     r"^col_indices: expected column indices in \[0, 8\)"),
    ("duplicate column, late", lambda a: {"col_indices": replaced(
        a["col_indices"], late_row(a)[0] + 1, a["col_indices"][late_row(a)[0]])}, ValueError,
     r"^col_indices: expected strictly increasing columns"),
    ("NaN value, late", lambda a: {"values": replaced(a["values"], late_row(a)[0], NAN)},
     ValueError, r"^values: expected finite values"),
    ("Inf value, late", lambda a: {"values": replaced(a["values"], -1, INF)},
     ValueError, r"^values: expected finite values"),
    ("NaN weight", lambda a: {"weight": replaced(a["weight"], (0, 0), NAN)}, ValueError,
     r"^weight and bias: expected finite"),
]
UPDATE_CASES = [
    ("lr", lambda a: {"lr": 0.0}, ValueError, r"^lr: expected a finite value > 0"),
    ("bias_step NaN", lambda a: {"bias_step": NAN}, ValueError, r"^bias_step: expected a finite"),
    ("bias_step Inf", lambda a: {"bias_step": INF}, ValueError, r"^bias_step: expected"),
    ("y rows", lambda a: {"y": a["y"][1:]}, RuntimeError, r"^y: expected"),
    ("sample_weight negative", lambda a: {"sample_weight": -torch.ones(
        30, dtype=torch.float64, device=a["weight"].device)}, ValueError,
     r"^sample_weight: expected finite values >= 0"),
    ("sample_weight shape", lambda a: {"sample_weight": torch.ones(
        29, dtype=torch.float64, device=a["weight"].device)}, RuntimeError,
     r"^sample_weight: expected shape \[N\]"),
]
BINARY_CASES = [("y not binary", lambda a: {"y": a["y"] * 2}, ValueError, r"^y: expected binary")]
MULTICLASS_CASES = [("class out of range", lambda a: {"y": a["y"] + 5}, ValueError,
                     r"^y: expected class indices in \[0, 3\)")]


def cases(op):
    out = list(CASES)
    if op not in FORWARDS:
        out += UPDATE_CASES + (MULTICLASS_CASES if op in MULTICLASS else BINARY_CASES)
    return [pytest.param(op, *c[1:], id=f"{op}-{c[0]}") for c in out]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op, change, exc, match", [p for op in CSR_OPS for p in cases(op)])
def test_bad_input_is_rejected_by_name_and_nothing_changes(op, change, exc, match, device):
    a = problem(op, device)
    a.update(change(a))
    before = {name: bits(t) for name, t in a.items()
              if isinstance(t, torch.Tensor) and name not in ("y", "sample_weight")}
    with pytest.raises(exc, match=match):
        call(op, a)
    for name, was in before.items():
        assert torch.equal(bits(a[name]), was), f"{name} changed by a rejected call"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", UPDATES)
def test_a_valid_call_of_the_same_problem_changes_the_weights(op, device):
    """The rejections above are of calls that would have updated."""
    a = problem(op, device)
    before = bits(a["weight"])
    assert int(call(op, a).sum()) > 0
    assert not torch.equal(bits(a["weight"]), before)


@pytest.mark.parametrize("op", UPDATES)
@pytest.mark.parametrize("k", [1, 3, 20])
def test_overflow_in_a_late_row_restores_everything(op, k):
    """Finite values whose decision value overflows: found only in the loop,
    after updates; every written tensor comes back, and the error says so."""
    a = problem(op, "cpu", n=400, d=50, k=k, dtype=torch.float32)
    pos, row = late_row(a)
    a["values"] = replaced(a["values"], pos, 3e38)
    a["weight"] = replaced(a["weight"], (slice(None), int(a["col_indices"][pos])), 4.0)
    before = {name: bits(t) for name, t in a.items()
              if isinstance(t, torch.Tensor) and name not in ("y",)}
    with pytest.raises(ValueError, match=rf"^x: row {row} gives a non-finite decision value"):
        call(op, a)
    for name, was in before.items():
        assert torch.equal(bits(a[name]), was), f"{name} changed by a rejected call"


# (K, in_features, pad): the restore copy of feature-major weights is one
# memcpy when their rows are K wide (pad 0), row by row past padded rows, and
# mapped from the kernel from a megabyte up (K = 20 at 16,384 features).
@pytest.mark.parametrize("k,d,pad", [(3, 50, 0), (20, 50, 0), (20, 50, 5), (20, 16384, 0),
                                     (20, 16384, 5)])
def test_overflow_restores_feature_major_weights(k, d, pad):
    """The CPU updates feature-major weights (the transpose of a contiguous
    [in, K], or of the first K columns of a wider one) in place: a late row
    that overflows still leaves them, the bias and the padding bit for bit as
    they were."""
    a = problem("online_update_csr", "cpu", n=400, d=d, k=k, dtype=torch.float32)
    pos, row = late_row(a)
    a["values"] = replaced(a["values"], pos, 3e38)
    w = replaced(a["weight"], (slice(None), int(a["col_indices"][pos])), 4.0)
    full = torch.full((d, k + pad), 7.0)
    full[:, :k] = w.t()
    a["weight"] = full[:, :k].t()
    a["loss"] = torch.arange(k, dtype=torch.float64)
    before = {name: bits(a[name]) for name in ("weight", "bias", "loss")}
    padding = bits(full[:, k:])
    with pytest.raises(ValueError, match=rf"^x: row {row} gives a non-finite decision value"):
        call("online_update_csr", a)
    for name, was in before.items():
        assert torch.equal(bits(a[name]), was), f"{name} changed by a rejected call"
    assert torch.equal(bits(full[:, k:]), padding)
    assert a["weight"].stride() == (1, k + pad)
    # Without the overflow the same call moves the weights in place: the rows
    # before the bad one make mistakes, so the restore above had writes to undo.
    a["values"] = replaced(a["values"], pos, 1.0)
    call("online_update_csr", a)
    assert not torch.equal(bits(a["weight"]), before["weight"])


@pytest.mark.parametrize("op", CSR_OPS)
def test_int32_indices_are_checked_too(op):
    a = problem(op, "cpu", index_dtype=torch.int32)
    a["col_indices"] = replaced(a["col_indices"], late_row(a)[0], 8)
    with pytest.raises(ValueError, match=r"^col_indices: expected column indices"):
        call(op, a)


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
