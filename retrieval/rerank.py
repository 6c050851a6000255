"""The second stage: reorder the first stage's top candidates by a weighted sum of their features.

Two sets of weights, plain numbers in config ([rerank]) learned by benchmarks/tuning/tune_rerank.py on the dev sets:
`weights` orders the candidates (and so the articles), `within_article` then orders each article's own
candidates among the places the article holds. A weight of 0 switches a feature off, `depth = 0` the stage.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from citebot.config.errors import ConfigError
from citebot.config.settings import RerankSettings
from citebot.retrieval.conversation import Turn
from citebot.retrieval.features import (
    FEATURES,
    KEPT_ARTICLES,
    Context,
    CorpusView,
    Kept,
    candidate_features,
    residual_scores,
)
from citebot.retrieval.question import Question
from citebot.retrieval.search import Hit, HybridSearcher, Signals


class Reranker:
    def __init__(self, searcher: HybridSearcher, settings: RerankSettings) -> None:
        self.searcher = searcher
        self.settings = settings
        for table, weights in (("weights", settings.weights), ("within_article", settings.within_article)):
            unknown = sorted(set(weights) - set(FEATURES))
            if unknown:
                raise ConfigError(f"config [rerank.{table}]: unknown feature(s) {', '.join(unknown)} "
                                  f"(known: {', '.join(FEATURES)})")
        self.weights = as_vector(settings.weights)
        self.within_article = as_vector(settings.within_article) if settings.within_article else None
        self.needs_residual = any(w.get("residual") for w in (settings.weights, settings.within_article))
        self._view: CorpusView | None = None
        self._centroids = Kept(KEPT_ARTICLES)

    @property
    def view(self) -> CorpusView:
        if self._view is None:
            s = self.searcher
            self._view = CorpusView(s.chunks, s.lexical.terms, s.lexical.passage_terms())
        return self._view

    def context(self, searched: Question, question: Question, previous: Turn | None = None,
                vector: np.ndarray | None = None) -> Context:
        """What the candidates are weighed against: the searched question and its vector, the question's own
        terms, the kind of fact it asks, and (for a follow-up) the last answer."""
        terms = [self.searcher.lexical.terms(searched.text), self.searcher.lexical.terms(question.text)]
        return Context(searched, question.kind, terms[0], previous.answer_source if previous else None,
                       terms[1], previous.answer if previous else "", vector)

    def centroid(self, source: str) -> np.ndarray:
        """The unit mean of an article's passage vectors (what the article is about)."""
        found = self._centroids.get(source)
        if found is None:
            mean = self.searcher.store.passage_vectors(self.view.rows_by_source[source]).astype(np.float64).mean(0)
            found = self._centroids.keep(source, mean / (np.linalg.norm(mean) or 1.0))
        return found

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
        residual = None
        if self.needs_residual and context.vector is not None:
            residual = residual_scores(context.vector, rows, view, self.centroid, searcher.store.sentence_vectors,
                                       searcher.sentences_by_chunk)
        return candidate_features(context, rows, fused, signals.dense, signals.lexical, sentence_scores, self.view,
                                  self.searcher.sentences_by_chunk, self.searcher.sentence_spans, residual)

    def rerank(self, context: Context, hits: list[Hit], signals: Signals, sentence_scores: np.ndarray) -> list[Hit]:
        """hits with the top `depth` reordered by the weighted features (each article's own candidates then by
        `within_article` among the places the article holds); the rest keep their order below them."""
        depth = min(self.settings.depth, len(hits))
        if depth < 2:
            return hits
        head = hits[:depth]
        features = self.features(context, head, signals, sentence_scores)
        scores = features @ self.weights
        within = features @ self.within_article if self.within_article is not None else None
        order = candidate_order(scores, within, [self.view.chunks[h.row].source for h in head])
        # A passage moved within its article takes the score of the place it fills: scores fall with rank.
        places = sorted(scores, reverse=True)
        return [replace(head[i], score=float(place)) for i, place in zip(order, places, strict=True)] + hits[depth:]


def as_vector(weights: dict[str, float]) -> np.ndarray:
    """Feature weights by name as a vector in FEATURES order (missing: 0)."""
    return np.array([weights.get(name, 0.0) for name in FEATURES], dtype=np.float64)


def candidate_order(scores: np.ndarray, within: np.ndarray | None, articles: list[str]) -> list[int]:
    """Candidate indices best first: by score, then (with within-article scores) each article's candidates
    reordered by those among the places the article holds, so the articles keep their order."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    if within is None:
        return order
    places: dict[str, list[int]] = {}
    for place, i in enumerate(order):
        places.setdefault(articles[i], []).append(place)
    out = list(order)
    for held in places.values():
        members = sorted((order[p] for p in held), key=lambda i: (-within[i], i))
        for place, i in zip(held, members, strict=True):
            out[place] = i
    return out
