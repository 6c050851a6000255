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
import os
import threading
from collections import defaultdict
from pathlib import Path

import numpy as np

from index.embed import Embedder
from index.errors import CitebotError
from index.settings import EmbeddingSettings
from index.store import (
    FLAT_HEADER_BYTES,
    FORMAT_VERSION,
    MANIFEST,
    SENTENCE_KEYS,
    SENTENCE_VECTORS,
    VECTOR_KEYS,
    VECTORS,
    VectorFile,
    current_build,
    flat_header,
    read_manifest,
)

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


def _fd_sha256(fd: int) -> str:
    digest = hashlib.sha256()
    offset = 0
    while block := os.pread(fd, 1 << 20, offset):
        digest.update(block)
        offset += len(block)
    return digest.hexdigest()


def _format_of(build: Path) -> object:
    """The format a build's manifest declares, or None when it does not read as one."""
    try:
        manifest = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest.get("format") if isinstance(manifest, dict) else None


class ReuseSource:
    """The vectors of the current build, by key; opened read-only and checked against its manifest."""

    def __init__(self, build: Path, fds: list[int], dimension: int, rows: dict[str, tuple[int, int]]) -> None:
        self.build = build
        self._fds = fds
        self.dimension = dimension
        self._rows = rows

    @classmethod
    def open(cls, index_dir: Path, prefix: bytes, dimension: int) -> ReuseSource | None:
        """The current build's vectors, or None (and why, logged) when there is nothing safe to reuse."""
        try:
            if not (index_dir / "current").exists():
                return None
            build = current_build(index_dir)
            if _format_of(build) != FORMAT_VERSION:  # an older citebot's build: it has no keys to reuse by
                log.info("the current build is of an older index format; embedding everything")
                return None
            manifest = read_manifest(index_dir, build)
        except (CitebotError, OSError) as exc:
            log.warning("not reusing the current build's vectors (%s); embedding everything", exc)
            return None
        vectors = manifest.get("vectors")
        if not isinstance(vectors, dict) or vectors.get("key_prefix") != prefix.hex():
            log.info("the current build was embedded another way; embedding everything")
            return None
        fds: list[int] = []
        try:
            files = manifest.get("files", {})
            rows: dict[str, tuple[int, int]] = {}
            for which, (vectors, keys) in enumerate(((VECTORS, VECTOR_KEYS), (SENTENCE_VECTORS, SENTENCE_KEYS))):
                fd = os.open(build / vectors, os.O_RDONLY)  # kept open: a build swapped in meanwhile cannot pull it
                fds.append(fd)
                key_fd = os.open(build / keys, os.O_RDONLY)
                try:
                    if _fd_sha256(fd) != files.get(vectors) or _fd_sha256(key_fd) != files.get(keys):
                        raise ValueError(f"{vectors} or {keys} does not match the manifest")
                    with os.fdopen(os.dup(key_fd), encoding="ascii") as handle:
                        lines = handle.read().split()
                finally:
                    os.close(key_fd)
                header = os.pread(fd, FLAT_HEADER_BYTES, 0)
                if header != flat_header(dimension, len(lines)):
                    raise ValueError(f"{vectors} does not hold {len(lines)} vectors of dimension {dimension}")
                for row, key in enumerate(lines):
                    rows.setdefault(key, (which, row))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            for fd in fds:
                os.close(fd)
            log.warning("not reusing the current build's vectors (%s); embedding everything", exc)
            return None
        return cls(build, fds, dimension, rows)

    def vector(self, key: str) -> np.ndarray | None:
        found = self._rows.get(key)
        if found is None:
            return None
        which, row = found
        data = os.pread(self._fds[which], self.dimension * 4, FLAT_HEADER_BYTES + row * self.dimension * 4)
        return np.frombuffer(data, dtype=np.float32)

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []
        self._rows = {}


class Vectorizer:
    """Fills rows of the new build's vector files: a reused vector at once, new texts in batches of equal
    token count. At most batch_size - 1 texts wait per token count, so memory does not grow with the corpus."""

    def __init__(self, embedder: Embedder, batch_size: int, reuse: ReuseSource | None) -> None:
        self.embedder = embedder
        self.batch_size = max(1, batch_size)
        self.reuse = reuse
        self.embedded = 0
        self.reused = 0
        self._done: dict[str, tuple[VectorFile, int]] = {}
        self._pending: dict[str, tuple[str, list[tuple[VectorFile, int]]]] = {}
        self._buckets: dict[int, list[str]] = defaultdict(list)
        self._warming: threading.Thread | None = None

    def add(self, text: str, key: str, out: VectorFile, row: int) -> None:
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

    def finish(self) -> None:
        """Embed every text still waiting."""
        for length in sorted(self._buckets):
            self._flush(length)
