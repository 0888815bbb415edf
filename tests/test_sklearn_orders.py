"""sklearn_orders: the vectorised orders equal the plain loops of scikit-learn's
``our_rand_r`` and Fisher-Yates shuffle, and scikit-learn's own dataset."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from torch_perceptron.sklearn_orders import (  # noqa: E402
    our_rand_r_stream,
    sgd_permutation,
    sgd_permutation_reference,
    sgd_permutations,
)

SEEDS = [0, 1, 2, 12345, 987654321, 2**31 - 2, 2**32 - 1]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 17, 100, 4095, 4096, 4097, 12_345])
def test_permutation_equals_the_plain_loops(n):
    for seed in SEEDS:
        np.testing.assert_array_equal(sgd_permutation(n, seed), sgd_permutation_reference(n, seed))


@pytest.mark.parametrize("n", [0, 1, 2, 5, 1797, 4097])
def test_permutations_of_many_seeds_equal_the_plain_loops(n):
    """Made together (one flat resolution), and again from the cache: each
    row is its seed's plain loops; a caller's changes to a row stay its own."""
    for _ in range(2):
        got = sgd_permutations(n, SEEDS)
        assert got.shape == (len(SEEDS), n) and got.dtype == np.int64
        for row, seed in zip(got, SEEDS):
            np.testing.assert_array_equal(row, sgd_permutation_reference(n, seed))
        got[:] = -1
    # Cached and new seeds mixed, in any order.
    mixed = [SEEDS[3], 424242, SEEDS[0]]
    for row, seed in zip(sgd_permutations(n, mixed), mixed):
        np.testing.assert_array_equal(row, sgd_permutation_reference(n, seed))


def test_permutations_made_a_few_seeds_at_a_time(monkeypatch):
    """Large n resolves a few seeds per batch: the same rows."""
    import torch_perceptron.sklearn_orders as orders

    monkeypatch.setattr(orders, "_BATCH_POSITIONS", 2 * 301)
    got = orders._permutations(301, SEEDS)
    for row, seed in zip(got, SEEDS):
        np.testing.assert_array_equal(row, sgd_permutation_reference(301, seed))


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
