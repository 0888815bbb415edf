"""What the compiled kernels are measured against: the lecture note's
per-sample PyTorch loop, a vectorised pure-PyTorch mini-batch rule, and
scikit-learn's Perceptron."""

import torch
from torch import Tensor

# scikit-learn lives in its own module, which a process timing it can import
# without torch.
from .sklearn_peer import sklearn_dtype_note, sklearn_fit, sklearn_perceptron  # noqa: F401


class SeedPerceptron:
    """The lecture note's ``Perceptron`` class, kept as written there (one
    ``torch.mm`` and a ``torch.where`` per sample, weights ``[D, 1]``), except
    that device and dtype are arguments instead of globals."""

    def __init__(self, num_features: int, device="cpu", dtype=torch.float32):
        self.num_features = num_features
        self.weights = torch.zeros(num_features, 1, dtype=dtype, device=device)
        self.bias = torch.zeros(1, dtype=dtype, device=device)
        self.ones = torch.ones((1, 1), dtype=dtype, device=device)
        self.zeros = torch.zeros((1, 1), dtype=dtype, device=device)

    def forward(self, x: Tensor) -> Tensor:
        linear = torch.mm(x, self.weights) + self.bias
        return torch.where(linear > 0.0, self.ones, self.zeros)

    def backward(self, x: Tensor, y: Tensor) -> Tensor:
        return y - self.forward(x)

    def train_epoch(self, x: Tensor, y: Tensor, count: bool = False) -> int:
        """One epoch of the note's ``train`` loop over ``x [N, D]``, ``y [N]``
        (0/1 in x's dtype). With ``count``, also counts the mistakes (two more
        ops a sample, so the timed runs leave it off) and returns them; else
        returns -1."""
        mistakes = torch.zeros((), dtype=torch.int64, device=x.device) if count else None
        for i in range(y.shape[0]):
            errors = self.backward(x[i].reshape(1, self.num_features), y[i]).reshape(-1)
            self.weights += (errors * x[i]).reshape(self.num_features, 1)
            self.bias += errors
            if mistakes is not None:
                mistakes += errors.abs().sum().to(torch.int64)
        return -1 if mistakes is None else int(mistakes)


def torch_minibatch_epoch(
    weight: Tensor, bias: Tensor, x: Tensor, y: Tensor, batch_size: int, lr: float = 1.0
) -> Tensor:
    """One epoch of the mini-batch rule in plain PyTorch, in place: for each
    consecutive batch, the errors of the whole batch under the current weights,
    then one step ``weight += lr * err.T @ xb``, ``bias += lr * err.sum(0)``.

    ``weight [K, D]``, ``bias [K]``, ``x [N, D]``, ``y [N, K]`` of 0/1 in x's
    dtype. Returns the mistakes per output, int64 ``[K]``. With
    ``batch_size=1`` this is the online rule; with ``batch_size=N`` it is one
    call of ``torch_perceptron.ops.batch_update``.
    """
    mistakes = torch.zeros(weight.shape[0], dtype=torch.int64, device=x.device)
    for start in range(0, x.shape[0], batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        err = yb - (torch.addmm(bias, xb, weight.T) > 0).to(x.dtype)
        mistakes += (err != 0).sum(0)
        weight.addmm_(err.T, xb, alpha=lr)
        bias.add_(err.sum(0), alpha=lr)
    return mistakes
