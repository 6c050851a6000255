"""The top rows of a score array, best first, ties by row: one order however the rows were found."""

from __future__ import annotations

import numpy as np


def top_rows(scores: np.ndarray, depth: int) -> list[int]:
    """Indices of the `depth` highest scores, best first; of equal scores the lower index first, also at the
    cut (argpartition alone keeps an arbitrary one of the scores tied at the depth-th place)."""
    if depth <= 0 or not len(scores):
        return []
    if depth < len(scores):
        cut = scores[np.argpartition(-scores, depth - 1)[depth - 1]]
        above = np.flatnonzero(scores > cut)
        part = np.concatenate((above, np.flatnonzero(scores == cut)[:depth - len(above)]))
        return [int(i) for i in part[np.lexsort((part, -scores[part]))]]
    return [int(i) for i in np.argsort(-scores, kind="stable")]
