"""PerceptronLayer on sparse input: every sparse format, every rule and variant,
gives bit for bit what the same layer gives on the dense matrix (dyadic data,
where every summation order is exact), and what the plain reference's CSR
forms give; and the sparse path never makes a dense copy."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from support import DEVICES, assert_bits_equal, gen
from torch_perceptron import PerceptronLayer, reference
from torch_perceptron.sparse import CSRRows, as_csr


def sparse_dyadic(n, d, g, dtype, density=0.2, index_dtype=torch.int64):
    """A dyadic ``[n, d]`` matrix with about ``density`` non-zeros (and an empty
    row), as a torch CSR tensor."""
    keep = torch.rand(n, d, generator=g) < density
    vals = (torch.randint(-8, 9, (n, d), generator=g).to(dtype) / 4) * keep
    if n > 2:
        vals[2] = 0
    x = vals.to_sparse_csr()
    return torch.sparse_csr_tensor(
        x.crow_indices().to(index_dtype), x.col_indices().to(index_dtype), x.values(), x.shape
    )


FORMATS = {
    "torch-csr": lambda x: x,
    "torch-coo": lambda x: x.to_sparse_coo(),
    "scipy-csr": lambda x: sp.csr_array(
        (x.values().numpy(), x.col_indices().numpy(), x.crow_indices().numpy()), shape=tuple(x.shape)
    ),
    "scipy-csc_matrix": lambda x: sp.csc_matrix(
        sp.csr_array((x.values().numpy(), x.col_indices().numpy(), x.crow_indices().numpy()), shape=tuple(x.shape))
    ),
    "CSRRows": lambda x: as_csr(x),
}


def pair(in_features, out_features, **kw):
    """Two identical layers, one to feed sparse and one dense."""
    return PerceptronLayer(in_features, out_features, **kw), PerceptronLayer(in_features, out_features, **kw)


def assert_same_state(a: PerceptronLayer, b: PerceptronLayer):
    for (name, t), (_, u) in zip(a.named_buffers(), b.named_buffers()):
        assert_bits_equal(t.cpu(), u.cpu(), name)


VARIANTS = [
    ("online", {}),
    ("batch", {}),
    ("online", {"average": True}),
    ("online", {"pocket": True}),
    ("online", {"bias": False}),
    ("online", {"average": True, "bias": False}),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("rule, kw", VARIANTS)
def test_one_vs_rest_sparse_equals_dense(device, dtype, fmt, rule, kw):
    g = gen(11)
    x = sparse_dyadic(60, 17, g, dtype, index_dtype=torch.int32 if fmt == "torch-csr" else torch.int64)
    y = torch.randint(0, 2, (60, 3), generator=g).to(dtype)
    sparse_layer, dense_layer = pair(17, 3, dtype=dtype, device=device, **kw)
    xs = FORMATS[fmt](x)
    for _ in range(2):
        m_sparse = sparse_layer.update(xs, y.to(device), rule=rule)
        m_dense = dense_layer.update(x.to_dense().to(device), y.to(device), rule=rule)
        assert_bits_equal(m_sparse.cpu(), m_dense.cpu(), "mistakes")
    assert_same_state(sparse_layer, dense_layer)
    assert int(m_sparse.sum()) > 0 or rule == "batch"
    z = sparse_layer.decision_function(xs)
    assert z.shape == (60, 3) and z.device.type == torch.device(device).type
    z_dense = dense_layer.decision_function(x.to_dense().to(device))
    if kw.get("average"):
        # Averaged weights (w - acc / count) are not dyadic: the two sums may
        # round differently; the state above is equal bit for bit.
        torch.testing.assert_close(z, z_dense, rtol=1e-5, atol=1e-5)
        assert torch.equal(sparse_layer(xs), (z > 0).to(dtype))
    else:
        assert_bits_equal(z.cpu(), z_dense.cpu(), "z")
        assert_bits_equal(sparse_layer(xs).cpu(), dense_layer(x.to_dense().to(device)).cpu(), "forward")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kw", [{}, {"average": True}, {"pocket": True}, {"bias": False}])
def test_multiclass_sparse_equals_dense(device, dtype, kw):
    g = gen(5)
    x = sparse_dyadic(80, 13, g, dtype)
    y = torch.randint(0, 4, (80,), generator=g)
    sparse_layer, dense_layer = pair(13, 4, multiclass=True, dtype=dtype, device=device, **kw)
    for _ in range(2):
        a = sparse_layer.update(x.to_sparse_coo(), y.to(device))
        b = dense_layer.update(x.to_dense().to(device), y.to(device))
        assert_bits_equal(a.cpu(), b.cpu(), "mistakes")
    assert_same_state(sparse_layer, dense_layer)
    pred = sparse_layer(x)
    assert pred.dtype == torch.int64 and pred.shape == (80,)
    if kw.get("average"):  # not dyadic: see the one-vs-rest test
        assert torch.equal(pred, sparse_layer.decision_function(x).argmax(1))
    else:
        assert torch.equal(pred.cpu(), dense_layer(x.to_dense().to(device)).cpu())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sparse_update_equals_the_reference_csr_rule(dtype):
    g = gen(3)
    x = sparse_dyadic(50, 9, g, dtype)
    y = torch.randint(0, 2, (50, 2), generator=g).to(dtype)
    sw = torch.randint(1, 4, (50,), generator=g).to(dtype) / 2
    layer = PerceptronLayer(9, 2, dtype=dtype, lr=0.5)
    mistakes = layer.update(x, y, sample_weight=sw, zero_is_mistake=True)
    w, b, m = reference.online_update_csr(
        torch.zeros(2, 9, dtype=dtype), torch.zeros(2, dtype=dtype), x, y, 0.5, sw, True, 1.0
    )
    assert_bits_equal(layer.weight, w, "weight")
    assert_bits_equal(layer.bias, b, "bias")
    assert torch.equal(mistakes, m)


def test_empty_rows_move_only_the_bias():
    x = torch.sparse_csr_tensor(torch.tensor([0, 0, 0]), torch.tensor([], dtype=torch.int64), torch.tensor([]), (2, 4))
    layer = PerceptronLayer(4)
    assert int(layer.update(x, torch.tensor([1.0, 1.0])).sum()) == 1  # z = b: 0, then 1
    assert torch.all(layer.weight == 0) and layer.bias.item() == 1.0
    assert layer.decision_function(x).tolist() == [[1.0], [1.0]]


def test_sparse_input_is_never_densified():
    # 2^22 features: a dense copy of these 2,000 rows would take 32 GiB.
    d, n = 1 << 22, 2000
    rng = np.random.default_rng(0)
    m = sp.random(n, d, density=20 / d, format="csr", random_state=rng, dtype=np.float32)
    y = torch.from_numpy((rng.random(n) < 0.5).astype(np.float32))
    layer = PerceptronLayer(d, dtype=torch.float32)
    assert int(layer.update(m, y).sum()) > 0
    assert layer(m).shape == (n, 1)
    rows = as_csr(m)
    assert torch.equal(layer.decision_function(rows), layer.decision_function(m))


def test_sparse_input_errors_name_x():
    layer = PerceptronLayer(5)
    x = torch.eye(3, 4).to_sparse_csr()
    before = layer.weight.clone()
    with pytest.raises(ValueError, match=r"x: expected 5 features"):
        layer.update(x, torch.ones(3))
    with pytest.raises(ValueError, match=r"x: expected 5 features"):
        layer(x)
    assert torch.equal(layer.weight, before)
    with pytest.raises(TypeError, match="update_traced"):
        PerceptronLayer(4).update_traced(x, torch.ones(3))


def test_csrrows_input_in_the_weights_dtype_and_no_other():
    # One dtype rule for dense and sparse x: the weights' dtype, or a one-line
    # refusal that says how to convert (the layer never casts x behind the
    # caller's back).
    g = gen(9)
    x = as_csr(sparse_dyadic(20, 6, g, torch.float32))
    y = torch.randint(0, 2, (20,), generator=g).double()
    layer = PerceptronLayer(6, dtype=torch.float64)
    for wrong in (x, x.to_scipy()):
        with pytest.raises(
            TypeError,
            match=r"x: expected dtype torch\.float64 .*, got "
            r"(torch|numpy)\.float32; convert it once",
        ):
            layer.update(wrong, y)
    assert torch.all(layer.weight == 0)
    x64 = x.to(torch.float64)
    layer.update(x64, y)
    assert layer.decision_function(x64).dtype == torch.float64


def test_csrrows_go_to_the_op_unchecked_and_the_op_rejects_bad_ones():
    # A CSRRows built by hand, with a column out of range: the layer passes it
    # on without as_csr's checks, and the op's own validation refuses it
    # before touching the weights.
    bad = CSRRows(torch.tensor([0, 2]), torch.tensor([1, 7]), torch.tensor([1.0, 2.0]), 4)
    layer = PerceptronLayer(4, dtype=torch.float32)
    with pytest.raises(ValueError, match=r"col_indices: expected column indices in \[0, 4\)"):
        layer.update(bad, torch.ones(1))
    assert torch.all(layer.weight == 0) and torch.all(layer.bias == 0)
