"""Data makers and comparisons shared by the tests, and the quiet Trainer and
the subprocess runner of the tests that train through Lightning or run a
script.

Exactness: with *dyadic* data (small integers divided by 4) and a learning rate
that is a power of two, every product and sum the rules compute is exactly
representable in float32 and float64 for the sizes used here, so any summation
order gives the same bits. On such data the compiled kernels must match the
reference bit for bit; on continuous data only up to rounding.
"""

import os
import subprocess
import sys
from contextlib import contextmanager
from typing import Optional

import pytest
import torch
from torch import Tensor

import torch_perceptron
from torch_perceptron import reference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DTYPES = [torch.float32, torch.float64]
# The three online ops (the plain rule, averaged, pocket), which take the same
# order, loss and sample arguments.
ONLINE = ["online_update", "online_update_averaged", "online_update_pocket"]


def _cuda_param():
    from torch_perceptron._extension import with_cuda

    return pytest.param(
        "cuda",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU available"),
            pytest.mark.skipif(not with_cuda(), reason="torch_perceptron was built without CUDA"),
        ],
    )


# Every device a test runs on: "cpu" always, "cuda" always collected (so
# `pytest -m cuda` lists the same tests everywhere) and skipped, with the
# reason, without a GPU or without a CUDA build of the extension.
DEVICES = ["cpu", _cuda_param()]
# The devices whose kernels are compared with the CPU kernels.
ACCELERATORS = [_cuda_param()]

OPS = torch.ops.torch_perceptron
# The dense ops but the penalized one (which takes more), in the order of
# torch_perceptron.ops.OPS: the two forwards, then the seven update rules.
DENSE_OPS = [name for name in torch_perceptron.ops.OPS if not name.endswith("_csr") and "_penalized" not in name]
UPDATE_RULES = DENSE_OPS[2:]

# The formats of x an op takes, a test parameter beside the device; and the
# same with CSR's two index dtypes, as (format, index dtype).
FORMATS = ["dense", "csr"]
INDEXED_FORMATS = [
    pytest.param("dense", torch.int64, id="dense"),
    pytest.param("csr", torch.int32, id="csr-int32"),
    pytest.param("csr", torch.int64, id="csr-int64"),
]


@contextmanager
def torch_threads(n: int):
    """torch's intra-op thread count n inside, restored after: for the tests
    with CUDA cases, which the CUDA build check (.ci/cuda_build_check.sh)
    runs without conftest's num_threads fixture."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def dyadic(shape, g: torch.Generator, dtype=torch.float64, device="cpu", bound=8) -> Tensor:
    """Integers in [-bound, bound] divided by 4: exact in any summation order."""
    ints = torch.randint(-bound, bound + 1, tuple(shape), generator=g)
    return (ints.to(torch.float64) / 4).to(dtype=dtype, device=device)


def continuous(shape, g: torch.Generator, dtype=torch.float64, device="cpu") -> Tensor:
    return torch.randn(tuple(shape), generator=g, dtype=torch.float64).to(dtype=dtype, device=device)


def binary_labels(n: int, k: int, g: torch.Generator, device="cpu") -> Tensor:
    """0/1 labels [N, K] as int64."""
    return torch.randint(0, 2, (n, k), generator=g).to(device)


def class_labels(n: int, k: int, g: torch.Generator, device="cpu") -> Tensor:
    return torch.randint(0, k, (n,), generator=g).to(device)


def dyadic_sample_weight(n: int, g: torch.Generator, dtype=torch.float64, device="cpu") -> Tensor:
    """Non-negative weights in {0, 1/4, 1/2, 1, 2} (zero included on purpose)."""
    choices = torch.tensor([0.0, 0.25, 0.5, 1.0, 2.0], dtype=torch.float64)
    idx = torch.randint(0, len(choices), (n,), generator=g)
    return choices[idx].to(dtype=dtype, device=device)


def run_kernel(name: str, weight: Tensor, bias: Tensor, x: Tensor, y: Tensor, lr: float = 1.0, **kw):
    """Runs the compiled update `name` on copies; returns (w, b, mistakes) on the CPU."""
    w, b = weight.clone(), bias.clone()
    op = getattr(torch_perceptron.ops, name)
    mistakes = op(w, b, x, y, lr, **kw)
    return w.cpu(), b.cpu(), mistakes.cpu()


def run_reference(name: str, weight: Tensor, bias: Tensor, x: Tensor, y: Tensor, lr: float = 1.0, **kw):
    """Runs the plain reference rule on CPU copies."""
    kw = {k: (v.cpu() if isinstance(v, Tensor) else v) for k, v in kw.items()}
    fn = getattr(reference, name)
    w, b, m = fn(weight.cpu(), bias.cpu(), x.cpu(), y.cpu(), lr, **kw)
    return w, b, m


def assert_bits_equal(actual: Tensor, expected: Tensor, what: str = "") -> None:
    actual, expected = actual.cpu(), expected.cpu()
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if not torch.equal(actual, expected):
        diff = (actual.to(torch.float64) - expected.to(torch.float64)).abs().max().item()
        raise AssertionError(f"{what}: not bit-identical (max abs diff {diff})\n{actual}\n{expected}")


def assert_same_result(got, want, *, exact: bool, rtol: float = 0.0, atol: float = 0.0) -> None:
    """(w, b, mistakes) against the reference: identical mistakes always; weights
    bit-identical when `exact`, else within rtol/atol."""
    (w, b, m), (rw, rb, rm) = got, want
    assert m.dtype == torch.int64, f"mistakes: expected int64, got {m.dtype}"
    assert_bits_equal(m, rm, "mistakes")
    if exact:
        assert_bits_equal(w, rw, "weight")
        assert_bits_equal(b, rb, "bias")
    else:
        torch.testing.assert_close(w, rw, rtol=rtol, atol=atol, msg=lambda s: "weight: " + s)
        torch.testing.assert_close(b, rb, rtol=rtol, atol=atol, msg=lambda s: "bias: " + s)


def decision_reference(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """z [N, K] written as the reference writes it (one output at a time)."""
    x, weight, bias = x.cpu(), weight.cpu(), bias.cpu()
    if weight.shape[0] == 0:
        return x.new_zeros((x.shape[0], 0))
    cols = [(x * weight[o]).sum(1) + bias[o] for o in range(weight.shape[0])]
    return torch.stack(cols, 1)


def noncontiguous(t: Tensor, kind: str) -> Tensor:
    """The same values as `t` in a non-contiguous layout.

    kind: "transposed" (column-major storage, 2-D only) or "strided" (every
    other element of a larger buffer along each dimension, with an offset)."""
    if kind == "transposed":
        assert t.dim() == 2
        out = t.t().contiguous().t()
    elif kind == "strided":
        big = torch.full(
            tuple(2 * s + 1 for s in t.shape),
            7.0 if t.is_floating_point() else 1,
            dtype=t.dtype,
            device=t.device,
        )
        index = tuple(slice(1, None, 2) for _ in t.shape)
        big[index] = t
        out = big[index]
    else:
        raise ValueError(kind)
    assert torch.equal(out, t)
    if t.numel() > 1:
        assert not out.is_contiguous() or kind == "transposed" and 1 in t.shape
    return out


def maybe(t: Optional[Tensor], device) -> Optional[Tensor]:
    return None if t is None else t.to(device)


# A Trainer that prints and writes nothing of its own.
QUIET = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)


def quiet_trainer(tmp_path, **kwargs):
    """A Lightning Trainer with no logger, checkpoint, progress bar or model
    summary (``QUIET``), its root under ``tmp_path``; ``kwargs`` add to those
    settings or override them."""
    import lightning as L

    return L.Trainer(default_root_dir=tmp_path, **{**QUIET, **kwargs})


def example(name: str) -> str:
    """The path of examples/``name``."""
    return os.path.join(ROOT, "examples", name)


def run_command(command, cwd, timeout=300, **env) -> subprocess.CompletedProcess:
    """``command`` as a user runs it, in ``cwd``, importing what the tests
    import (their sys.path as PYTHONPATH), ``env`` added to the environment;
    returns what it printed and its exit status."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), **env)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


def run_python(args, cwd, timeout=300, **env) -> subprocess.CompletedProcess:
    """``python *args`` in a fresh interpreter (``run_command``), asserted to
    exit with 0 (the ends of its output in the message)."""
    out = run_command([sys.executable, *args], cwd, timeout, **env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return out
