"""What the ``order`` tests of every op that takes one share
(test_order.py, test_penalized_ops.py), dense and CSR: the
orders the estimator hands over, the orders a call must reject, and what an
order means (the call on the gathered rows, output by output for [K, M])."""

from typing import Callable, List

import torch
from torch import Tensor

from support import assert_bits_equal


def orders(n: int, k: int, kind: str, g: torch.Generator, device) -> Tensor:
    """A permutation ("perm", [N]), one per output ("per_output", [K, N]), or
    one per output that visits fewer rows, some twice ("draws", [K, M])."""
    if kind == "perm":
        return torch.randperm(n, generator=g).to(device)
    if kind == "per_output":
        return torch.stack([torch.randperm(n, generator=g) for _ in range(k)]).to(device)
    return torch.randint(0, n, (k, (3 * n) // 4), generator=g).to(device)


def bad_orders(n: int, k: int, device) -> list:
    """``(order, exception, match)`` for every kind of order a call with n
    rows of x and k = 2 outputs must reject before writing anything (on
    ``device``; one on the CPU too where that is another device)."""
    assert k == 2
    cases = [
        (torch.arange(n, dtype=torch.int32), RuntimeError, r"order: expected dtype int64"),
        (torch.arange(n, dtype=torch.float64), RuntimeError, r"order: expected dtype int64"),
        (torch.zeros(3, n, dtype=torch.int64), RuntimeError, r"order: expected .*\[K, M\] with K=2"),
        (torch.zeros(2, 2, n, dtype=torch.int64), RuntimeError, r"order: expected"),
        (torch.tensor([0, 1, n], dtype=torch.int64), ValueError, rf"order: expected row indices of x in \[0, {n}\)"),
        (torch.tensor([[0, -1], [1, 2]], dtype=torch.int64), ValueError, r"order: expected row indices"),
    ]
    cases = [(order.to(device), exc, match) for order, exc, match in cases]
    if torch.device(device).type != "cpu":
        cases.append((torch.arange(n), RuntimeError, r"order: expected device"))
    return cases


def on_gathered_rows(order: Tensor, one_call: Callable[[Tensor, slice], List[Tensor]]) -> list:
    """What a call with ``order`` must give: ``one_call(rows, outputs)`` runs
    the op without an order on the rows ``rows`` of x (and of y and the sample
    weights) for the outputs ``outputs``, returning its results with the
    outputs first; for [K, M] orders output by output, put back together."""
    if order.dim() == 1:
        return one_call(order, slice(None))
    parts = [one_call(order[o], slice(o, o + 1)) for o in range(order.shape[0])]
    return [torch.cat(ts) for ts in zip(*parts)]


def assert_all_equal(got, want, names=None) -> None:
    for i, (a, b) in enumerate(zip(got, want)):
        assert_bits_equal(a, b, names[i] if names else f"result {i}")


def fresh_state(op: str, w: Tensor, b: Tensor) -> list:
    """The state of ``op``'s variant beside the weights, fresh (averaged:
    zeros; pocket: the weights themselves, runs at zero); dense or CSR op."""
    zeros = torch.zeros(w.shape[0], dtype=torch.int64, device=w.device)
    if op.startswith("online_update_averaged"):
        return [torch.zeros_like(w), torch.zeros_like(b), zeros]
    if op.startswith("online_update_pocket"):
        return [w.clone(), b.clone(), zeros, zeros.clone()]
    return []
