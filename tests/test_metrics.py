from __future__ import annotations

import math

import pytest

from retrieval.metrics import hit_at, ndcg_at, recall_at, reciprocal_rank_at


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
