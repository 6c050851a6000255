"""The BM25 index is built with the index, saved in the build, checked and loaded, never rebuilt at load."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import index.store as store
from index.build import build_index
from index.chunking import vector_text
from index.errors import IndexInvalidError
from index.lexical import LEXICAL_DIR, LEXICAL_FILES, LexicalIndex, LexicalRecipe, Tokenizer
from index.settings import Settings
from retrieval.engine import Engine
from tests.conftest import SEEDS

QUESTIONS = ["How many complaints involved Jeremy Corbyn's office?", "otters", "What did the council decide?"]


def _engine(settings: Settings) -> Engine:
    return Engine(settings)


def test_the_saved_index_is_loaded_not_rebuilt_and_scores_as_a_fresh_one(
        hash_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    report = build_index(SEEDS, hash_settings.paths.index, hash_settings)
    manifest = json.loads((report.path / store.MANIFEST).read_text())
    assert set(LEXICAL_FILES) <= set(manifest["files"]) and manifest["lexical"]["k1"] == hash_settings.retrieval.bm25_k1

    def no_rebuild(*args: object, **kwargs: object) -> None:
        raise AssertionError("the lexical index was rebuilt at load")

    monkeypatch.setattr(LexicalIndex, "build", no_rebuild)
    engine = _engine(hash_settings)
    monkeypatch.undo()
    loaded = engine.searcher.lexical
    assert loaded is engine.stored.lexical
    fresh = LexicalIndex.build(engine.stored.chunks, loaded.recipe)
    for question in QUESTIONS:
        assert np.array_equal(loaded.scores(question), fresh.scores(question))
    assert loaded.scores(QUESTIONS[0]).max() > 0
    tokenizer = Tokenizer()
    assert loaded.passage_terms() == [set(tokenizer.terms(vector_text(c, loaded.recipe.titles)))
                                      for c in engine.stored.chunks]
    assert "corbyn" in loaded.words and "Corbyn" not in loaded.words


def test_a_damaged_lexical_file_is_a_clear_error(hash_settings: Settings) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    path = hash_settings.paths.index / "current" / LEXICAL_DIR / "data.csc.index.npy"
    with open(path, "r+b") as handle:
        handle.seek(200)
        handle.write(b"garbage!")
    with pytest.raises(IndexInvalidError, match=r"corrupt; rebuild"):
        _engine(hash_settings)


def test_a_config_asking_other_bm25_settings_builds_them_in_memory_and_says_so(
        hash_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    saved = _engine(hash_settings).searcher.lexical
    other = replace(hash_settings, retrieval=replace(hash_settings.retrieval, bm25_k1=0.5, lexical_title=False))
    with caplog.at_level(logging.WARNING):
        lexical = _engine(other).searcher.lexical
    assert lexical.recipe == LexicalRecipe(0.5, hash_settings.retrieval.bm25_b, False)
    assert not np.array_equal(lexical.scores(QUESTIONS[0]), saved.scores(QUESTIONS[0]))
    assert "citebot index build" in caplog.text


def test_a_build_from_before_saved_bm25_still_answers(hash_settings: Settings) -> None:
    report = build_index(SEEDS, hash_settings.paths.index, hash_settings)
    manifest_path = report.path / store.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    del manifest["lexical"]
    manifest["files"] = {name: digest for name, digest in manifest["files"].items() if name not in LEXICAL_FILES}
    manifest_path.write_text(json.dumps(manifest))
    for name in LEXICAL_FILES:
        (report.path / name).unlink()
    (report.path / LEXICAL_DIR).rmdir()
    engine = _engine(hash_settings)
    assert engine.stored.lexical is None and engine.searcher.lexical.scores(QUESTIONS[0]).max() > 0
    assert engine.ask(QUESTIONS[0]).passages


def test_a_manifest_listing_lexical_files_without_a_recipe_is_refused(hash_settings: Settings) -> None:
    report = build_index(SEEDS, hash_settings.paths.index, hash_settings)
    manifest_path = report.path / store.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["lexical"] = {"k1": "high"}
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexInvalidError, match="`lexical`"):
        _engine(hash_settings)


def test_empty_passages_give_zero_scores_not_errors(tmp_path: Path) -> None:
    from index.chunking import Chunk

    chunks = [Chunk("a", "a.txt", None, 0, 3, "...", 0), Chunk("b", "b.txt", None, 0, 6, "Otters", 0)]
    lexical = LexicalIndex.build(chunks, LexicalRecipe(1.2, 0.75, False))
    lexical.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical", lexical.recipe)
    assert list(loaded.scores("otters") > 0) == [False, True]
    assert loaded.scores("nothing here").tolist() == [0.0, 0.0]
    assert loaded.passage_terms() == [set(), {"otter"}]
