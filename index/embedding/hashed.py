"""The deterministic hash embedder: bag-of-words vectors seeded by SHA-256, for plumbing tests."""

from __future__ import annotations

import hashlib
import re

import numpy as np

PREFIX = "hash"
DEFAULT_DIMENSION = 1024


class HashEmbedder:
    """Deterministic bag-of-words vectors seeded by SHA-256: for plumbing tests, not for meaning.

    Named "hash" at 1,024 dimensions, "hash-N" at N (e.g. "hash-384", the real model's width, for scale runs).
    """

    weights_sha256 = "none"
    runtime = "hash"

    def __init__(self, dimension: int = DEFAULT_DIMENSION) -> None:
        self.dimension = dimension
        self.name = PREFIX if dimension == DEFAULT_DIMENSION else f"{PREFIX}-{dimension}"

    @classmethod
    def named(cls, model: str) -> HashEmbedder | None:
        """The hash embedder a model name in config names ("hash", "hash-384"), or None for any other name."""
        if model == PREFIX:
            return cls()
        width = model.removeprefix(f"{PREFIX}-")
        if model.startswith(f"{PREFIX}-") and width.isdigit() and 0 < int(width) <= 65536:
            return cls(int(width))
        return None

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
