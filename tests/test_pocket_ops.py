"""The pocket perceptron ops against the literal reference, across calls, both
dtypes, every device, with their checks. What the averaged and pocket ops
promise alike (parity with the CPU kernels, restores, determinism) is in
test_variant_ops.py."""

import pytest
import torch

import torch_perceptron  # noqa: F401  (loads the ops)
from device_support import (
    BIAS_STEPS,
    assert_all_same, assert_same, on, teacher_labels, variant_state, variant_update,
)
from device_support import dyadic as dyadic_values
from support import DEVICES
from torch_perceptron import ops, reference

DTYPES = [torch.float32, torch.float64]


def dyadic(n, d, gen, dtype):
    return (torch.randint(-8, 9, (n, d), generator=gen) / 4).to(dtype)


def zeros_state(k, d, dtype, counters, device="cpu"):
    return (
        torch.zeros(k, d, dtype=dtype, device=device), torch.zeros(k, dtype=dtype, device=device),
        torch.zeros(k, d, dtype=dtype, device=device), torch.zeros(k, dtype=dtype, device=device),
        torch.zeros(counters, dtype=torch.int64, device=device),
        torch.zeros(counters, dtype=torch.int64, device=device),
    )


def noisy_labels(x, k, gen):
    # Not separable: a linear rule with 15 % of the labels flipped.
    clean = (x[:, :k] + x[:, k : 2 * k] > 0).long()
    flip = torch.rand(clean.shape, generator=gen) < 0.15
    return clean ^ flip.long()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 3, 70])
@pytest.mark.parametrize("zero_is_mistake", [False, True])
def test_online_pocket_matches_reference(dtype, k, zero_is_mistake, device):
    gen = torch.Generator().manual_seed(k + 10)
    n, d = 60, 2 * k + 1
    x = dyadic(n, d, gen, dtype)
    y = noisy_labels(x, k, gen)
    state = list(zeros_state(k, d, dtype, k, device))
    ref = [t.cpu().clone() for t in state]
    plain_w, plain_b = state[0].clone(), state[1].clone()
    xd, yd = x.to(device), y.to(device)
    for _ in range(3):
        for part in (slice(0, 25), slice(25, n)):
            m = ops.online_update_pocket(
                *state, xd[part], yd[part], 0.5, zero_is_mistake=zero_is_mistake
            )
            *ref, rm = reference.online_update_pocket(
                *ref, x[part], y[part], 0.5, None, zero_is_mistake
            )
            pm = ops.online_update(
                plain_w, plain_b, xd[part], yd[part], 0.5, zero_is_mistake=zero_is_mistake
            )
            assert torch.equal(m.cpu(), rm) and torch.equal(m, pm)
    for got, want in zip(state, ref):
        assert torch.equal(got.cpu(), want)
    assert torch.equal(state[0], plain_w) and torch.equal(state[1], plain_b)
    assert (state[5] > 0).all()  # some run was recorded for every output


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_pocket_matches_reference(dtype, device):
    gen = torch.Generator().manual_seed(4)
    n, d, k = 80, 5, 3
    x = dyadic(n, d, gen, dtype)
    y = torch.where(torch.rand(n, generator=gen) < 0.2,
                    torch.randint(0, k, (n,), generator=gen), x[:, :k].argmax(1))
    sw = torch.randint(1, 3, (n,), generator=gen).to(dtype)
    state = list(zeros_state(k, d, dtype, 1, device))
    ref = [t.cpu().clone() for t in state]
    xd, yd, swd = x.to(device), y.to(device), sw.to(device)
    for _ in range(4):
        m = ops.multiclass_update_pocket(*state, xd, yd, sample_weight=swd)
        *ref, rm = reference.multiclass_update_pocket(*ref, x, y, 1.0, sw)
        assert torch.equal(m.cpu(), rm)
    for got, want in zip(state, ref):
        assert torch.equal(got.cpu(), want)
    assert state[5].item() > 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias_step", BIAS_STEPS)
@pytest.mark.parametrize("multiclass", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pocket_matches_reference(dtype, multiclass, bias_step, device):
    g = torch.Generator().manual_seed(22)
    n, d, k = 80, 5, 3
    x = dyadic_values((n, d), g).to(dtype)
    y = teacher_labels(x, k, g, multiclass, noise=0.15)
    sw = torch.randint(1, 3, (n,), generator=g).to(dtype)
    counters = 1 if multiclass else k
    ref = [torch.zeros(k, d, dtype=dtype), torch.full((k,), 0.25, dtype=dtype),
           *variant_state("pocket", k, d, dtype, counters)]
    state = on(device, *ref)
    update = variant_update("pocket", multiclass)
    ref_update = getattr(reference, f"{'multiclass' if multiclass else 'online'}_update_pocket")
    extra = () if multiclass else (True,)
    kw = {} if multiclass else {"zero_is_mistake": True}
    for _ in range(2):
        for part in (slice(0, 30), slice(30, n)):
            m = update(*state, x[part].to(device), y[part].to(device), 0.5,
                       sample_weight=sw[part].to(device), bias_step=bias_step, **kw)
            *ref, rm = ref_update(*ref, x[part], y[part], 0.5, sw[part], *extra,
                                  bias_step=bias_step)
            assert_same(m, rm)
    assert_all_same(state, ref, device)
    assert (ref[5] > 0).all()  # some run was recorded


@pytest.mark.parametrize("device", DEVICES)
def test_pocket_is_the_longest_run_weights_on_a_hand_example(device):
    # One output, 1-D with bias. Samples: x=1 positive, then x=-1 negative.
    w, b, pw, pb, run, best = zeros_state(1, 1, torch.float64, 1, device)
    x = torch.tensor([[1.0], [-1.0], [1.0], [-1.0], [-1.0]], dtype=torch.float64, device=device)
    y = torch.tensor([1, 0, 1, 0, 1], device=device)
    # Sample 0: z=0 -> predicts 0, mistake: w=1, b=1. Samples 1..3 correct
    # (z=0 -> 0, z=2 -> 1, z=0 -> 0): run 3. Sample 4: z=0, label 1: mistake;
    # the pocket keeps w=1, b=1 with a run of 3.
    m = ops.online_update_pocket(w, b, pw, pb, run, best, x, y)
    assert m.tolist() == [2]
    assert pw.tolist() == [[1.0]] and pb.tolist() == [1.0]
    assert best.tolist() == [3] and run.tolist() == [0]
    assert w.tolist() == [[0.0]] and b.tolist() == [2.0]


@pytest.mark.parametrize("device", DEVICES)
def test_run_spans_calls(device):
    w, b, pw, pb, run, best = zeros_state(1, 1, torch.float64, 1, device)
    w += 1
    pw += 1
    x = torch.ones(3, 1, dtype=torch.float64, device=device)
    y = torch.ones(3, device=device)
    ops.online_update_pocket(w, b, pw, pb, run, best, x, y)
    ops.online_update_pocket(w, b, pw, pb, run, best, x, y)
    assert run.tolist() == [6] and best.tolist() == [6]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "field, bad, message",
    [
        (2, torch.zeros(2, 4), "pocket_weight: expected shape"),
        (3, torch.zeros(2, dtype=torch.float64), "pocket_bias: expected dtype"),
        (4, torch.zeros(2, dtype=torch.int32), "run: expected dtype int64"),
        (5, torch.zeros(3, dtype=torch.int64), "best_run: expected shape"),
        (5, torch.tensor([0, -2]), "best_run: expected values >= 0"),
    ],
)
def test_bad_state_is_rejected_before_any_write(field, bad, message, device):
    state = list(zeros_state(2, 3, torch.float32, 2, device))
    state[field] = bad.to(device)
    before = [t.clone() for t in state]
    with pytest.raises((RuntimeError, ValueError), match=message):
        ops.online_update_pocket(*state, torch.ones(4, 3, device=device),
                                 torch.ones(4, 2, device=device))
    for t, s in zip(state, before):
        assert torch.equal(t, s)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("multiclass", [False, True])
def test_non_finite_x_restores_every_state_tensor(multiclass, device):
    k, d = 3, 4
    state = list(zeros_state(k, d, torch.float64, 1 if multiclass else k, device))
    x = (torch.arange(24, dtype=torch.float64).reshape(6, d) - 10).to(device)
    y = (torch.tensor([0, 1, 2, 0, 0, 0]) if multiclass
         else torch.eye(k)[[0, 1, 2, 0, 0, 0]]).to(device)
    update = ops.multiclass_update_pocket if multiclass else ops.online_update_pocket
    update(*state, x, y)
    before = [t.clone() for t in state]
    x_bad = x.clone()
    x_bad[5, 0] = float("nan")
    with pytest.raises(ValueError, match="row 5"):
        update(*state, x_bad, y)
    for t, s in zip(state, before):
        assert torch.equal(t, s)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("multiclass", [False, True])
def test_bias_step_zero_keeps_bias(multiclass, device):
    gen = torch.Generator().manual_seed(8)
    n, d, k = 50, 4, 3
    x = dyadic(n, d, gen, torch.float64)
    if multiclass:
        y = torch.randint(0, k, (n,), generator=gen)
        state = list(zeros_state(k, d, torch.float64, 1))
        update, ref = ops.multiclass_update_pocket, reference.multiclass_update_pocket
        extra = ()
    else:
        y = noisy_labels(x, 1, gen).repeat(1, k)
        state = list(zeros_state(k, d, torch.float64, k))
        update, ref = ops.online_update_pocket, reference.online_update_pocket
        extra = (True,)
    *want, rm = ref(*state, x, y, 1.0, None, *extra, bias_step=0.0)
    kw = {"zero_is_mistake": True} if extra else {}
    state = on(device, *state)
    m = update(*state, x.to(device), y.to(device), 1.0, bias_step=0.0, **kw)
    assert torch.equal(m.cpu(), rm)
    for got, w in zip(state, want):
        assert torch.equal(got.cpu(), w)
    assert (state[1] == 0).all() and (state[3] == 0).all()
