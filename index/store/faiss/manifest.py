"""The current build of a FAISS folder (where its `current` link points, and why not when it cannot) and its
manifest, read and its shape checked (index/store/checks.py, with this layout's format and files)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from pathlib import Path
from typing import Any

from citebot.config.errors import IndexInvalidError, IndexMissingError
from citebot.index.store.checks import display_path, find_sources_root
from citebot.index.store.checks import manifest_problem as _shape_problem
from citebot.index.store.faiss.layout import CURRENT, FORMAT_VERSION, MANIFEST, check_folder, expected_files
from citebot.index.store.hint import with_options


def rebuild_hint(index_dir: Path, manifest: dict[str, Any] | None = None) -> str:
    """How to rebuild the index in index_dir, as error messages end: a command that works when pasted, so it names
    the sources folder (from manifest, else from a build in the folder that can be read, else DIR to fill in)."""
    sources = _sources_of(index_dir, manifest)
    return with_options(f"rebuild it with: citebot index build --index {shlex.quote(str(index_dir))} "
                        f"--sources {shlex.quote(display_path(sources)) if sources else 'DIR'}")


def _sources_of(index_dir: Path, manifest: dict[str, Any] | None) -> Path | None:
    """The sources folder of manifest, or of the newest build in index_dir whose manifest reads; None if none."""
    manifests = [manifest] if manifest is not None else []
    if manifest is None and index_dir.is_dir():
        for build in sorted((p for p in index_dir.iterdir() if p.name.startswith("build-")), reverse=True):
            with contextlib.suppress(OSError, ValueError):
                manifests.append(json.loads((build / MANIFEST).read_text(encoding="utf-8")))
    for found in manifests:
        with contextlib.suppress(KeyError, TypeError, OSError):
            return find_sources_root(found, index_dir)
    return None


def _other_builds(index_dir: Path) -> str:
    builds = sorted(p.name for p in index_dir.iterdir() if p.name.startswith("build-") and p.is_dir())
    return f" ({', '.join(builds)} is still there, untouched)" if builds else ""


def current_name(index_dir: Path) -> str | None:
    """The name of the build `current` points at (one readlink), or None when there is no link."""
    try:
        return Path(os.readlink(index_dir / CURRENT)).name
    except OSError:
        return None


def current_build(index_dir: Path) -> Path:
    """The build `current` points at; an error naming what is wrong when there is none."""
    check_folder(index_dir)
    link = index_dir / CURRENT
    if not index_dir.exists() or (not link.is_symlink() and not link.exists()
                                  and not any(p.name.startswith("build-") for p in index_dir.iterdir())):
        where = "" if not index_dir.exists() else " (the folder holds no build)"
        raise IndexMissingError(f"no index in {index_dir}{where}; build one with: citebot index build "
                                f"--index {index_dir}")
    if not link.is_symlink():
        what = "is missing" if not link.exists() else "is not a link to a build"
        raise IndexInvalidError(f"the index in {index_dir} is damaged: its `{CURRENT}` link {what}"
                                f"{_other_builds(index_dir)}; {rebuild_hint(index_dir)}")
    try:
        target = link.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a link loop
        target = link
    if target.parent != index_dir.resolve() or not target.name.startswith("build-"):
        raise IndexInvalidError(f"the index in {index_dir} is damaged: `{CURRENT}` points at {os.readlink(link)}, "
                                f"not at a build of this folder; {rebuild_hint(index_dir)}")
    if not target.is_dir():
        raise IndexInvalidError(f"the index in {index_dir} is damaged: `{CURRENT}` points at {target.name}, "
                                f"which is missing{_other_builds(index_dir)}; {rebuild_hint(index_dir)}")
    return target


def manifest_problem(m: Any) -> str | None:
    """What is wrong with the shape of a manifest of this layout (or of a build staged in it), or None."""
    return _shape_problem(m, FORMAT_VERSION, expected_files)


def read_manifest(index_dir: Path, build: Path | None = None) -> dict[str, Any]:
    """The manifest of the current build (or of build), its shape checked."""
    build = build or current_build(index_dir)
    try:
        manifest = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexInvalidError(f"index manifest in {build} is unreadable ({exc}); {rebuild_hint(index_dir)}") from None
    problem = manifest_problem(manifest)
    if problem:
        raise IndexInvalidError(f"index manifest in {build} is invalid: {problem}; {rebuild_hint(index_dir)}")
    return manifest
