"""Builds torch_perceptron._C with torch.utils.cpp_extension.

TORCH_PERCEPTRON_CUDA picks the extension: "auto" (default) builds CUDA kernels
when torch is a CUDA build and a CUDA toolkit is found (no GPU needed, so CI can
prove the CUDA code compiles), "1" insists on CUDA, "0" builds CPU-only.
TORCH_PERCEPTRON_MARCH sets the -march flag of the C++ code ("native" by
default; empty for a portable build, as a wheel for other machines needs).

For the CUDA code, TORCH_CUDA_ARCH_LIST is torch's ("9.0", "8.0;9.0+PTX", ...),
plus nvcc's own "all" (a cubin for every architecture the toolkit offers, and
PTX of the newest major one) and "all-major": torch's parser knows only the
architectures of its own release, and CUDA 13.0 has more (8.8). NVCC_THREADS
(as in other extension projects' setup.py) lets one nvcc compile its
architectures in that many threads. A CUDA build's version carries the CUDA
release as a local label, as torch's own wheels do (0.1.0+cu130), so that the
CPU and the CUDA wheel can lie side by side.

The library uses PyTorch's stable ABI only (csrc/stable.h) and CPython's limited
API, so one build loads in every torch from TORCH_TARGET_VERSION on and every
CPython from 3.10 on: the wheel is tagged cp310-abi3.
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

# The oldest torch whose stable ABI has everything csrc/ uses (the headers hide
# whatever is newer, so a build fails rather than a later load).
# pyproject.toml's torch>= states the same.
TORCH_TARGET_VERSION = "0x020a000000000000"  # torch 2.10
MIN_TORCH = "2.10"
VERSION = "0.1.0"  # torch_perceptron/__init__.py's __version__ states the same


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
        f.write(f"TORCH_VERSION = {torch.__version__!r}  # built against\n")
        f.write(f"MIN_TORCH = {MIN_TORCH!r}  # loads in this torch and later\n")
        f.write(f"WITH_CUDA = {with_cuda!r}\n")


def nvcc_arch_flags() -> list[str]:
    # An -arch flag here makes torch skip its own (and its parser of
    # TORCH_CUDA_ARCH_LIST); any other list is left to torch.
    flags = []
    arch_list = os.environ.get("TORCH_CUDA_ARCH_LIST", "").strip()
    if arch_list in ("all", "all-major"):
        flags.append(f"-arch={arch_list}")
    threads = os.environ.get("NVCC_THREADS", "").strip()
    if threads:
        flags += ["--threads", threads]
    return flags


def version() -> str:
    if not use_cuda():
        return VERSION
    return f"{VERSION}+cu{torch.version.cuda.replace('.', '')}"


def extension():
    with_cuda = use_cuda()
    write_build_info(with_cuda)
    sources = sorted(glob.glob("csrc/*.cpp") + glob.glob("csrc/cpu/*.cpp"))
    march = os.environ.get("TORCH_PERCEPTRON_MARCH", "native")
    # No -fopenmp: the threads are libtorch's, behind torch::stable::parallel_for.
    # -fvisibility=hidden: like torch::stable's own types; only PyInit__C is
    # exported.
    cxx = ["-O3", "-ffp-contract=off", "-Wno-psabi", "-fvisibility=hidden"]
    if march:
        cxx.append(f"-march={march}")
    extra = {"cxx": cxx}
    # (Py_LIMITED_API: BuildExtension defines it, to CPython 3.10, for an
    # extension built with py_limited_api.)
    macros = [("TORCH_TARGET_VERSION", TORCH_TARGET_VERSION)]
    if with_cuda:
        sources += sorted(glob.glob("csrc/cuda/*.cu") + glob.glob("csrc/cuda/*.cpp"))
        # --fmad=false: the update must round like the CPU and the reference.
        extra["nvcc"] = [
            "-O3",
            "--fmad=false",
            "-lineinfo",
            "-Xcompiler",
            "-fvisibility=hidden",
            f"-DTORCH_TARGET_VERSION={TORCH_TARGET_VERSION}",
        ] + nvcc_arch_flags()
        # USE_CUDA: the stable shim's CUDA functions (the current stream).
        macros += [("WITH_CUDA", None), ("USE_CUDA", None)]
        return CUDAExtension(
            "torch_perceptron._C",
            sources,
            extra_compile_args=extra,
            define_macros=macros,
            py_limited_api=True,
        )
    return CppExtension(
        "torch_perceptron._C",
        sources,
        extra_compile_args=extra,
        define_macros=macros,
        py_limited_api=True,
    )


setup(
    version=version(),
    packages=find_packages(include=["torch_perceptron", "torch_perceptron.*"]),
    ext_modules=[extension()],
    cmdclass={"build_ext": BuildExtension},
    options={"bdist_wheel": {"py_limited_api": "cp310"}},
)
