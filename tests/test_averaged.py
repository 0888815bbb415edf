"""The averaged perceptron ops against the literal reference (sum the weights
after every sample, divide), across calls, both dtypes, with their checks."""

import pytest
import torch

import torch_perceptron  # noqa: F401  (loads the ops)
from torch_perceptron import ops, reference

DTYPES = [torch.float32, torch.float64]


def dyadic(n, d, gen, dtype):
    # Small multiples of 1/4: every sum and product the rule forms is exact in
    # both dtypes, so kernel and reference take the same decisions.
    return (torch.randint(-8, 9, (n, d), generator=gen) / 4).to(dtype)


def zeros_state(k, d, dtype, counters):
    return (
        torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype),
        torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype),
        torch.zeros(counters, dtype=torch.int64),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 3, 70])
@pytest.mark.parametrize("zero_is_mistake", [False, True])
def test_online_averaged_matches_literal_average(dtype, k, zero_is_mistake):
    gen = torch.Generator().manual_seed(k)
    n, d = 40, 5
    x = dyadic(n, d, gen, dtype)
    y = torch.randint(0, 2, (n, k), generator=gen)
    sw = torch.randint(0, 3, (n,), generator=gen).to(dtype)
    w, b, wacc, bacc, count = zeros_state(k, d, dtype, k)
    rw, rb, rws, rbs, rc = w.clone(), b.clone(), wacc.clone(), bacc.clone(), count.clone()
    plain_w, plain_b = w.clone(), b.clone()
    # Two epochs of two batches each: the average runs over all 160 samples.
    for _ in range(2):
        for part in (slice(0, 17), slice(17, n)):
            m = ops.online_update_averaged(
                w, b, wacc, bacc, count, x[part], y[part], 0.5,
                sample_weight=sw[part], zero_is_mistake=zero_is_mistake,
            )
            rw, rb, rws, rbs, rc, rm = reference.online_update_averaged(
                rw, rb, rws, rbs, rc, x[part], y[part], 0.5, sw[part], zero_is_mistake
            )
            pm = ops.online_update(
                plain_w, plain_b, x[part], y[part], 0.5,
                sample_weight=sw[part], zero_is_mistake=zero_is_mistake,
            )
            assert torch.equal(m, rm) and torch.equal(m, pm)
    assert torch.equal(count, rc) and count.tolist() == [2 * n] * k
    # The weights are the plain rule's, bit for bit.
    assert torch.equal(w, plain_w) and torch.equal(b, plain_b)
    assert torch.equal(w, rw) and torch.equal(b, rb)
    # On dyadic data the sum of the weights over all steps is exact.
    c = count.to(dtype)
    assert torch.equal(c[:, None] * w - wacc, rws)
    assert torch.equal(c * b - bacc, rbs)
    aw, ab = ops.averaged_parameters(w, b, wacc, bacc, count)
    torch.testing.assert_close(aw, rws / c[:, None])
    torch.testing.assert_close(ab, rbs / c)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_averaged_matches_literal_average(dtype):
    gen = torch.Generator().manual_seed(0)
    n, d, k = 50, 6, 4
    x = dyadic(n, d, gen, dtype)
    y = torch.randint(0, k, (n,), generator=gen)
    w, b, wacc, bacc, count = zeros_state(k, d, dtype, 1)
    rw, rb, rws, rbs, rc = w.clone(), b.clone(), wacc.clone(), bacc.clone(), count.clone()
    pw, pb = w.clone(), b.clone()
    for _ in range(3):
        m = ops.multiclass_update_averaged(w, b, wacc, bacc, count, x, y, 2.0)
        rw, rb, rws, rbs, rc, rm = reference.multiclass_update_averaged(
            rw, rb, rws, rbs, rc, x, y, 2.0
        )
        assert torch.equal(m, rm)
        assert torch.equal(m, ops.multiclass_update(pw, pb, x, y, 2.0))
    assert count.tolist() == [3 * n] and torch.equal(count, rc)
    assert torch.equal(w, pw) and torch.equal(b, pb) and torch.equal(w, rw)
    c = count.to(dtype)
    assert torch.equal(c * w - wacc, rws) and torch.equal(c * b - bacc, rbs)
    aw, ab = ops.averaged_parameters(w, b, wacc, bacc, count)
    torch.testing.assert_close(aw, rws / c)
    torch.testing.assert_close(ab, rbs / c)


def test_gaussian_float64_average_within_rounding():
    gen = torch.Generator().manual_seed(3)
    n, d, k = 200, 7, 2
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = (x[:, :k] + 0.3 * torch.randn(n, k, generator=gen, dtype=torch.float64) > 0).long()
    w, b, wacc, bacc, count = zeros_state(k, d, torch.float64, k)
    rw, rb, rws, rbs, rc, rm = reference.online_update_averaged(w, b, wacc, bacc, count, x, y)
    m = ops.online_update_averaged(w, b, wacc, bacc, count, x, y)
    assert torch.equal(m, rm)
    aw, ab = ops.averaged_parameters(w, b, wacc, bacc, count)
    torch.testing.assert_close(aw, rws / n, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ab, rbs / n, rtol=1e-12, atol=1e-12)


def test_non_contiguous_state_and_x():
    gen = torch.Generator().manual_seed(5)
    n, d, k = 30, 4, 3
    x = dyadic(n, 2 * d, gen, torch.float64)[:, ::2]
    y = torch.randint(0, 2, (n, k), generator=gen)
    w, b, wacc, bacc, count = zeros_state(k, d, torch.float64, k)
    wacc_t = torch.zeros(d, k, dtype=torch.float64).t()  # a transposed view
    ops.online_update_averaged(w, b, wacc, bacc, count, x.contiguous(), y)
    w2, b2, _, bacc2, count2 = zeros_state(k, d, torch.float64, k)
    ops.online_update_averaged(w2, b2, wacc_t, bacc2, count2, x, y)
    assert torch.equal(w, w2) and torch.equal(wacc, wacc_t) and torch.equal(count, count2)


def test_empty_batch_counts_nothing():
    w, b, wacc, bacc, count = zeros_state(2, 3, torch.float32, 2)
    m = ops.online_update_averaged(
        w, b, wacc, bacc, count, torch.zeros(0, 3), torch.zeros(0, 2)
    )
    assert m.tolist() == [0, 0] and count.tolist() == [0, 0]
    aw, ab = ops.averaged_parameters(w, b, wacc, bacc, count)
    assert torch.equal(aw, w) and torch.equal(ab, b)


def _snapshot(*ts):
    return [t.clone() for t in ts]


@pytest.mark.parametrize(
    "field, bad, message",
    [
        ("wacc", torch.zeros(3, 4), "weight_acc: expected shape"),
        ("wacc", torch.zeros(2, 3, dtype=torch.float64), "weight_acc: expected dtype"),
        ("bacc", torch.zeros(3), "bias_acc: expected shape"),
        ("count", torch.zeros(2), "count: expected dtype int64"),
        ("count", torch.zeros(1, dtype=torch.int64), "count: expected shape"),
        ("count", torch.full((2,), -1, dtype=torch.int64), "count: expected values >= 0"),
        ("wacc", torch.full((2, 3), float("nan")), "weight_acc: expected finite"),
    ],
)
def test_bad_state_is_rejected_before_any_write(field, bad, message):
    state = dict(zip(["w", "b", "wacc", "bacc", "count"], zeros_state(2, 3, torch.float32, 2)))
    state["w"] += 0.5
    state[field] = bad
    before = _snapshot(*state.values())
    x = torch.ones(4, 3)
    y = torch.ones(4, 2)
    with pytest.raises((RuntimeError, ValueError), match=message):
        ops.online_update_averaged(*state.values(), x, y)
    for t, s in zip(state.values(), before):
        assert torch.equal(t, s) or (t.isnan().all() and s.isnan().all())


@pytest.mark.parametrize("multiclass", [False, True])
def test_non_finite_x_restores_every_state_tensor(multiclass):
    k, d = 3, 4
    w, b, wacc, bacc, _ = zeros_state(k, d, torch.float64, k)
    count = torch.zeros(1 if multiclass else k, dtype=torch.int64)
    x = torch.arange(24, dtype=torch.float64).reshape(6, d) - 10
    y = torch.tensor([0, 1, 2, 0, 1, 2]) if multiclass else torch.eye(k)[[0, 1, 2, 0, 1, 2]]
    update = ops.multiclass_update_averaged if multiclass else ops.online_update_averaged
    update(w, b, wacc, bacc, count, x, y)  # some history in every tensor
    before = _snapshot(w, b, wacc, bacc, count)
    x_bad = x.clone()
    x_bad[4, 1] = float("inf")
    with pytest.raises(ValueError, match="row 4"):
        update(w, b, wacc, bacc, count, x_bad, y)
    for t, s in zip((w, b, wacc, bacc, count), before):
        assert torch.equal(t, s)


def test_requires_grad_builds_no_graph():
    w, b, wacc, bacc, count = zeros_state(1, 2, torch.float32, 1)
    x = torch.ones(3, 2, requires_grad=True)
    m = ops.online_update_averaged(w, b, wacc, bacc, count, x, torch.ones(3))
    assert m.grad_fn is None and not w.requires_grad


@pytest.mark.parametrize("multiclass", [False, True])
def test_fit_intercept_false_keeps_bias(multiclass):
    gen = torch.Generator().manual_seed(9)
    n, d, k = 40, 4, 3
    x = dyadic(n, d, gen, torch.float64)
    if multiclass:
        y = torch.randint(0, k, (n,), generator=gen)
        state = zeros_state(k, d, torch.float64, 1)
        update, ref = ops.multiclass_update_averaged, reference.multiclass_update_averaged
        kw = {}
    else:
        y = torch.randint(0, 2, (n, k), generator=gen)
        state = zeros_state(k, d, torch.float64, k)
        update, ref = ops.online_update_averaged, reference.online_update_averaged
        kw = {"zero_is_mistake": True}
    w, b, wacc, bacc, count = state
    b += 0.25  # a fixed, non-zero bias stays as it is
    rw, rb, rws, rbs, rc, rm = ref(w, b, wacc, bacc, count, x, y, 1.0, None,
                                   *kw.values(), fit_intercept=False)
    m = update(w, b, wacc, bacc, count, x, y, **kw, fit_intercept=False)
    assert torch.equal(m, rm) and m.sum() > 0
    assert torch.equal(w, rw) and torch.equal(b, rb) and (b == 0.25).all()
    assert (bacc == 0).all()
    c = count.to(w.dtype).reshape(-1, 1)
    assert torch.equal(c * w - wacc, rws)


@pytest.mark.parametrize("multiclass", [False, True])
def test_layer_average_predicts_with_averaged_weights(multiclass):
    from torch_perceptron import PerceptronLayer

    gen = torch.Generator().manual_seed(11)
    x = dyadic(60, 4, gen, torch.float64)
    k = 3
    y = torch.randint(0, k, (60,), generator=gen) if multiclass else torch.randint(
        0, 2, (60, k), generator=gen
    )
    layer = PerceptronLayer(4, k, multiclass=multiclass, average=True, dtype=torch.float64)
    layer.update(x, y)
    layer.update(x, y)
    aw, ab = ops.averaged_parameters(
        layer.weight, layer.bias, layer.weight_acc, layer.bias_acc, layer.average_count
    )
    torch.testing.assert_close(layer.decision_function(x), x @ aw.T + ab)
    assert not torch.equal(aw, layer.weight)
    clone = PerceptronLayer(4, k, multiclass=multiclass, average=True, dtype=torch.float64)
    clone.load_state_dict(layer.state_dict())
    assert torch.equal(clone(x), layer(x))
    assert "average=True" in repr(layer)
    layer.reset_parameters()
    assert layer.average_count.sum() == 0 and (layer.weight_acc == 0).all()
    with pytest.raises(ValueError, match="average and pocket"):
        PerceptronLayer(4, k, average=True, pocket=True)
    with pytest.raises(ValueError, match="only the 'online' rule"):
        layer.update(x, y, rule="batch")


def test_layer_pocket_predicts_with_pocket_weights():
    from torch_perceptron import PerceptronLayer

    gen = torch.Generator().manual_seed(12)
    x = dyadic(80, 4, gen, torch.float32)
    y = torch.randint(0, 2, (80, 1), generator=gen)
    layer = PerceptronLayer(4, 1, pocket=True)
    for _ in range(3):
        layer.update(x, y)
    assert torch.equal(layer(x), ops.predict(x, layer.pocket_weight, layer.pocket_bias))
    assert set(layer.state_dict()) >= {"pocket_weight", "pocket_bias", "pocket_run",
                                       "pocket_best_run"}
