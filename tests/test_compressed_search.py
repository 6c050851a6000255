"""The FAISS store's two-step search (index/store/faiss/compressed.py) and its memory-mapped files: the 8-bit
copies are written with every build and checked at load; searched through them, a store gives the exact
search's rows and scores; nothing of the vectors is copied into the process."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import faiss
import numpy as np
import pytest

from citebot.config.errors import IndexInvalidError
from citebot.config.settings import Settings
from citebot.index.build import build_index
from citebot.index.embedding.hashed import HashEmbedder
from citebot.index.store import index_folder
from citebot.index.store.faiss.compressed import TwoStepSearch, open_compressed, write_compressed
from citebot.index.store.faiss.layout import SENTENCE_VECTORS_SQ8, VECTORS_SQ8
from tests.conftest import SEEDS


def _open(settings: Settings, compressed_from: int):
    embedder = HashEmbedder()
    settings = dataclasses.replace(settings, store=dataclasses.replace(settings.store, compressed_from=compressed_from))
    return index_folder(settings.paths.index).open(settings, model_name=embedder.name,
                                                   weights_sha256=embedder.weights_sha256,
                                                   dimension=embedder.dimension)


def _by_score(ranked) -> list[set[int]]:
    """The rows in rank order, rows whose scores differ by less than float noise taken as one tie (the exact scan
    and the re-scoring sum in different orders); the last group dropped, as a tie may straddle the cut."""
    groups: list[tuple[float, set[int]]] = []
    for row, score in zip(ranked.rows.tolist(), ranked.scores.tolist(), strict=True):
        if groups and abs(groups[-1][0] - score) < 1e-5:
            groups[-1][1].add(row)
        else:
            groups.append((score, {row}))
    return [rows for _, rows in groups[:-1]]


@pytest.fixture
def built(hash_settings: Settings) -> Settings:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    return hash_settings


def test_every_build_writes_checked_8_bit_copies(built: Settings) -> None:
    exact = _open(built, 0)
    assert {VECTORS_SQ8, SENTENCE_VECTORS_SQ8} <= set(exact.manifest["files"])
    copy = faiss.read_index(str(exact.path / SENTENCE_VECTORS_SQ8))
    assert copy.ntotal == len(exact.sentences) and copy.code_size == copy.d  # one byte a dimension
    (exact.path / VECTORS_SQ8).write_bytes(b"IxSQ" + b"\0" * 60)
    with pytest.raises(IndexInvalidError, match="missing or corrupt"):
        _open(built, 0)


def test_two_step_search_gives_the_exact_rows_and_scores(built: Settings) -> None:
    exact, two_step = _open(built, 0), _open(built, 1)
    assert "sentences 8-bit candidates" in two_step.store.describe()["search"]
    assert exact.store.describe()["search"].startswith("passages exact")
    rng = np.random.default_rng(7)
    queries = [exact.store.sentence_vectors([i])[0] for i in range(0, len(exact.sentences), 7)]
    queries += [v / np.linalg.norm(v) for v in rng.standard_normal((20, HashEmbedder().dimension))]
    for query in queries:
        query = np.asarray(query, dtype=np.float32)
        for search in ("search_passages", "search_sentences"):
            want, got = getattr(exact.store, search)(query, 12), getattr(two_step.store, search)(query, 12)
            assert np.allclose(got.scores, want.scores, atol=1e-5)
            assert _by_score(got) == _by_score(want)
        rows = [3, 0, 5, 3]
        assert np.allclose(two_step.store.passage_scores(query, rows), exact.store.passage_scores(query, rows),
                           atol=1e-5)
        assert np.allclose(two_step.store.sentence_scores(query, rows), exact.store.sentence_scores(query, rows),
                           atol=1e-5)


def test_vectors_are_mapped_not_copied(built: Settings) -> None:
    loaded = _open(built, 0)
    store = loaded.store
    assert isinstance(store.sentence_matrix, np.memmap)
    assert not store.sentence_matrix.flags.writeable
    assert np.array_equal(store.passage_vectors([1, 0]), np.vstack([store.vectors.reconstruct(1),
                                                                     store.vectors.reconstruct(0)]))


def test_the_copy_is_the_same_file_for_the_same_vectors(tmp_path: Path) -> None:
    vectors = np.random.default_rng(3).standard_normal((5_000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    write_compressed(vectors, tmp_path / "a.sq8")
    write_compressed(vectors.copy(), tmp_path / "b.sq8")
    assert (tmp_path / "a.sq8").read_bytes() == (tmp_path / "b.sq8").read_bytes()
    search = TwoStepSearch(open_compressed(tmp_path / "a.sq8", 5_000, 32), vectors)
    query = vectors[42]
    top = search.top(query, 5)
    assert top.rows[0] == 42 and np.isclose(top.scores[0], float(vectors[42] @ query))
    with pytest.raises(ValueError, match="holds 5000 rows"):
        open_compressed(tmp_path / "a.sq8", 4_999, 32)
