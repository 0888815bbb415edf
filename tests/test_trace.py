"""The weights after every mistake (torch_perceptron.trace) against the plain
reference stepped one sample at a time, and against the op itself."""

import pytest
import torch

from support import (
    DEVICES,
    DTYPES,
    assert_bits_equal,
    binary_labels,
    class_labels,
    continuous,
    dyadic,
    dyadic_sample_weight,
    gen,
    noncontiguous,
)
from torch_perceptron import PerceptronLayer, ops, reference
from torch_perceptron.datasets import seed_split
from torch_perceptron.trace import MistakeTrace, multiclass_update_traced, online_update_traced


def reference_trace(rule, w, b, x, y, lr=1.0, sample_weight=None, **kw):
    """The oracle: the reference rule on one sample after the other, keeping
    the state after each sample that made a mistake."""
    fn = getattr(reference, rule)
    w, b = w.cpu(), b.cpu()
    x, y = x.cpu(), y.cpu()
    index, ws, bs = [], [], []
    total = torch.zeros(1 if rule == "multiclass_update" else w.shape[0], dtype=torch.int64)
    for i in range(x.shape[0]):
        sw = None if sample_weight is None else sample_weight[i : i + 1].cpu()
        w, b, m = fn(w, b, x[i : i + 1], y[i : i + 1], lr, sw, **kw)
        total = total + m
        if m.any():
            index.append(i)
            ws.append(w.clone())
            bs.append(b.clone())
    k, d = w.shape
    return MistakeTrace(
        torch.tensor(index, dtype=torch.int64),
        torch.stack(ws) if ws else w.new_empty((0, k, d)),
        torch.stack(bs) if bs else b.new_empty((0, k)),
        total,
    )


def assert_same_trace(got: MistakeTrace, want: MistakeTrace) -> None:
    assert_bits_equal(got.index, want.index, "index")
    assert_bits_equal(got.mistakes, want.mistakes, "mistakes")
    assert_bits_equal(got.weight, want.weight, "weight")
    assert_bits_equal(got.bias, want.bias, "bias")


def problem(n, d, k, dtype, device, seed, multiclass=False, init="zeros"):
    g = gen(seed)
    x = dyadic((n, d), g, dtype, device)
    y = class_labels(n, k, g, device) if multiclass else binary_labels(n, k, g, device)
    if init == "zeros":
        w = torch.zeros(k, d, dtype=dtype, device=device)
        b = torch.zeros(k, dtype=dtype, device=device)
    else:
        w, b = dyadic((k, d), g, dtype, device), dyadic((k,), g, dtype, device)
    return w, b, x, y, g


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0, 3, 1), (1, 1, 1), (40, 2, 1), (300, 5, 1), (90, 17, 3)])
@pytest.mark.parametrize("init", ["zeros", "random"])
@pytest.mark.parametrize("options", ["plain", "lr", "sample_weight", "zero_is_mistake", "no_bias"])
def test_online_trace_is_the_reference_stepped_by_hand(shape, dtype, device, init, options):
    n, d, k = shape
    w, b, x, y, g = problem(n, d, k, dtype, device, seed=n + 7 * d + k, init=init)
    kw: dict = {}
    lr = 0.5 if options == "lr" else 1.0
    if options == "sample_weight":
        kw["sample_weight"] = dyadic_sample_weight(n, g, dtype, device)
    if options == "zero_is_mistake":
        kw["zero_is_mistake"] = True
    fit = options != "no_bias"
    if not fit:
        kw["bias_step"] = 0.0
    want = reference_trace("online_update", w, b, x, y, lr, **kw)
    w_op, b_op = w.clone(), b.clone()
    if fit:
        ops.online_update(w_op, b_op, x, y, lr, **kw)
    got = online_update_traced(w, b, x, y, lr, **kw)
    assert_same_trace(got, want)
    # The weights end where one call of the op over all samples leaves them.
    if fit:
        assert_bits_equal(w, w_op, "weight")
        assert_bits_equal(b, b_op, "bias")
    if n >= 40:
        assert len(got.index) > 3  # not vacuous


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 2, 2), (60, 3, 3), (200, 9, 5)])
@pytest.mark.parametrize("options", ["plain", "sample_weight", "no_bias"])
def test_multiclass_trace_is_the_reference_stepped_by_hand(shape, dtype, device, options):
    n, d, k = shape
    w, b, x, y, g = problem(n, d, k, dtype, device, seed=3 * n + d, multiclass=True, init="random")
    sw = dyadic_sample_weight(n, g, dtype, device) if options == "sample_weight" else None
    bias_step = 0.0 if options == "no_bias" else 1.0
    want = reference_trace("multiclass_update", w, b, x, y, sample_weight=sw, bias_step=bias_step)
    got = multiclass_update_traced(w, b, x, y, sample_weight=sw, bias_step=bias_step)
    assert_same_trace(got, want)


def op_stepped(update, w, b, x, y, **kw) -> MistakeTrace:
    """The trace by one op call per sample, on copies: the op's own decisions."""
    w, b = w.clone(), b.clone()
    index, ws, bs, total = [], [], [], None
    for i in range(x.shape[0]):
        m = update(w, b, x[i : i + 1], y[i : i + 1], **kw)
        total = m if total is None else total + m
        if m.any():
            index.append(i)
            ws.append(w.clone())
            bs.append(b.clone())
    return MistakeTrace(
        torch.tensor(index, dtype=torch.int64, device=w.device), torch.stack(ws), torch.stack(bs), total
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_continuous_data_matches_the_op_sample_by_sample(dtype, device):
    # Rounding is real here: the trace must still take the op's decisions.
    g = gen(5)
    x = continuous((2000, 30), g, dtype, device)
    y = x @ continuous((30,), g, dtype, device) + 0.3 * continuous((2000,), g, dtype, device) > 0
    w, b = torch.zeros(1, 30, dtype=dtype, device=device), torch.zeros(1, dtype=dtype, device=device)
    want = op_stepped(ops.online_update, w, b, x, y.long())
    got = online_update_traced(w, b, x, y.long())
    assert_same_trace(got, want)
    assert got.mistakes.sum() > 100


@pytest.mark.parametrize("device", DEVICES)
def test_close_calls_are_left_to_the_op(device):
    # x * w = 1 + 2^-11 + 2^-24 exactly, which float32 rounds (a tie, to even)
    # to 1 + 2^-11, the negated bias: the op sees z = 0, a mistake on label 1,
    # where the exact z = 2^-24 (a float64 guess) is correct. The trace must
    # side with the op.
    a = 1 + 2.0**-12
    x = torch.tensor([[a], [1.0], [a]], device=device)
    y = torch.tensor([1, 1, 1], device=device)
    w = torch.tensor([[a]], device=device)
    b = torch.tensor([-(1 + 2.0**-11)], device=device)
    if device == "cpu":  # the CPU kernel adds the bias after the rounded product
        assert int(ops.online_update(w.clone(), b.clone(), x[:1], y[:1])) == 1
    want = op_stepped(ops.online_update, w, b, x, y)
    assert_same_trace(online_update_traced(w, b, x, y), want)

    # Multiclass: class 1 is ahead of class 0 by 2^-24 exactly, tied in
    # float32, and a tie goes to the lower index: a mistake for label 1.
    w = torch.tensor([[0.0], [a]], device=device)
    b = torch.tensor([0.0, -(1 + 2.0**-11)], device=device)
    if device == "cpu":
        assert int(ops.multiclass_update(w.clone(), b.clone(), x[:1], y[:1])) == 1
    want = op_stepped(ops.multiclass_update, w, b, x, y)
    assert_same_trace(multiclass_update_traced(w, b, x, y), want)


@pytest.mark.parametrize("device", DEVICES)
def test_noncontiguous_input(device):
    w, b, x, y, _ = problem(50, 6, 2, torch.float64, device, seed=1)
    want = reference_trace("online_update", w, b, x, y)
    got = online_update_traced(w, b, noncontiguous(x, "transposed"), noncontiguous(y, "strided"))
    assert_same_trace(got, want)


@pytest.mark.parametrize("device", DEVICES)
def test_rejected_calls_leave_the_weights_as_they_were(device):
    w, b, x, y, _ = problem(30, 4, 1, torch.float32, device, seed=2, init="random")
    before = w.clone(), b.clone()
    with pytest.raises(RuntimeError, match="y"):
        online_update_traced(w, b, x, y[:-1])
    bad = x.clone()
    bad[25, 1] = float("nan")
    with pytest.raises(ValueError, match="row 25"):  # the op's own message
        online_update_traced(w, b, bad, y)
    with pytest.raises(RuntimeError, match="x"):
        online_update_traced(w, b, x.double(), y)
    assert_bits_equal(w, before[0], "weight")
    assert_bits_equal(b, before[1], "bias")


def test_layer_update_traced_ends_where_update_does():
    data = seed_split(0)
    for bias in (True, False):
        traced, plain = PerceptronLayer(2, bias=bias), PerceptronLayer(2, bias=bias)
        frames = 0
        for _ in range(5):
            trace = traced.update_traced(data.x_train, data.y_train)
            assert_bits_equal(trace.mistakes, plain.update(data.x_train, data.y_train), "mistakes")
            frames += len(trace.index)
            assert trace.weight.shape == (len(trace.index), 1, 2)
            assert trace.bias.shape == (len(trace.index), 1)
            assert_bits_equal(trace.weight[-1], traced.weight, "last traced weight")
        assert_bits_equal(traced.weight, plain.weight, "weight")
        if bias:
            assert_bits_equal(traced.bias, plain.bias, "bias")
        else:
            assert traced.bias is None and torch.all(trace.bias == 0)
        assert frames > 50


def test_layer_update_traced_multiclass_and_refusals():
    g = gen(3)
    x, y = dyadic((80, 4), g, torch.float32), class_labels(80, 3, g)
    layer, plain = PerceptronLayer(4, 3, multiclass=True), PerceptronLayer(4, 3, multiclass=True)
    trace = layer.update_traced(x, y)
    assert_bits_equal(trace.mistakes, plain.update(x, y), "mistakes")
    assert_bits_equal(layer.weight, plain.weight, "weight")
    assert trace.weight.shape == (len(trace.index), 3, 4)
    with pytest.raises(ValueError, match="update_traced"):
        PerceptronLayer(4, average=True).update_traced(x, (y > 0).long())
    with pytest.raises(ValueError, match="zero_is_mistake"):
        layer.update_traced(x, y, zero_is_mistake=True)
