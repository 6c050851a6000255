"""The second stage: reorder the first stage's top candidates by a weighted sum of their features.

The weights are plain numbers in config ([rerank]), learned by benchmarks/tune_rerank.py on the dev
sets; a weight of 0 switches a feature off, `depth = 0` switches the stage off.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from index.errors import ConfigError
from index.settings import RerankSettings
from retrieval.conversation import Turn
from retrieval.features import FEATURES, Context, CorpusView, candidate_features
from retrieval.query import question_kind, word_set
from retrieval.search import Hit, HybridSearcher, Signals


class Reranker:
    def __init__(self, searcher: HybridSearcher, settings: RerankSettings) -> None:
        self.searcher = searcher
        self.settings = settings
        unknown = sorted(set(settings.weights) - set(FEATURES))
        if unknown:
            raise ConfigError(f"config [rerank.weights]: unknown feature(s) {', '.join(unknown)} "
                              f"(known: {', '.join(FEATURES)})")
        self.weights = np.array([settings.weights.get(name, 0.0) for name in FEATURES], dtype=np.float64)
        self._view: CorpusView | None = None

    @property
    def view(self) -> CorpusView:
        if self._view is None:
            s = self.searcher
            self._view = CorpusView(s.chunks, s.lexical.terms, s.lexical.passage_terms())
        return self._view

    def context(self, searched: str, question: str, previous: Turn | None = None) -> Context:
        """What the candidates are weighed against: the searched text, the question's own terms, the kind of
        fact it asks, and (for a follow-up) the last answer."""
        terms = [self.searcher.lexical.terms(searched), self.searcher.lexical.terms(question)]
        return Context(searched, question_kind(question), terms[0],
                       previous.answer_source if previous else None, frozenset(word_set(searched)),
                       terms[1], previous.answer if previous else "")

    def features(self, context: Context, hits: list[Hit], signals: Signals,
                 sentence_scores: np.ndarray) -> np.ndarray:
        rows = [h.row for h in hits]
        fused = {h.row: h.score for h in hits}
        # What the features read, fetched in one call per signal (a top-k store has only the searched rows).
        view, searcher = self.view, self.searcher
        sources = dict.fromkeys(view.chunks[r].source for r in rows)
        signals.dense[[r for source in sources for r in view.rows_by_source[source]]]
        signals.lexical[rows]
        sentence_scores[[s for r in rows for s in searcher.sentences_by_chunk.get(r, [])]]
        return candidate_features(context, rows, fused, signals.dense, signals.lexical, sentence_scores, self.view,
                                  self.searcher.sentences_by_chunk, self.searcher.sentence_spans)

    def rerank(self, context: Context, hits: list[Hit], signals: Signals, sentence_scores: np.ndarray) -> list[Hit]:
        """hits with the top `depth` reordered by the weighted features; the rest keep their order below them."""
        depth = min(self.settings.depth, len(hits))
        if depth < 2:
            return hits
        head = hits[:depth]
        scores = self.features(context, head, signals, sentence_scores) @ self.weights
        order = sorted(range(depth), key=lambda i: (-scores[i], i))
        return [replace(head[i], score=float(scores[i])) for i in order] + hits[depth:]
