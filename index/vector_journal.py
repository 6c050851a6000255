"""The journal of an unfinished build: every vector the model computes is appended to it as it comes, so a build
killed at any point is resumed by the next one, which copies those vectors instead of computing them again.

One file per key prefix (index/incremental.py: the model and the embedding settings) in the index folder (a Milvus
build's staging folder), `.vectors-<first 16 hex of the prefix>.journal`:

    header    JOURNAL_MAGIC, then {"prefix": <hex>, "dimension": d} as JSON, padded to HEADER_BYTES
    records   the text key (32 bytes), its token count (uint32), the vector (d float32), and a check (8 bytes,
              blake2b of the rest), RECORD_BYTES in all, appended a batch at a time

A record whose check fails ends the journal: it and what follows are cut off when the journal is opened again (a
build killed in a write, or a machine that lost the file's tail). Writes are synced every SYNC_SECONDS, so a
crash of the machine loses at most that much of the work; a killed process loses nothing that was written. The
build that commits removes every journal in its folder (ownership.py proves them citebot's); the leftover cleanup
of killed builds leaves them, since they are what the next build resumes from. A journal of another prefix is
never read: its vectors were computed another way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from citebot.index.incremental import RowMap
from citebot.index.store.faiss.ownership import JOURNAL_MAGIC, own_journal

log = logging.getLogger(__name__)

HEADER_BYTES = 256
SYNC_SECONDS = 30.0
"""At most this long between syncs of the journal to disk: what a crash of the machine can cost."""
_KEY, _TOKENS, _CHECK = 32, 4, 8
_SCAN = 4096
"""Records read at a time when a journal is opened."""


def journal_path(folder: Path, prefix: bytes) -> Path:
    """Where the journal of builds embedding with this key prefix lives in folder."""
    return folder / f".vectors-{prefix.hex()[:16]}.journal"


def _header(prefix: bytes, dimension: int) -> bytes:
    text = JOURNAL_MAGIC + json.dumps({"prefix": prefix.hex(), "dimension": dimension}).encode()
    return text.ljust(HEADER_BYTES - 1, b" ") + b"\n"


def _check(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=_CHECK).digest()


def journals(folder: Path) -> list[Path]:
    """The vector journals citebot wrote in folder (sorted)."""
    return sorted(entry for entry in folder.glob(".vectors-*.journal") if own_journal(entry)) if folder.is_dir() else []


def remove_journals(folder: Path) -> list[Path]:
    """Remove every vector journal in folder (a build committed: their vectors are in it, or were not needed)."""
    removed = []
    for entry in journals(folder):
        with contextlib.suppress(OSError):
            entry.unlink()
            removed.append(entry)
    return removed


class VectorJournal:
    """The journal of one key prefix in one folder: the vectors it holds by key, and appending to it."""

    def __init__(self, path: Path, prefix: bytes, dimension: int, spool: Path | None = None) -> None:
        self.path = path
        self.dimension = dimension
        self.record_bytes = _KEY + _TOKENS + 4 * dimension + _CHECK
        self._header = _header(prefix, dimension)
        self._spool = spool
        self._index: RowMap | None = None
        """key -> record number, on disk (RowMap's temporary files), made when the first record is known."""
        self._fd = -1
        self._records = 0
        self.found = 0
        """Records read back when the journal was opened (an interrupted build's work)."""
        self.found_tokens = 0
        """Their tokens, special tokens included."""
        self.usable = True
        """False when the file at path is not a journal of this prefix: it is then neither read nor written."""
        self._synced = time.monotonic()
        self._lock = threading.Lock()
        """A Ray build appends from its job's thread while its planning looks keys up (index/embedding/ray_job.py)."""

    @classmethod
    def open(cls, folder: Path, prefix: bytes, dimension: int, spool: Path | None = None) -> VectorJournal:
        """The journal of prefix in folder, with what an interrupted build left in it (a torn tail cut off)."""
        journal = cls(journal_path(folder, prefix), prefix, dimension, spool)
        if os.path.lexists(journal.path):
            journal._load()
        return journal

    def __len__(self) -> int:
        return self._records

    def _load(self) -> None:
        if not own_journal(self.path):
            log.warning("%s is not a vector journal citebot wrote: left alone, and this build keeps no journal",
                        self.path)
            self.usable = False
            return
        fd = os.open(self.path, os.O_RDWR | os.O_NOFOLLOW)
        if os.pread(fd, HEADER_BYTES, 0) != self._header:
            os.close(fd)
            log.warning("%s was written for other embedding settings: left alone", self.path)
            self.usable = False
            return
        self._fd = fd
        size = os.fstat(fd).st_size
        good = HEADER_BYTES
        while good < size:
            block = os.pread(fd, self.record_bytes * _SCAN, good)
            whole = len(block) - len(block) % self.record_bytes
            ends = False
            for at in range(0, whole, self.record_bytes):
                record = block[at:at + self.record_bytes]
                if _check(record[:-_CHECK]) != record[-_CHECK:]:
                    ends = True
                    break
                self._index_record(record[:_KEY].hex())
                self.found_tokens += int.from_bytes(record[_KEY:_KEY + _TOKENS], "little")
                good += self.record_bytes
            if ends or whole < len(block) or not block:
                break
        if good < size:
            log.info("%s: %d bytes of a torn record cut off", self.path, size - good)
            os.ftruncate(fd, good)
        self.found = self._records

    def _index_record(self, key: str) -> None:
        if self._index is None:
            self._index = RowMap(spool=self._spool)
        self._index.put(key, self, self._records)  # type: ignore[arg-type]  # read() is all a RowMap asks
        self._records += 1

    def vector(self, key: str) -> np.ndarray | None:
        """The vector of the text with this key, when the journal holds it."""
        with self._lock:
            if self._index is None or (found := self._index.get(key)) is None:
                return None
            return self.read(found[1])

    def read(self, row: int) -> np.ndarray:
        """The vector of record number row."""
        offset = HEADER_BYTES + row * self.record_bytes + _KEY + _TOKENS
        return np.frombuffer(os.pread(self._fd, 4 * self.dimension, offset), dtype=np.float32)

    def append(self, keys: Sequence[str], vectors: np.ndarray, tokens: int) -> None:
        """Add the vectors of a batch of texts (keys: their text keys; tokens: the token count of each)."""
        if not self.usable or not len(keys):
            return
        with self._lock:
            self._append(keys, vectors, tokens)

    def _append(self, keys: Sequence[str], vectors: np.ndarray, tokens: int) -> None:
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            self._write(self._header, 0)
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        count = tokens.to_bytes(_TOKENS, "little")
        parts = []
        for key, vector in zip(keys, data, strict=True):
            body = bytes.fromhex(key) + count + vector.tobytes()
            parts.append(body + _check(body))
        self._write(b"".join(parts), HEADER_BYTES + self._records * self.record_bytes)
        for key in keys:
            self._index_record(key)
        if time.monotonic() - self._synced >= SYNC_SECONDS:
            self.sync()

    def _write(self, data: bytes, offset: int) -> None:
        try:
            written = os.pwrite(self._fd, data, offset)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.path)) from exc
        if written != len(data):
            raise OSError(f"{self.path}: {written} of {len(data)} bytes written (is the disk full?)")

    def sync(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
        self._synced = time.monotonic()

    def close(self) -> None:
        """Sync what was written and let go of the file and the key map (the journal stays for the next build)."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
        if self._index is not None:
            self._index.close()
            self._index = None
