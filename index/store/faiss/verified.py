"""Which of a build's files a load must hash: those whose stat moved since a load last hashed them.

A load checks every file of a build against its manifest's sha256, so a damaged index fails at load instead of
answering from garbage; at an archive's size that is tens of GB read at every start. A load that hashed a file
keeps, in the build's `.verified.json`, the file's stat (device, inode, size, mtime and ctime in ns) with the
sha256 it matched, and a later load hashes only the files whose stat moved. Any write moves a file's ctime, which
no call sets back, and a copy is a new inode: either is hashed again. A file changed in the last RACY_SECONDS is
not stamped (a write in the same clock tick as the hash would leave its times as they were). When the folder
cannot be written, every load hashes every file, as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from citebot.index.hashing import file_sha256

VERIFIED = ".verified.json"
RACY_SECONDS = 2


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class VerifiedFiles:
    """The stamps of one build's files that a load hashed (read once, written back when a load added any)."""

    def __init__(self, build: Path) -> None:
        self.build = build
        self._stamps = self._read()
        self._added = False

    def _read(self) -> dict[str, Any]:
        try:
            found = json.loads((self.build / VERIFIED).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def matches(self, name: str, expected: str) -> bool:
        """Whether the build's file `name` holds the bytes of sha256 `expected` (hashed unless its stamp says so)."""
        path = self.build / name
        stat = _stat(path)
        if stat is None:
            return False
        if self._stamps.get(name) == {"stat": stat, "sha256": expected}:
            return True
        if file_sha256(path) != expected:
            return False
        if _stat(path) == stat and time.time_ns() - stat[4] >= RACY_SECONDS * 1_000_000_000:
            self._stamps[name] = {"stat": stat, "sha256": expected}
            self._added = True
        return True

    def save(self) -> None:
        """Keep the stamps a load added, replacing the file whole (a folder that cannot be written keeps none)."""
        if not self._added:
            return
        partial = self.build / f"{VERIFIED}.{os.getpid()}"
        try:
            partial.write_text(json.dumps(self._stamps), encoding="utf-8")
            os.replace(partial, self.build / VERIFIED)
        except OSError:
            with contextlib.suppress(OSError):
                partial.unlink()
