"""The example's corpus (Debian package descriptions by section), read from
apt's lists; skipped where they are absent."""

import pytest

from torch_perceptron import text_corpus

REASON = text_corpus.available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"text corpus unavailable: {REASON}")


def test_packages_have_text_section_and_source():
    packages = text_corpus.load()
    assert len(packages) > 10_000
    sections = {p.section for p in packages}
    assert {"python", "libs", "games", "science"} <= sections and len(sections) > 30
    assert all(p.text and "/" not in p.section and p.source for p in packages)


def test_split_is_by_source_and_chunks_stream_everything():
    train = [p for chunk in text_corpus.iter_chunks(777, "train") for p in chunk]
    test = [p for chunk in text_corpus.iter_chunks(777, "test") for p in chunk]
    assert not {p.source for p in train} & {p.source for p in test}
    assert 0.1 < len(test) / (len(train) + len(test)) < 0.3
    assert sorted(train + test) == sorted(text_corpus.load())
    chunks = list(text_corpus.iter_chunks(1000, "train"))
    assert all(len(c) == 1000 for c in chunks[:-1]) and 0 < len(chunks[-1]) <= 1000


def test_invalid_arguments():
    with pytest.raises(ValueError, match="chunk_size"):
        next(text_corpus.iter_chunks(0))
    with pytest.raises(ValueError, match="split"):
        next(text_corpus.iter_chunks(10, "validation"))
