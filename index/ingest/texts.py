"""The text read from each article that is not a .txt file, kept in the index folder so every quote stays checkable:
`open(text_file).read()[start:end] == quote`. Files are named by their content and never rewritten, so a build
swapped in later, or a rollback, finds the texts its citations name."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from citebot.index.ingest.corpus import Article, Document
from citebot.index.store.protocol import SourceFile

TEXTS = "texts"
"""The folder of the texts, inside the index folder."""
_WRITTEN = re.compile(r"\.partial-[A-Za-z0-9_]+\.txt|[A-Za-z0-9._-]+\.[0-9a-f]{16}\.txt")
"""The names save_text gives the files it writes here (and their partial files)."""


def text_file_name(article: Article) -> str:
    """A readable name that is unique to the text: the file's name, the row, and a digest of the text."""
    assert article.document is not None
    return _file_name(article.text, article.document)


def _file_name(text: str, document: Document) -> str:
    stem = Path(document.file).name + (f"-{document.row}" if document.row else "")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:80] or "article"
    return f"{safe}.{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}.txt"


def save_text(text: str, document: Document, index_dir: Path, *, check: bool = False) -> str:
    """Write the text of an article read from document's file (once: a file of that name holds that text; with
    check, one that holds another text is written again); its name relative to the index folder."""
    name = _file_name(text, document)
    folder = index_dir / TEXTS
    target = folder / name
    if not target.exists() or (check and not _holds(target, text)):
        folder.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=folder, prefix=".partial-", suffix=".txt")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    return f"{TEXTS}/{name}"


def _holds(path: Path, text: str) -> bool:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read() == text
    except (OSError, UnicodeDecodeError):
        return False


def save_texts(articles: tuple[Article, ...] | list[Article], index_dir: Path) -> dict[str, dict[str, Any]]:
    """Write the text of every article read from another format (see save_text) and return what the manifest
    records of each: its document and its text file, relative to the index folder."""
    return {article.source: {**article.document.to_json(), "text": save_text(article.text, article.document, index_dir),
                             "title": article.title}
            for article in articles if article.document is not None}


def remove_unused_texts(index_dir: Path, used: set[str]) -> int:
    """Remove the texts (files named as save_text names them) that no name in used (relative to the index folder)
    names, and the partial files of interrupted writes; how many were removed. Anything else in the folder is left
    alone. Call it holding the build lock, after the switch, with the texts of every build kept."""
    folder = index_dir / TEXTS
    removed = 0
    if not folder.is_dir():
        return 0
    for entry in folder.iterdir():
        ours = _WRITTEN.fullmatch(entry.name)
        if ours and f"{TEXTS}/{entry.name}" not in used and entry.is_file() and not entry.is_symlink():
            try:
                entry.unlink()
                removed += 1
            except OSError:
                pass
    return removed


def cited_sources(manifest: dict[str, Any], root: Path, index_dir: Path,
                  display: Callable[[Path], str]) -> tuple[dict[str, str], dict[str, SourceFile]]:
    """How a loaded build names each article in its citations, and what each is checked against.

    A .txt article is cited by its file (display(root / name)); an article of another format by the text file the
    index kept of it, checked against its original file (a changed original leaves the article out, as a changed
    .txt file does).
    """
    documents = manifest.get("documents") or {}
    shown: dict[str, str] = {}
    sources: dict[str, SourceFile] = {}
    for name, digest in manifest["sources"].items():
        document = documents.get(name)
        if document is None:
            shown[name] = display(root / name)
            sources[shown[name]] = SourceFile(root / name, digest)
        else:
            text = index_dir / document["text"]
            shown[name] = display(text)
            cited = replace(Document.from_json(document), file=display(root / document["file"]))
            sources[shown[name]] = SourceFile(root / document["file"], digest, text, cited)
    return shown, sources
