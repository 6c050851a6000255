from __future__ import annotations

import math

import pytest

from citebot.retrieval.evaluation.metrics import hit_at, ndcg_at, recall_at, reciprocal_rank_at


def test_metrics_match_hand_computed_values() -> None:
    ranking = [False, True, False, True, False]
    assert hit_at(ranking, 1) == 0.0 and hit_at(ranking, 2) == 1.0
    assert reciprocal_rank_at(ranking, 5) == 0.5 and reciprocal_rank_at(ranking, 1) == 0.0
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # three relevant items exist
    assert ndcg_at(ranking, 5, total_relevant=3) == pytest.approx(dcg / ideal)
    assert ndcg_at([True, True], 5, total_relevant=2) == pytest.approx(1.0)
    assert ndcg_at(ranking, 5, total_relevant=0) == 0.0
    assert recall_at(ranking, 3, total_relevant=4) == 0.25


def test_document_metrics_match_hand_computed_values() -> None:
    from citebot.retrieval.evaluation.metrics import ndcg_graded_at, recall_at_docs, reciprocal_rank_docs

    qrels = {"d1": 2, "d2": 1, "d9": 1}
    ranked = ["d3", "d1", "d2", "d4"]
    dcg = 2 / math.log2(3) + 1 / math.log2(4)
    ideal = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_graded_at(ranked, qrels, 10) == pytest.approx(dcg / ideal)
    assert ndcg_graded_at(["d1", "d2", "d9"], qrels, 10) == pytest.approx(1.0)
    assert ndcg_graded_at(ranked, qrels, 1) == 0.0
    assert recall_at_docs(ranked, qrels, 3) == pytest.approx(2 / 3)
    assert reciprocal_rank_docs(ranked, qrels, 10) == 0.5 and reciprocal_rank_docs(ranked, qrels, 1) == 0.0
