"""Incremental embedding: reuse the last build's vector of every text embedded the same way, embed the rest.

A text's key is sha256 of what decides its vector: the model (embedder class, name, weights hash, dimension),
the embedding settings and the text itself. The last build stores the key of every row beside its vectors, so a
new build copies the vector of any text whose key it already holds and runs the model on the others only.

Reused and new vectors must be identical to a full build's, bit for bit. A transformer's output for one text
depends, in the last bits, on the padding around it in its batch; so texts are embedded in batches of texts of the
same token count (no padding at all), which makes each vector a function of its text alone (checked by
tests/test_incremental.py against full builds with the real model).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections import defaultdict
from typing import Protocol

import numpy as np

from citebot.config.settings import EmbeddingSettings
from citebot.index.embedding.protocol import Embedder
from citebot.index.store.protocol import ReuseSource

log = logging.getLogger(__name__)

KEY_SCHEME = "sha256(prefix + utf-8 text); batches of equal token count"


def key_prefix(embedder: Embedder, settings: EmbeddingSettings) -> bytes:
    """sha256 of everything besides the text that decides a vector."""
    material = {"scheme": KEY_SCHEME, "embedder": type(embedder).__name__, "model": embedder.name,
                "weights_sha256": embedder.weights_sha256, "dimension": embedder.dimension,
                "batch_size": settings.batch_size}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).digest()


def text_key(prefix: bytes, text: str) -> str:
    return hashlib.sha256(prefix + text.encode("utf-8")).hexdigest()


class VectorRows(Protocol):
    """Rows of vectors a build writes (a store's vector file) and reads back for a repeated text."""

    def write(self, row: int, vector: np.ndarray) -> None: ...

    def read(self, row: int) -> np.ndarray: ...


class Vectorizer:
    """Fills rows of the new build's vector files: a reused vector at once, new texts in batches of equal
    token count. At most batch_size - 1 texts wait per token count, so memory does not grow with the corpus."""

    def __init__(self, embedder: Embedder, batch_size: int, reuse: ReuseSource | None) -> None:
        self.embedder = embedder
        self.batch_size = max(1, batch_size)
        self.reuse = reuse
        self.embedded = 0
        self.tokens = 0
        """Tokens of the texts embedded, special tokens included: the work the model did."""
        self.reused = 0
        self.queued = 0
        """Texts queued for the model (embedded, or waiting for their batch to fill)."""
        self._done: dict[str, tuple[VectorRows, int]] = {}
        self._pending: dict[str, tuple[str, list[tuple[VectorRows, int]]]] = {}
        self._buckets: dict[int, list[str]] = defaultdict(list)
        self._warming: threading.Thread | None = None

    def add(self, text: str, key: str, out: VectorRows, row: int) -> None:
        """Give row of out the vector of text (key: text_key of it), now or at a later flush."""
        if key in self._done:
            source, source_row = self._done[key]
            out.write(row, source.read(source_row))
        elif key in self._pending:
            self._pending[key][1].append((out, row))
        elif self.reuse is not None and (vector := self.reuse.vector(key)) is not None:
            out.write(row, vector)
            self._done[key] = (out, row)
            self.reused += 1
        else:
            if self._warming is None:  # the model loads while the build goes on to the texts it reuses
                self._warming = threading.Thread(target=self._warm_up, daemon=True)
                self._warming.start()
            length = self.embedder.count_tokens(text)
            self.queued += 1
            self._pending[key] = (text, [(out, row)])
            self._buckets[length].append(key)
            if len(self._buckets[length]) >= self.batch_size:
                self._flush(length)

    def _warm_up(self) -> None:
        with contextlib.suppress(Exception):  # encode() meets the same problem and reports it
            self.embedder.warm_up()

    def _flush(self, length: int) -> None:
        if self._warming is not None:
            self._warming.join()
        keys = self._buckets.pop(length)
        vectors = self.embedder.encode([self._pending[k][0] for k in keys])
        for key, vector in zip(keys, vectors, strict=True):
            _, targets = self._pending.pop(key)
            for out, row in targets:
                out.write(row, vector)
            self._done[key] = targets[0]
        self.embedded += len(keys)
        self.tokens += length * len(keys)

    def finish(self) -> None:
        """Embed every text still waiting."""
        for length in sorted(self._buckets):
            self._flush(length)
