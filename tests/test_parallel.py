"""The CPU online kernel splits the K outputs over threads when the work is
large enough (n * in * K >= 2**15): the result must not depend on the split."""

import pytest
import torch

from support import assert_same_result, binary_labels, dyadic, dyadic_sample_weight, gen, run_kernel, run_reference


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n, in_features, k", [(128, 64, 8), (100, 48, 7), (64, 130, 5), (40, 512, 2)])
@pytest.mark.parametrize("zero_is_mistake", [False, True])
def test_parallel_online_equals_reference(n, in_features, k, threads, zero_is_mistake, num_threads):
    assert n * in_features * k >= 2**15
    num_threads(threads)
    assert torch.get_num_threads() == threads
    g = gen(n + k)
    dtype = torch.float32 if k % 2 else torch.float64
    x = dyadic((n, in_features), g, dtype, bound=4)
    w = torch.zeros(k, in_features, dtype=dtype)
    b = torch.zeros(k, dtype=dtype)
    y = binary_labels(n, k, g)
    sw = dyadic_sample_weight(n, g, dtype)
    got = run_kernel("online_update", w, b, x, y, 0.5, sample_weight=sw, zero_is_mistake=zero_is_mistake)
    want = run_reference("online_update", w, b, x, y, 0.5, sample_weight=sw, zero_is_mistake=zero_is_mistake)
    assert_same_result(got, want, exact=True)
    assert torch.all(got[2] > 0)  # every output made mistakes


def test_thread_count_does_not_change_result(num_threads):
    g = gen(5)
    x = dyadic(
        (
            200,
            64,
        ),
        g,
        torch.float32,
    )
    y = binary_labels(200, 6, g)
    w = torch.zeros(6, 64)
    b = torch.zeros(6)
    results = []
    for threads in (1, 2, 3):
        num_threads(threads)
        results.append(run_kernel("online_update", w, b, x, y, 1.0))
    for other in results[1:]:
        assert_same_result(other, results[0], exact=True)
