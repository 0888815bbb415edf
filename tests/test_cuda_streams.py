"""What only CUDA has: streams. The ops run on the caller's current stream, as
PyTorch's own ops do, so work queued on a side stream sees their results in
order. Everything else the CUDA kernels promise is tested op by op, with the
device as a parameter (tests/support.py DEVICES and ACCELERATORS).

Every test needs a GPU and a CUDA build of the extension; without either the
module is skipped, with the reason.
"""

import pytest
import torch

from device_support import assert_same, binary_labels, dyadic
from torch_perceptron import ops
from torch_perceptron._extension import with_cuda

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU available"),
    pytest.mark.skipif(not with_cuda(), reason="torch_perceptron was built without CUDA"),
]

CUDA = "cuda"


def test_online_runs_on_the_current_stream():
    g = torch.Generator().manual_seed(0)
    x = dyadic((2000, 64), g).float()
    y = binary_labels(2000, 2, g)
    w, b = torch.zeros(2, 64), torch.zeros(2)
    m_cpu = ops.online_update(w, b, x, y)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        x_cuda, y_cuda = x.to(CUDA), y.to(CUDA)
        w_cuda = torch.zeros(2, 64, device=CUDA)
        b_cuda = torch.zeros(2, device=CUDA)
        m_cuda = ops.online_update(w_cuda, b_cuda, x_cuda, y_cuda)
        w_out = w_cuda.clone()
    stream.synchronize()
    assert_same(m_cuda, m_cpu)
    assert_same(w_out, w)
