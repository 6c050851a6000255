"""Context for ranking, from what the index already stores: passages and sentences see their neighbours.

A sentence ranked alone loses its paragraph, and a passage that opens "She said" loses its speaker. Nothing here
changes a passage's or a sentence's text or offsets (what is quoted); it only changes the vectors and the BM25
text they are *ranked* by:

- a sentence's ranking vector is its own vector plus a share of the vectors of the sentences before and after
  it in the article (and of the article's title);
- a passage's ranking vector is its own plus a share of the passage before it in the article (and the title);
- either can also take a share of the article's first sentence (its lead, which names who and what the
  article is about);

All of it is computed when the index is loaded (vector sums; only the titles, when used, are embedded: one short
text per article). What BM25 indexes with a passage (the sentence before it, the names in the sentences before
it, the article's lead) is an index-time [lexical] option: index/lexical.py's ArticleContext.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.chunking import Chunk
from index.store import SentenceRef


@dataclass(frozen=True)
class ArticleSentences:
    """Every distinct sentence of the index in article order, and where each sentence ref sits among them."""

    spans: list[tuple[str, int, int]]
    """(source, start, end) of each distinct sentence, sorted by source then start."""
    first_ref: np.ndarray
    """For each distinct sentence, one row of the sentence index holding it (its vector)."""
    position: np.ndarray
    """For each sentence ref (row of the sentence index), the index of its sentence in `spans`."""
    previous: np.ndarray
    """For each distinct sentence, the distinct sentence before it in its article, or -1."""
    following: np.ndarray
    """For each distinct sentence, the one after it in its article, or -1."""


def article_sentences(chunks: list[Chunk], refs: list[SentenceRef]) -> ArticleSentences:
    """The article order of the sentences that overlapping passages repeat."""
    keys = [(chunks[r.chunk].source, r.start, r.end) for r in refs]
    spans = sorted(set(keys))
    index = {span: i for i, span in enumerate(spans)}
    position = np.array([index[k] for k in keys], dtype=np.int64)
    first_ref = np.full(len(spans), -1, dtype=np.int64)
    for row in range(len(refs) - 1, -1, -1):
        first_ref[position[row]] = row
    same_previous = np.array([i > 0 and spans[i - 1][0] == spans[i][0] for i in range(len(spans))], dtype=bool)
    previous = np.where(same_previous, np.arange(len(spans)) - 1, -1)
    following = np.full(len(spans), -1, dtype=np.int64)
    following[previous[previous >= 0]] = np.flatnonzero(previous >= 0)
    return ArticleSentences(spans, first_ref, position, previous.astype(np.int64), following)


def lead_refs(chunks: list[Chunk], refs: list[SentenceRef], order: ArticleSentences) -> np.ndarray:
    """For each chunk row, the row of the sentence index holding its article's first sentence (-1: none)."""
    first: dict[str, int] = {}
    for i, (source, _, _) in enumerate(order.spans):
        first.setdefault(source, int(order.first_ref[i]))
    return np.array([first.get(c.source, -1) for c in chunks], dtype=np.int64)


def previous_chunks(chunks: list[Chunk]) -> np.ndarray:
    """For each chunk row, the row of the chunk before it in the same article (by start offset), or -1."""
    order = sorted(range(len(chunks)), key=lambda r: (chunks[r].source, chunks[r].start, chunks[r].end))
    out = np.full(len(chunks), -1, dtype=np.int64)
    for before, row in zip(order, order[1:], strict=False):
        if chunks[before].source == chunks[row].source:
            out[row] = before
    return out


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def rows_or_zero(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """matrix[rows], with a zero vector where rows is -1."""
    out = matrix[np.maximum(rows, 0)].copy()
    out[rows < 0] = 0.0
    return out


def sentence_context_vectors(sentences: np.ndarray, order: ArticleSentences, neighbours: float,
                             title: float = 0.0, title_vectors: np.ndarray | None = None,
                             title_of_ref: np.ndarray | None = None, lead: float = 0.0,
                             lead_of_ref: np.ndarray | None = None) -> np.ndarray:
    """Each sentence's vector plus `neighbours` times those of the sentences before and after it (and `title`
    times its article title's vector, `lead` times its article's first sentence's), unit length again."""
    distinct = sentences[order.first_ref]
    before = rows_or_zero(distinct, order.previous)
    after = rows_or_zero(distinct, order.following)
    mixed = sentences + neighbours * (before + after)[order.position]
    if title and title_vectors is not None and title_of_ref is not None:
        mixed = mixed + title * title_vectors[title_of_ref]
    if lead and lead_of_ref is not None:
        mixed = mixed + lead * rows_or_zero(sentences, lead_of_ref)
    return _normalise(mixed)


def passage_context_vectors(passages: np.ndarray, previous: np.ndarray, share: float, title: float = 0.0,
                            title_vectors: np.ndarray | None = None, title_of_chunk: np.ndarray | None = None,
                            lead: float = 0.0, lead_vectors: np.ndarray | None = None) -> np.ndarray:
    """Each passage's vector plus `share` times the one before it in its article (and `title` times its title's
    vector, `lead` times `lead_vectors`: its article's first sentence's), unit length again."""
    mixed = passages + share * rows_or_zero(passages, previous)
    if title and title_vectors is not None and title_of_chunk is not None:
        mixed = mixed + title * title_vectors[title_of_chunk]
    if lead and lead_vectors is not None:
        mixed = mixed + lead * lead_vectors
    return _normalise(mixed)


def titles(chunks: list[Chunk]) -> tuple[list[str], np.ndarray]:
    """The distinct article titles ("" for none), and the index of each chunk's title among them."""
    names = sorted({c.title or "" for c in chunks})
    index = {t: i for i, t in enumerate(names)}
    return names, np.array([index[c.title or ""] for c in chunks], dtype=np.int64)
