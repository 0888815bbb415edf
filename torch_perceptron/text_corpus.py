"""A real labelled text corpus that the package registries ship, for the
out-of-core text example: Debian's package descriptions, labelled by their
archive section (``python``, ``libs``, ``games``, ``science``, ... 58 of them).

Why this one (measured in docs/sparse_corpus.md): tens of thousands of short
documents written by many people, 58 unbalanced classes, and a task a hashed
linear model does well on but far from perfectly (well above the largest class's
share); the ``fortunes`` package's quotes by category are fewer
(15,000), noisier and near chance. The text is what ``apt-get update`` puts in
apt's lists, read through ``apt-cache dumpavail`` (which undoes whatever
compression the lists use); nothing is downloaded at run time.

Only the one-line description is used, never the package's name: names such as
``python3-foo`` or ``libbar-dev`` would give most sections away. Packages built
from one source share their wording, so the test split is by *source package*
(a fixed hash of its name), never by row: no source is on both sides.
"""

import shutil
import subprocess
import zlib
from typing import Iterator, List, NamedTuple, Optional

# One source package in five is held out for testing.
TEST_SHARE = 5


class Package(NamedTuple):
    text: str  # the one-line description
    section: str  # the label, without an archive area ("contrib/net" -> "net")
    source: str  # the source package, the unit of the train/test split

    @property
    def is_test(self) -> bool:
        return zlib.crc32(self.source.encode()) % TEST_SHARE == 0


class CorpusUnavailable(RuntimeError):
    """apt's package lists are not on this machine."""


def available() -> Optional[str]:
    """``None`` when the corpus can be read here, else why not."""
    if shutil.which("apt-cache") is None:
        return "apt-cache is not installed (the corpus needs a Debian or Ubuntu system)"
    packages = iter_packages()
    try:
        next(packages)
    except (StopIteration, CorpusUnavailable):
        return "apt's package lists are empty: run `apt-get update` first"
    finally:
        packages.close()
    return None


def iter_packages() -> Iterator[Package]:
    """Every package with a section and a description, streamed from
    ``apt-cache dumpavail`` one record at a time, in its order."""
    try:
        proc = subprocess.Popen(
            ["apt-cache", "dumpavail"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except FileNotFoundError as err:
        raise CorpusUnavailable("apt-cache is not installed") from err
    fields: dict = {}
    try:
        for line in proc.stdout:
            if line == "\n":
                package = _package(fields)
                fields = {}
                if package is not None:
                    yield package
            elif line[:1] not in (" ", "\t") and ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        package = _package(fields)
        if package is not None:
            yield package
    finally:
        proc.stdout.close()
        proc.kill()  # a consumer that stops early leaves no apt-cache behind
        proc.wait()


def _package(fields: dict) -> Optional[Package]:
    if "Section" not in fields or not fields.get("Description") or "Package" not in fields:
        return None
    source = fields.get("Source", fields["Package"]).split()[0]
    return Package(fields["Description"], fields["Section"].rsplit("/", 1)[-1], source)


def iter_chunks(chunk_size: int, split: str = "train") -> Iterator[List[Package]]:
    """The ``split`` ("train", "test" or "all") in lists of ``chunk_size``
    packages, streamed: memory holds one chunk."""
    if chunk_size <= 0:
        raise ValueError(f"chunk_size: expected a positive count, got {chunk_size}")
    if split not in ("train", "test", "all"):
        raise ValueError(f"split: expected 'train', 'test' or 'all', got {split!r}")
    chunk: List[Package] = []
    for package in iter_packages():
        if split == "all" or package.is_test == (split == "test"):
            chunk.append(package)
            if len(chunk) == chunk_size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def load(split: str = "all") -> List[Package]:
    """The whole ``split`` as one list (about 63,000 packages in all, 5 MB of text)."""
    return [p for chunk in iter_chunks(1 << 16, split) for p in chunk]
