"""BM25 read from its score matrix stored by term: every passage's score, the top k, and the scores of given
passages alone (each found by bisecting the question's terms' posting lists), all equal to bm25s's to the bit.

The top k of a large index skips most postings. A question's terms held by a fifth of the passages or more
("the", "said": most of its postings at an archive's size, and the least weight) are left out of a first scan;
each adds at most its largest score to any passage, so a passage whose score without them falls further than
their sum below a score k passages reach without them cannot reach the top k. The few passages within that
bound get their full score (by bisection, in the query's order), and their top k is the full scan's, score for
score and tie for tie: every passage left out scores less than the k-th.
"""

from __future__ import annotations

import numpy as np

from citebot.index.top import top_rows

Top = tuple[np.ndarray, np.ndarray]
"""Rows best first (ties by row) and their scores."""

COMMON_SHARE = 0.2
"""Terms in at least this share of the passages are bounded, not scanned, by the top k."""
FULL_SCAN_POSTINGS = 1_000_000
"""A question with fewer postings than this is scored by the full scan (it is as fast)."""
MAX_CANDIDATES = 100_000
"""Past this many passages within the bound, the full scan."""


class PostingLists:
    """A BM25 score matrix stored by term (bm25s's CSC arrays: indptr, passage numbers ascending, scores)."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, size: int) -> None:
        self.indptr, self.indices, self.data, self.size = indptr, indices, data, size
        self._largest: dict[int, float] = {}

    def postings(self, term: int) -> int:
        return int(self.indptr[term + 1] - self.indptr[term])

    def largest(self, term: int) -> float:
        """The term's largest score in any passage (read once a term: the common ones recur)."""
        found = self._largest.get(term)
        if found is None:
            start, end = int(self.indptr[term]), int(self.indptr[term + 1])
            found = self._largest[term] = float(self.data[start:end].max()) if end > start else 0.0
        return found

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
            # the rows in the list's dtype: numpy would otherwise cast the whole list at every call
            at = np.minimum(np.searchsorted(posting, rows.astype(posting.dtype, copy=False)), end - start - 1)
            held = posting[at] == rows
            out[held] += self.data[start + at[held]]
        return out

    def top(self, terms: list[int], k: int) -> Top:
        """The k best passages with a score above 0 and their scores: the full scan's, found without the common
        terms' postings when a bound allows (see the module's docstring)."""
        common = {t for t in terms if self.postings(t) >= COMMON_SHARE * self.size}
        if (0 < k < self.size and common and len(common) < len(set(terms))
                and sum(self.postings(t) for t in terms) >= FULL_SCAN_POSTINGS):
            found = self._bounded_top(terms, common, k)
            if found is not None:
                return found
        return positive_top(self.full(terms), k)

    def _bounded_top(self, terms: list[int], common: set[int], k: int) -> Top | None:
        partial = self.full([t for t in terms if t not in common])
        kth = _kth_at_most(partial, k)
        added = sum(self.largest(t) for t in terms if t in common)  # with a term's repeats, as the scan adds them
        # float32 sums of a few terms: a margin far above their rounding
        candidates = np.flatnonzero(partial >= kth - added - 1e-4 * max(1.0, abs(kth) + added))
        if len(candidates) > MAX_CANDIDATES:
            return None
        rows, scores = positive_top(self.scores_of(terms, candidates), k)
        return candidates[rows], scores


BLOCK = 64


def _kth_at_most(scores: np.ndarray, k: int) -> float:
    """A value some k distinct rows reach (so at most the k-th best): the k-th best of the maxima of blocks of
    BLOCK rows. Exact unless two of the best share a block, and a few ms where np.partition over millions of
    mostly equal scores can take most of a second."""
    whole = len(scores) // BLOCK * BLOCK
    maxima = scores[:whole].reshape(-1, BLOCK).max(axis=1)
    if whole < len(scores):
        maxima = np.append(maxima, scores[whole:].max())
    if len(maxima) < k:
        return float(scores.min())
    return float(np.partition(maxima, len(maxima) - k)[len(maxima) - k])


def positive_top(scores: np.ndarray, k: int) -> Top:
    """The k best rows of scores with a score above 0, best first, ties by row."""
    rows = np.asarray([r for r in top_rows(scores, k) if scores[r] > 0], dtype=np.int64)
    return rows, scores[rows].astype(np.float32)
