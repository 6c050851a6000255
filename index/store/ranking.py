"""Search helpers every store may use: the top rows of a full score array, and the score arrays of recent queries."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np

from citebot.index.store.protocol import Ranked
from citebot.index.top import top_rows


def top_ranked(scores: np.ndarray, k: int, positive: bool = False) -> Ranked:
    """The k best rows of a score per row and their scores; positive: only scores above 0."""
    rows = top_rows(scores, max(0, k)) if len(scores) else []
    if positive:
        rows = [r for r in rows if scores[r] > 0]
    return Ranked(np.asarray(rows, dtype=np.int64), scores[rows].astype(np.float32))


class RecentScores:
    """The full score arrays of the last few queries (the bot searches on a few threads at once)."""

    def __init__(self, size: int = 8) -> None:
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: Hashable, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The array kept for key, or compute() kept for the next call."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value
