"""Chunked svmlight reading: files written by scikit-learn's dump_svmlight_file,
read in byte ranges across ranks, give every row exactly once, equal to
reading the whole file, and a chunk's memory is bounded by its byte length."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import dump_svmlight_file, load_svmlight_file

from torch_perceptron.svmlight import SvmlightChunks, plan, shard_paths

N_FEATURES = 300


def write(path, n, seed, zero_based=True, density=0.05):
    rng = np.random.default_rng(seed)
    x = sp.random(n, N_FEATURES, density=density, format="csr", random_state=rng)
    x.data = np.round(x.data * 16) / 16 - 0.5  # short decimals, some exact zeros dropped below
    x.eliminate_zeros()
    y = rng.integers(0, 3, n)
    dump_svmlight_file(x, y, str(path), zero_based=zero_based)
    return x, y


def gather(chunks):
    xs = [c.x.to_scipy() for c in chunks]
    ys = [c.y.numpy() for c in chunks]
    return sp.vstack(xs, format="csr") if xs else None, np.concatenate(ys) if ys else None


@pytest.mark.parametrize("chunk_bytes", [1, 37, 500, 4096, 1 << 30])
@pytest.mark.parametrize("world_size", [1, 3])
def test_every_row_once_across_chunks_and_ranks(tmp_path, chunk_bytes, world_size):
    x, y = write(tmp_path / "data.svm", 120, seed=1)
    per_rank = [
        list(
            SvmlightChunks(
                tmp_path / "data.svm", N_FEATURES, chunk_bytes, rank=r, world_size=world_size, dtype=torch.float64
            )
        )
        for r in range(world_size)
    ]
    # Chunks in file order: rank r holds global chunks r, r + w, ...
    n_chunks = len(plan([str(tmp_path / "data.svm")], chunk_bytes))
    ordered = [per_rank[i % world_size][i // world_size] for i in range(n_chunks)]
    got_x, got_y = gather(ordered)
    assert got_x.shape == x.shape
    assert (got_x != x).nnz == 0
    np.testing.assert_array_equal(got_y, y)
    # And equal to scikit-learn's reading of the whole file.
    whole_x, whole_y = load_svmlight_file(str(tmp_path / "data.svm"), n_features=N_FEATURES)
    assert (got_x != whole_x).nnz == 0
    np.testing.assert_array_equal(got_y, whole_y)
    assert sum(len(c) for c in ordered) == 120
    assert [len(p) for p in per_rank] == [
        len(SvmlightChunks(tmp_path / "data.svm", N_FEATURES, chunk_bytes, rank=r, world_size=world_size))
        for r in range(world_size)
    ]


def test_a_directory_of_shards_in_name_order(tmp_path):
    parts = [write(tmp_path / f"part-{i:02d}.svm", n, seed=i) for i, n in enumerate([40, 25, 61])]
    (tmp_path / "part-01a.svm").write_bytes(b"")  # an empty shard is zero rows
    (tmp_path / ".hidden").write_text("not data\n")
    assert [p.rsplit("/", 1)[1] for p in shard_paths(tmp_path)] == [
        "part-00.svm",
        "part-01.svm",
        "part-01a.svm",
        "part-02.svm",
    ]
    chunks = list(SvmlightChunks(tmp_path, N_FEATURES, chunk_bytes=700, dtype=torch.float64))
    got_x, got_y = gather(chunks)
    want_x = sp.vstack([p[0] for p in parts], format="csr")
    want_y = np.concatenate([p[1] for p in parts])
    assert (got_x != want_x).nnz == 0
    np.testing.assert_array_equal(got_y, want_y)


def test_chunk_memory_is_bounded_by_its_byte_length(tmp_path):
    path = tmp_path / "big.svm"
    write(path, 3000, seed=3, density=0.1)
    longest = max(len(line) for line in path.read_bytes().splitlines(keepends=True))
    size = path.stat().st_size
    for chunk_bytes in (2_000, 20_000):
        chunks = list(SvmlightChunks(path, N_FEATURES, chunk_bytes))
        assert len(chunks) == -(-size // chunk_bytes)
        for c in chunks:
            # Each non-zero is at least 4 bytes of text ("j:v "), each row at
            # least 2 ("y\n"); in memory a non-zero is 4 + 4 or 8 bytes and a
            # row 4 or 8: so at most 8 bytes of CSR per byte of text read.
            assert c.x.nbytes <= 8 * (chunk_bytes + longest)
            assert c.y.numel() * 8 <= 4 * (chunk_bytes + longest)
        # Far below the whole file's CSR: the bound is the chunk, not the file.
        assert max(c.x.nbytes for c in chunks) < sum(c.x.nbytes for c in chunks) / 5


def test_one_based_files(tmp_path):
    x, y = write(tmp_path / "libsvm.txt", 30, seed=4, zero_based=False)
    chunks = list(SvmlightChunks(tmp_path / "libsvm.txt", N_FEATURES, 256, zero_based=False))
    got_x, _ = gather(chunks)
    assert (got_x != x.astype(np.float32)).nnz == 0


def libsvm_file(path):
    """LIBSVM's own convention: column indices from 1 to n_features (30)."""
    path.write_text("".join(f"{i % 2} 1:{i} 7:0.5 30:1\n" for i in range(6)))
    return path


def test_auto_reads_a_one_based_file_as_scikit_learns_loader_does(tmp_path):
    path = libsvm_file(tmp_path / "libsvm.txt")
    theirs, _ = load_svmlight_file(str(path), n_features=30)  # zero_based="auto"
    for chunk_bytes in (16, 1 << 20):
        chunks = SvmlightChunks(path, 30, chunk_bytes)  # the default: "auto"
        assert chunks.zero_based is False
        got_x, _ = gather(list(chunks))
        assert (got_x != theirs.astype(np.float32)).nnz == 0
    # A file naming column 0 is 0-based, wherever that line is (a comment does not count).
    (tmp_path / "zero.svm").write_text("1 3:1 # 0:2\n" * 50 + "0 0:1 2:2\n")
    assert SvmlightChunks(tmp_path / "zero.svm", 30).zero_based is True
    (tmp_path / "comment.svm").write_text("1 3:1 # 0:2\n")
    assert SvmlightChunks(tmp_path / "comment.svm", 30).zero_based is False


def test_a_wrong_indexing_says_which_one_was_used_and_what_to_pass(tmp_path):
    path = libsvm_file(tmp_path / "libsvm.txt")
    with pytest.raises(ValueError) as info:
        list(SvmlightChunks(path, 30, zero_based=True))
    message = str(info.value)
    assert "n_features was set to 30, but input file contains 31 features" in message
    assert "read as 0-based" in message and "zero_based=False, or 'auto'" in message
    with pytest.raises(ValueError, match="zero_based: expected True, False or 'auto', got 'yes'"):
        SvmlightChunks(path, 30, zero_based="yes")


def test_invalid_arguments(tmp_path):
    write(tmp_path / "a.svm", 5, seed=0)
    with pytest.raises(ValueError, match="chunk_bytes"):
        SvmlightChunks(tmp_path / "a.svm", N_FEATURES, 0)
    with pytest.raises(ValueError, match="rank, world_size"):
        SvmlightChunks(tmp_path / "a.svm", N_FEATURES, rank=2, world_size=2)
    with pytest.raises(FileNotFoundError, match="source"):
        SvmlightChunks(tmp_path / "missing", N_FEATURES)
    (tmp_path / "b.svm.gz").write_bytes(b"")
    with pytest.raises(ValueError, match="compressed"):
        SvmlightChunks(tmp_path, N_FEATURES)
    with pytest.raises(ValueError, match="n_features"):
        list(SvmlightChunks(tmp_path / "a.svm", 3))


def test_blank_lines_comments_and_no_final_newline_at_every_chunk_size(tmp_path):
    path = tmp_path / "odd.svm"
    path.write_bytes(b"\n1 0:1\n\n0 2:0.5 7:3\n# a comment\n1 1:2 # trailing\n\n0 3:1")
    whole_x, whole_y = load_svmlight_file(str(path), n_features=8)
    for chunk_bytes in range(1, path.stat().st_size + 2):
        for world_size in (1, 2):
            chunks = [
                c
                for r in range(world_size)
                for c in SvmlightChunks(path, 8, chunk_bytes, rank=r, world_size=world_size)
            ]
            chunks.sort(key=lambda c: c.span.start)
            got_x, got_y = gather(chunks)
            assert (got_x != whole_x).nnz == 0, chunk_bytes
            np.testing.assert_array_equal(got_y, whole_y)


def test_the_data_module_decides_the_indexing_once_for_all_its_files(tmp_path):
    from torch_perceptron.lightning import SvmlightDataModule

    train = libsvm_file(tmp_path / "train.txt")
    assert SvmlightDataModule(str(train), 30, val=str(train)).zero_based is False
    (tmp_path / "val.svm").write_text("1 0:1\n")  # column 0 in one file: all 0-based
    data = SvmlightDataModule(str(train), 31, val=str(tmp_path / "val.svm"))
    assert data.zero_based is True
    assert (data.n_samples("train"), data.n_samples("val"), data.n_samples("test")) == (6, 1, 0)
