from __future__ import annotations

import math

import pytest

from citebot.retrieval.evaluation.metrics import (
    as_run,
    hit_at,
    ndcg_at,
    per_query_scores,
    reciprocal_rank_at,
    score_run,
)


def test_golden_metrics_match_hand_computed_values() -> None:
    ranking = [False, True, False, True, False]
    assert hit_at(ranking, 1) == 0.0 and hit_at(ranking, 2) == 1.0
    assert reciprocal_rank_at(ranking, 5) == 0.5 and reciprocal_rank_at(ranking, 1) == 0.0
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # three relevant items exist
    assert ndcg_at(ranking, 5, total_relevant=3) == pytest.approx(dcg / ideal)
    assert ndcg_at([True, True], 5, total_relevant=2) == pytest.approx(1.0)
    assert ndcg_at(ranking, 5, total_relevant=0) == 0.0


def test_document_scores_from_trec_eval_match_hand_computed_values() -> None:
    qrels = {"q1": {"d1": 2, "d2": 1, "d9": 1}, "q2": {"x": 1}}
    run = {"q1": as_run(["d3", "d1", "d2", "d4"]), "q2": as_run([f"n{i:02d}" for i in range(10)] + ["x"])}
    scores = per_query_scores(run, qrels)
    dcg = 2 / math.log2(3) + 1 / math.log2(4)  # graded gains, log2 discount
    ideal = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert scores["q1"]["ndcg@10"] == pytest.approx(dcg / ideal)
    assert scores["q1"]["recall@10"] == pytest.approx(2 / 3) and scores["q1"]["mrr@10"] == 0.5
    # x ranks 11th: found by recall@100, not by recall@10 or MRR@10 (the run is cut at 10 for it).
    assert scores["q2"] == {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 1.0, "mrr@10": 0.0}
    perfect = per_query_scores({"q1": as_run(["d1", "d2", "d9"])}, {"q1": qrels["q1"]})["q1"]
    assert perfect["ndcg@10"] == pytest.approx(1.0)


def test_the_given_order_counts_and_a_query_left_out_scores_zero() -> None:
    qrels = {"q1": {"b": 1}, "q2": {"c": 1}}
    # trec_eval orders equal scores by document id; as_run keeps the order given ("b" second, not first).
    assert per_query_scores({"q1": as_run(["a", "b"])}, qrels)["q1"]["mrr@10"] == 0.5
    means = score_run({"q1": as_run(["b"])}, qrels)
    assert means == {"ndcg@10": 0.5, "recall@10": 0.5, "recall@100": 0.5, "mrr@10": 0.5}
