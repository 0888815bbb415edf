"""torch.compile(fullgraph=True) over the ops, dense and CSR (``format``), and
the layer gives what eager gives. Inductor on the CPU compiles C++; the
backend is a parameter so that a failure says which stage broke; the sizes
static and dynamic (SymInt n_features for CSR)."""

import pytest
import torch

from csr_cases import random_csr
from support import (
    DEVICES,
    FORMATS,
    assert_bits_equal,
    binary_labels,
    class_labels,
    dyadic,
    gen,
)
from torch_perceptron import PerceptronLayer, ops

BACKENDS = ["aot_eager", "inductor"]


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def dense_epoch(w, b, wc, bc, x, y, yc):
    """The ops through torch.ops, with positional arguments."""
    raw = torch.ops.torch_perceptron
    m1 = raw.online_update(w, b, x, y, 0.5)
    m2 = raw.batch_update(w, b, x, y, 0.25, None, True)
    m3 = raw.multiclass_update(wc, bc, x, yc, 1.0)
    z = raw.decision_function(x, w, b)
    p = raw.predict(x, w, b)
    # Some plain ATen around the ops, so they are fused into a real graph.
    return m1 + m2, m3, z * 2, p.sum(0)


def csr_epoch(w, b, wc, bc, acc, bacc, count, crow, col, values, n_features, y, yc):
    """The ops through their wrappers, an averaged one too."""
    m1 = ops.online_update_csr(w, b, crow, col, values, n_features, y, 0.5)
    m2 = ops.batch_update_csr(w, b, crow, col, values, n_features, y, 0.25, zero_is_mistake=True, bias_step=0.01)
    m3 = ops.multiclass_update_csr(wc, bc, crow, col, values, n_features, yc)
    m4 = ops.online_update_averaged_csr(w, b, acc, bacc, count, crow, col, values, n_features, y)
    z = ops.decision_function_csr(crow, col, values, n_features, w, b)
    p = ops.predict_csr(crow, col, values, n_features, wc, bc)
    # Plain ATen around the ops, so that they sit in a real graph.
    return m1 + m2 + m4, m3, z * 2, p.sum(0)


def problem(fmt, device):
    """(the tensors the epoch writes, the rest of its arguments)."""
    if fmt == "dense":
        g = gen(0)
        x = dyadic((32, 5), g, torch.float32, device)
        w = dyadic((3, 5), g, torch.float32, device)
        b = dyadic((3,), g, torch.float32, device)
        y = binary_labels(32, 3, g, device)
        yc = class_labels(32, 4, g, device)
        return [w, b, torch.zeros(4, 5, device=device), torch.zeros(4, device=device)], [x, y, yc]
    g = gen(1)
    n, d = 40, 12
    _, crow, col, values = random_csr(n, d, g, dtype=torch.float32, index_dtype=torch.int32, device=device)
    w = torch.zeros(3, d, device=device)
    b = torch.zeros(3, device=device)
    state = [
        w,
        b,
        torch.zeros(4, d, device=device),
        torch.zeros(4, device=device),
        torch.zeros_like(w),
        torch.zeros_like(b),
        torch.zeros(3, dtype=torch.int64, device=device),
    ]
    y = torch.randint(0, 2, (n, 3), generator=g).to(device)
    yc = torch.randint(0, 4, (n,), generator=g).to(device)
    return state, [crow, col, values, d, y, yc]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dynamic", [False, True])
@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_ops_match_eager(backend, dynamic, fmt, device):
    state, data = problem(fmt, device)
    epoch = dense_epoch if fmt == "dense" else csr_epoch
    eager_state = [t.clone() for t in state]
    want = epoch(*eager_state, *data)
    compiled = torch.compile(epoch, fullgraph=True, backend=backend, dynamic=dynamic)
    got_state = [t.clone() for t in state]
    got = compiled(*got_state, *data)
    for a, e, what in zip(got, want, ["mistakes", "multiclass mistakes", "z", "p"]):
        assert_bits_equal(a, e, what)
    for a, e, what in zip(
        got_state,
        eager_state,
        ["weight", "bias", "multiclass weight", "multiclass bias", "weight_acc", "bias_acc", "count"],
    ):
        assert_bits_equal(a, e, what)
    assert int(want[0].sum()) > 0  # the updates moved the weights


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("multiclass", [False, True])
def test_compiled_layer_matches_eager(multiclass, backend, device):
    g = gen(4)
    x = dyadic((40, 6), g, torch.float32, device)
    if multiclass:
        y = class_labels(40, 3, g, device)
    else:
        y = binary_labels(40, 2, g, device)
    eager = PerceptronLayer(6, 3 if multiclass else 2, multiclass=multiclass, lr=0.5, device=device)
    layer = PerceptronLayer(6, 3 if multiclass else 2, multiclass=multiclass, lr=0.5, device=device)
    update = torch.compile(layer.update, fullgraph=True, backend=backend)
    forward = torch.compile(layer, fullgraph=True, backend=backend)
    for epoch in range(3):
        want_m = eager.update(x, y)
        got_m = update(x, y)
        assert_bits_equal(got_m, want_m, f"mistakes, epoch {epoch}")
        assert_bits_equal(layer.weight, eager.weight, f"weight, epoch {epoch}")
        assert_bits_equal(layer.bias, eager.bias, f"bias, epoch {epoch}")
        assert_bits_equal(forward(x), eager(x), f"forward, epoch {epoch}")
    assert not torch.all(layer.weight == 0)
    if not multiclass:
        batch = torch.compile(lambda a, t: layer.update(a, t, rule="batch"), fullgraph=True, backend=backend)
        want_m = eager.update(x, y, rule="batch")
        assert_bits_equal(batch(x, y), want_m, "batch mistakes")
        assert_bits_equal(layer.weight, eager.weight, "weight after batch rule")
