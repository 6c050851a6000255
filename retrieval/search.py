"""Hybrid search: dense (FAISS), best-sentence and lexical (BM25) rankings, fused by RRF or a convex combination."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from index.chunking import Chunk
from index.embed import Embedder
from index.lexical import LexicalIndex, LexicalRecipe
from index.settings import RetrievalSettings
from index.store import StoredIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    row: int
    score: float
    """Fused score: the sum of weight / (rrf_k + rank) over the rankings that found the chunk."""
    dense_score: float
    """Cosine similarity of chunk and query."""
    sentence_score: float
    """Cosine similarity of the query and the chunk's best-matching sentence."""


def reciprocal_rank_fusion(rankings: list[list[int]], weights: list[float], k: int) -> dict[int, float]:
    """Fused scores by id: sum of weight / (k + rank), rank counted from 1 in each ranking."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


@dataclass(frozen=True)
class Signals:
    dense: np.ndarray
    """Cosine similarity of the query and each chunk."""
    best_sentence: np.ndarray
    """Cosine similarity of the query and each chunk's best-matching sentence."""
    lexical: np.ndarray
    """BM25 score of each chunk."""


def convex_fusion(scores: list[np.ndarray], rankings: list[list[int]], weights: list[float]) -> dict[int, float]:
    """Weighted mean of each signal min-max normalised over the candidates (the union of the rankings)."""
    candidates = np.array(sorted({row for ranking in rankings for row in ranking}), dtype=np.int64)
    if len(candidates) == 0:
        return {}
    total = np.zeros(len(candidates), dtype=np.float64)
    for signal, weight in zip(scores, weights, strict=True):
        values = signal[candidates].astype(np.float64)
        low, high = values.min(), values.max()
        total += weight * ((values - low) / (high - low) if high > low else np.zeros_like(values))
    total /= max(sum(weights), 1e-9)
    return {int(row): float(score) for row, score in zip(candidates, total, strict=True)}


def lexical_index(stored: StoredIndex, recipe: LexicalRecipe) -> LexicalIndex:
    """The build's saved BM25 index, or one built now when the build has none or the config asks for another."""
    if stored.lexical is not None and stored.lexical.recipe == recipe:
        return stored.lexical
    why = "has no saved BM25 index" if stored.lexical is None else f"saved BM25 as {stored.lexical.recipe}"
    log.warning("the index %s, the config asks for %s: building it in memory (run citebot index build to "
                "save it)", why, recipe)
    return LexicalIndex.build(stored.chunks, recipe)


class HybridSearcher:
    def __init__(self, stored: StoredIndex, embedder: Embedder, settings: RetrievalSettings) -> None:
        self.chunks: list[Chunk] = stored.chunks
        self.vectors = stored.vectors
        self.embedder = embedder
        self.settings = settings
        count = stored.sentence_vectors.ntotal
        self.sentence_matrix = (stored.sentence_vectors.reconstruct_n(0, count) if count
                                else np.zeros((0, stored.sentence_vectors.d), dtype=np.float32))
        self.sentence_chunk = np.array([ref.chunk for ref in stored.sentences], dtype=np.int64)
        self.sentences_by_chunk: dict[int, list[int]] = {}
        for i, ref in enumerate(stored.sentences):
            self.sentences_by_chunk.setdefault(ref.chunk, []).append(i)
        self.sentence_spans = [(ref.start, ref.end) for ref in stored.sentences]
        self.lexical = lexical_index(stored, LexicalRecipe.of(settings, bool(stored.manifest.get("title_in_vectors"))))

    def embed_query(self, query: str) -> np.ndarray:
        return self.expand_query(self.embedder.encode_query(query))

    def expand_query(self, query_vector: np.ndarray) -> np.ndarray:
        """Pseudo-relevance feedback: move the query toward its nearest chunks (Rocchio), when configured."""
        weight, depth = self.settings.prf_weight, self.settings.prf_depth
        if weight <= 0 or depth < 1 or self.vectors.ntotal == 0:
            return query_vector
        _, rows = self.vectors.search(query_vector.reshape(1, -1).astype(np.float32), min(depth, self.vectors.ntotal))
        centroid = np.mean([self.vectors.reconstruct(int(r)) for r in rows[0] if r >= 0], axis=0)
        expanded = query_vector + weight * centroid
        return (expanded / np.linalg.norm(expanded)).astype(np.float32)

    def dense_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query with every chunk (exact search over the whole index)."""
        count = self.vectors.ntotal
        scores, rows = self.vectors.search(query_vector.reshape(1, -1).astype(np.float32), count)
        out = np.full(count, -1.0, dtype=np.float32)
        valid = rows[0] >= 0
        out[rows[0][valid]] = scores[0][valid]
        return out

    def sentence_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query with every sentence of every chunk."""
        return self.sentence_matrix @ query_vector.astype(np.float32)

    def signals(self, query: str, query_vector: np.ndarray, sentence_scores: np.ndarray | None = None) -> Signals:
        """Every chunk's score by each ranking signal."""
        if sentence_scores is None:
            sentence_scores = self.sentence_scores(query_vector)
        best_sentence = np.full(len(self.chunks), -1.0, dtype=np.float32)
        np.maximum.at(best_sentence, self.sentence_chunk, sentence_scores)
        return Signals(self.dense_scores(query_vector), best_sentence, self.lexical.scores(query))

    def fuse(self, signals: Signals, depth: int | None = None) -> dict[int, float]:
        """Fused scores of the top `depth` chunks of each ranking, by the configured fusion."""
        depth = depth or self.settings.candidates
        rankings = [
            top_rows(signals.dense, depth),
            top_rows(signals.best_sentence, depth),
            [row for row in top_rows(signals.lexical, depth) if signals.lexical[row] > 0],
        ]
        weights = [self.settings.dense_weight, self.settings.sentence_weight, self.settings.lexical_weight]
        if self.settings.fusion == "convex":
            return convex_fusion([signals.dense, signals.best_sentence, signals.lexical], rankings, weights)
        return reciprocal_rank_fusion(rankings, weights, self.settings.rrf_k)

    def search(self, query: str, query_vector: np.ndarray | None = None,
               sentence_scores: np.ndarray | None = None) -> list[Hit]:
        """Every chunk found by any ranking (dense, best sentence, BM25), best fused score first."""
        return self.rank(query, query_vector, sentence_scores)[0]

    def rank(self, query: str, query_vector: np.ndarray | None = None,
             sentence_scores: np.ndarray | None = None) -> tuple[list[Hit], Signals]:
        """The fused ranking and the signals it was made from."""
        if query_vector is None:
            query_vector = self.embed_query(query)
        signals = self.signals(query, query_vector, sentence_scores)
        fused = self.fuse(signals)
        dense = signals.dense
        order = sorted(fused, key=lambda row: (-fused[row], -dense[row], row))
        return [Hit(row, fused[row], float(dense[row]), float(signals.best_sentence[row])) for row in order], signals


def top_rows(scores: np.ndarray, depth: int) -> list[int]:
    """Indices of the `depth` highest scores, best first (ties by index)."""
    if depth < len(scores):
        part = np.argpartition(-scores, depth)[:depth]
        return [int(i) for i in part[np.lexsort((part, -scores[part]))]]
    return [int(i) for i in np.argsort(-scores, kind="stable")]
