"""PerceptronLayer feels like nn.Linear."""

import copy
import io
import re

import pytest
import torch
from torch import nn

import device_support as ds
import torch_perceptron
from support import ACCELERATORS, DEVICES, assert_bits_equal, binary_labels, class_labels, dyadic, gen
from torch_perceptron import PerceptronLayer, reference


def trained(layer: PerceptronLayer, seed=0, n=40):
    g = gen(seed)
    x = dyadic((n, layer.in_features), g, layer.weight.dtype, layer.weight.device)
    if layer.multiclass:
        y = class_labels(n, layer.out_features, g, layer.weight.device)
    else:
        y = binary_labels(n, layer.out_features, g, layer.weight.device)
    for _ in range(2):
        layer.update(x, y)
    assert not torch.all(layer.weight == 0)
    return x, y


@pytest.mark.parametrize("device", DEVICES)
def test_buffers_start_at_zero_and_are_not_parameters(device):
    layer = PerceptronLayer(5, 3, device=device)
    assert list(layer.parameters()) == []
    assert dict(layer.named_buffers()).keys() == {"weight", "bias"}
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert layer.weight.dtype == torch.get_default_dtype()
    assert layer.weight.device.type == torch.device(device).type
    assert torch.all(layer.weight == 0) and torch.all(layer.bias == 0)
    assert not layer.weight.requires_grad
    assert set(layer.state_dict()) == {"weight", "bias"}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("multiclass", [False, True])
def test_state_dict_round_trip(multiclass, device):
    layer = PerceptronLayer(4, 3, multiclass=multiclass, lr=0.5, device=device)
    x, _ = trained(layer)
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    buffer.seek(0)
    fresh = PerceptronLayer(4, 3, multiclass=multiclass, lr=0.5, device=device)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    assert_bits_equal(fresh.weight, layer.weight, "weight")
    assert_bits_equal(fresh.bias, layer.bias, "bias")
    assert_bits_equal(fresh(x), layer(x), "predictions")
    assert_bits_equal(fresh.decision_function(x), layer.decision_function(x), "decision values")


def test_state_dict_shape_mismatch_is_an_error():
    with pytest.raises(RuntimeError, match="weight"):
        PerceptronLayer(4, 2).load_state_dict(PerceptronLayer(5, 2).state_dict())


@pytest.mark.parametrize("device", DEVICES)
def test_to_float64_and_back(device):
    layer = PerceptronLayer(3, 2, device=device)
    x, y = trained(layer)
    w32 = layer.weight.clone()
    layer.to(torch.float64)
    assert layer.weight.dtype == torch.float64 and layer.bias.dtype == torch.float64
    assert torch.equal(layer.weight, w32.double())
    x64 = x.double()
    out = layer(x64)
    assert out.dtype == torch.float64
    assert_bits_equal(out, reference.predict(x64.cpu(), layer.weight.cpu(), layer.bias.cpu()).to(out.device))
    m = layer.update(x64, y)
    assert m.dtype == torch.int64
    # float32 input to a float64 layer is an error naming x, not a silent cast.
    with pytest.raises(TypeError, match=r"x: expected dtype torch\.float64 .*, got torch\.float32"):
        layer(x)
    layer.to(dtype=torch.float32)
    assert layer.weight.dtype == torch.float32
    layer.double()
    assert layer.weight.dtype == torch.float64


def test_dtype_argument():
    layer = PerceptronLayer(3, dtype=torch.float64)
    assert layer.weight.dtype == torch.float64 and layer.bias.dtype == torch.float64


@pytest.mark.parametrize("device", DEVICES)
def test_inside_sequential(device):
    layer = PerceptronLayer(3, 2, device=device)
    x, _ = trained(layer)
    scale = nn.Identity()
    model = nn.Sequential(scale, layer)
    assert_bits_equal(model(x), layer(x))
    assert set(model.state_dict()) == {"1.weight", "1.bias"}
    # A layer ahead of it: the perceptron reads another module's output.
    linear = nn.Linear(3, 3, bias=False, device=device)
    with torch.no_grad():
        linear.weight.copy_(torch.eye(3))
    model = nn.Sequential(linear, layer)
    with torch.no_grad():
        assert_bits_equal(model(x), layer(x))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
@pytest.mark.parametrize("multiclass", [False, True])
def test_grad_modes(mode, multiclass, device):
    eager = PerceptronLayer(4, 3, multiclass=multiclass, device=device)
    x, y = trained(eager)
    layer = PerceptronLayer(4, 3, multiclass=multiclass, device=device)
    ctx = torch.no_grad if mode == "no_grad" else torch.inference_mode
    with ctx():
        for _ in range(2):
            layer.update(x, y)
        out = layer(x)
    assert_bits_equal(layer.weight, eager.weight, "weight")
    assert_bits_equal(out, eager(x), "forward")


@pytest.mark.parametrize("device", DEVICES)
def test_layer_created_in_inference_mode(device):
    """Buffers made under inference_mode are inference tensors: updating them
    there still works."""
    with torch.inference_mode():
        layer = PerceptronLayer(2, device=device)
        x = torch.tensor([[1.0, 2.0]], device=device)
        m = layer.update(x, torch.tensor([1], device=device))
        assert m.tolist() == [1]
        assert layer.weight.tolist() == [[1.0, 2.0]]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("lead", [(), (7,), (2, 3), (2, 0, 4)])
@pytest.mark.parametrize("multiclass", [False, True])
def test_forward_takes_leading_dims(lead, multiclass, device):
    layer = PerceptronLayer(5, 3, multiclass=multiclass, device=device)
    trained(layer)
    x = dyadic((*lead, 5), gen(8), torch.float32, device)
    out = layer(x)
    flat = layer(x.reshape(-1, 5))
    if multiclass:
        assert out.shape == lead and out.dtype == torch.int64
        assert_bits_equal(out.reshape(-1), flat)
    else:
        assert out.shape == (*lead, 3) and out.dtype == torch.float32
        assert_bits_equal(out.reshape(-1, 3), flat)
    z = layer.decision_function(x)
    assert z.shape == (*lead, 3)


@pytest.mark.parametrize("device", DEVICES)
def test_binary_forward_is_reference_predict(device):
    layer = PerceptronLayer(6, 4, device=device, dtype=torch.float64)
    x, _ = trained(layer)
    assert_bits_equal(layer(x).cpu(), reference.predict(x.cpu(), layer.weight.cpu(), layer.bias.cpu()))
    assert set(layer(x).unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("device", DEVICES)
def test_multiclass_forward_lowest_index_wins_ties(device):
    layer = PerceptronLayer(2, 4, multiclass=True, device=device)
    # Fresh layer: all decision values are 0, so class 0 everywhere.
    x = dyadic((10, 2), gen(1), torch.float32, device)
    assert layer(x).tolist() == [0] * 10
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    # z = (0, 1, 1, 1) -> 1; z = (0, 1, 1, 2) -> 3; z = (0, -1, -1, 0) -> 0.
    x = torch.tensor([[1.0, 1.0], [1.0, 2.0], [-1.0, 0.0]], device=device)
    assert layer(x).tolist() == [1, 3, 0]
    assert layer(x).dtype == torch.int64


@pytest.mark.parametrize("device", DEVICES)
def test_update_rules_match_reference(device):
    g = gen(2)
    x = dyadic((30, 4), g, torch.float64, device)
    y = binary_labels(30, 2, g, device)
    for rule, ref in (("online", reference.online_update), ("batch", reference.batch_update)):
        layer = PerceptronLayer(4, 2, lr=0.5, device=device, dtype=torch.float64)
        m = layer.update(x, y, rule=rule)
        rw, rb, rm = ref(
            torch.zeros(2, 4, dtype=torch.float64), torch.zeros(2, dtype=torch.float64), x.cpu(), y.cpu(), 0.5
        )
        assert_bits_equal(m, rm.to(m.device), f"{rule} mistakes")
        assert_bits_equal(layer.weight.cpu(), rw, f"{rule} weight")
        assert_bits_equal(layer.bias.cpu(), rb, f"{rule} bias")
    # Multiclass, with sample weights.
    yc = class_labels(30, 3, g, device)
    sw = torch.full((30,), 0.5, dtype=torch.float64, device=device)
    layer = PerceptronLayer(4, 3, multiclass=True, lr=2.0, device=device, dtype=torch.float64)
    m = layer.update(x, yc, sample_weight=sw)
    rw, rb, rm = reference.multiclass_update(
        torch.zeros(3, 4, dtype=torch.float64), torch.zeros(3, dtype=torch.float64), x.cpu(), yc.cpu(), 2.0, sw.cpu()
    )
    assert m.shape == (1,) and m.item() == rm.item()
    assert_bits_equal(layer.weight.cpu(), rw, "multiclass weight")
    # zero_is_mistake passes through.
    layer = PerceptronLayer(4, 2, device=device, dtype=torch.float64)
    m = layer.update(x, y, zero_is_mistake=True)
    rw, _, rm = reference.online_update(
        torch.zeros(2, 4, dtype=torch.float64),
        torch.zeros(2, dtype=torch.float64),
        x.cpu(),
        y.cpu(),
        1.0,
        zero_is_mistake=True,
    )
    assert_bits_equal(m.cpu(), rm)
    assert_bits_equal(layer.weight.cpu(), rw)


def test_reset_parameters():
    layer = PerceptronLayer(3, 2)
    trained(layer)
    weight = layer.weight
    layer.reset_parameters()
    assert layer.weight is weight  # in place: optimizers, views and hooks keep it
    assert torch.all(layer.weight == 0) and torch.all(layer.bias == 0)


def test_extra_repr():
    assert repr(PerceptronLayer(3)) == ("PerceptronLayer(in_features=3, out_features=1, multiclass=False, lr=1.0)")
    assert "in_features=2, out_features=5, multiclass=True, lr=0.25" in repr(
        PerceptronLayer(2, 5, multiclass=True, lr=0.25)
    )


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((-1,), {}, "in_features"),
        ((3, 0), {}, "out_features"),
        ((3, -2), {}, "out_features"),
        ((3, 1), {"multiclass": True}, "out_features"),
        ((3,), {"lr": 0.0}, "lr"),
        ((3,), {"lr": -0.5}, "lr"),
        ((3,), {"lr": float("nan")}, "lr"),
        ((3,), {"lr": float("inf")}, "lr"),
    ],
)
def test_constructor_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        PerceptronLayer(*args, **kwargs)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int64, torch.complex64])
def test_constructor_rejects_dtypes_the_ops_do_not_take(dtype):
    with pytest.raises(ValueError, match=r"dtype: expected torch.float32 or torch.float64, got torch\."):
        PerceptronLayer(3, dtype=dtype)


@pytest.mark.parametrize("method", ["forward", "decision_function"])
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("shape", [(16, 3), (4, 4, 3), (3,), (16, 5), (), (0, 3)])
def test_wrong_feature_count_names_x_before_any_reshape(shape, multiclass, method):
    """16 samples of 3 features hold 48 values, a whole number of 4-feature
    rows: a reshape first would fail on some shapes, succeed on others."""
    layer = PerceptronLayer(4, 2, multiclass=multiclass)
    x = torch.ones(shape)
    expected = f"x: expected 4 features in the last dimension (shape [*, 4]), got shape {list(shape)}"
    with pytest.raises(RuntimeError, match="^" + re.escape(expected) + "$"):
        getattr(layer, method)(x)


def test_update_argument_errors():
    layer = PerceptronLayer(2, 3, multiclass=True)
    x = torch.ones(4, 2)
    y = torch.zeros(4, dtype=torch.int64)
    with pytest.raises(ValueError, match="rule"):
        layer.update(x, y, rule="batch")
    with pytest.raises(ValueError, match="zero_is_mistake"):
        layer.update(x, y, zero_is_mistake=True)
    with pytest.raises(ValueError, match="rule"):
        PerceptronLayer(2).update(x, y, rule="sgd")
    # Bad labels reach the op's checks; the weights stay as they were.
    with pytest.raises(ValueError, match="y: expected class indices in"):
        layer.update(x, y + 3)
    assert torch.all(layer.weight == 0)


# On a device other than the CPU the layer trains as on the CPU, bit for bit on
# dyadic data.


def train_both(cpu_layer, dev_layer, x, labels, device):
    """One epoch in batches of 128 on both layers: the same mistakes."""
    for start in range(0, x.shape[0], 128):
        xb, yb = x[start : start + 128], labels[start : start + 128]
        m_cpu = cpu_layer.update(xb, yb)
        m_dev = dev_layer.update(xb.to(device), yb.to(device))
        ds.assert_same(m_dev, m_cpu)


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("dtype", ds.DTYPES)
def test_layer_on_another_device_trains_like_on_cpu(multiclass, dtype, device):
    g = torch.Generator().manual_seed(12)
    n, d, k = 600, 20, 4
    x = ds.dyadic((n, d), g).to(dtype)
    y = torch.randint(0, k, (n,), generator=g)
    labels = y if multiclass else torch.nn.functional.one_hot(y, k)
    cpu_layer = PerceptronLayer(d, k, multiclass=multiclass, lr=0.5, dtype=dtype)
    dev_layer = copy.deepcopy(cpu_layer).to(device)
    assert dev_layer.weight.device.type == device
    for epoch in range(4):
        train_both(cpu_layer, dev_layer, x, labels, device)
        ds.assert_same(dev_layer.weight, cpu_layer.weight)
        ds.assert_same(dev_layer.bias, cpu_layer.bias)
    ds.assert_same(dev_layer(x.to(device)), cpu_layer(x))
    ds.assert_same(dev_layer.decision_function(x.to(device)), cpu_layer.decision_function(x))
    if not multiclass:
        m_cpu = cpu_layer.update(x, labels, rule="batch")
        m_dev = dev_layer.update(x.to(device), labels.to(device), rule="batch")
        ds.assert_same(m_dev, m_cpu)
        ds.assert_same(dev_layer.weight, cpu_layer.weight)
    # state_dict moves between devices and back.
    restored = PerceptronLayer(d, k, multiclass=multiclass, lr=0.5, dtype=dtype)
    restored.load_state_dict({key: t.cpu() for key, t in dev_layer.state_dict().items()})
    assert torch.equal(restored.weight, cpu_layer.weight)


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("dtype", ds.DTYPES)
@pytest.mark.parametrize("variant", ["average", "pocket"])
def test_variant_layer_on_another_device_trains_like_on_cpu(variant, dtype, multiclass, device):
    g = torch.Generator().manual_seed(14)
    n, d, k = 600, 20, 4
    x = ds.dyadic((n, d), g).to(dtype)
    y = ds.teacher_labels(x, k, g, multiclass=True)
    labels = y if multiclass else torch.nn.functional.one_hot(y, k)
    cpu_layer = PerceptronLayer(d, k, multiclass=multiclass, lr=0.5, dtype=dtype, **{variant: True})
    dev_layer = copy.deepcopy(cpu_layer).to(device)
    buffers = dict(cpu_layer.named_buffers())
    assert len(buffers) == (5 if variant == "average" else 6)
    for epoch in range(3):
        train_both(cpu_layer, dev_layer, x, labels, device)
    for name, buffer in dev_layer.named_buffers():
        assert buffer.device.type == device, name
        ds.assert_same(buffer, buffers[name])
    # Predictions use the averaged or pocket weights, not the current ones.
    assert not torch.equal(cpu_layer.inference_parameters()[0], cpu_layer.weight)
    ds.assert_same(dev_layer(x.to(device)), cpu_layer(x))
    ds.assert_same(dev_layer.decision_function(x.to(device)), cpu_layer.decision_function(x))


@pytest.mark.parametrize("device", DEVICES)
def test_layer_under_inference_mode_and_grad_inputs(device):
    layer = PerceptronLayer(6, 2, device=device)
    g = torch.Generator().manual_seed(13)
    x = ds.dyadic((50, 6), g).float().to(device)
    y = ds.binary_labels(50, 2, g).to(device)
    with torch.inference_mode():
        layer.update(x, y)
    xg = x.clone().requires_grad_(True)
    out = layer(xg)
    assert not out.requires_grad and out.grad_fn is None
    assert torch_perceptron.ops.online_update(layer.weight, layer.bias, xg, y).device.type == device
