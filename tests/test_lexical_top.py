"""BM25 read from its posting lists (index/lexical_top.py): every passage's score as bm25s adds it, to the bit;
the top k and the scores of given passages alone equal the full scan's; ties go to the lower row, also at the cut
(index/top.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from citebot.config.settings import Settings
from citebot.index import lexical_top
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


@pytest.mark.parametrize("k", [1, 3, 10])
@pytest.mark.parametrize("question", QUESTIONS)
def test_the_top_k_by_the_common_terms_bound_is_the_full_scans(saved: LexicalIndex, question: str, k: int,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical_top, "FULL_SCAN_POSTINGS", 0)  # the seeds' 41 passages take the bounded path
    monkeypatch.setattr(lexical_top, "BLOCK", 4)
    lists = saved._postings()
    ids = saved._term_ids(question)
    common = {t for t in ids if lists.postings(t) >= lexical_top.COMMON_SHARE * saved.size}
    bounded = lists._bounded_top(ids, common, k) if common and len(common) < len(set(ids)) else None
    full = saved.scores(question)
    best = [r for r in top_rows(full, k) if full[r] > 0]
    rows, scores = saved.top(question, k)
    assert rows.tolist() == best and np.array_equal(scores, full[best])
    if bounded is not None:  # the bound held: fewer passages scored in full than the index holds
        assert bounded[0].tolist() == best


def test_the_block_maxima_bound_is_reached_by_k_rows() -> None:
    scores = np.random.default_rng(1).random(1_000).astype(np.float32)
    scores[::7] = 0
    for k in (1, 5, 50, 400):
        bound = lexical_top._kth_at_most(scores, k)
        assert np.count_nonzero(scores >= bound) >= k
        assert bound <= np.sort(scores)[-k]


def test_a_question_with_common_and_rarer_terms_takes_the_bound(saved: LexicalIndex,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical_top, "FULL_SCAN_POSTINGS", 0)
    lists = saved._postings()
    ids = saved._term_ids("What did the minister say about the budget?")
    common = {t for t in ids if lists.postings(t) >= lexical_top.COMMON_SHARE * saved.size}
    assert common and len(common) < len(set(ids))
    assert lists._bounded_top(ids, common, 3) is not None
