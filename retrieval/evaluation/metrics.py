"""Scores, from plain dicts: document rankings by trec_eval (through pytrec_eval), and the golden set's
span-judged rankings by the few binary-relevance metrics below, which are ours (see golden.py).

A run is {query_id: {doc_id: score}} (higher first), qrels {query_id: {doc_id: grade}}, as trec_eval reads them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import pytrec_eval

Run = dict[str, dict[str, float]]
Qrels = dict[str, dict[str, int]]

TREC_MEASURES = {"ndcg_cut_10": "ndcg@10", "recall_10": "recall@10", "recall_100": "recall@100"}
"""trec_eval's names -> the report's; MRR@10 is recip_rank over each run cut at 10 (trec_eval has no cut)."""
MRR_DEPTH = 10


def as_run(ranked: Sequence[str]) -> dict[str, float]:
    """A ranked list of documents as one query's run: strictly falling scores (trec_eval breaks ties by
    document id, not by the order given)."""
    return {doc: float(len(ranked) - rank) for rank, doc in enumerate(ranked)}


def per_query_scores(run: Run, qrels: Qrels) -> dict[str, dict[str, float]]:
    """nDCG@10, recall@10, recall@100 and MRR@10 of every judged query; 0 where the run has no documents."""
    graded = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.10,100"}).evaluate(run)
    cut = {q: dict(sorted(docs.items(), key=lambda d: -d[1])[:MRR_DEPTH]) for q, docs in run.items()}
    first = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut)
    return {q: {name: graded.get(q, {}).get(measure, 0.0) for measure, name in TREC_MEASURES.items()}
            | {"mrr@10": first.get(q, {}).get("recip_rank", 0.0)} for q in qrels}


def ndcg_per_query(run: Run, qrels: Qrels, k: int = 10) -> dict[str, float]:
    """nDCG@k alone, of every judged query (0 where the run has no documents): for fitting loops."""
    scores = pytrec_eval.RelevanceEvaluator(qrels, {f"ndcg_cut.{k}"}).evaluate(run)
    return {q: scores.get(q, {}).get(f"ndcg_cut_{k}", 0.0) for q in qrels}


def mean_scores(scores: dict[str, dict[str, float]], query_ids: Iterable[str] | None = None) -> dict[str, float]:
    """Each measure's mean over the given queries (default: all), rounded to 4 places."""
    rows = [scores[q] for q in (scores if query_ids is None else query_ids)]
    names = [*TREC_MEASURES.values(), "mrr@10"]
    return {name: round(sum(r[name] for r in rows) / len(rows), 4) if rows else 0.0 for name in names}


def score_run(run: Run, qrels: Qrels) -> dict[str, float]:
    """The mean of every measure over all judged queries (a query the run leaves out scores 0)."""
    return mean_scores(per_query_scores(run, qrels))


# The golden set's metrics: relevance is a passage covering an evidence span, judged in golden.py.

def hit_at(relevant: Sequence[bool], k: int) -> float:
    """1 if any of the first k results is relevant."""
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank_at(relevant: Sequence[bool], k: int) -> float:
    """1 / rank of the first relevant result within the first k, else 0."""
    for rank, is_relevant in enumerate(relevant[:k], start=1):
        if is_relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at(relevant: Sequence[bool], k: int, total_relevant: int) -> float:
    """DCG of the first k over the ideal DCG with total_relevant relevant items (gain 1, log2 discount)."""
    if total_relevant <= 0:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, r in enumerate(relevant[:k], start=1) if r)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, total_relevant) + 1))
    return dcg / ideal
