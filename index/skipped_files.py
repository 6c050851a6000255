"""The files a build skipped, remembered by size and modification time, so that `index status` does not call an
unchanged skipped file new (it reads no file: a skipped file may be huge, a FIFO or a link out of the folder)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from citebot.index.ingest.corpus import Skipped

SKIPPED_FILES = "skipped_files"
"""The manifest's key: {name relative to the sources folder: [size, modification time in ns]}."""


def stamp(path: Path) -> list[int] | None:
    """[size, mtime_ns] of path (of what a link points at, else of the link itself), or None when it is gone."""
    for follow in (True, False):
        try:
            info = os.stat(path, follow_symlinks=follow)
        except (OSError, ValueError):
            continue
        return [info.st_size, info.st_mtime_ns]
    return None


def skipped_stamps(sources: Path, skipped: Iterable[Skipped]) -> dict[str, list[int]]:
    """What the manifest keeps of each skipped file (a row of a collection is not a file, and is left out)."""
    stamps = {}
    for item in skipped:
        found = stamp(sources / item.path) if "#" not in item.path else None
        if found is not None:
            stamps[item.path] = found
    return stamps


def still_skipped(manifest: dict[str, Any], root: Path) -> set[str]:
    """The files the build skipped that are unchanged since (same size and modification time)."""
    stamps = manifest.get(SKIPPED_FILES)
    if not isinstance(stamps, dict):
        return set()
    return {name for name, then in stamps.items() if isinstance(name, str) and stamp(root / name) == then}
