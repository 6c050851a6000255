"""What a loaded index keeps in memory (docs/performance.md, "Memory at 100,000 articles"): the passages as arrays
with their texts read from chunks.jsonl when asked (index/store/passages.py), the same chunks and citations as
the file holds; float vector rows read without mapping the file; bounded second-stage caches; BM25's words and
vocabulary as sorted bytes. A damaged chunks file is still refused at load in one line."""

from __future__ import annotations

import dataclasses
import json
import random
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from citebot.config.errors import IndexInvalidError
from citebot.config.settings import Settings
from citebot.index.build import build_index
from citebot.index.embedding.hashed import HashEmbedder
from citebot.index.lexical import SortedWords, TermIds
from citebot.index.store import index_folder
from citebot.index.store.checks import chunk_from_json
from citebot.index.store.faiss import layout
from citebot.index.store.faiss.layout import FileRows, mapped_rows
from citebot.index.store.faiss.manifest import current_build
from citebot.index.store.passages import ChunkTable
from citebot.retrieval import features
from citebot.retrieval.citations import quote_matches_source
from citebot.retrieval.engine import Engine
from citebot.retrieval.question import word_set
from tests.conftest import SEEDS
from tests.test_reliability import _rewrite_manifest, sha256

WORDS = ("council budget minister school hospital river bridge election match goal season company shares profit "
         "report police court judge station train weather storm harvest museum concert festival library").split()


def _open(settings: Settings, compressed_from: int = 0):
    embedder = HashEmbedder()
    settings = dataclasses.replace(settings, store=dataclasses.replace(settings.store, compressed_from=compressed_from))
    return index_folder(settings.paths.index).open(settings, model_name=embedder.name,
                                                   weights_sha256=embedder.weights_sha256,
                                                   dimension=embedder.dimension)


def _write_articles(folder: Path, count: int) -> Path:
    """count news-like articles (a title, twelve paragraphs of sentences), seeded."""
    rng = random.Random(29)
    folder.mkdir()
    for i in range(count):
        title = f"Article {i} on the {rng.choice(WORDS)} and the {rng.choice(WORDS)}"
        paragraphs = [" ".join(f"The {rng.choice(WORDS)} said {rng.randint(2, 900)} people saw the "
                               f"{rng.choice(WORDS)} near the {rng.choice(WORDS)} {rng.choice(WORDS)}."
                               for _ in range(rng.randint(4, 8))) for _ in range(12)]
        (folder / f"article-{i:03d}.txt").write_text("\n\n".join([title, *paragraphs]) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def many(hash_settings: Settings, tmp_path: Path) -> Settings:
    build_index(_write_articles(tmp_path / "articles", 120), hash_settings.paths.index, hash_settings)
    return hash_settings


def _file_chunks(build: Path) -> list:
    return [chunk_from_json(line) for line in (build / layout.CHUNKS).read_text(encoding="utf-8").splitlines()]


def _same_as_file(chunks: ChunkTable, build: Path) -> None:
    on_file = _file_chunks(build)
    assert len(chunks) == len(on_file)
    for row, (loaded, saved) in enumerate(zip(chunks, on_file, strict=True)):
        assert dataclasses.replace(loaded, source=saved.source) == saved
        assert Path(loaded.source).name == saved.source and chunks.source(row) == loaded.source
        assert chunks[row] == loaded and chunks.row_of_id(saved.id) == row


def test_lazily_read_chunks_are_the_files_with_the_test_embedder(hash_settings: Settings) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    loaded = _open(hash_settings)
    assert isinstance(loaded.chunks, ChunkTable)
    _same_as_file(loaded.chunks, loaded.path)
    assert loaded.chunks.row_of_id("0123456789ab:0-10") is None and loaded.chunks.row_of_id("no span") is None


def test_lazily_read_chunks_give_the_same_verbatim_citations_with_the_real_model(real_engine: Engine) -> None:
    chunks = real_engine.stored.chunks
    _same_as_file(chunks, real_engine.stored.path)
    result = real_engine.ask("Who chairs the committee?")
    assert result.passages
    for passage in result.passages:
        chunk = chunks[chunks.row_of_id(passage.chunk_id)]
        assert passage.text == chunk.text
        assert quote_matches_source(passage.text, passage.citation.source, chunk.start, chunk.end)
    if result.answer is not None:
        assert result.answer.text in {c.text for c in chunks} or any(result.answer.text in c.text for c in chunks)


def test_a_loaded_index_does_not_hold_its_passages_texts(many: Settings) -> None:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        loaded = _open(many)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    texts = sum(len(c.text) for c in loaded.chunks)
    assert len(loaded.chunks) > features.KEPT_PASSAGES
    # The arrays (about 120 bytes a passage) and the manifest come to about half of these short passages' text;
    # held as Python strings, the texts alone came to more than all of it.
    assert held < 0.6 * texts, f"the loaded index holds {held:,} bytes for {texts:,} characters of passages"


def test_a_build_removed_while_it_serves_still_reads_its_passages(many: Settings) -> None:
    loaded = _open(many)
    expected = _file_chunks(loaded.path)[7].text
    (loaded.path / layout.CHUNKS).unlink()  # as a swap removes the build before this process has let it go
    assert loaded.chunks[7].text == expected


@pytest.mark.parametrize("damage, message", [
    (lambda line: line[: len(line) // 2], "cannot be read"),
    (lambda line: json.dumps({**json.loads(line), "start": "12"}), "wrong type"),
])
def test_a_damaged_chunks_file_is_refused_at_load_in_one_line(many: Settings, damage, message: str) -> None:
    build = current_build(many.paths.index)
    lines = (build / layout.CHUNKS).read_text(encoding="utf-8").splitlines()
    lines[-3] = damage(lines[-3])
    (build / layout.CHUNKS).write_text("\n".join(lines) + "\n", encoding="utf-8")
    _rewrite_manifest(build, files={**json.loads((build / layout.MANIFEST).read_text())["files"],
                                    layout.CHUNKS: sha256(build / layout.CHUNKS)})
    with pytest.raises(IndexInvalidError, match=message) as caught:
        _open(many)
    assert "\n" not in str(caught.value) and "rebuild" in str(caught.value)


def _resident_kb(path: Path) -> int:
    """RSS of this process's mappings of path, in kB (from /proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if fields and "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
                inside = len(fields) >= 6 and fields[5] == str(path)
            elif inside and line.startswith("Rss:"):
                total += int(fields[1])
    return total


def test_the_two_step_search_maps_no_page_of_the_float_sentence_vectors(many: Settings) -> None:
    loaded = _open(many, compressed_from=1)
    store = loaded.store
    assert "sentences 8-bit candidates" in store.describe()["search"]
    vectors = HashEmbedder().encode([f"the {w} said" for w in WORDS])
    for vector in vectors:
        store.search_sentences(vector, 30)
        store.sentence_scores(vector, list(range(0, len(loaded.sentences), 3)))
        store.sentence_vectors([5, 1, 5])
    assert _resident_kb(loaded.path.resolve() / layout.SENTENCE_VECTORS) == 0


def test_file_rows_are_the_rows_of_the_vector_file(many: Settings) -> None:
    path = current_build(many.paths.index) / layout.SENTENCE_VECTORS
    mapped, rows = mapped_rows(path), FileRows(path)
    assert rows.shape == mapped.shape and len(rows) == len(mapped)
    wanted = [9, 3, 4, 5, 3, len(mapped) - 1, 0]
    assert np.array_equal(rows[wanted], np.asarray(mapped[wanted]))
    assert rows[[]].shape == (0, mapped.shape[1])
    with pytest.raises(IndexError):
        rows[[len(mapped)]]


def test_the_second_stage_keeps_a_bounded_number_of_word_sets(many: Settings) -> None:
    engine = Engine(many)
    view = engine.reranker.view
    assert len(view.chunks) > features.KEPT_PASSAGES
    for row in range(len(view.chunks)):
        chunk = view.chunks[row]
        words = word_set(f"{chunk.title or ''}\n{chunk.text}")
        assert view.chunk_words(row) == words
        for word in sorted(words)[:5]:  # a name is held exactly when it is a word, not a part of one
            assert view.holds_name(word, [row]) and not view.holds_name(word, [])
            assert view.holds_name(word[:-1], [row]) == (word[:-1] in words)
        held = view.article_term_ids(chunk.source)
        assert len(held) and view.article_words(chunk.source)
        assert set(held.tolist()) == {view.chunk_terms.id_of(t) for r in view.rows_by_source[chunk.source]
                                      for t in view.chunk_terms[r]}
    assert len(view._chunk_words) <= features.KEPT_PASSAGES
    assert len(view._article_words) <= features.KEPT_ARTICLES and len(view._article_terms) <= features.KEPT_ARTICLES
    assert engine.ask("What did the council say about the budget?").passages


def test_sorted_words_and_term_ids_answer_as_the_set_and_the_dict() -> None:
    words = {"ab", "a", "zoë", "Zürich", "naïve", "1,000", "b", "über", "z"}
    held = SortedWords(words)
    assert len(held) == len(words) and set(held) == words
    assert all(w in held for w in words) and not any(w in held for w in ("", "c", "zo", "zoe", "aa", "\udcff"))
    assert {"a", "zoë"} <= held and not {"a", "c"} <= held
    vocabulary = {w: i for i, w in enumerate(sorted(words, key=len))}
    ids = TermIds(vocabulary)
    assert dict(ids.items()) == vocabulary and len(ids) == len(vocabulary)
    assert "über" in ids and "uber" not in ids and ids.get("uber") is None
    assert all(ids.term(i) == w for w, i in vocabulary.items()) and ids.term(len(vocabulary) + 3) == ""
