"""sklearn_orders: the vectorised orders equal the plain loops of scikit-learn's
``our_rand_r`` and Fisher-Yates shuffle, and scikit-learn's own dataset."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from torch_perceptron.sklearn_orders import (  # noqa: E402
    our_rand_r_stream,
    sgd_permutation,
    sgd_permutation_reference,
)

SEEDS = [0, 1, 2, 12345, 987654321, 2**31 - 2, 2**32 - 1]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 17, 100, 4095, 4096, 4097, 12_345])
def test_permutation_equals_the_plain_loops(n):
    for seed in SEEDS:
        np.testing.assert_array_equal(sgd_permutation(n, seed), sgd_permutation_reference(n, seed))


def test_stream_crosses_lane_blocks():
    """The stream is computed 4096 lanes at a time: a plain xorshift across
    several blocks."""
    state, want = 77, []
    for _ in range(3 * 4096 + 5):
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        want.append(state % 2**31)
    np.testing.assert_array_equal(our_rand_r_stream(77, len(want)), want)


def test_orders_equal_scikit_learns_dataset():
    """scikit-learn's own ArrayDataset, reshuffled with the same seed every
    epoch as its SGD loop does, visits the samples in our orders."""
    seq = pytest.importorskip("sklearn.utils._seq_dataset")
    for n, seed in [(1, 3), (50, 7), (301, 0), (1000, 123456)]:
        x = np.zeros((n, 1))
        ds = seq.ArrayDataset64(x, np.zeros(n), np.ones(n), seed=1)
        perm, order = sgd_permutation(n, seed), np.arange(n)
        for _ in range(3):
            order = order[perm]  # the powers of one permutation
            ds._shuffle_py(seed)
            np.testing.assert_array_equal([ds._next_py()[3] for _ in range(n)], order)
