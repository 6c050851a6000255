"""Hints that print a command the user can paste: the same command at the index they probably meant, or the build
that makes the index they named."""

from __future__ import annotations

import argparse
import difflib
import shlex
from pathlib import Path

from citebot.bot.cli.common import display_path
from citebot.config.settings import Settings

MOST_FOLDERS_LOOKED_AT = 500
"""A parent folder with more entries than this is not searched for a near index name (a home folder on NFS)."""


def holds_index(folder: Path) -> bool:
    """Whether folder is a FAISS index folder with a current build (one readlink, nothing read)."""
    from citebot.index.store.faiss.manifest import current_name

    return current_name(folder) is not None


def index_missing(settings: Settings) -> bool:
    """Whether the configured FAISS index folder is absent or empty: a typo, or an index never built (a folder
    that exists with anything in it is left to the store's own, more precise, message)."""
    folder = settings.paths.index
    if settings.store.kind != "faiss":
        return False
    try:
        return not folder.exists() or (folder.is_dir() and not any(folder.iterdir()))
    except OSError:
        return False


def nearby_index(folder: Path) -> Path | None:
    """An index folder beside folder whose name is close to folder's (articles-idx -> articles-index), or None."""
    parent = folder.parent
    try:
        entries = []
        for entry in parent.iterdir():
            entries.append(entry)
            if len(entries) > MOST_FOLDERS_LOOKED_AT:
                return None
    except OSError:
        return None
    names = {entry.name: entry for entry in entries if entry.name != folder.name and entry.is_dir()}
    for name in difflib.get_close_matches(folder.name, list(names), n=3, cutoff=0.6):
        if holds_index(names[name]):
            return names[name]
    return None


def likely_sources(settings: Settings) -> Path | None:
    """The folder an index named NAME-index (or NAME_index, NAME.index) is most likely built from: NAME beside it,
    when that is a folder."""
    folder = settings.paths.index
    for suffix in ("-index", "_index", ".index", "-idx"):
        if folder.name.endswith(suffix) and len(folder.name) > len(suffix):
            candidate = folder.with_name(folder.name[:-len(suffix)])
            if candidate.is_dir():
                return candidate
    return None


def with_index(args: argparse.Namespace, index: Path) -> str:
    """The command the user ran, as typed, with --index pointing at index instead."""
    argv = list(getattr(args, "argv", None) or [])
    out: list[str] = []
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word == "--index":
            skip = True
            continue
        if word.startswith("--index="):
            continue
        out.append(word)
    return shlex.join(["citebot", *out, "--index", str(display_path(index))])


def did_you_mean(args: argparse.Namespace, settings: Settings) -> str | None:
    """'did you mean X? run: ...' for an index folder that is missing while one with a close name exists."""
    near = nearby_index(settings.paths.index) if index_missing(settings) else None
    if near is None:
        return None
    return f"did you mean {display_path(near)}? run: {with_index(args, near)}"
