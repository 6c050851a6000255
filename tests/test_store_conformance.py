"""One conformance suite for every store behind the store protocol (index/store/protocol.py), split by capability.

Each capability is a mixin of tests (search, write and commit, reuse, status and leftovers, load checks); a store's
test class inherits `StoreConformance` (or the mixins it supports) and overrides one fixture, `store_section`: the
[store] values of the config that select it. The FAISS folder, Milvus (Milvus Lite in a temporary folder) with
bm25s's ranking, and Milvus with its own BM25 function run it below; a third store gets the suite the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from citebot.config.errors import IndexBusyError, IndexInvalidError, IndexMissingError
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
SettingsOf = Callable[..., Settings]


def settings_with(folder: Path, store: dict[str, str], sources: Path | None = None) -> Settings:
    """Settings with these [store] values and everything under folder (Milvus Lite: folder/milvus.db)."""
    store = dict(store)
    if store.get("kind", "faiss") == "milvus":
        store["uri"] = str(folder / "milvus.db")
    extra = {"sources": str(sources)} if sources else {}
    return load_settings(write_config(folder, store=store or None, **extra))


def store_settings(folder: Path, name: str, sources: Path | None = None) -> Settings:
    """Settings for the store named in STORES with everything under folder."""
    return settings_with(folder, STORES[name], sources)


def opened(settings: Settings) -> LoadedIndex:
    hashed = HashEmbedder()
    return open_index(settings, model_name=hashed.name, weights_sha256=hashed.weights_sha256,
                      dimension=hashed.dimension)


class StoreFixtures:
    """The fixtures every capability's tests use; a store's test class overrides store_section only."""

    @pytest.fixture
    def store_section(self) -> dict[str, str]:
        """The [store] values that select the store under test (override in the store's test class)."""
        raise NotImplementedError("a store's test class overrides the store_section fixture")

    @pytest.fixture
    def settings_of(self, store_section: dict[str, str]) -> SettingsOf:
        """Settings for the store under test: settings_of(folder, sources=None)."""
        return lambda folder, sources=None: settings_with(folder, store_section, sources)

    @pytest.fixture
    def kind(self, store_section: dict[str, str]) -> str:
        return store_section.get("kind", "faiss")

    @pytest.fixture
    def built(self, settings_of: SettingsOf, tmp_path: Path, seeds_copy: Path) -> tuple[Settings, LoadedIndex]:
        """The seeds and one more article built into the store, and the build opened."""
        (seeds_copy / "004_otters.txt").write_text(NEW_ARTICLE, encoding="utf-8")
        settings = settings_of(tmp_path, seeds_copy)
        build_store(seeds_copy, settings, embedder=CountingEmbedder())  # the embedder class is part of a vector's key
        return settings, opened(settings)


class SearchTests(StoreFixtures):
    """SearchStore: counts, top-k by vector, the scores and vectors of given rows, lexical search."""

    def test_counts_match_what_was_written_and_describe_names_the_store(self, built, kind: str) -> None:
        settings, loaded = built
        counts = loaded.store.count()
        assert counts.passages == len(loaded.chunks) == loaded.manifest["chunk_count"] > 0
        assert counts.sentences == len(loaded.sentences) > counts.passages
        assert loaded.store.describe()["kind"] == kind
        assert store_location(settings).current_name() == loaded.path.name

    def test_a_passage_is_found_by_its_own_vector_best_first(self, built) -> None:
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

    def test_a_sentence_is_found_by_the_vector_of_its_text(self, built) -> None:
        _, loaded = built
        ref = loaded.sentences[len(loaded.sentences) // 3]
        chunk = loaded.chunks[ref.chunk]
        text = chunk.text[ref.start - chunk.start:ref.end - chunk.start]
        found = loaded.store.search_sentences(HashEmbedder().encode([text])[0], 3)
        assert found.scores[0] == pytest.approx(1.0, abs=1e-5)
        top = loaded.sentences[int(found.rows[0])]
        top_chunk = loaded.chunks[top.chunk]
        assert top_chunk.text[top.start - top_chunk.start:top.end - top_chunk.start] == text

    def test_scores_of_given_rows_are_the_search_scores(self, built) -> None:
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

    def test_lexical_search_finds_the_words_and_scores_nothing_else(self, built) -> None:
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


class WriteTests(StoreFixtures):
    """BuildSink and commit: a new build is switched in whole, a failed one leaves the last build serving."""

    def test_a_second_build_is_switched_in(self, built, seeds_copy: Path) -> None:
        settings, first = built
        (seeds_copy / "005_more.txt").write_text(
            NEW_ARTICLE.replace("Otters", "Beavers").replace("otters", "beavers"), encoding="utf-8")
        build_store(seeds_copy, settings, embedder=CountingEmbedder())
        second = opened(settings)
        assert second.path.name != first.path.name
        assert store_location(settings).current_name() == second.path.name
        assert second.store.count().passages > first.store.count().passages
        assert "Beavers" in second.chunks[int(second.store.lexical_search("beavers Thames", 1).rows[0])].text

    def test_a_build_that_dies_midway_leaves_the_last_build_serving(self, built, seeds_copy: Path) -> None:
        settings, first = built
        (seeds_copy / "005_more.txt").write_text("Something new\n\n" + "A new sentence about weather. " * 40,
                                                 encoding="utf-8")
        with pytest.raises(OSError, match="killed mid-build"):
            build_store(seeds_copy, settings, embedder=CountingEmbedder(fail_after=0))
        after = opened(settings)
        assert after.path.name == first.path.name and after.store.count() == first.store.count()
        vector = first.store.passage_vectors([0])[0]
        assert after.store.search_passages(vector, 1).scores[0] == pytest.approx(1.0, abs=1e-5)
        assert store_location(settings).leftovers() == []  # a failed build cleans up after itself


class ReuseTests(StoreFixtures):
    """ReuseSource: a build copies the current build's vectors of unchanged texts instead of embedding them."""

    def test_a_second_build_reuses_the_vectors_of_unchanged_texts(self, built, seeds_copy: Path) -> None:
        settings, _ = built
        (seeds_copy / "005_more.txt").write_text(
            NEW_ARTICLE.replace("Otters", "Beavers").replace("otters", "beavers"), encoding="utf-8")
        embedder = CountingEmbedder()
        report = build_store(seeds_copy, settings, embedder=embedder)
        assert report.reused > 0 and 0 < report.embedded == len(embedder.texts) < report.reused
        assert opened(settings).manifest["vectors"]["reused"] == report.reused

    def test_the_reuse_source_gives_the_stored_vector_of_a_text(self, built) -> None:
        from citebot.index.incremental import key_prefix, text_key

        settings, loaded = built
        embedder = CountingEmbedder()
        prefix = key_prefix(embedder, settings.embedding)
        reuse = store_location(settings).reuse_source(prefix, embedder.dimension)
        assert reuse is not None
        try:
            ref = loaded.sentences[0]
            chunk = loaded.chunks[ref.chunk]
            text = chunk.text[ref.start - chunk.start:ref.end - chunk.start]
            assert np.allclose(reuse.vector(text_key(prefix, text)), loaded.store.sentence_vectors([0])[0])
            assert reuse.vector(text_key(prefix, "a text no build embedded")) is None
            assert (reuse.folder is None) == (reuse.manifest is None)
        finally:
            reuse.close()


class StatusTests(StoreFixtures):
    """What `index status`, the bot's reload and a build ask of a location: the current build, its manifest and
    sources, the build lock, leftovers of interrupted builds, the builds kept for a rollback."""

    def test_the_current_build_its_manifest_and_sources(self, built) -> None:
        settings, loaded = built
        location = store_location(settings)
        assert location.current_name() == loaded.path.name
        assert location.read_manifest() == loaded.manifest
        assert location.sources_root(loaded.manifest) == loaded.sources_root
        assert location.rebuild_hint().startswith("rebuild it with: citebot index build")

    def test_the_build_lock_is_held_by_one_and_seen_running(self, built) -> None:
        settings, _ = built
        location = store_location(settings)
        assert not location.build_running()
        errors: list[Exception] = []

        def another_build() -> None:
            try:
                with location.build_lock():
                    pass
            except Exception as exc:  # what the other thread met is the assertion
                errors.append(exc)

        with location.build_lock():
            with location.build_lock() as nested:  # re-entrant within a thread
                assert nested == []
            other = threading.Thread(target=another_build)
            other.start()
            other.join()
            assert len(errors) == 1 and isinstance(errors[0], IndexBusyError)
        assert not location.build_running()

    def test_leftovers_are_listed_kept_while_a_build_runs_and_removed(self, built) -> None:
        settings, loaded = built
        location = store_location(settings)
        assert location.leftovers() == []
        held, release = threading.Event(), threading.Event()

        def running_build() -> None:
            with location.build_lock():  # taking the lock removes leftovers: the killed build comes after
                held.set()
                release.wait(30)

        other = threading.Thread(target=running_build)
        other.start()
        held.wait(30)
        try:
            killed = location.writer(loaded.manifest["dimension"])  # a build whose process died mid-way
            found = location.leftovers()
            assert found and all(left.size >= 0 for left in found)
            assert location.build_running()
            assert location.remove_leftovers() == [] and location.leftovers() == found  # kept: a build runs
        finally:
            release.set()
            other.join()
        assert not location.build_running()
        assert location.remove_leftovers() == found and location.leftovers() == []
        killed.__exit__(None, None, None)
        assert opened(settings).path.name == loaded.path.name

    def test_rollback_and_leftover_builds_name_other_builds_only(self, built, seeds_copy: Path) -> None:
        settings, first = built
        build_store(seeds_copy, settings, embedder=CountingEmbedder())
        location = store_location(settings)
        rollback = location.rollback_builds()
        assert rollback is None or rollback == [first.path.name]  # None: the store keeps no build for a rollback
        assert location.leftover_builds() in (None, [])


class LoadCheckTests(StoreFixtures):
    """The checks every load makes (index/store/checks.py): a build of another model or dimension is refused."""

    def test_no_build_is_an_error_that_says_how_to_build(self, settings_of: SettingsOf, tmp_path: Path) -> None:
        with pytest.raises(IndexMissingError, match="citebot index build"):
            opened(settings_of(tmp_path))

    def test_another_model_weights_or_dimension_is_refused(self, built) -> None:
        settings, _ = built
        location = store_location(settings)
        hashed = HashEmbedder()
        for name, weights, dimension, message in (
                ("all-MiniLM-L6-v2", hashed.weights_sha256, hashed.dimension, "built with model"),
                (hashed.name, "0" * 64, hashed.dimension, "built with model"),
                (hashed.name, hashed.weights_sha256, hashed.dimension + 1, "dimensional")):
            with pytest.raises(IndexInvalidError, match=message):
                location.open(settings, model_name=name, weights_sha256=weights, dimension=dimension)
        assert location.open(settings, model_name=hashed.name, weights_sha256=hashed.weights_sha256,
                             dimension=None).store.count().passages > 0  # None: any dimension


class StoreConformance(SearchTests, WriteTests, ReuseTests, StatusTests, LoadCheckTests):
    """Every capability; a store's test class inherits this and overrides store_section."""


def _milvus(values: dict[str, str], available: bool) -> dict[str, str]:
    if not available:
        pytest.skip("MILVUS HALF SKIPPED: pymilvus / milvus-lite are not installed (pip install -e \".[milvus]\")")
    return values


class TestFaissFolder(StoreConformance):
    @pytest.fixture
    def store_section(self) -> dict[str, str]:
        return STORES["faiss"]


class TestMilvus(StoreConformance):
    @pytest.fixture
    def store_section(self, milvus_available: bool) -> dict[str, str]:
        return _milvus(STORES["milvus"], milvus_available)


class TestMilvusBM25(StoreConformance):
    @pytest.fixture
    def store_section(self, milvus_available: bool) -> dict[str, str]:
        return _milvus(STORES["milvus-bm25"], milvus_available)
