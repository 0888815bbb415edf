"""Property-based tests: on any small dyadic problem the compiled rules equal
the reference bit for bit (see support.py for why that is exact)."""

import torch
from hypothesis import given
from hypothesis import strategies as st

from support import assert_bits_equal, assert_same_result, decision_reference, run_kernel, run_reference
from torch_perceptron import ops, reference

DTYPE = st.sampled_from([torch.float32, torch.float64])
LR = st.sampled_from([0.25, 0.5, 1.0, 2.0])


@st.composite
def dyadic_tensor(draw, shape, dtype, bound=8):
    numel = 1
    for s in shape:
        numel *= s
    ints = draw(st.lists(st.integers(-bound, bound), min_size=numel, max_size=numel))
    return (torch.tensor(ints, dtype=torch.float64).reshape(shape) / 4).to(dtype)


@st.composite
def problems(draw, rule):
    dtype = draw(DTYPE)
    n = draw(st.integers(0, 12))
    in_features = draw(st.integers(1, 6))
    k = draw(st.integers(2 if rule == "multiclass_update" else 1, 4))
    x = draw(dyadic_tensor((n, in_features), dtype))
    zeros = draw(st.booleans())
    w = torch.zeros(k, in_features, dtype=dtype) if zeros else draw(dyadic_tensor((k, in_features), dtype))
    b = torch.zeros(k, dtype=dtype) if zeros else draw(dyadic_tensor((k,), dtype))
    if rule == "multiclass_update":
        y = torch.tensor(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), dtype=torch.int64)
    else:
        y = torch.tensor(draw(st.lists(st.integers(0, 1), min_size=n * k, max_size=n * k)), dtype=torch.int64).reshape(
            n, k
        )
    kw = {}
    if draw(st.booleans()):
        sw = draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0]), min_size=n, max_size=n))
        kw["sample_weight"] = torch.tensor(sw, dtype=dtype)
    if rule != "multiclass_update" and draw(st.booleans()):
        kw["zero_is_mistake"] = True
    return w, b, x, y, draw(LR), kw


def assert_kernel_is_reference(rule, problem):
    """One call of the op ``rule`` gives the reference's results, bit for bit."""
    w, b, x, y, lr, kw = problem
    assert_same_result(run_kernel(rule, w, b, x, y, lr, **kw), run_reference(rule, w, b, x, y, lr, **kw), exact=True)


@given(problems("online_update"))
def test_online_update_property(problem):
    assert_kernel_is_reference("online_update", problem)


@given(problems("batch_update"))
def test_batch_update_property(problem):
    assert_kernel_is_reference("batch_update", problem)


@given(problems("multiclass_update"))
def test_multiclass_update_property(problem):
    assert_kernel_is_reference("multiclass_update", problem)


@given(problems("online_update"), st.integers(2, 3))
def test_online_epochs_property(problem, epochs):
    """Repeated calls carry the state: E epochs equal E reference epochs."""
    w, b, x, y, lr, kw = problem
    kw_w, kw_b = w.clone(), b.clone()
    rw, rb = w, b
    for _ in range(epochs):
        m = ops.online_update(kw_w, kw_b, x, y, lr, **kw)
        rw, rb, rm = reference.online_update(rw, rb, x, y, lr, **kw)
        assert_bits_equal(m, rm, "mistakes")
    assert_bits_equal(kw_w, rw, "weight")
    assert_bits_equal(kw_b, rb, "bias")


@given(problems("online_update"))
def test_forward_property(problem):
    w, b, x, _, _, _ = problem
    assert_bits_equal(ops.decision_function(x, w, b), decision_reference(x, w, b), "decision_function")
    assert_bits_equal(ops.predict(x, w, b), reference.predict(x, w, b) if w.shape[0] else x.new_zeros(0), "predict")
