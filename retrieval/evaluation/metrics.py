"""Ranking metrics over binary relevance, by their standard definitions."""

from __future__ import annotations

import math
from collections.abc import Sequence


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


def recall_at(relevant: Sequence[bool], k: int, total_relevant: int) -> float:
    """Share of all relevant items found in the first k."""
    return sum(bool(r) for r in relevant[:k]) / total_relevant if total_relevant else 0.0


def ndcg_graded_at(ranked: Sequence[str], relevance: dict[str, int], k: int) -> float:
    """nDCG@k with graded gains (gain = relevance grade, log2 discount), as trec_eval computes it."""
    dcg = sum(relevance.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], start=1))
    ideal_gains = sorted((g for g in relevance.values() if g > 0), reverse=True)[:k]
    ideal = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal_gains, start=1))
    return dcg / ideal if ideal else 0.0


def recall_at_docs(ranked: Sequence[str], relevance: dict[str, int], k: int) -> float:
    relevant = {d for d, g in relevance.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def reciprocal_rank_docs(ranked: Sequence[str], relevance: dict[str, int], k: int) -> float:
    return reciprocal_rank_at([relevance.get(doc, 0) > 0 for doc in ranked], k)
