"""One conformance suite for every store behind index/stores.py: the same assertions for the FAISS folder, Milvus
(Milvus Lite in a temporary folder) with bm25s's ranking, and Milvus with its own BM25 function."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from citebot.config.errors import IndexMissingError
from citebot.config.settings import Settings, load_settings
from citebot.index.build import build_store
from citebot.index.embedding.hashed import HashEmbedder
from citebot.index.store import open_index, store_location
from citebot.index.store.protocol import LoadedIndex
from tests.conftest import write_config
from tests.test_incremental import NEW_ARTICLE, CountingEmbedder

STORES = {
    "faiss": {},
    "milvus": {"kind": "milvus", "lexical": "bm25s"},
    "milvus-bm25": {"kind": "milvus", "lexical": "milvus"},
}


def store_settings(folder: Path, name: str, sources: Path | None = None) -> Settings:
    """Settings for store `name` with everything under folder (Milvus Lite: folder/milvus.db)."""
    store = dict(STORES[name])
    if store:
        store["uri"] = str(folder / "milvus.db")
    extra = {"sources": str(sources)} if sources else {}
    return load_settings(write_config(folder, store=store or None, **extra))


def opened(settings: Settings) -> LoadedIndex:
    hashed = HashEmbedder()
    return open_index(settings, model_name=hashed.name, weights_sha256=hashed.weights_sha256,
                      dimension=hashed.dimension)


@pytest.fixture(params=list(STORES))
def kind(request: pytest.FixtureRequest, milvus_available: bool) -> str:
    if request.param != "faiss" and not milvus_available:
        pytest.skip("MILVUS HALF SKIPPED: pymilvus / milvus-lite are not installed (pip install -e \".[milvus]\")")
    return request.param


@pytest.fixture
def built(kind: str, tmp_path: Path, seeds_copy: Path) -> tuple[Settings, LoadedIndex]:
    (seeds_copy / "004_otters.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    settings = store_settings(tmp_path, kind, seeds_copy)
    build_store(seeds_copy, settings, embedder=CountingEmbedder())  # the embedder class is part of a vector's key
    return settings, opened(settings)


def test_counts_match_what_was_written_and_describe_names_the_store(built, kind: str) -> None:
    settings, loaded = built
    counts = loaded.store.count()
    assert counts.passages == len(loaded.chunks) == loaded.manifest["chunk_count"] > 0
    assert counts.sentences == len(loaded.sentences) > counts.passages
    assert loaded.store.describe()["kind"] == kind.split("-")[0]
    assert store_location(settings).current_name() == loaded.path.name


def test_a_passage_is_found_by_its_own_vector_best_first(built) -> None:
    _, loaded = built
    store = loaded.store
    for row in (0, len(loaded.chunks) // 2, len(loaded.chunks) - 1):
        vector = store.passage_vectors([row])[0]
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
        found = store.search_passages(vector, 5)
        assert len(found.rows) == 5 and np.all(np.diff(found.scores) <= 1e-6)
        assert found.scores[0] == pytest.approx(1.0, abs=1e-5)
        assert np.allclose(store.passage_vectors([int(found.rows[0])])[0], vector, atol=1e-6)  # it or its twin
    assert len(store.search_passages(vector, 10_000).rows) == len(loaded.chunks)


def test_a_sentence_is_found_by_the_vector_of_its_text(built) -> None:
    _, loaded = built
    ref = loaded.sentences[len(loaded.sentences) // 3]
    chunk = loaded.chunks[ref.chunk]
    text = chunk.text[ref.start - chunk.start:ref.end - chunk.start]
    found = loaded.store.search_sentences(HashEmbedder().encode([text])[0], 3)
    assert found.scores[0] == pytest.approx(1.0, abs=1e-5)
    top = loaded.sentences[int(found.rows[0])]
    top_chunk = loaded.chunks[top.chunk]
    assert top_chunk.text[top.start - top_chunk.start:top.end - top_chunk.start] == text


def test_scores_of_given_rows_are_the_search_scores(built) -> None:
    _, loaded = built
    store = loaded.store
    vector = HashEmbedder().encode(["Theresa May told MPs there was no place for racial hatred"])[0]
    found = store.search_passages(vector, 12)
    assert np.allclose(store.passage_scores(vector, found.rows[::-1]), found.scores[::-1], atol=1e-5)
    assert np.allclose(store.passage_vectors(found.rows) @ vector, found.scores, atol=1e-5)
    outside = [r for r in range(len(loaded.chunks)) if r not in set(found.rows.tolist())][:3]
    assert np.all(store.passage_scores(vector, outside) <= found.scores[-1] + 1e-6)
    sentences = store.search_sentences(vector, 20)
    assert np.allclose(store.sentence_scores(vector, sentences.rows), sentences.scores, atol=1e-5)
    assert np.allclose(store.sentence_vectors(sentences.rows[::-1]) @ vector, sentences.scores[::-1], atol=1e-5)
    assert store.passage_scores(vector, []).shape == (0,)
    assert store.sentence_vectors([]).shape == (0, len(vector))


def test_lexical_search_finds_the_words_and_scores_nothing_else(built) -> None:
    _, loaded = built
    store = loaded.store
    found = store.lexical_search("otters breeding Thames cubs", 5)
    assert len(found.rows) >= 1 and np.all(found.scores > 0) and np.all(np.diff(found.scores) <= 1e-6)
    assert "Otters" in loaded.chunks[int(found.rows[0])].text
    assert np.allclose(store.lexical_scores("otters breeding Thames cubs", found.rows), found.scores, rtol=1e-4)
    unrelated = next(r for r, c in enumerate(loaded.chunks) if "otter" not in c.text.lower())
    assert store.lexical_scores("otters breeding Thames cubs", [unrelated])[0] == 0
    assert len(store.lexical_search("zzyzx qwertyuiop", 5).rows) == 0
    assert len(store.lexical_search("", 5).rows) == 0


def test_a_second_build_reuses_vectors_and_is_switched_in(built, seeds_copy: Path) -> None:
    settings, first = built
    (seeds_copy / "005_more.txt").write_text(NEW_ARTICLE.replace("Otters", "Beavers").replace("otters", "beavers"),
                                             encoding="utf-8")
    embedder = CountingEmbedder()
    report = build_store(seeds_copy, settings, embedder=embedder)
    assert report.reused > 0 and 0 < report.embedded == len(embedder.texts) < report.reused
    second = opened(settings)
    assert second.path.name != first.path.name
    assert second.store.count().passages > first.store.count().passages
    assert "Beavers" in second.chunks[int(second.store.lexical_search("beavers Thames", 1).rows[0])].text


def test_a_build_that_dies_midway_leaves_the_last_build_serving(built, seeds_copy: Path) -> None:
    settings, first = built
    (seeds_copy / "005_more.txt").write_text("Something new\n\n" + "A new sentence about weather. " * 40,
                                             encoding="utf-8")
    with pytest.raises(OSError, match="killed mid-build"):
        build_store(seeds_copy, settings, embedder=CountingEmbedder(fail_after=0))
    after = opened(settings)
    assert after.path.name == first.path.name and after.store.count() == first.store.count()
    vector = first.store.passage_vectors([0])[0]
    assert after.store.search_passages(vector, 1).scores[0] == pytest.approx(1.0, abs=1e-5)


def test_no_build_is_an_error_that_says_how_to_build(kind: str, tmp_path: Path) -> None:
    settings = store_settings(tmp_path, kind)
    with pytest.raises(IndexMissingError, match="citebot index build"):
        opened(settings)
