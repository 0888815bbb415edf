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

Column indices: 0-based (scikit-learn's ``dump_svmlight_file``) or 1-based
(LIBSVM's own data sets). ``zero_based="auto"`` decides as scikit-learn's
``load_svmlight_files`` does, once for all the files (a chunk alone cannot
tell): 1-based unless some line names column 0. That costs one pass over the
bytes, which stops at the first column 0 it meets.

The plan is the same on every rank (it depends on the files alone), and rank
``r`` of ``w`` takes chunks ``r, r + w, r + 2w, ...``. A range that holds no line
start still counts as a chunk (with zero rows), so that every rank knows its
step count in advance.
"""

import io
import os
import re
from dataclasses import dataclass
from typing import Iterator, List, Literal, NamedTuple, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from .sparse import CSRRows, as_csr

PathLike = Union[str, "os.PathLike[str]"]
ZeroBased = Union[bool, Literal["auto"]]

# Seeking in a compressed stream decompresses from its start: every chunk would
# cost the whole file.
_COMPRESSED = (".gz", ".bz2", ".xz", ".zip")
# A feature naming column 0 ("0:" after a blank; a label is never followed by a colon).
_COLUMN_ZERO = re.compile(rb"[ \t]0+:")
_SCAN_BLOCK = 16 << 20


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
            os.path.join(source, name)
            for name in os.listdir(source)
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
    ``dump_svmlight_file`` default) or at 1 (LIBSVM's own data sets); "auto"
    (the default, as scikit-learn's loader) decides from the files
    (:func:`resolve_zero_based`).
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
        zero_based: ZeroBased = "auto",
        dtype: torch.dtype = torch.float32,
    ):
        if n_features <= 0:
            raise ValueError(f"n_features: expected a positive count, got {n_features}")
        if world_size <= 0 or not 0 <= rank < world_size:
            raise ValueError(f"rank, world_size: expected 0 <= rank < world_size, got {rank} and {world_size}")
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype: expected torch.float32 or torch.float64, got {dtype}")
        self.paths = shard_paths(source)
        self.n_features = n_features
        self.spans = plan(self.paths, chunk_bytes)[rank::world_size]
        self.zero_based = resolve_zero_based(zero_based, self.paths)
        self.dtype = dtype

    def __len__(self) -> int:
        return len(self.spans)

    def __iter__(self) -> Iterator[Chunk]:
        for span in self.spans:
            yield read_span(span, self.n_features, zero_based=self.zero_based, dtype=self.dtype)


def read_span(span: Span, n_features: int, *, zero_based: bool = True, dtype: torch.dtype = torch.float32) -> Chunk:
    """The lines that start in ``span``, as a :class:`Chunk`."""
    from sklearn.datasets import load_svmlight_file

    if span.stop <= span.start:
        return Chunk(_empty(n_features, dtype), torch.zeros(0, dtype=torch.float64), span)
    with open(span.path, "rb") as f:
        f.seek(span.start)
        text = f.read(span.stop - span.start)
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    try:
        x, y = load_svmlight_file(io.BytesIO(text), n_features=n_features, dtype=np_dtype, zero_based=zero_based)
    except ValueError as err:
        raise ValueError(f"{span.path}: {err} ({_indexing_hint(zero_based)})") from None
    del text
    return Chunk(as_csr(x, dtype, n_features=n_features, name=span.path), torch.from_numpy(y), span)


def resolve_zero_based(zero_based: ZeroBased, paths: Sequence[str]) -> bool:
    """``zero_based`` as a bool; "auto" as scikit-learn's loader decides it
    over all of ``paths``: 0-based if any line names column 0, else 1-based."""
    if zero_based == "auto":
        return any(_names_column_zero(path) for path in paths)
    if not isinstance(zero_based, bool):
        raise ValueError(f"zero_based: expected True, False or 'auto', got {zero_based!r}")
    return zero_based


def _names_column_zero(path: str) -> bool:
    """Whether a sample line of ``path`` names column 0 (outside a comment),
    read in blocks that end at line ends; stops at the first one."""
    with open(path, "rb") as f:
        while True:
            block = f.read(_SCAN_BLOCK)
            if not block:
                return False
            if not block.endswith(b"\n"):
                block += f.readline()
            for match in _COLUMN_ZERO.finditer(block):
                line_start = block.rfind(b"\n", 0, match.start()) + 1
                if b"#" not in block[line_start : match.start()]:
                    return True


def _indexing_hint(zero_based: bool) -> str:
    if zero_based:
        return (
            "column indices read as 0-based; a LIBSVM file whose indices start at 1 "
            "needs zero_based=False, or 'auto', which tells from the files"
        )
    return (
        "column indices read as 1-based; a file with column 0 (scikit-learn's "
        "dump_svmlight_file writes 0-based) needs zero_based=True, or 'auto'"
    )


def _empty(n_features: int, dtype: torch.dtype) -> CSRRows:
    return CSRRows(
        torch.zeros(1, dtype=torch.int64), torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=dtype), n_features
    )
