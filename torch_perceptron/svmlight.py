"""LIBSVM / svmlight files read in chunks of bounded memory, one file or a
directory of shards, optionally dealt out across ranks.

A chunk is a byte range of one file that starts and ends at line starts,
parsed by ``sklearn.datasets.load_svmlight_file``. Its own ``offset``/``length``
range reading is not used as is: it drops the line holding ``offset`` and stops
after the first line ending past ``offset + length``, but it checks that stop
only after a line with data (a blank or comment-only line carries it on into the
next range's rows), and it always reads one line, so a range that holds no line
start reads its successor's first line again. So the plan aligns the ranges
itself: each nominal cut ``i * chunk_bytes`` moves forward to the next line start
(one ``readline`` per cut), and a chunk reads exactly its bytes ``[start, stop)``
and hands them to the parser. A chunk's memory is bounded by ``chunk_bytes``
plus one line (its text, then its CSR), whatever the size of the file.

The plan is the same on every rank (it depends on the files alone), and rank
``r`` of ``w`` takes chunks ``r, r + w, r + 2w, ...``. A range that holds no line
start still counts as a chunk (with zero rows), so that every rank knows its
step count in advance.
"""

import io
import os
from dataclasses import dataclass
from typing import Iterator, List, NamedTuple, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from .sparse import CSRRows, as_csr

PathLike = Union[str, "os.PathLike[str]"]

# Seeking in a compressed stream decompresses from its start: every chunk would
# cost the whole file.
_COMPRESSED = (".gz", ".bz2", ".xz", ".zip")


class Span(NamedTuple):
    """One chunk: the lines of ``path`` that start in bytes ``[start, stop)``."""

    path: str
    start: int
    stop: int


@dataclass(frozen=True)
class Chunk:
    """The rows of one span: ``x`` ``[n, n_features]`` and labels ``y`` ``[n]``
    float64, as written in the file."""

    x: CSRRows
    y: Tensor
    span: Span

    def __len__(self) -> int:
        return self.x.n_rows


def shard_paths(source: PathLike) -> List[str]:
    """``source`` itself if it is a file; else the regular, non-hidden files of
    the directory, sorted by name (the order every rank sees)."""
    source = os.fspath(source)
    if os.path.isfile(source):
        paths = [source]
    elif os.path.isdir(source):
        paths = sorted(
            os.path.join(source, name) for name in os.listdir(source)
            if not name.startswith(".") and os.path.isfile(os.path.join(source, name))
        )
        if not paths:
            raise ValueError(f"source: the directory {source!r} holds no files")
    else:
        raise FileNotFoundError(f"source: no file or directory {source!r}")
    for path in paths:
        if path.endswith(_COMPRESSED):
            raise ValueError(
                f"source: {path!r} is compressed; byte ranges of it cannot be read without "
                "decompressing it from the start, so decompress the shards first"
            )
    return paths


def plan(paths: Sequence[str], chunk_bytes: int) -> List[Span]:
    """Every file cut about every ``chunk_bytes`` bytes, each cut moved forward
    to a line start, in order."""
    if chunk_bytes <= 0:
        raise ValueError(f"chunk_bytes: expected a positive byte count, got {chunk_bytes}")
    spans = []
    for path in paths:
        size = os.path.getsize(path)
        cuts = [0]
        with open(path, "rb") as f:
            for offset in range(chunk_bytes, size, chunk_bytes):
                if offset <= cuts[-1]:  # still inside the line the last cut skipped
                    cuts.append(cuts[-1])
                    continue
                f.seek(offset - 1)
                f.readline()
                cuts.append(f.tell())
        cuts.append(size)
        spans.extend(Span(path, lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:]))
    return spans


class SvmlightChunks:
    """Iterates over the chunks of ``source`` that belong to ``rank`` of
    ``world_size``, each as a :class:`Chunk`.

    ``source``: one file, or a directory of shards (read in name order).
    ``n_features``: the feature count of every chunk (a chunk cannot infer it).
    ``chunk_bytes``: the byte length of a range; a chunk holds the lines that
    start in it, so its memory grows with ``chunk_bytes`` plus one line.
    ``zero_based``: whether the file's column indices start at 0 (scikit-learn's
    ``dump_svmlight_file`` default) or at 1 (LIBSVM's own data sets).
    ``dtype``: the values' float dtype.
    """

    def __init__(
        self,
        source: PathLike,
        n_features: int,
        chunk_bytes: int = 64 << 20,
        *,
        rank: int = 0,
        world_size: int = 1,
        zero_based: bool = True,
        dtype: torch.dtype = torch.float32,
    ):
        if n_features <= 0:
            raise ValueError(f"n_features: expected a positive count, got {n_features}")
        if world_size <= 0 or not 0 <= rank < world_size:
            raise ValueError(
                f"rank, world_size: expected 0 <= rank < world_size, got {rank} and {world_size}"
            )
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype: expected torch.float32 or torch.float64, got {dtype}")
        self.paths = shard_paths(source)
        self.n_features = n_features
        self.spans = plan(self.paths, chunk_bytes)[rank::world_size]
        self.zero_based = zero_based
        self.dtype = dtype

    def __len__(self) -> int:
        return len(self.spans)

    def __iter__(self) -> Iterator[Chunk]:
        for span in self.spans:
            yield read_span(span, self.n_features, zero_based=self.zero_based, dtype=self.dtype)


def read_span(
    span: Span, n_features: int, *, zero_based: bool = True, dtype: torch.dtype = torch.float32
) -> Chunk:
    """The lines that start in ``span``, as a :class:`Chunk`."""
    from sklearn.datasets import load_svmlight_file

    if span.stop <= span.start:
        return Chunk(_empty(n_features, dtype), torch.zeros(0, dtype=torch.float64), span)
    with open(span.path, "rb") as f:
        f.seek(span.start)
        text = f.read(span.stop - span.start)
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    x, y = load_svmlight_file(
        io.BytesIO(text), n_features=n_features, dtype=np_dtype, zero_based=zero_based
    )
    del text
    return Chunk(as_csr(x, dtype, n_features=n_features, name=span.path), torch.from_numpy(y), span)


def _empty(n_features: int, dtype: torch.dtype) -> CSRRows:
    return CSRRows(torch.zeros(1, dtype=torch.int64), torch.zeros(0, dtype=torch.int64),
                   torch.zeros(0, dtype=dtype), n_features)
