"""The deterministic hash embedder: bag-of-words vectors seeded by SHA-256, for plumbing tests."""

from __future__ import annotations

import hashlib
import re

import numpy as np


class HashEmbedder:
    """Deterministic bag-of-words vectors seeded by SHA-256: for plumbing tests, not for meaning."""

    name = "hash"
    weights_sha256 = "none"
    runtime = "hash"

    def __init__(self, dimension: int = 1024) -> None:
        self.dimension = dimension

    @staticmethod
    def _words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.casefold())

    def count_tokens(self, text: str) -> int:
        return len(self._words(text)) + 2

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in self._words(text):
                digest = hashlib.sha256(word.encode()).digest()
                column = int.from_bytes(digest[:4], "little") % self.dimension
                out[row, column] += 1.0 if digest[4] & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
            else:  # no words: still a unit vector, as the protocol promises
                out[row, 0] = 1.0
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def warm_up(self) -> None:
        """Nothing to load."""
