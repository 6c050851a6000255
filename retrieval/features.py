"""What is known about each top candidate, as a row of numbers the second stage weighs.

Every feature is computed from what the first stage already has (query vector, sentence scores, BM25)
and the candidate's own text; nothing is embedded here. Features are scaled to about [0, 1] so that
their weights in config/ can be read side by side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from citebot.index.chunking import Chunk
from citebot.index.lexical import PassageTerms
from citebot.index.store.passages import ChunkTable
from citebot.retrieval.question import Question, QuestionKind, folded, word_set

FEATURES = (
    "fused",            # first-stage fused score, divided by the best candidate's
    "dense",            # cosine of question and passage
    "sentence",         # cosine of question and the passage's best sentence
    "window",           # best mean cosine of a sentence and its neighbours in the passage
    "lexical",          # BM25 of the passage, divided by the best candidate's
    "cover",            # share of the question's terms (idf-weighted) the passage holds
    "sentence_cover",   # the same for the passage's best-covering sentence
    "title_cover",      # the same for the article's title
    "article_cover",    # the same for the whole article
    "names",            # share of the question's names and numbers the passage holds
    "article_names",    # share of them the article holds
    "kind",             # the passage holds the kind of fact asked for (a name for "who", a date for "when")
    "kind_sentence",    # the best-matching sentence holds it
    "article_dense",    # best passage cosine within the candidate's article
    "previous_article", # the candidate comes from the article of the previous answer (follow-ups)
    "previous_passage", # the candidate holds the previous answer itself (a follow-up usually wants something new)
    "own_cover",        # share of the question's own terms (not those a follow-up carried) its best sentence holds
    "residual",         # best cosine of a sentence and what the question asks beyond its article's topic
)


@dataclass(frozen=True)
class Context:
    """What the candidates are weighed against."""

    query: Question
    """The searched question (a follow-up already rewritten): its names and numbers, and its own words (a name
    the question already gives is not an answer)."""
    kind: QuestionKind
    """The kind of fact the question as asked wants (Question.kind, as the weights were learned)."""
    query_terms: list[str]
    previous_source: str | None = None
    own_terms: list[str] | None = None
    """The question's terms without what a follow-up carried over (None: the query's)."""
    previous_answer: str = ""
    """The answer quote of the turn a follow-up leans on."""
    vector: np.ndarray | None = None
    """The searched text's embedding (None: features that need it are 0)."""


class Kept(dict):
    """A dict that forgets everything once it holds `size` entries: what a question computes of its candidates
    is kept for the next questions, but never grows toward the whole corpus."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def keep(self, key: object, value: Any) -> Any:
        if len(self) >= self.size:
            self.clear()
        self[key] = value
        return value


class RowsBySource:
    """Each source's chunk rows, answered by the chunk table (no list of rows a source held in memory)."""

    def __init__(self, chunks: ChunkTable) -> None:
        self.chunks = chunks

    def __getitem__(self, source: str) -> list[int]:
        rows = self.chunks.rows_of(source)
        if not rows:
            raise KeyError(source)
        return rows


KEPT_PASSAGES = 256
"""Passages (and their sentences' sets: 4 times as many) whose word and term sets are kept: the candidates of a
question or two, whatever the corpus's size."""
KEPT_ARTICLES = 64
KEPT_WEIGHTS = 65_536
"""Terms whose idf is kept (a question's terms are weighed once per candidate sentence, passage and article)."""


class CorpusView:
    """Per-chunk and per-article term sets and idf, computed when asked (a bounded number of them kept)."""

    def __init__(self, chunks: Sequence[Chunk], tokenize: Callable[[str], list[str]],
                 chunk_terms: PassageTerms) -> None:
        if len(chunk_terms) != len(chunks):
            raise ValueError(f"{len(chunk_terms)} passages' terms for {len(chunks)} passages")
        self.chunks = ChunkTable.of(chunks)
        self.tokenize = tokenize
        self.rows_by_source = RowsBySource(self.chunks)
        self._total = max(1, len(chunks))
        self.max_idf = math.log(1 + (self._total + 0.5) / 0.5)
        self.chunk_terms = chunk_terms
        self._article_terms = Kept(KEPT_ARTICLES)
        self._article_words = Kept(KEPT_ARTICLES)
        self._title_terms = Kept(KEPT_PASSAGES)
        self._sentence_terms = Kept(4 * KEPT_PASSAGES)
        self._chunk_words = Kept(KEPT_PASSAGES)
        self._folded_texts = Kept(KEPT_PASSAGES)
        self._weights: dict[str, float] = {}

    def weight(self, term: str) -> float:
        """The term's idf over the passages (a term none holds weighs the most)."""
        found = self._weights.get(term)
        if found is None:
            if len(self._weights) >= KEPT_WEIGHTS:
                self._weights.clear()
            n = self.chunk_terms.document_frequency(term)
            found = self._weights[term] = math.log(1 + (self._total - n + 0.5) / (n + 0.5)) if n else self.max_idf
        return found

    def share(self, term: str) -> float:
        """The share of passages that use a term (0 for a term none uses)."""
        return self.chunk_terms.document_frequency(term) / self._total

    def article_term_ids(self, source: str) -> np.ndarray:
        """The distinct term ids of the article's passages, ascending."""
        found = self._article_terms.get(source)
        if found is None:
            found = self._article_terms.keep(source, np.unique(np.concatenate(
                [self.chunk_terms.term_ids(r) for r in self.rows_by_source[source]])))
        return found

    def term_ids(self, terms: list[str]) -> np.ndarray:
        """The terms' ids (-1 for a term no passage has, which nothing holds)."""
        return np.array([self.chunk_terms.id_of(t) for t in terms], dtype=np.int64)

    def article_words(self, source: str) -> set[str]:
        found = self._article_words.get(source)
        if found is None:
            rows = self.rows_by_source[source]
            found = self._article_words.keep(source, set().union(*(self.chunk_words(r) for r in rows)))
        return found

    def holds_name(self, name: str, rows: Sequence[int]) -> bool:
        """True when a passage of rows has the folded name among its words (chunk_words): the word sets are built
        only for passages whose folded text holds it at all (a word of a passage is a substring of that text)."""
        return any(name in self.folded_text(r) and name in self.chunk_words(r) for r in rows)

    def folded_text(self, row: int) -> str:
        found = self._folded_texts.get(row)
        if found is None:
            chunk = self.chunks[row]
            found = self._folded_texts.keep(row, folded(f"{chunk.title or ''}\n{chunk.text}"))
        return found

    def chunk_words(self, row: int) -> set[str]:
        found = self._chunk_words.get(row)
        if found is None:
            chunk = self.chunks[row]
            found = self._chunk_words.keep(row, word_set(f"{chunk.title or ''}\n{chunk.text}"))
        return found

    def title_terms(self, source: str, title: str | None) -> set[str]:
        found = self._title_terms.get(source)
        if found is None:
            found = self._title_terms.keep(source, set(self.tokenize(title)) if title else set())
        return found

    def sentence_terms(self, row: int, start: int, end: int) -> set[str]:
        chunk = self.chunks[row]
        key = (chunk.source, start, end)
        found = self._sentence_terms.get(key)
        if found is None:
            text = chunk.text[start - chunk.start:end - chunk.start]
            found = self._sentence_terms.keep(key, set(self.tokenize(text)))
        return found


def _weighted_share(query_terms: list[str], held: Sequence[bool], view: CorpusView) -> float:
    """The idf-weighted share of the query's terms that are held (held: one flag a term)."""
    total = sum(view.weight(t) for t in query_terms)
    return sum(view.weight(t) for t, h in zip(query_terms, held, strict=True) if h) / total if total else 0.0


def _cover(query_terms: list[str], found: set[str], view: CorpusView) -> float:
    return _weighted_share(query_terms, [t in found for t in query_terms], view)


def _cover_ids(query_terms: list[str], query_ids: np.ndarray, held: np.ndarray, view: CorpusView) -> float:
    """_cover with the found terms as sorted ids (query_ids: view.term_ids(query_terms))."""
    if not len(held):
        return 0.0
    at = np.minimum(np.searchsorted(held, query_ids), len(held) - 1)
    return _weighted_share(query_terms, (held[at] == query_ids).tolist(), view)


def _share(names: list[str], rows: Sequence[int], view: CorpusView) -> float:
    """The share of names some passage of rows has among its words."""
    return sum(view.holds_name(n, rows) for n in names) / len(names) if names else 0.0


def candidate_features(context: Context, rows: list[int], fused: dict[int, float], dense: np.ndarray,
                       lexical: np.ndarray, sentence_scores: np.ndarray, view: CorpusView,
                       sentence_rows: dict[int, list[int]], sentence_spans: list[tuple[int, int]],
                       residual: dict[int, float] | None = None) -> np.ndarray:
    """One row of FEATURES per candidate row (residual: see residual_scores; missing rows are 0)."""
    out = np.zeros((len(rows), len(FEATURES)), dtype=np.float64)
    if not rows:
        return out
    best_fused = max(fused[r] for r in rows) or 1.0
    best_lexical = max(float(lexical[r]) for r in rows)
    names = context.query.names_and_numbers
    query_ids = view.term_ids(context.query_terms)
    article_dense: dict[str, float] = {}
    for i, row in enumerate(rows):
        chunk = view.chunks[row]
        source = chunk.source
        if source not in article_dense:
            article_dense[source] = float(max(dense[r] for r in view.rows_by_source[source]))
        own = sentence_rows.get(row, [])
        scores = [float(sentence_scores[s]) for s in own]
        best = int(np.argmax(scores)) if scores else -1
        window = max((float(np.mean(scores[max(0, j - 1):j + 2])) for j in range(len(scores))), default=0.0)
        sentence_terms = [view.sentence_terms(row, *sentence_spans[s]) for s in own]
        sentence_cover = max((_cover(context.query_terms, t, view) for t in sentence_terms), default=0.0)
        own_terms = context.own_terms if context.own_terms is not None else context.query_terms
        own_cover = max((_cover(own_terms, t, view) for t in sentence_terms), default=0.0)
        best_text = ""
        if best >= 0:
            start, end = sentence_spans[own[best]]
            best_text = chunk.text[start - chunk.start:end - chunk.start]
        kind_known = context.kind.name != "other"
        out[i] = (
            fused[row] / best_fused,
            float(dense[row]),
            max(scores, default=float(dense[row])),
            window,
            float(lexical[row]) / best_lexical if best_lexical > 0 else 0.0,
            _cover_ids(context.query_terms, query_ids, view.chunk_terms.term_ids(row), view),
            sentence_cover,
            _cover(context.query_terms, view.title_terms(source, chunk.title), view),
            _cover_ids(context.query_terms, query_ids, view.article_term_ids(source), view),
            _share(names, [row], view),
            _share(names, view.rows_by_source[source], view),
            float(kind_known and context.kind.present_in(chunk.text, context.query.words)),
            float(kind_known and context.kind.present_in(best_text, context.query.words)),
            article_dense[source],
            float(context.previous_source is not None and source == context.previous_source),
            float(bool(context.previous_answer) and context.previous_answer in chunk.text),
            own_cover,
            (residual or {}).get(row, 0.0),
        )
    return out


def residual_scores(vector: np.ndarray, rows: list[int], view: CorpusView,
                    centroid: Callable[[str], np.ndarray], sentence_vectors: Callable[[list[int]], np.ndarray],
                    sentence_rows: dict[int, list[int]]) -> dict[int, float]:
    """Per row: the best cosine of its sentences with the question's part orthogonal to its article's centroid.

    A question names its article's topic ("the British marathon world record-holder ... in Manhattan") and asks
    one thing in it ("which East African rival did she beat"). Taking out the topic they all share leaves what
    tells one passage of the article from another."""
    q = np.asarray(vector, dtype=np.float64).reshape(-1)
    own = {row: sentence_rows.get(row, []) for row in rows}
    vectors = sentence_vectors([s for sentences in own.values() for s in sentences]).astype(np.float64)  # one fetch
    out: dict[int, float] = {}
    start = 0
    for row, sentences in own.items():
        end = start + len(sentences)
        c = centroid(view.chunks[row].source)
        rest = q - float(q @ c) * c
        norm = float(np.linalg.norm(rest))
        if sentences and norm > 1e-6:
            out[row] = float(np.max(vectors[start:end] @ rest) / norm)
        start = end
    return out
