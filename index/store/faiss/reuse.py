"""The FAISS folder's vectors of the current build, by text key, for an incremental build to copy."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from citebot.config.errors import CitebotError
from citebot.index.hashing import fd_sha256
from citebot.index.store.faiss.layout import (
    FLAT_HEADER_BYTES,
    FORMAT_VERSION,
    MANIFEST,
    SENTENCE_KEYS,
    SENTENCE_VECTORS,
    VECTOR_KEYS,
    VECTORS,
    flat_header,
)
from citebot.index.store.faiss.manifest import current_build, read_manifest

log = logging.getLogger(__name__)


def _format_of(build: Path) -> object:
    """The format a build's manifest declares, or None when it does not read as one."""
    try:
        manifest = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest.get("format") if isinstance(manifest, dict) else None


class FaissReuse:
    """The vectors of the current build, by key; opened read-only and checked against its manifest."""

    def __init__(self, build: Path, fds: list[int], dimension: int, rows: dict[str, tuple[int, int]],
                 manifest: dict[str, Any]) -> None:
        self.build = build
        self.folder: Path | None = build
        self.manifest: dict[str, Any] | None = manifest
        """The build's manifest, checked: a new build reuses its chunks and BM25 terms by it."""
        self._fds = fds
        self.dimension = dimension
        self._rows = rows

    @classmethod
    def open(cls, index_dir: Path, prefix: bytes, dimension: int) -> FaissReuse | None:
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
                    if fd_sha256(fd) != files.get(vectors) or fd_sha256(key_fd) != files.get(keys):
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
        return cls(build, fds, dimension, rows, manifest)

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
