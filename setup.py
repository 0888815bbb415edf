"""Builds torch_perceptron._C with torch.utils.cpp_extension.

TORCH_PERCEPTRON_CUDA picks the extension: "auto" (default) builds CUDA kernels
when torch is a CUDA build and a CUDA toolkit is found (no GPU needed, so CI can
prove the CUDA code compiles), "1" insists on CUDA, "0" builds CPU-only.
TORCH_PERCEPTRON_MARCH sets the -march flag of the C++ code ("native" by
default; empty for a portable build).
"""

import glob
import os

import torch
from setuptools import find_packages, setup
from torch.utils.cpp_extension import (
    CUDA_HOME,
    BuildExtension,
    CppExtension,
    CUDAExtension,
)

ROOT = os.path.dirname(os.path.abspath(__file__))


def use_cuda() -> bool:
    mode = os.environ.get("TORCH_PERCEPTRON_CUDA", "auto").strip().lower()
    available = torch.version.cuda is not None and CUDA_HOME is not None
    if mode in ("0", "off", "false", "no", "cpu"):
        return False
    if mode in ("1", "on", "true", "yes", "cuda"):
        if not available:
            raise RuntimeError(
                "TORCH_PERCEPTRON_CUDA=1 but no CUDA build could be set up: "
                f"torch {torch.__version__} (CUDA {torch.version.cuda}), "
                f"CUDA toolkit at {CUDA_HOME}"
            )
        return True
    if mode != "auto":
        raise RuntimeError(f"TORCH_PERCEPTRON_CUDA: expected auto, 0 or 1, got {mode!r}")
    return available


def write_build_info(with_cuda: bool) -> None:
    # Read at import time, before the library is loaded, to explain a mismatch.
    path = os.path.join(ROOT, "torch_perceptron", "_build_info.py")
    with open(path, "w") as f:
        f.write("# Written by setup.py at build time.\n")
        f.write(f"TORCH_VERSION = {torch.__version__!r}\n")
        f.write(f"WITH_CUDA = {with_cuda!r}\n")


def extension():
    with_cuda = use_cuda()
    write_build_info(with_cuda)
    sources = sorted(glob.glob("csrc/*.cpp") + glob.glob("csrc/cpu/*.cpp"))
    march = os.environ.get("TORCH_PERCEPTRON_MARCH", "native")
    cxx = ["-O3", "-fopenmp", "-ffp-contract=off", "-Wno-psabi"]
    if march:
        cxx.append(f"-march={march}")
    extra = {"cxx": cxx}
    macros = []
    if with_cuda:
        sources += sorted(glob.glob("csrc/cuda/*.cu") + glob.glob("csrc/cuda/*.cpp"))
        # --fmad=false: the update must round like the CPU and the reference.
        extra["nvcc"] = ["-O3", "--fmad=false", "-lineinfo"]
        macros.append(("WITH_CUDA", None))
        return CUDAExtension(
            "torch_perceptron._C", sources, extra_compile_args=extra,
            extra_link_args=["-fopenmp"], define_macros=macros,
        )
    return CppExtension(
        "torch_perceptron._C", sources, extra_compile_args=extra,
        extra_link_args=["-fopenmp"], define_macros=macros,
    )


setup(
    packages=find_packages(include=["torch_perceptron", "torch_perceptron.*"]),
    ext_modules=[extension()],
    cmdclass={"build_ext": BuildExtension},
)
