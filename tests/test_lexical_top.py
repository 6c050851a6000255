"""BM25 read from its posting lists (index/lexical_top.py): every passage's score as bm25s adds it, to the bit;
the top k and the scores of given passages alone equal the full scan's; ties go to the lower row, also at the cut
(index/top.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from citebot.config.settings import Settings
from citebot.index.build import build_index
from citebot.index.lexical import LexicalIndex
from citebot.index.store.checks import lexical_recipe
from citebot.index.store.faiss.layout import CURRENT
from citebot.index.top import top_rows
from tests.conftest import SEEDS

QUESTIONS = ["Who won the election?", "What did the minister say about the budget?", "the the of and",
             "How many people were affected by the floods in the north?", "zzzz unknown words only"]


@pytest.fixture
def saved(hash_settings: Settings) -> LexicalIndex:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    build = hash_settings.paths.index / CURRENT
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    return LexicalIndex.load(build / "lexical", lexical_recipe(manifest["lexical"]))  # type: ignore[arg-type]


@pytest.mark.parametrize("question", QUESTIONS)
def test_scores_top_and_given_rows_are_bm25s_own(saved: LexicalIndex, question: str) -> None:
    vocabulary = saved._model.vocab_dict
    tokens = [t for t in saved.terms(question) if t in vocabulary]
    full = saved.scores(question)
    expected = (np.asarray(saved._model.get_scores(tokens), dtype=np.float32) if tokens
                else np.zeros(saved.size, dtype=np.float32))
    assert np.array_equal(full, expected)  # bm25s's np.add.at sum, bit for bit
    rows, scores = saved.top(question, 10)
    best = [r for r in top_rows(full, 10) if full[r] > 0]
    assert rows.tolist() == best and np.array_equal(scores, full[best])
    some = np.random.default_rng(0).permutation(saved.size)[:17]
    assert np.array_equal(saved.scores_of(question, some), full[some])


def test_ties_at_the_cut_go_to_the_lower_rows() -> None:
    scores = np.array([5, 1, 3, 3, 9, 3, 3, 0, 3], dtype=np.float32)
    assert top_rows(scores, 4) == [4, 0, 2, 3]
    assert top_rows(scores, 6) == [4, 0, 2, 3, 5, 6]
    many = np.ones(100_000, dtype=np.float32)
    assert top_rows(many, 5) == [0, 1, 2, 3, 4]


def test_passage_terms_by_counting_are_the_sorts(saved: LexicalIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    from citebot.index import lexical

    sorted_terms = saved.passage_terms()
    saved._terms = None
    monkeypatch.setattr(lexical, "TRANSPOSE_BY_COUNTING_FROM", 0)
    counted = saved.passage_terms()
    assert counted is not sorted_terms and len(counted) == len(sorted_terms) == saved.size
    assert np.array_equal(counted._by_passage, sorted_terms._by_passage)
    assert np.array_equal(counted._bounds, sorted_terms._bounds)
    assert [counted[r] for r in range(saved.size)] == [sorted_terms[r] for r in range(saved.size)]
