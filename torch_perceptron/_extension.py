"""Loads the compiled library, explaining what to do when it cannot."""

import torch

_REBUILD = "Rebuild it from the repository root with: pip install --no-build-isolation -e .  (or: make setup)"


def _version_tuple(version: str) -> tuple:
    """(2, 13) for "2.13.0+cpu": the release's major and minor."""
    parts = version.split("+")[0].split(".")
    return tuple(int("".join(c for c in p if c.isdigit()) or 0) for p in parts[:2])


def load() -> None:
    """Imports torch_perceptron._C, which registers the ops under torch.ops."""
    try:
        from . import _build_info
    except ImportError:
        raise ImportError("torch_perceptron's compiled library has not been built. " + _REBUILD) from None
    # The library uses PyTorch's stable ABI only: it loads in the torch it was
    # built against and every later one, not in an older one.
    if _version_tuple(torch.__version__) < _version_tuple(_build_info.MIN_TORCH):
        raise ImportError(
            f"torch_perceptron needs torch >= {_build_info.MIN_TORCH}, but torch {torch.__version__} is installed."
        )
    try:
        from . import _C  # noqa: F401
    except (ImportError, OSError) as exc:
        raise ImportError(f"torch_perceptron's compiled library failed to load ({exc}). " + _REBUILD) from exc


def with_cuda() -> bool:
    """Whether the compiled library holds CUDA kernels."""
    from . import _build_info

    return bool(_build_info.WITH_CUDA)
