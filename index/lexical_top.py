"""BM25 read from its score matrix stored by term: every passage's score, the top k, and the scores of given
passages alone (each found by bisecting the question's terms' posting lists), all equal to bm25s's to the bit.
"""

from __future__ import annotations

import numpy as np

from citebot.index.top import top_rows

Top = tuple[np.ndarray, np.ndarray]
"""Rows best first (ties by row) and their scores."""


class PostingLists:
    """A BM25 score matrix stored by term (bm25s's CSC arrays: indptr, passage numbers ascending, scores)."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, size: int) -> None:
        self.indptr, self.indices, self.data, self.size = indptr, indices, data, size

    def full(self, terms: list[int]) -> np.ndarray:
        """Every passage's score: each term's postings added in the query's order."""
        out = np.zeros(self.size, dtype=np.float32)
        for term in terms:
            start, end = int(self.indptr[term]), int(self.indptr[term + 1])
            out[self.indices[start:end]] += self.data[start:end]  # a term's passages are distinct
        return out

    def scores_of(self, terms: list[int], rows: np.ndarray) -> np.ndarray:
        """The full scan's scores of the given rows, bit for bit: each term's contribution found by bisection and
        added in the query's order (a term a row lacks adds nothing, as in the full scan)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(rows), dtype=np.float32)
        if not len(rows):
            return out
        for term in terms:
            start, end = int(self.indptr[term]), int(self.indptr[term + 1])
            if end == start:
                continue
            posting = self.indices[start:end]
            at = np.minimum(np.searchsorted(posting, rows), end - start - 1)
            held = posting[at] == rows
            out[held] += self.data[start + at[held]]
        return out

    def top(self, terms: list[int], k: int) -> Top:
        """The k best passages with a score above 0 and their scores (the full scan's)."""
        return positive_top(self.full(terms), k)


def positive_top(scores: np.ndarray, k: int) -> Top:
    """The k best rows of scores with a score above 0, best first, ties by row."""
    rows = np.asarray([r for r in top_rows(scores, k) if scores[r] > 0], dtype=np.int64)
    return rows, scores[rows].astype(np.float32)
