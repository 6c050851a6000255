"""sha256 of files, read in blocks (hashlib releases the GIL, so this can run beside other work in a thread)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fd_sha256(fd: int) -> str:
    """sha256 of an open file's bytes, read with pread (the descriptor's offset is left alone)."""
    digest = hashlib.sha256()
    offset = 0
    while block := os.pread(fd, 1 << 20, offset):
        digest.update(block)
        offset += len(block)
    return digest.hexdigest()
