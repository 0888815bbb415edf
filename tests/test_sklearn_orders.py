"""sklearn.orders: the compiled orders (the sgd_permutations op) equal the plain
loops of scikit-learn's ``our_rand_r`` and Fisher-Yates shuffle, and
scikit-learn's own dataset."""

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")

from torch_perceptron.sklearn.orders import (  # noqa: E402
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
    got = sgd_permutations(n, SEEDS)
    assert got.shape == (len(SEEDS), n) and got.dtype == np.int64
    for row, seed in zip(got, SEEDS):
        np.testing.assert_array_equal(row, sgd_permutation_reference(n, seed))


def test_seeds_wider_than_32_bits_keep_their_low_bits():
    """scikit-learn's seed is a C uint32_t."""
    np.testing.assert_array_equal(sgd_permutation(300, 2**32 + 7), sgd_permutation_reference(300, 7))
    np.testing.assert_array_equal(sgd_permutation(300, -1), sgd_permutation_reference(300, 2**32 - 1))


def test_op_rejects_bad_arguments_by_name():
    op = torch.ops.torch_perceptron.sgd_permutations
    with pytest.raises(RuntimeError, match="seeds must be a 1-D int64"):
        op(torch.zeros(2, dtype=torch.int32), 5)
    with pytest.raises(RuntimeError, match="seeds must be a 1-D int64"):
        op(torch.zeros(2, 2, dtype=torch.int64), 5)
    with pytest.raises(ValueError, match="n must be >= 0"):
        op(torch.zeros(2, dtype=torch.int64), -1)


def test_opcheck():
    """Schema, fake kernel (shape and dtype under meta tensors) and dispatch."""
    op = torch.ops.torch_perceptron.sgd_permutations.default
    for seeds, n in [(torch.tensor([0, 5, 2**31]), 17), (torch.zeros(0, dtype=torch.int64), 4), (torch.tensor([3]), 0)]:
        torch.library.opcheck(op, (seeds, n))


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
