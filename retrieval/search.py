"""Hybrid search: dense, best-sentence and lexical (BM25) rankings, fused by RRF or a convex combination."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from citebot.config.settings import RetrievalSettings
from citebot.index.chunking import Chunk
from citebot.index.embedding.protocol import Embedder
from citebot.index.store.protocol import LoadedIndex, Ranked, SearchStore, SentenceTable
from citebot.index.top import top_rows

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
    """Each chunk's score by each ranking signal (RowScores from the searcher; plain arrays work too)."""

    dense: RowScores | np.ndarray
    """Cosine similarity of the query and each chunk."""
    best_sentence: RowScores | np.ndarray
    """Cosine similarity of the query and each chunk's best-matching sentence."""
    lexical: RowScores | np.ndarray
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


class RowScores:
    """One query's score of every row by one signal, as far as it was asked for.

    The rows a top-k search returned are known from the start; any other row's score is fetched from the store
    when first read (in one call for a batch: take()), then kept. Indexing by an int gives a float, by an array
    the array of scores, as with the full numpy arrays it stands in for.
    """

    def __init__(self, size: int, fetch: Callable[[list[int]], np.ndarray], ranked: Ranked | None = None,
                 complete: bool = False) -> None:
        self.size = size
        self._fetch = fetch
        self._known: dict[int, float] = {}
        self.ranked: list[int] = []
        """Rows of the search this was made from, best first."""
        self.complete = complete
        """ranked holds every row with a score (nothing ranks below it)."""
        if ranked is not None:
            self.remember(ranked)

    def remember(self, ranked: Ranked) -> None:
        rows = [int(r) for r in ranked.rows]
        self._known.update(zip(rows, (float(v) for v in ranked.scores), strict=True))
        self.ranked = rows

    def take(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        rows = [int(r) for r in rows]
        missing = list(dict.fromkeys(r for r in rows if r not in self._known))
        if missing:
            self._known.update(zip(missing, (float(v) for v in self._fetch(missing)), strict=True))
        return np.array([self._known[r] for r in rows], dtype=np.float32)

    def __getitem__(self, index: int | Sequence[int] | np.ndarray) -> Any:
        if isinstance(index, int | np.integer):
            return np.float32(self.take([int(index)])[0])
        return self.take(index)

    def __len__(self) -> int:
        return self.size

    def full(self) -> np.ndarray:
        """Every row's score (a full scan through the store: for evaluation scripts, not for answering)."""
        return self.take(range(self.size))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        full = self.full()
        return full if dtype is None else full.astype(dtype)

    def top(self, depth: int) -> list[int]:
        """The `depth` best rows, best first (ties by row)."""
        if len(self.ranked) >= depth or self.complete:
            return self.ranked[:depth]
        return top_rows(self.full(), depth)


def _top(signal: RowScores | np.ndarray, depth: int) -> list[int]:
    return signal.top(depth) if isinstance(signal, RowScores) else top_rows(np.asarray(signal), depth)


class SentencesByChunk:
    """Each chunk's sentence rows, as the dict it replaces answered them (get, [] and in), from the table."""

    def __init__(self, table: SentenceTable) -> None:
        self.table = table

    def get(self, row: int, default: list[int] | None = None) -> list[int]:
        return self.table.of_chunk(row) or (default if default is not None else [])

    def __getitem__(self, row: int) -> list[int]:
        found = self.table.of_chunk(row)
        if not found:
            raise KeyError(row)
        return found

    def __contains__(self, row: object) -> bool:
        return isinstance(row, int | np.integer) and bool(self.table.of_chunk(int(row)))


class SentenceSpans(Sequence[tuple[int, int]]):
    """Each sentence's (start, end), from the table."""

    def __init__(self, table: SentenceTable) -> None:
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self.table.span(j) for j in range(*i.indices(len(self)))]
        return self.table.span(i)


class HybridSearcher:
    """The first stage over a loaded build: every ranking is a top-k search of its store, fused here."""

    def __init__(self, stored: LoadedIndex, embedder: Embedder, settings: RetrievalSettings) -> None:
        self.chunks: list[Chunk] = stored.chunks
        self.store: SearchStore = stored.store
        self.embedder = embedder
        self.settings = settings
        self.sentence_table = SentenceTable.of(stored.sentences)
        self.sentence_chunk = self.sentence_table.chunk
        self.sentences_by_chunk = SentencesByChunk(self.sentence_table)
        self.sentence_spans = SentenceSpans(self.sentence_table)
        self.lexical = stored.bm25

    def embed_query(self, query: str) -> np.ndarray:
        return self.expand_query(self.embedder.encode_query(query))

    def expand_query(self, query_vector: np.ndarray) -> np.ndarray:
        """Pseudo-relevance feedback: move the query toward its nearest chunks (Rocchio), when configured."""
        weight, depth = self.settings.prf_weight, self.settings.prf_depth
        if weight <= 0 or depth < 1 or not self.chunks:
            return query_vector
        rows = self.store.search_passages(query_vector.astype(np.float32), min(depth, len(self.chunks))).rows
        centroid = np.mean(self.store.passage_vectors([int(r) for r in rows]), axis=0)
        expanded = query_vector + weight * centroid
        return (expanded / np.linalg.norm(expanded)).astype(np.float32)

    def dense_scores(self, query_vector: np.ndarray, depth: int | None = None) -> RowScores:
        """Cosine similarity of the query with each chunk: the top `depth` searched, others on demand."""
        vector = query_vector.astype(np.float32)
        depth = min(depth or self.settings.candidates, len(self.chunks))
        return RowScores(len(self.chunks), lambda rows: self.store.passage_scores(vector, rows),
                         self.store.search_passages(vector, depth), complete=depth >= len(self.chunks))

    def sentence_scores(self, query_vector: np.ndarray) -> RowScores:
        """Cosine similarity of the query with each sentence of each chunk, fetched on demand."""
        vector = query_vector.astype(np.float32)
        return RowScores(len(self.sentence_spans), lambda rows: self.store.sentence_scores(vector, rows))

    def best_sentence_scores(self, query_vector: np.ndarray, sentences: RowScores, depth: int) -> RowScores:
        """Each chunk's best sentence score. The sentences are searched, deeper until `depth` chunks are seen:
        in best-first order, the first sentence of a chunk is its best, so those chunks are the top `depth`."""
        vector = query_vector.astype(np.float32)
        total = len(self.sentence_spans)
        depth = min(depth, len(self.chunks))
        k = min(total, 4 * depth)
        while True:
            found = self.store.search_sentences(vector, k)
            best: dict[int, float] = {}
            for row, score in zip(found.rows, found.scores, strict=True):
                best.setdefault(int(self.sentence_chunk[row]), float(score))
            if len(best) >= depth or k >= total:
                break
            k = min(total, 4 * k)
        sentences.remember(found)
        sentences.ranked = []

        def fetch(rows: list[int]) -> np.ndarray:
            own = [self.sentences_by_chunk.get(r, []) for r in rows]
            scores = sentences.take([s for group in own for s in group])
            out, i = [], 0
            for group in own:
                out.append(float(scores[i:i + len(group)].max()) if group else -1.0)
                i += len(group)
            return np.array(out, dtype=np.float32)

        ranked = Ranked.of(list(best), list(best.values()))
        return RowScores(len(self.chunks), fetch, Ranked(ranked.rows[:depth], ranked.scores[:depth]),
                         complete=k >= total)

    def lexical_scores(self, query: str, depth: int) -> RowScores:
        """BM25 score of each chunk: the top `depth` searched (scores above 0 only), others on demand."""
        return RowScores(len(self.chunks), lambda rows: self.store.lexical_scores(query, rows),
                         self.store.lexical_search(query, depth), complete=True)

    def signals(self, query: str, query_vector: np.ndarray, sentence_scores: RowScores | None = None,
                depth: int | None = None) -> Signals:
        """Each chunk's score by each ranking signal (the top `depth` of each searched)."""
        depth = depth or self.settings.candidates
        if sentence_scores is None:
            sentence_scores = self.sentence_scores(query_vector)
        return Signals(self.dense_scores(query_vector, depth),
                       self.best_sentence_scores(query_vector, sentence_scores, depth),
                       self.lexical_scores(query, depth))

    def fuse(self, signals: Signals, depth: int | None = None) -> dict[int, float]:
        """Fused scores of the top `depth` chunks of each ranking, by the configured fusion."""
        depth = depth or self.settings.candidates
        lexical_top = _top(signals.lexical, depth)
        lexical_scores = signals.lexical[np.asarray(lexical_top, dtype=np.int64)] if lexical_top else []
        rankings = [
            _top(signals.dense, depth),
            _top(signals.best_sentence, depth),
            [row for row, score in zip(lexical_top, lexical_scores, strict=True) if score > 0],
        ]
        weights = [self.settings.dense_weight, self.settings.sentence_weight, self.settings.lexical_weight]
        if self.settings.fusion == "convex":
            return convex_fusion([signals.dense, signals.best_sentence, signals.lexical], rankings, weights)
        return reciprocal_rank_fusion(rankings, weights, self.settings.rrf_k)

    def search(self, query: str, query_vector: np.ndarray | None = None,
               sentence_scores: RowScores | None = None) -> list[Hit]:
        """Every chunk found by any ranking (dense, best sentence, BM25), best fused score first."""
        return self.rank(query, query_vector, sentence_scores)[0]

    def rank(self, query: str, query_vector: np.ndarray | None = None,
             sentence_scores: RowScores | None = None) -> tuple[list[Hit], Signals]:
        """The fused ranking and the signals it was made from."""
        if query_vector is None:
            query_vector = self.embed_query(query)
        signals = self.signals(query, query_vector, sentence_scores)
        fused = self.fuse(signals)
        rows = list(fused)
        dense = dict(zip(rows, signals.dense[rows], strict=True)) if rows else {}
        best = dict(zip(rows, signals.best_sentence[rows], strict=True)) if rows else {}
        order = sorted(fused, key=lambda row: (-fused[row], -dense[row], row))
        return [Hit(row, fused[row], float(dense[row]), float(best[row])) for row in order], signals

