"""What PerceptronLayer's entry points take (torch_perceptron/layer_inputs.py):
numpy arrays as tensors, one dtype rule for dense and sparse x, a 1-D x in
update as in forward, and errors that name the value found and fit the call."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from support import DEVICES
from torch_perceptron import PerceptronLayer


def data(n=12, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, (n, d)).astype(np.float32) / 4
    y = (x @ np.array([1.0, -2.0, 0.5], dtype=np.float32)[:d] > 0).astype(np.int64)
    return x, y


@pytest.mark.parametrize("device", DEVICES)
def test_numpy_arrays_are_taken_as_tensors(device):
    x, y = data()
    layer, twin = PerceptronLayer(3, device=device), PerceptronLayer(3, device=device)
    mistakes = layer.update(x, y, sample_weight=np.ones(len(y), dtype=np.float32))
    assert torch.equal(mistakes, twin.update(torch.as_tensor(x, device=device), torch.as_tensor(y, device=device)))
    assert torch.equal(layer.weight, twin.weight) and torch.equal(layer.bias, twin.bias)
    assert torch.equal(layer(x), twin(torch.as_tensor(x, device=device)))
    assert torch.equal(layer.decision_function(x), twin.decision_function(torch.as_tensor(x, device=device)))
    assert layer(x).device.type == torch.device(device).type


def test_anything_else_is_refused_in_one_line_that_says_what_to_pass():
    layer = PerceptronLayer(3)
    with pytest.raises(TypeError) as info:
        layer([[1.0, 2.0, 3.0]])
    assert str(info.value) == (
        "x: expected a torch.Tensor, a numpy array or a sparse matrix [N, 3], got list; "
        "make one with torch.as_tensor(x, dtype=layer.weight.dtype)"
    )
    with pytest.raises(
        TypeError,
        match=r"^y: expected a torch\.Tensor, a numpy array or a "
        r"number, got list; make one with torch\.as_tensor\(y\)$",
    ):
        layer.update(torch.zeros(2, 3), [0, 1])


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda x: torch.as_tensor(x), id="tensor"),
        pytest.param(lambda x: x, id="numpy"),
        pytest.param(lambda x: sp.csr_matrix(x), id="scipy-csr"),
        pytest.param(lambda x: torch.as_tensor(x).to_sparse_csr(), id="torch-csr"),
    ],
)
@pytest.mark.parametrize("call", ["forward", "decision_function", "update"])
def test_one_dtype_rule_for_dense_and_sparse_x(make, call):
    # float64 x into a float32 layer: refused alike, dense or sparse, in one
    # line naming both dtypes and the conversion; the weights untouched.
    x, y = data()
    layer = PerceptronLayer(3)
    wrong = make(x.astype(np.float64))
    run = (lambda a: layer.update(a, y)) if call == "update" else getattr(layer, call)
    with pytest.raises(TypeError) as info:
        run(wrong)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("x: expected dtype torch.float32 (the layer's weight.dtype), got ")
    assert ("x.astype(numpy.float32)" in message) or ("x.to(layer.weight.dtype)" in message)
    assert torch.all(layer.weight == 0) and torch.all(layer.bias == 0)
    run(make(x))  # the same x in the weights' dtype is taken


@pytest.mark.parametrize("multiclass", [False, True])
def test_update_takes_one_sample_as_forward_does(multiclass):
    x, y = data()
    layer = PerceptronLayer(3, 2, multiclass=True) if multiclass else PerceptronLayer(3)
    batch = PerceptronLayer(3, 2, multiclass=True) if multiclass else PerceptronLayer(3)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    for i in range(len(y)):
        label = int(yt[i]) if i % 2 else yt[i]  # a number or a 0-d tensor
        assert layer.update(xt[i], label).shape == (1,)
    batch.update(xt, yt)  # the online rule: one sample after the other
    assert torch.equal(layer.weight, batch.weight) and torch.equal(layer.bias, batch.bias)
    assert layer(xt[0]).shape == (() if multiclass else (1,))


def test_one_vs_rest_update_takes_one_sample_with_its_row_of_labels():
    layer = PerceptronLayer(3, 2)
    layer.update(torch.tensor([1.0, 0.0, -1.0]), torch.tensor([1, 0]))
    assert torch.equal(layer.weight, torch.tensor([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]]))


@pytest.mark.parametrize(
    "y, where",
    [
        ([0, 1, 2, 0], "found 2 at y[2]"),
        ([0.0, 1.0, 0.5, 1.0], "found 0.5 at y[2]"),
        ([0, -1, 1, 0], "found -1 at y[1]"),
    ],
)
def test_binary_label_errors_name_the_value_found(y, where):
    layer = PerceptronLayer(3)
    with pytest.raises(ValueError) as info:
        layer.update(torch.zeros(4, 3), torch.tensor(y))
    assert str(info.value) == f"y: expected binary labels with values 0 or 1, {where}"


def test_one_vs_rest_and_class_index_errors_name_the_value_and_its_place():
    with pytest.raises(
        ValueError,
        match=r"^y: expected binary labels with values 0 or 1, "
        r"found 3 at y\[1, 0\]$",
    ):
        PerceptronLayer(3, 2).update(torch.zeros(2, 3), torch.tensor([[0, 1], [3, 0]]))
    with pytest.raises(
        ValueError,
        match=r"^y: expected class indices in \[0, 4\) \(one per row "
        r"of weight\), found 7 at y\[2\]$",
    ):
        PerceptronLayer(3, 4, multiclass=True).update(torch.zeros(4, 3), torch.tensor([0, 1, 7, 3]))


@pytest.mark.parametrize("sparse", [False, True])
def test_a_nan_met_in_a_forward_says_nothing_of_weights_left_unchanged(sparse):
    x = torch.ones(3, 3)
    x[1, 2] = float("nan")
    layer = PerceptronLayer(3)
    given = x.to_sparse_csr() if sparse else x
    for call in (layer, layer.decision_function):
        with pytest.raises(ValueError) as info:
            call(given)
        assert "row 1" in str(info.value) and "unchanged" not in str(info.value)
    # An update still says so: there it is the news.
    with pytest.raises(ValueError, match="the weights were left unchanged"):
        layer.update(given, torch.tensor([0, 1, 0]))
