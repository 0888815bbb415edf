"""PerceptronLayer(bias=False), and the lecture's w0 notation: a layer with a
bias on x learns what a layer without one learns on x with a 1 prepended."""

import io

import pytest
import torch

from support import (
    DEVICES,
    DTYPES,
    assert_bits_equal,
    binary_labels,
    class_labels,
    dyadic,
    dyadic_sample_weight,
    gen,
)
from torch_perceptron import PerceptronLayer, reference

MODES = [
    {},
    {"rule": "batch"},
    {"multiclass": True},
    {"average": True},
    {"pocket": True},
    {"average": True, "multiclass": True},
    {"pocket": True, "multiclass": True},
]
ids = ["online", "batch", "multiclass", "averaged", "pocket", "averaged-mc", "pocket-mc"]


def layer_kw(mode: dict) -> dict:
    return {k: v for k, v in mode.items() if k != "rule"}


@pytest.mark.parametrize("device", DEVICES)
def test_no_bias_is_like_nn_linear(device):
    layer = PerceptronLayer(4, 2, bias=False, device=device)
    assert layer.bias is None
    assert set(layer.state_dict()) == {"weight"}
    assert "bias=False" in repr(layer)
    averaged = PerceptronLayer(4, 2, bias=False, average=True)
    assert averaged.bias is None and averaged.bias_acc is None
    assert "bias_acc" not in averaged.state_dict()
    pocket = PerceptronLayer(4, 2, bias=False, pocket=True)
    assert pocket.pocket_bias is None
    w, b = layer.inference_parameters()
    assert torch.all(b == 0) and b.shape == (2,)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", MODES, ids=ids)
def test_w0_notation_gives_the_same_weights_and_predictions(mode, dtype, device):
    k = 3 if mode.get("multiclass") else 2
    g = gen(11)
    x = dyadic((60, 5), g, dtype, device)
    y = class_labels(60, k, g, device) if mode.get("multiclass") else binary_labels(60, k, g, device)
    sw = dyadic_sample_weight(60, g, dtype, device)
    ones = torch.cat([torch.ones(60, 1, dtype=dtype, device=device), x], 1)
    rule = {"rule": mode["rule"]} if "rule" in mode else {}
    with_bias = PerceptronLayer(5, k, dtype=dtype, device=device, **layer_kw(mode))
    folded = PerceptronLayer(6, k, bias=False, dtype=dtype, device=device, **layer_kw(mode))
    for epoch in range(3):
        kw = {"sample_weight": sw} if epoch == 1 else {}
        m1 = with_bias.update(x, y, **rule, **kw)
        m2 = folded.update(ones, y, **rule, **kw)
        assert_bits_equal(m2, m1, "mistakes")
    # Dyadic data: every sum is exact, so the two orders of summation agree
    # bit for bit and w0 is the bias.
    assert_bits_equal(folded.weight[:, 0], with_bias.bias, "w0")
    assert_bits_equal(folded.weight[:, 1:], with_bias.weight, "weights")
    w_inf, _ = with_bias.inference_parameters()
    f_inf, f_b = folded.inference_parameters()
    assert_bits_equal(f_inf[:, 1:], w_inf, "inference weights")
    assert torch.all(f_b == 0)
    assert_bits_equal(folded(ones), with_bias(x), "predictions")
    assert not torch.all(folded.weight == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_no_bias_online_is_the_reference_with_the_bias_held_at_zero(dtype):
    g = gen(4)
    x = dyadic((50, 3), g, dtype)
    y = binary_labels(50, 2, g)
    layer = PerceptronLayer(3, 2, bias=False, dtype=dtype)
    w, zero = layer.weight.clone(), torch.zeros(2, dtype=dtype)
    for _ in range(2):
        got = layer.update(x, y)
        w, b, want = reference.online_update(w, zero, x, y, bias_step=0.0)
        assert torch.equal(b, zero)
        assert_bits_equal(got, want, "mistakes")
        assert_bits_equal(layer.weight, w, "weight")
    assert int(got.sum()) > 0


def test_no_bias_state_dict_round_trip_and_reset():
    g = gen(0)
    x, y = dyadic((30, 4), g, torch.float32), binary_labels(30, 1, g)
    layer = PerceptronLayer(4, bias=False, pocket=True)
    layer.update(x, y)
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    buffer.seek(0)
    fresh = PerceptronLayer(4, bias=False, pocket=True)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    assert_bits_equal(fresh(x), layer(x), "predictions")
    with pytest.raises(RuntimeError, match="bias"):
        PerceptronLayer(4).load_state_dict(layer.state_dict())
    layer.reset_parameters()
    assert torch.all(layer.weight == 0) and torch.all(layer.pocket_weight == 0)
