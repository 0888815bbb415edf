"""scikit-learn's Perceptron as the suite runs it: one epoch in the given
order, fitted on the arrays a user would pass. Imports neither torch nor this
project, so that a process timing scikit-learn holds nothing of ours (see
fresh.py)."""

import warnings


def sklearn_perceptron(n_jobs=None, **kwargs):
    """scikit-learn's Perceptron for one epoch in the given order, as the
    issue asks: ``max_iter=1, tol=None, shuffle=False``."""
    from sklearn.linear_model import Perceptron

    params = dict(max_iter=1, tol=None, shuffle=False, n_jobs=n_jobs)
    params.update(kwargs)
    return Perceptron(**params)


def sklearn_fit(model, x, y):
    """``model.fit(x, y)`` without the ConvergenceWarning that one epoch with
    ``tol=None`` always raises."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x, y)


def sklearn_dtype_note(model) -> str:
    """What precision a fitted scikit-learn model ran in. scikit-learn < 1.3
    converted float32 input to float64; newer versions keep float32
    (``_plain_sgd32``), so the suite reports what it saw rather than assume."""
    import sklearn

    return f"scikit-learn {sklearn.__version__} ran it in {model.coef_.dtype} (coef_ dtype)"


def time_fit(
    x_path: str, y_path: str, repeats: int, n_jobs=None, float64: bool = False, import_torch: bool = False
) -> dict:
    """Times ``Perceptron(n_jobs=...).fit`` on the arrays saved at ``x_path``
    and ``y_path`` (``float64``: on a float64 copy, made before the timing).
    ``import_torch``: import torch first, as a process that also runs this
    project would (what the pinning table compares)."""
    if import_torch:
        import torch  # noqa: F401
    import numpy as np

    from .timing import median_seconds

    x, y = np.load(x_path), np.load(y_path)
    if float64:
        x = x.astype(np.float64)
    model = sklearn_perceptron(n_jobs=n_jobs)
    t, ts = median_seconds(lambda: sklearn_fit(model, x, y), repeats)
    return dict(seconds=t, times=ts, mistakes=None, note=sklearn_dtype_note(model))
