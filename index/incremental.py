"""Incremental embedding: reuse the last build's vector of every text embedded the same way, embed the rest.

A text's key is sha256 of what decides its vector: the model (embedder class, name, weights hash, dimension),
the embedding settings and the text itself. The last build stores the key of every row beside its vectors, so a
new build copies the vector of any text whose key it already holds and runs the model on the others only.

Reused and new vectors must be identical to a full build's, bit for bit. A transformer's output for one text
depends, in the last bits, on the padding around it in its batch; so texts are embedded in batches of texts of the
same token count (no padding at all), which makes each vector a function of its text alone (checked by
tests/test_incremental.py against full builds with the real model).

Every vector the model computes also goes to the folder's journal (vector_journal.py), so a build killed before
it commits is resumed by the next: a text the last build does not hold is looked up there before the model runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from citebot.config.settings import EmbeddingSettings
from citebot.index.embedding.protocol import Embedder
from citebot.index.store.protocol import ReuseSource

if TYPE_CHECKING:
    from citebot.index.vector_journal import VectorJournal

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

    def __init__(self, embedder: Embedder, batch_size: int, reuse: ReuseSource | None,
                 spool: Path | None = None, on_embedded: Callable[[int, int, float], None] | None = None,
                 journal: VectorJournal | None = None) -> None:
        """on_embedded(texts, tokens, seconds) is told of each batch run through the model; journal: where every
        vector computed goes, and where one an interrupted build computed is found."""
        self.embedder = embedder
        self.journal = journal
        self.on_embedded = on_embedded
        self.batch_size = max(1, batch_size)
        self.reuse = reuse
        self.embedded = 0
        self.tokens = 0
        """Tokens of the texts embedded, special tokens included: the work the model did."""
        self.reused = 0
        self.resumed = 0
        """Distinct texts whose vector was found in the journal (computed by an interrupted build)."""
        self.queued = 0
        """Texts queued for the model (embedded, or waiting for their batch to fill)."""
        self._done = RowMap(spool=spool)
        """Where the vector of every text given a vector so far was written (to copy it for a repeat)."""
        self._pending: dict[str, tuple[str, list[tuple[VectorRows, int]]]] = {}
        self._buckets: dict[int, list[str]] = defaultdict(list)
        self._warming: threading.Thread | None = None

    def add(self, text: str, key: str, out: VectorRows, row: int) -> None:
        """Give row of out the vector of text (key: text_key of it), now or at a later flush."""
        if (done := self._done.get(key)) is not None:
            source, source_row = done
            out.write(row, source.read(source_row))
        elif key in self._pending:
            self._pending[key][1].append((out, row))
        elif self.reuse is not None and (vector := self.reuse.vector(key)) is not None:
            out.write(row, vector)
            self._done.put(key, out, row)
            self.reused += 1
        elif self.journal is not None and (vector := self.journal.vector(key)) is not None:
            out.write(row, vector)
            self._done.put(key, out, row)
            self.resumed += 1
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
        began = time.perf_counter()
        vectors = self.embedder.encode([self._pending[k][0] for k in keys])
        seconds = time.perf_counter() - began
        if self.journal is not None:
            self.journal.append(keys, vectors, length)
        for key, vector in zip(keys, vectors, strict=True):
            _, targets = self._pending.pop(key)
            for out, row in targets:
                out.write(row, vector)
            self._done.put(key, *targets[0])
        self.embedded += len(keys)
        self.tokens += length * len(keys)
        if self.on_embedded is not None:
            self.on_embedded(len(keys), length * len(keys), seconds)

    def close(self) -> None:
        """Let the map's temporary files go (a build does, when it ends or fails)."""
        self._done.close()

    def finish(self) -> None:
        """Embed every text still waiting."""
        for length in sorted(self._buckets):
            self._flush(length)

class RowMap:
    """text key -> (rows, row) for every text of a build, held out of memory: a log of (sha256, place) records
    and an open-addressing table of record numbers (at most half full), both in temporary files read and written
    in place (pread/pwrite), so the map takes page cache, not the build's memory, at any corpus size. Keys are
    compared whole. The keys of the last RECENT texts are also kept in memory: most repeats are of a sentence in
    the passage just before (overlapping passages), found without reading the files."""

    RECORD = 40
    """A record: the key's 32 bytes, then its place (row << 4 | rows file) as 8 bytes."""
    RECENT = 4096

    def __init__(self, capacity: int = 1 << 16, spool: Path | None = None) -> None:
        self._outs: list[VectorRows] = []
        self._size = 0
        self._spool = spool
        """The folder of the temporary files (None: the system's)."""
        self._log = tempfile.TemporaryFile(dir=spool)  # noqa: SIM115 (deleted when closed, with the map)
        self._table = self._new_table(capacity)
        self._recent: dict[str, tuple[VectorRows, int]] = {}

    def _new_table(self, capacity: int) -> Any:
        table = tempfile.TemporaryFile(dir=self._spool)  # noqa: SIM115
        table.truncate(4 * capacity)  # zeros: empty slots
        self._capacity = capacity
        return table

    def __len__(self) -> int:
        return self._size

    def _slot(self, digest: bytes) -> tuple[int, int]:
        """(slot, record number + 1) of the key's slot, or of the empty slot where it would go (0)."""
        mask = self._capacity - 1
        at = int.from_bytes(digest[:8], "little") & mask
        table, log = self._table.fileno(), self._log.fileno()
        while True:
            entry = int.from_bytes(os.pread(table, 4, 4 * at), "little")
            if not entry or os.pread(log, 32, (entry - 1) * self.RECORD) == digest:
                return at, entry
            at = (at + 1) & mask

    def get(self, key: str) -> tuple[VectorRows, int] | None:
        if (found := self._recent.get(key)) is not None:
            return found
        _, entry = self._slot(bytes.fromhex(key))
        if not entry:
            return None
        value = int.from_bytes(os.pread(self._log.fileno(), 8, (entry - 1) * self.RECORD + 32), "little")
        return self._outs[value & 0xF], value >> 4

    def put(self, key: str, out: VectorRows, row: int) -> None:
        """Record where key's vector is (a key already held keeps its first place)."""
        digest = bytes.fromhex(key)
        at, entry = self._slot(digest)
        if entry:
            return
        if out not in self._outs:
            if len(self._outs) >= 16:
                raise ValueError("a RowMap holds rows of at most 16 vector files")
            self._outs.append(out)
        value = (row << 4) | self._outs.index(out)
        os.pwrite(self._log.fileno(), digest + value.to_bytes(8, "little"), self._size * self.RECORD)
        self._size += 1
        os.pwrite(self._table.fileno(), self._size.to_bytes(4, "little"), 4 * at)
        if len(self._recent) >= self.RECENT:
            self._recent.clear()
        self._recent[key] = (out, row)
        if 2 * self._size > self._capacity:
            self._grow()

    def _grow(self) -> None:
        old = self._table
        self._table = self._new_table(2 * self._capacity)
        old.close()
        log = self._log.fileno()
        for start in range(0, self._size, 1 << 14):  # the records in order, re-slotted
            block = os.pread(log, self.RECORD * min(1 << 14, self._size - start), start * self.RECORD)
            for i in range(0, len(block), self.RECORD):
                at, _ = self._slot(block[i:i + 32])
                os.pwrite(self._table.fileno(), (start + i // self.RECORD + 1).to_bytes(4, "little"), 4 * at)

    def close(self) -> None:
        self._log.close()
        self._table.close()
