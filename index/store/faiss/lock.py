"""One build per FAISS folder at a time, and what killed builds leave behind (partial builds, temporary links).

The lock is an flock() on the folder's .lock file: the kernel releases it when its process dies, so a killed build
never leaves it stuck. Milvus stages its builds in a folder of its own and takes the same lock there.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from citebot.config.errors import IndexBusyError, IndexInvalidError
from citebot.index.store.faiss.layout import CURRENT, LOCK, check_folder
from citebot.index.store.faiss.ownership import check_own_folder, own_build, own_link
from citebot.index.store.protocol import Leftover

_held: dict[tuple[Path, int], int] = {}
"""Locks this process holds: (folder, thread) -> depth."""
_held_guard = threading.Lock()
PROBE_GRACE_SECONDS = 0.5
"""How long a build retries the lock before calling the folder busy: `build_running` (index status, the
bot's reload check) takes it shared for an instant, and a build starting at that instant must not refuse."""


def _lock_holder(handle: Any) -> str:
    handle.seek(0)
    holder = handle.read().strip()
    return f" ({holder})" if holder else ""


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[list[Leftover]]:
    """Hold the index folder's build lock, or raise IndexBusyError at once if another build holds it.

    An flock(): the kernel releases it when its process dies, so a killed build never leaves it stuck.
    Re-entrant within a process. Taking it removes the leftovers of killed builds (and yields them); a
    folder this build created is removed again if the build fails before writing anything. A folder holding
    files citebot did not write is refused before anything is written in it (ownership.py).
    """
    check_folder(index_dir)
    key = (index_dir.resolve(), threading.get_ident())
    with _held_guard:
        if key in _held:
            _held[key] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield []
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    check_own_folder(index_dir)
    created = not index_dir.exists()
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = open(index_dir / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - held across the yield
    try:
        _take_exclusive(handle, index_dir)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n")
        handle.flush()
        with _held_guard:
            _held[key] = 1
        removed = _remove(leftovers(index_dir))
        try:
            yield removed
        except BaseException:
            if created and [p.name for p in index_dir.iterdir()] == [LOCK]:
                shutil.rmtree(index_dir, ignore_errors=True)
            raise
        finally:
            with _held_guard:
                del _held[key]
    finally:
        handle.close()  # closing releases the flock


def _take_exclusive(handle: Any, index_dir: Path) -> None:
    """flock the handle exclusively, retrying for PROBE_GRACE_SECONDS, or raise IndexBusyError."""
    deadline = time.monotonic() + PROBE_GRACE_SECONDS
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise IndexBusyError(
                    f"another build is writing to {index_dir}{_lock_holder(handle)}; wait for it to finish "
                    "and run the command again") from None
            time.sleep(0.01)


def build_running(index_dir: Path) -> bool:
    """True when a build holds the folder's lock now."""
    if (index_dir.resolve(), threading.get_ident()) in _held:
        return True
    if not (index_dir / LOCK).is_file():
        return False
    with open(index_dir / LOCK, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)  # released when the file closes
        except BlockingIOError:
            return True
    return False


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*"))


def _orphan_builds(index_dir: Path) -> list[Path]:
    """Complete builds that `current` does not name (a build whose switch failed, or was killed between its rename
    and the switch). Only while `current` names a build that is there: otherwise the builds are the damaged
    index's last good data (see manifest.current_build), never a leftover."""
    try:
        current = os.readlink(index_dir / CURRENT)
    except OSError:
        return []
    if "/" in current or not current.startswith("build-") or not (index_dir / current).is_dir():
        return []
    return [p for p in index_dir.iterdir() if p.name.startswith("build-") and p.name != current and own_build(p)]


def leftovers(index_dir: Path) -> list[Leftover]:
    """What interrupted builds left in an index folder: partial builds, temporary links, and complete builds that
    were never switched in; only what citebot can prove it wrote (ownership.py), never the user's own entries."""
    if not index_dir.is_dir():
        return []
    found = [p for p in index_dir.iterdir()
             if (p.name.startswith(".build-") and own_build(p)) or (p.name.startswith(f".{CURRENT}.") and own_link(p))]
    return [Leftover(p, _size(p)) for p in sorted(found + _orphan_builds(index_dir))]


def remove_leftovers(index_dir: Path) -> list[Leftover]:
    """Remove the leftovers of interrupted builds unless a build is running or the folder cannot be written (a
    read-only index); returns what was removed."""
    if not index_dir.is_dir() or (index_dir.resolve(), threading.get_ident()) in _held:
        return []
    try:
        with build_lock(index_dir) as removed:
            return removed
    except (IndexBusyError, OSError):  # OSError: no .lock can be opened for writing (read-only, not ours)
        return []
    except IndexInvalidError:  # the folder holds the user's files: nothing is taken from it
        return []


def _remove(found: list[Leftover]) -> list[Leftover]:
    """Remove what was found; returns what is gone."""
    for leftover in found:
        if leftover.path.is_dir() and not leftover.path.is_symlink():
            shutil.rmtree(leftover.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                leftover.path.unlink(missing_ok=True)
    return [leftover for leftover in found if not os.path.lexists(leftover.path)]
