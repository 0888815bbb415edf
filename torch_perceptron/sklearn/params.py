"""The estimator's parameters and their checks, as scikit-learn's ``BaseSGD``
holds them: the constructor that only stores its arguments, the constraints
``_validate_params`` reads, and what those cannot say (combinations, the
device, the working dtype)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Optional

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions


class BasePerceptron(BaseEstimator):
    """The parameters of :class:`~torch_perceptron.sklearn.Perceptron` (see
    its docstring for their meaning)."""

    _parameter_constraints: dict = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "warm_start": ["boolean"],
        "average": ["boolean"],
        "pocket": ["boolean"],
        "zero_is_mistake": ["boolean"],
        "sparse_intercept_decay": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "dtype": [torch.dtype, None],
    }

    def __init__(
        self,
        *,
        penalty=None,
        alpha: float = 0.0001,
        l1_ratio: float = 0.15,
        fit_intercept: bool = True,
        max_iter: int = 1000,
        tol: Optional[float] = 1e-3,
        shuffle: bool = True,
        verbose: int = 0,
        eta0: float = 1.0,
        n_jobs: Optional[int] = None,
        random_state=0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        class_weight=None,
        warm_start: bool = False,
        average: bool = False,
        pocket: bool = False,
        zero_is_mistake: bool = True,
        sparse_intercept_decay: float = 0.01,
        device="cpu",
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.eta0 = eta0
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.pocket = pocket
        self.zero_is_mistake = zero_is_mistake
        self.sparse_intercept_decay = sparse_intercept_decay
        self.device = device
        self.dtype = dtype

    def _check_params(self, for_partial_fit: bool) -> None:
        self._validate_params()
        if self.penalty is not None and (self.average or self.pocket):
            raise ValueError(
                f"penalty={self.penalty!r} with average={self.average} and pocket="
                f"{self.pocket}: a penalty is only implemented for the plain rule (set "
                "average=False and pocket=False, or penalty=None)"
            )
        if self.dtype is not None and self.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype: expected torch.float32, torch.float64 or None, got {self.dtype!r}")
        if self.average and self.pocket:
            raise ValueError("average and pocket: expected at most one of them, got both")
        _check_device(self.device)
        if for_partial_fit and self.early_stopping:
            raise ValueError("early_stopping should be False with partial_fit")

    def _work_dtype(self, x_dtype) -> np.dtype:
        """float32 or float64: ``dtype``, or X's (after scikit-learn's conversion)."""
        if self.dtype is None:
            return np.dtype(x_dtype)
        return np.dtype(np.float32 if self.dtype == torch.float32 else np.float64)


def _check_device(device) -> None:
    """Refuses a device torch cannot use, in one line, before any tensor is
    made there (torch's own refusal is an AssertionError deep in a fit)."""
    try:
        kind = torch.device(device).type
    except RuntimeError as err:
        raise ValueError(f"device: expected a torch device such as 'cpu' or 'cuda', got {device!r} ({err})") from None
    if kind == "cuda" and not torch.cuda.is_available():
        why = "this torch was built without CUDA" if torch.version.cuda is None else "torch sees no CUDA GPU here"
        raise ValueError(f"device: got {device!r}, but {why} (torch {torch.__version__}); use device='cpu'")
