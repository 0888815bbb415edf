"""What `import torch_perceptron` does: registers the ops, imports no Lightning."""

import subprocess
import sys

import torch

import torch_perceptron

OP_NAMES = ["decision_function", "predict", "online_update", "multiclass_update", "batch_update"]


def test_import_does_not_import_lightning():
    code = (
        "import sys, torch_perceptron\n"
        "heavy = [m for m in ('lightning', 'pytorch_lightning', 'lightning_fabric', 'torchmetrics', 'sklearn')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout


def test_ops_are_listed_under_torch_ops():
    registered = {name for name in torch._C._dispatch_get_all_op_names() if name.startswith("torch_perceptron::")}
    assert registered == {f"torch_perceptron::{name}" for name in OP_NAMES}
    for name in OP_NAMES:
        packet = getattr(torch.ops.torch_perceptron, name)
        assert packet.default._schema.name == f"torch_perceptron::{name}"
        assert hasattr(torch_perceptron.ops, name)


def test_cpu_kernels_and_autograd_fallthrough_registered():
    for name in OP_NAMES:
        qualified = f"torch_perceptron::{name}"
        assert torch._C._dispatch_has_kernel_for_dispatch_key(qualified, "CPU"), name
        assert torch._C._dispatch_has_kernel_for_dispatch_key(qualified, "Meta"), f"{name}: no fake kernel"


def test_public_api():
    assert set(torch_perceptron.__all__) == {"PerceptronLayer", "ops", "reference"}
    assert isinstance(torch_perceptron.__version__, str)
    from torch_perceptron._extension import with_cuda

    assert isinstance(with_cuda(), bool)


def test_cuda_tensors_on_cpu_only_build_get_a_clear_error():
    from torch_perceptron._extension import with_cuda

    if with_cuda() or not torch.cuda.is_available():
        import pytest

        pytest.skip("needs a GPU and a CPU-only build of torch_perceptron")
    w = torch.zeros(1, 2, device="cuda")
    with __import__("pytest").raises(RuntimeError, match="built without CUDA"):
        torch_perceptron.ops.predict(torch.ones(3, 2, device="cuda"), w, torch.zeros(1, device="cuda"))
