"""torch.compile(fullgraph=True) over the ops and the layer gives what eager
gives. Inductor on the CPU compiles C++; the backend is a parameter so that a
failure says which stage broke."""

import pytest
import torch

from support import DEVICES, assert_bits_equal, binary_labels, class_labels, dyadic, gen
from torch_perceptron import PerceptronLayer

BACKENDS = ["aot_eager", "inductor"]


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def train_and_predict(w, b, x, y, yc, wc, bc):
    ops = torch.ops.torch_perceptron
    m1 = ops.online_update(w, b, x, y, 0.5)
    m2 = ops.batch_update(w, b, x, y, 0.25, None, True)
    m3 = ops.multiclass_update(wc, bc, x, yc, 1.0)
    z = ops.decision_function(x, w, b)
    p = ops.predict(x, w, b)
    # Some plain ATen around the ops, so they are fused into a real graph.
    return m1 + m2, m3, z * 2, p.sum(0)


def problem(device, dtype=torch.float32):
    g = gen(0)
    x = dyadic((32, 5), g, dtype, device)
    w = dyadic((3, 5), g, dtype, device)
    b = dyadic((3,), g, dtype, device)
    y = binary_labels(32, 3, g, device)
    yc = class_labels(32, 4, g, device)
    wc = torch.zeros(4, 5, dtype=dtype, device=device)
    bc = torch.zeros(4, dtype=dtype, device=device)
    return [x, w, b, y, yc, wc, bc]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_ops_match_eager(backend, device):
    x, w, b, y, yc, wc, bc = problem(device)
    eager_state = [w.clone(), b.clone(), wc.clone(), bc.clone()]
    eager_out = train_and_predict(eager_state[0], eager_state[1], x, y, yc, eager_state[2], eager_state[3])
    compiled = torch.compile(train_and_predict, fullgraph=True, backend=backend)
    state = [w.clone(), b.clone(), wc.clone(), bc.clone()]
    out = compiled(state[0], state[1], x, y, yc, state[2], state[3])
    for got, want, what in zip(out, eager_out, ["mistakes", "multiclass mistakes", "z", "p"]):
        assert_bits_equal(got, want, what)
    for got, want, what in zip(state, eager_state, ["weight", "bias", "multiclass weight", "multiclass bias"]):
        assert_bits_equal(got, want, what)
    assert eager_out[0].sum() > 0  # the updates moved the weights


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
