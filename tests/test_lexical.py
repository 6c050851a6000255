"""The BM25 index is built with the index, saved in the build, checked and loaded, never rebuilt at load."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from citebot.config.errors import ConfigError, IndexInvalidError
from citebot.config.settings import LexicalSettings, Settings, with_overrides
from citebot.index import lexical
from citebot.index.build import build_index
from citebot.index.lexical import (
    ARTICLE_TERMS,
    LEXICAL_DIR,
    LEXICAL_FILES,
    ArticleContext,
    LexicalIndex,
    LexicalRecipe,
    Tokenizer,
    name_words,
    passage_text,
)
from citebot.index.store.faiss import layout
from citebot.retrieval.engine import Engine
from tests.conftest import SEEDS

QUESTIONS = ["How many complaints involved Jeremy Corbyn's office?", "otters", "What did the council decide?"]


def _engine(settings: Settings) -> Engine:
    return Engine(settings)


def test_the_saved_index_is_loaded_not_rebuilt_and_scores_as_a_fresh_one(
        hash_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    report = build_index(SEEDS, hash_settings.paths.index, hash_settings)
    manifest = json.loads((report.path / layout.MANIFEST).read_text())
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
    recipe = loaded.recipe
    tokenizer, context = Tokenizer(recipe.options), ArticleContext(recipe.context)
    assert list(loaded.passage_terms()) == [
        set(tokenizer.terms(passage_text(c, recipe.titles, recipe.options, context.before(c))))
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
    assert lexical.recipe == replace(saved.recipe, k1=0.5, titles=False)
    assert not np.array_equal(lexical.scores(QUESTIONS[0]), saved.scores(QUESTIONS[0]))
    assert "citebot index build" in caplog.text


def _vocabulary(build: Path) -> set[str]:
    return set(json.loads((build / LEXICAL_DIR / "vocab.index.json").read_text()))


def test_an_unchanged_article_keeps_its_saved_terms_unless_the_recipe_changed(hash_settings: Settings,
                                                                             seeds_copy: Path) -> None:
    first = build_index(seeds_copy, hash_settings.paths.index, hash_settings)
    # Mark one article's saved terms (and re-hash them): a rebuild that reuses them indexes the mark.
    path = first.path / ARTICLE_TERMS
    lines = path.read_text(encoding="utf-8").splitlines()
    saved = json.loads(lines[0])
    saved["terms"][0] = [*saved["terms"][0], "zzmark"]
    lines[0] = json.dumps(saved, ensure_ascii=False)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    manifest = json.loads((first.path / layout.MANIFEST).read_text())
    manifest["files"][ARTICLE_TERMS] = hashlib.sha256(path.read_bytes()).hexdigest()
    (first.path / layout.MANIFEST).write_text(json.dumps(manifest))

    # k1 and b only weigh the terms: the terms are reused across a change of either.
    other_k1 = with_overrides(hash_settings, ["retrieval.bm25_k1=0.9"])
    reused = build_index(seeds_copy, hash_settings.paths.index, other_k1)
    assert "zzmark" in _vocabulary(reused.path)
    # Another tokenizer makes other terms: nothing is taken from the build before.
    again = build_index(seeds_copy, hash_settings.paths.index, with_overrides(hash_settings, ["lexical.stem=false"]))
    assert "zzmark" not in _vocabulary(again.path) and "complaints" in _vocabulary(again.path)


def test_a_build_from_before_saved_bm25_still_answers(hash_settings: Settings) -> None:
    report = build_index(SEEDS, hash_settings.paths.index, hash_settings)
    manifest_path = report.path / layout.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    del manifest["lexical"]
    saved = (*LEXICAL_FILES, ARTICLE_TERMS)
    manifest["files"] = {name: digest for name, digest in manifest["files"].items() if name not in saved}
    manifest_path.write_text(json.dumps(manifest))
    for name in saved:
        (report.path / name).unlink()
    (report.path / LEXICAL_DIR).rmdir()
    engine = _engine(hash_settings)
    assert engine.stored.lexical is None and engine.searcher.lexical.scores(QUESTIONS[0]).max() > 0
    assert engine.ask(QUESTIONS[0]).passages


def test_a_manifest_listing_lexical_files_without_a_recipe_is_refused(hash_settings: Settings) -> None:
    report = build_index(SEEDS, hash_settings.paths.index, hash_settings)
    manifest_path = report.path / layout.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["lexical"] = {"k1": "high"}
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexInvalidError, match="`lexical`"):
        _engine(hash_settings)


def test_empty_passages_give_zero_scores_not_errors(tmp_path: Path) -> None:
    from citebot.index.chunking import Chunk

    chunks = [Chunk("a", "a.txt", None, 0, 3, "...", 0), Chunk("b", "b.txt", None, 0, 6, "Otters", 0)]
    lexical = LexicalIndex.build(chunks, LexicalRecipe(1.2, 0.75, False))
    lexical.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical", lexical.recipe)
    assert list(loaded.scores("otters") > 0) == [False, True]
    assert loaded.scores("nothing here").tolist() == [0.0, 0.0]
    assert list(loaded.passage_terms()) == [set(), {"otter"}]


# [lexical] options: each changes the terms it should and nothing else.

OPTIONS_QUESTION = "Who said Wales' shares rose 5% to $1.13bn, or 1,000 jobs?"


def _terms(**options: object) -> list[str]:
    return Tokenizer(LexicalSettings(**options)).terms(OPTIONS_QUESTION)  # type: ignore[arg-type]


def test_default_terms() -> None:
    assert _terms() == ["who", "said", "wale", "share", "rose", "13bn", "000", "job"]


def test_stemming_off_keeps_words_whole() -> None:
    assert _terms(stem=False) == ["who", "said", "wales", "shares", "rose", "13bn", "000", "jobs"]


def test_stopword_lists() -> None:
    assert Tokenizer(LexicalSettings(stopwords="none")).terms("the firm")[0] == "the"
    assert Tokenizer(LexicalSettings()).terms("the firm") == ["firm"]


def test_numbers_stay_whole() -> None:
    found = _terms(numbers=True)
    assert {"5", "1.13bn", "1000"} <= set(found) and "13bn" not in found and "000" not in found


def test_names_add_unstemmed_name_terms_inside_sentences_only() -> None:
    found = _terms(names=True)
    assert found[:8] == _terms() and found[8:] == ["=wales"]  # "Who" opens the sentence: not a name
    assert name_words("He met Tony Blair. Blair said no.\nBrown") == ["tony", "blair"]


def test_bigrams_pair_adjacent_terms() -> None:
    found = Tokenizer(LexicalSettings(bigrams=True)).terms("the prime minister said")
    assert found == ["prime", "minist", "said", "prime_minist", "minist_said"]


def test_overrides_are_checked_like_the_config(hash_settings: Settings) -> None:
    changed = with_overrides(hash_settings, ["lexical.stem=false", "retrieval.rrf_k=30",
                                             'lexical.context="names"', "lexical.stopwords=en"])
    assert changed.lexical == replace(hash_settings.lexical, stem=False, context="names", stopwords="en")
    assert changed.retrieval.rrf_k == 30
    for bad in ("lexical.stopwords=most", "lexical.context=after", "lexical.title_repeat=0", "lexical.stem=3",
                "lexical.nothing=1", "retrieval.rrf_k=-1", "nosection"):
        with pytest.raises(ConfigError):
            with_overrides(hash_settings, [bad])


def test_options_are_recorded_with_the_saved_index_and_a_different_config_rebuilds(
        hash_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    numbers = replace(hash_settings, lexical=replace(hash_settings.lexical, numbers=True, context="previous"))
    report = build_index(SEEDS, numbers.paths.index, numbers)
    recorded = json.loads((report.path / layout.MANIFEST).read_text())["lexical"]
    assert recorded["numbers"] is True and recorded["context"] == "previous"
    assert Engine(numbers).searcher.lexical is not None
    with caplog.at_level(logging.WARNING):
        plain = Engine(hash_settings).searcher.lexical
    assert plain.recipe.numbers is False and "citebot index build" in caplog.text


def test_article_context_is_the_text_before_the_passage() -> None:
    from citebot.index.chunking import Chunk

    text = "Acme Corp makes rockets. She said Jo Bloggs left. Profits rose 5%. The firm hired Ann Lee."
    starts = [text.index(s) for s in ("Acme", "She", "Profits", "The firm")]
    first = Chunk("a", "a.txt", "T", 0, starts[2] - 1, text[:starts[2] - 1], 1)
    second = Chunk("b", "a.txt", "T", starts[1], len(text), text[starts[1]:], 1)
    other = Chunk("c", "b.txt", "T", 0, 5, "Hello", 1)
    expected = {"none": ["", "", ""], "previous": ["", "Acme Corp makes rockets.", ""],
                "names": ["", "Corp", ""], "lead": ["", "Acme Corp makes rockets.", ""]}
    for kind, contexts in expected.items():
        article = ArticleContext(kind)
        assert [article.before(c) for c in (first, second, other)] == contexts, kind


def test_a_build_is_up_to_date_with_its_own_lexical_options_and_stale_with_others(hash_settings: Settings) -> None:
    from citebot.index.build import changed_settings

    report = build_index(SEEDS, hash_settings.paths.index, hash_settings)
    manifest = json.loads((report.path / layout.MANIFEST).read_text())
    assert changed_settings(manifest, hash_settings) == []
    other = replace(hash_settings, lexical=replace(hash_settings.lexical, stem=not hash_settings.lexical.stem))
    assert any("[lexical]" in change for change in changed_settings(manifest, other))


def test_the_stem_cache_bound_forgets_without_losing_a_word(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the kept stems reach their bound they are dropped, and the words of the text at hand are stemmed
    anew: a word seen before the drop must still get its stem (an archive's build met the bound mid-text)."""
    monkeypatch.setattr(lexical, "STEMS_KEPT", 4)
    tokenizer = lexical.Tokenizer()
    assert tokenizer.terms("running dogs") == ["run", "dog"]
    assert tokenizer.terms("running dogs jumped over fences") == ["run", "dog", "jump", "over", "fenc"]


def test_a_pdf_ligature_is_read_as_its_letters() -> None:
    from citebot.index.chunking import Chunk

    text = "The \ufb01rst e\ufb03cient \ufb02ow"  # as PDF text layers keep them: "ﬁrst eﬃcient ﬂow"
    assert Tokenizer(LexicalSettings(stem=False)).terms(text) == ["first", "efficient", "flow"]
    chunks = [Chunk("a", "a.pdf", None, 0, len(text), text, 0), Chunk("b", "b.txt", None, 0, 6, "Otters", 0)]
    lexical = LexicalIndex.build(chunks, LexicalRecipe(1.2, 0.75, False))
    assert list(lexical.scores("the first efficient flow") > 0) == [True, False]
    assert chunks[0].text == text  # the stored passage stays verbatim
