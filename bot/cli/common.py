"""What several commands show alike: a configured path as the user would type it, where the index lives, and the
model an index must have been built with."""

from __future__ import annotations

import os
from pathlib import Path

from citebot.config.settings import Settings


def display_path(path: Path) -> Path:
    """A configured path as the user would type it: relative to the working directory when inside it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return Path(os.path.relpath(path)) if path.is_absolute() and Path.cwd().anchor == path.anchor else path


def where(settings: Settings) -> str:
    """Where the index lives, as messages name it."""
    if settings.store.kind == "milvus":
        return f"Milvus collection {settings.store.collection!r} at {settings.store.uri}"
    return str(display_path(settings.paths.index))


def configured_model(settings: Settings) -> tuple[str, str, int | None]:
    """The model an index must have been built with (name, weights sha256, dimension if known without loading)."""
    from citebot.index.embedding.hashed import HashEmbedder

    hashed = HashEmbedder.named(settings.embedding.model)
    if hashed is not None:
        return hashed.name, hashed.weights_sha256, hashed.dimension
    return settings.embedding.model, settings.embedding.weights_sha256, None
