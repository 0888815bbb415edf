"""Loads the compiled library, explaining what to do when it cannot."""

import torch

_REBUILD = (
    "Rebuild it from the repository root with: "
    "pip install --no-build-isolation -e .  (or: make setup)"
)


def load() -> None:
    """Imports torch_perceptron._C, which registers the ops under torch.ops."""
    try:
        from . import _build_info
    except ImportError:
        raise ImportError(
            "torch_perceptron's compiled library has not been built. " + _REBUILD
        ) from None
    if _build_info.TORCH_VERSION != torch.__version__:
        raise ImportError(
            f"torch_perceptron was built against torch {_build_info.TORCH_VERSION}, "
            f"but torch {torch.__version__} is installed. " + _REBUILD
        )
    try:
        from . import _C  # noqa: F401
    except (ImportError, OSError) as exc:
        raise ImportError(
            f"torch_perceptron's compiled library failed to load ({exc}). " + _REBUILD
        ) from exc


def with_cuda() -> bool:
    """Whether the compiled library holds CUDA kernels."""
    from . import _build_info

    return bool(_build_info.WITH_CUDA)
