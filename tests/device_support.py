"""Data makers and comparisons of the tests that compare a device's kernels
with the CPU kernels and the reference, for every device available.

The data are built on the CPU with a CPU generator, so every device sees the
same numbers, and copied to the device under test. Float32 parity uses dyadic
data (multiples of 1/4 with small sums), where every summation order gives the
same bits, so a device's result must equal the CPU's exactly; float64 also runs
on Gaussian data, where only the summation order differs (mistakes equal,
weights close).
"""

import torch

from torch_perceptron import ops

DTYPES = [torch.float32, torch.float64]

# (N, in, K): empty batches, one feature, K = 1 and K > 1, N past several
# chunks, K past twice the SM count (smaller blocks), and rows too long for
# shared memory (the CUDA kernels then keep the weights in global memory).
ONLINE_SHAPES = [
    (0, 5, 1),
    (1, 1, 1),
    (7, 3, 1),
    (300, 1, 2),
    (257, 17, 1),
    (1000, 33, 4),
    (600, 100, 10),
    (200, 8, 300),
    (120, 10300, 1),
    (60, 5200, 3),
]
# (N, in, K) with K >= 2 classes; the last two exceed the shared-memory budget.
MULTICLASS_SHAPES = [
    (0, 4, 3),
    (1, 1, 2),
    (9, 3, 2),
    (500, 20, 10),
    (700, 7, 3),
    (300, 30, 40),
    (200, 64, 300),
    (80, 2100, 5),
    (50, 1100, 5),
]


# bias_step values every update op is tested with: the textbook rule, a bias
# left alone, a dyadic factor, scikit-learn's damping on sparse input and
# another value with no exact binary form (the bias then leaves the dyadic
# grid, and the decision values z = x . w + b round once, the same way in
# every kernel and the reference).
BIAS_STEPS = [1.0, 0.0, 0.5, 0.01, 0.3]


def dyadic(shape, generator, *, scale=4, low=-8, high=9):
    """Multiples of 1/scale in [low/scale, high/scale): exact in float32 sums."""
    return torch.randint(low, high, shape, generator=generator).double() / scale


def binary_labels(n, k, generator):
    return torch.randint(0, 2, (n, k), generator=generator).double()


def start_weights(k, d, dtype, generator, dyadic_values=True):
    if dyadic_values:
        return dyadic((k, d), generator).to(dtype), dyadic((k,), generator).to(dtype)
    return (
        torch.randn(k, d, generator=generator, dtype=torch.float64).to(dtype),
        torch.randn(k, generator=generator, dtype=torch.float64).to(dtype),
    )


def params_on(device, k, d, dtype=torch.float32):
    """Dyadic starting weight and bias on `device`."""
    g = torch.Generator().manual_seed(0)
    w, b = start_weights(k, d, dtype, g)
    return w.to(device), b.to(device)


def on(device, *tensors):
    # Copies even to the same device, so two runs never share storage.
    return [t.to(device, copy=True) for t in tensors]


def assert_same(device_tensor, cpu_tensor, *, exact=True):
    got = device_tensor.cpu()
    if exact:
        assert torch.equal(got, cpu_tensor), (got - cpu_tensor).abs().max()
    else:
        torch.testing.assert_close(got, cpu_tensor, rtol=1e-10, atol=1e-10)


# The averaged and pocket variants run the plain rules' kernels with extra
# state, so their weights and mistakes must stay the plain rules'; the state is
# compared too: the accumulators (changed only on a mistake, elementwise, so
# bit-equal once the mistakes are) and the pocket, its runs and records.

VARIANTS = ["averaged", "pocket"]


def variant_update(variant, multiclass):
    return getattr(ops, f"{'multiclass' if multiclass else 'online'}_update_{variant}")


def variant_state(variant, k, d, dtype, counters, generator=None):
    """The state beside weight and bias: zeros, or (with a generator) a
    history as earlier calls could have left it."""
    if generator is None:
        floats = torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype)
        return [*floats, *(torch.zeros(counters, dtype=torch.int64) for _ in range(1 if variant == "averaged" else 2))]
    floats = [t.to(dtype) for t in (dyadic((k, d), generator), dyadic((k,), generator))]
    if variant == "averaged":
        return [*floats, torch.randint(0, 50, (counters,), generator=generator)]
    # A current run that may already beat the record, so the first mistake or
    # the end of the first call may fill the pocket.
    run = torch.randint(0, 6, (counters,), generator=generator)
    best = torch.randint(0, 4, (counters,), generator=generator)
    return [*floats, run, best]


def teacher_labels(x, k, generator, multiclass, noise=0.1):
    """Labels of a random linear rule with a fraction `noise` replaced: long
    runs of clean chunks, and mistakes until the end."""
    v = torch.randn(x.shape[1], k, generator=generator, dtype=torch.float64)
    z = x.double() @ v
    if multiclass:
        y = z.argmax(1)
        other = torch.randint(0, k, y.shape, generator=generator)
        return torch.where(torch.rand(y.shape, generator=generator) < noise, other, y)
    y = (z > 0).double()
    flip = torch.rand(y.shape, generator=generator) < noise
    return torch.where(flip, 1 - y, y)


def assert_all_same(device_tensors, cpu_tensors, device, *, exact=True):
    """Every tensor on `device` and equal to its CPU twin (integers always exactly)."""
    assert len(device_tensors) == len(cpu_tensors)
    for got, want in zip(device_tensors, cpu_tensors):
        assert got.device.type == torch.device(device).type
        assert_same(got, want, exact=exact or not got.is_floating_point())
