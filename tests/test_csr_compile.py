"""torch.compile(fullgraph=True) over the sparse ops gives what eager gives,
with the feature count static and dynamic (SymInt n_features)."""

import pytest
import torch

from csr_cases import random_csr
from support import DEVICES, assert_bits_equal, gen
from torch_perceptron import ops


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def train_and_predict(w, b, wc, bc, acc, bacc, count, crow, col, values, n_features, y, yc):
    m1 = ops.online_update_csr(w, b, crow, col, values, n_features, y, 0.5)
    m2 = ops.batch_update_csr(w, b, crow, col, values, n_features, y, 0.25, zero_is_mistake=True,
                              bias_step=0.01)
    m3 = ops.multiclass_update_csr(wc, bc, crow, col, values, n_features, yc)
    m4 = ops.online_update_averaged_csr(w, b, acc, bacc, count, crow, col, values, n_features, y)
    z = ops.decision_function_csr(crow, col, values, n_features, w, b)
    p = ops.predict_csr(crow, col, values, n_features, wc, bc)
    # Plain ATen around the ops, so that they sit in a real graph.
    return m1 + m2 + m4, m3, z * 2, p.sum(0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dynamic", [False, True])
@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_compiled_csr_ops_match_eager(backend, dynamic, device):
    g = gen(1)
    n, d = 40, 12
    _, crow, col, values = random_csr(n, d, g, dtype=torch.float32, index_dtype=torch.int32,
                                      device=device)
    w = torch.zeros(3, d, device=device)
    b = torch.zeros(3, device=device)
    wc = torch.zeros(4, d, device=device)
    bc = torch.zeros(4, device=device)
    state = [w, b, wc, bc, torch.zeros_like(w), torch.zeros_like(b),
             torch.zeros(3, dtype=torch.int64, device=device)]
    y = torch.randint(0, 2, (n, 3), generator=g).to(device)
    yc = torch.randint(0, 4, (n,), generator=g).to(device)
    eager_state = [t.clone() for t in state]
    want = train_and_predict(*eager_state, crow, col, values, d, y, yc)
    compiled = torch.compile(train_and_predict, fullgraph=True, backend=backend, dynamic=dynamic)
    got_state = [t.clone() for t in state]
    got = compiled(*got_state, crow, col, values, d, y, yc)
    for a, e, what in zip(got, want, ["mistakes", "multiclass mistakes", "z", "p"]):
        assert_bits_equal(a, e, what)
    for a, e in zip(got_state, eager_state):
        assert_bits_equal(a, e, "state")
    assert int(want[0].sum()) > 0
