"""What in an index folder citebot wrote, and can prove it wrote: nothing else is ever removed, and a folder holding
the user's own files is refused before anything is written in it.

The proofs, entry by entry:

    .lock                       a file holding nothing or `pid N, since <time> UTC` (what the build lock writes)
    build-<id>/, .build-<id>.partial/
                                a folder holding BUILD_MARKER, which names <id> (written first by every build);
                                a complete build from before the marker: a manifest of this layout's shape
    current, .current.<id>      a symbolic link to a build-… name (`.current.<id>` to build-<id> exactly)
    .vectors-<16 hex>.journal   a regular file beginning with JOURNAL_MAGIC: the vectors an unfinished build
                                computed (index/vector_journal.py); never a leftover, it is what the next build
                                resumes from, and the build that commits removes it

A folder is citebot's when it does not exist, is empty, holds citebot's `.lock`, or (an index built before the
lock said so) its `current` links to a build with a manifest. Anything else is the user's folder: a build refuses
it in one line that names what is there. Inside citebot's folder, entries without a proof are left alone.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from citebot.config.errors import IndexInvalidError
from citebot.index.store.faiss.layout import CURRENT, LOCK, MANIFEST

BUILD_MARKER = ".citebot-build"
"""Inside every build folder: `citebot build <id>`, written before anything else of the build."""
JOURNAL_MAGIC = b"citebot vector journal 1\n"
"""The first bytes of every vector journal (index/vector_journal.py)."""
_JOURNAL = re.compile(r"\.vectors-[0-9a-f]{16}\.journal")
_LOCK_TEXT = re.compile(r"(pid \d+, since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n)?")
_BUILD = re.compile(r"build-(?P<id>[^/]+)|\.build-(?P<partial>[^/]+)\.partial")
_SHOWN = 3
"""Entries named in the refusal; the rest are counted."""


def mark_build(folder: Path, build_id: str) -> None:
    """Write the proof that citebot made folder (a build's, named for build_id)."""
    (folder / BUILD_MARKER).write_text(f"citebot build {build_id}\n", encoding="utf-8")


def _read_small(path: Path, limit: int = 256) -> str | None:
    """The text of a small regular file, or None (not a regular file, too long, unreadable)."""
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > limit:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _has_manifest(folder: Path) -> bool:
    """A manifest of this layout's shape in folder (a complete build written before BUILD_MARKER existed)."""
    from citebot.index.store.faiss.manifest import manifest_problem

    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return manifest_problem(manifest) is None


def own_build(path: Path) -> bool:
    """Whether path is a build folder (complete or partial) that citebot wrote."""
    match = _BUILD.fullmatch(path.name)
    if match is None or path.is_symlink() or not path.is_dir():
        return False
    build_id = match["id"] or match["partial"]
    if _read_small(path / BUILD_MARKER) == f"citebot build {build_id}\n":
        return True
    return match["id"] is not None and _has_manifest(path)


def own_link(path: Path) -> bool:
    """Whether path is `current` or a `.current.<id>` link that citebot made (pointing at a build's name)."""
    try:
        target = os.readlink(path)
    except OSError:
        return False
    if path.name == CURRENT:
        return target.startswith("build-") and "/" not in target
    return path.name.startswith(f".{CURRENT}.") and target == "build-" + path.name[len(CURRENT) + 2:]


def own_journal(path: Path) -> bool:
    """Whether path is a vector journal citebot wrote: its name, a regular file, and its first bytes."""
    if _JOURNAL.fullmatch(path.name) is None or path.is_symlink() or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(len(JOURNAL_MAGIC)) == JOURNAL_MAGIC
    except OSError:
        return False


def own_lock(path: Path) -> bool:
    """Whether path is the build lock's file (what it holds is all the lock ever writes)."""
    text = _read_small(path)
    return text is not None and _LOCK_TEXT.fullmatch(text) is not None


def _built_before_the_lock(index_dir: Path) -> bool:
    """An index folder whose `current` links to a build with a manifest (its .lock may have been lost in a copy)."""
    link = index_dir / CURRENT
    return own_link(link) and _has_manifest(index_dir / os.readlink(link))


def foreign_entries(index_dir: Path) -> list[str]:
    """The names in index_dir when it is not citebot's folder (sorted); [] when it is, or does not exist."""
    if not index_dir.is_dir():
        return []
    names = sorted(entry.name for entry in index_dir.iterdir())
    lock = index_dir / LOCK
    if not names or (own_lock(lock) and (lock.stat().st_size > 0 or names == [LOCK])):
        return _clobbered(index_dir)
    if _built_before_the_lock(index_dir) and (LOCK not in names or own_lock(lock)):
        return _clobbered(index_dir)
    return names


def _clobbered(index_dir: Path) -> list[str]:
    """In citebot's folder, the names a build would write over that are not citebot's: a `current` not a link."""
    current = index_dir / CURRENT
    return [CURRENT] if os.path.lexists(current) and not current.is_symlink() else []


def check_own_folder(index_dir: Path, suggestion: str | None = None) -> None:
    """Raise IndexInvalidError, naming what is there, when index_dir holds entries citebot did not write.

    suggestion: what to run instead (default: a new folder inside it)."""
    foreign = foreign_entries(index_dir)
    if not foreign:
        return
    shown = ", ".join(foreign[:_SHOWN]) + (f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else "")
    instead = suggestion or f"give --index a new folder, for example --index {index_dir / 'citebot-index'}"
    raise IndexInvalidError(f"--index {index_dir} holds files citebot did not write ({shown}), and an index needs "
                            f"a folder of its own; {instead}")


def _shown(path: Path) -> str:
    """A resolved path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _inside(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_apart(sources: Path, index_dir: Path) -> None:
    """Raise IndexInvalidError when the index folder is inside the sources folder or the reverse: the index's own
    files would be read as articles, and the index would grow with every rebuild."""
    real_sources, real_index = sources.resolve(), index_dir.resolve()
    if _inside(real_index, real_sources):
        what = (f"--index {index_dir} is the --sources folder itself" if real_index == real_sources
                else f"--index {index_dir} is inside --sources {sources}")
        outer = real_sources
    elif _inside(real_sources, real_index):
        what, outer = f"--sources {sources} is inside --index {index_dir}", real_index
    else:
        return
    suggestion = outer.parent / f"{real_sources.name or 'articles'}-index"
    if _inside(suggestion, real_sources) or _inside(real_sources, suggestion) or foreign_entries(suggestion):
        target = "DIR"  # no folder beside them fits: the user names one
    else:
        target = _shown(suggestion)
    raise IndexInvalidError(f"{what}, so the index would read its own files as articles; keep them apart: "
                            f"citebot index build --sources {sources} --index {target}")


def check_build_target(sources: Path, index_dir: Path) -> None:
    """Before a build writes anything: the index folder apart from the sources, and citebot's own (or new)."""
    check_apart(sources, index_dir)
    check_own_folder(index_dir, f"build into a new folder: citebot index build --sources {sources} --index "
                                f"{_shown(index_dir.resolve() / 'citebot-index')}")
