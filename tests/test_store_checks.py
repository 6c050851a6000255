"""The load checks every store shares (index/store/checks.py), on small hand-made builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from citebot.config.errors import IndexInvalidError
from citebot.index.chunking import Chunk
from citebot.index.store.checks import check_model, contents_problem, named_sources
from citebot.index.store.protocol import SentenceRef, SourceFile

MANIFEST = {"chunk_count": 2, "dimension": 4, "sources": {"a.txt": "0" * 64},
            "model": {"name": "hash", "weights_sha256": "none"},
            "sources_root": "/nowhere/sources", "sources_root_from_index": "../sources"}
CHUNKS = [Chunk(id="a#0", source="a.txt", title=None, paragraph=0, start=0, end=5, text="Hello"),
          Chunk(id="a#1", source="a.txt", title=None, paragraph=1, start=7, end=12, text="World")]
SENTENCES = [SentenceRef(0, 0, 5), SentenceRef(1, 7, 12)]


def test_a_consistent_build_passes() -> None:
    assert contents_problem(MANIFEST, CHUNKS, SENTENCES, (2, 4), (2, 4)) is None


@pytest.mark.parametrize(("chunks", "sentences", "passages", "sentence_vectors", "problem"), [
    (CHUNKS[:1], SENTENCES[:1], (1, 4), (1, 4), "vectors, chunks and manifest differ"),
    (CHUNKS, SENTENCES, (2, 3), (2, 4), "vectors, chunks and manifest differ"),
    (CHUNKS, SENTENCES, (2, 4), (1, 4), "sentence vectors and sentences differ"),
    (CHUNKS, SENTENCES, (2, 4), (2, 5), "sentence vectors and sentences differ"),
    ([CHUNKS[0], Chunk(**{**vars(CHUNKS[1]), "source": "b.txt"})], SENTENCES, (2, 4), (2, 4), "'b.txt'"),
    (CHUNKS, [SENTENCES[0], SentenceRef(1, 6, 12)], (2, 4), (2, 4), "a sentence lies outside its chunk"),
    (CHUNKS, [SENTENCES[0], SentenceRef(2, 7, 12)], (2, 4), (2, 4), "a sentence lies outside its chunk"),
])
def test_what_does_not_fit_is_named(chunks, sentences, passages, sentence_vectors, problem: str) -> None:
    assert problem in (contents_problem(MANIFEST, chunks, sentences, passages, sentence_vectors) or "")


def test_the_model_weights_and_dimension_must_match() -> None:
    check_model(MANIFEST, model_name="hash", weights_sha256="none", dimension=None, where="x", rebuild="r")
    for name, weights, dimension, message in (("other", "none", 4, "built with model 'hash', not 'other'"),
                                              ("hash", "other", 4, "or with other weights"),
                                              ("hash", "none", 8, "4-dimensional vectors, the model makes 8")):
        with pytest.raises(IndexInvalidError, match=message):
            check_model(MANIFEST, model_name=name, weights_sha256=weights, dimension=dimension, where="x",
                        rebuild="rebuild it")


def test_sources_are_found_beside_the_index_and_named_as_citations_show_them(tmp_path: Path) -> None:
    (tmp_path / "sources").mkdir()
    root, chunks, sources = named_sources(MANIFEST, tmp_path / "index", CHUNKS)
    assert root == (tmp_path / "sources").resolve()
    assert {c.source for c in chunks} == {str(root / "a.txt")} == set(sources)
    assert sources[str(root / "a.txt")] == SourceFile(root / "a.txt", "0" * 64)
    root, _, _ = named_sources(MANIFEST, tmp_path / "elsewhere" / "index", CHUNKS)
    assert root == Path("/nowhere/sources")  # not beside it: where it was at build time
