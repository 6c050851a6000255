"""The vectors of the current Milvus build by text key, for a new build to copy (index/incremental.py's keys)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from citebot.index.store.milvus.connection import collection_names, milvus_errors, scan


class MilvusReuse:
    """The vectors of a Milvus build by key, copied once into a temporary file (memory stays flat)."""

    def __init__(self, path: Path, dimension: int, rows: dict[str, int], build: str) -> None:
        self.build = build
        """The build whose vectors these are."""
        self.folder: Path | None = None  # a Milvus build keeps no chunk or term files to reuse
        self.manifest: dict[str, Any] | None = None
        self._path = path
        self.dimension = dimension
        self._rows = rows
        self._fd = os.open(path, os.O_RDONLY)

    @classmethod
    def open(cls, client: Any, base: str, dimension: int) -> MilvusReuse:
        """The vectors of the build `base`, read once from its passages and sentences."""
        handle = tempfile.NamedTemporaryFile(prefix="citebot-reuse-", suffix=".f32", delete=False)  # noqa: SIM115
        rows: dict[str, int] = {}
        try:
            with handle, milvus_errors(f"reading the vectors of {base}"):
                for name in collection_names(base)[:2]:
                    client.load_collection(name)
                    for item in scan(client, name, ["key", "vector"], batch=2000):
                        if item["key"] not in rows:
                            rows[item["key"]] = len(rows)
                            handle.write(np.asarray(item["vector"], dtype=np.float32).tobytes())
            return cls(Path(handle.name), dimension, rows, base)
        finally:
            with contextlib.suppress(OSError):
                if not rows:
                    os.unlink(handle.name)

    def vector(self, key: str) -> np.ndarray | None:
        row = self._rows.get(key)
        if row is None:
            return None
        size = self.dimension * 4
        return np.frombuffer(os.pread(self._fd, size, row * size), dtype=np.float32)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        with contextlib.suppress(OSError):
            self._path.unlink()
        self._rows = {}

