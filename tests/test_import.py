"""What `import torch_perceptron` does: registers the ops, imports no Lightning."""

import subprocess
import sys

import torch

import torch_perceptron
from torch_perceptron.ops import OPS


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
    # Beside the rules: the estimator's sample orders (sklearn_orders.py).
    helpers = {"torch_perceptron::sgd_permutations"}
    assert registered == {f"torch_perceptron::{name}" for name in OPS} | helpers
    for name in OPS:
        packet = getattr(torch.ops.torch_perceptron, name)
        assert packet.default._schema.name == f"torch_perceptron::{name}"
        assert hasattr(torch_perceptron.ops, name)


def test_cpu_kernels_and_autograd_fallthrough_registered():
    for name in OPS:
        qualified = f"torch_perceptron::{name}"
        assert torch._C._dispatch_has_kernel_for_dispatch_key(qualified, "CPU"), name
        assert torch._C._dispatch_has_kernel_for_dispatch_key(qualified, "Autograd"), name
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


def _import_copy(tmp_path, edit):
    """Imports a copy of the package whose build files `edit` changed; returns
    the subprocess result."""
    import pathlib
    import shutil

    src = pathlib.Path(torch_perceptron.__file__).parent
    dst = tmp_path / "torch_perceptron"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
    edit(dst)
    # An editable install maps the package's compiled files to the checkout it
    # was made from; drop its finder so only the copy is seen.
    code = (
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in repr(f)]\n"
        "import torch_perceptron\n"
        f"assert torch_perceptron.__file__.startswith({str(tmp_path)!r})\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
    )


def test_loads_in_a_later_torch_than_it_was_built_against(tmp_path):
    """The library uses the stable ABI only: built against an older torch, it
    still loads (the CI runs the same wheel under a second torch for real)."""

    def edit(pkg):
        info = (pkg / "_build_info.py").read_text()
        (pkg / "_build_info.py").write_text(
            info.replace(f"TORCH_VERSION = {torch.__version__!r}", "TORCH_VERSION = '2.10.0'")
        )

    out = _import_copy(tmp_path, edit)
    assert out.returncode == 0, out.stderr


def test_import_error_in_a_torch_older_than_the_stable_abi_target(tmp_path):
    def edit(pkg):
        (pkg / "_build_info.py").write_text('TORCH_VERSION = "99.0.0"\nMIN_TORCH = "99.0"\nWITH_CUDA = False\n')

    out = _import_copy(tmp_path, edit)
    assert out.returncode != 0
    assert "ImportError: torch_perceptron needs torch >= 99.0" in out.stderr
    assert f"but torch {torch.__version__} is installed" in out.stderr


def test_import_error_when_not_built(tmp_path):
    def edit(pkg):
        (pkg / "_build_info.py").unlink()
        for lib in pkg.glob("_C*.so"):
            lib.unlink()

    out = _import_copy(tmp_path, edit)
    assert out.returncode != 0
    assert "compiled library has not been built" in out.stderr
    assert "make setup" in out.stderr
