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


def text_file_name(article: Article) -> str:
    """A readable name that is unique to the text: the file's name, the row, and a digest of the text."""
    assert article.document is not None
    stem = Path(article.document.file).name + (f"-{article.document.row}" if article.document.row else "")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:80] or "article"
    return f"{safe}.{hashlib.sha256(article.text.encode('utf-8')).hexdigest()[:16]}.txt"


def save_texts(articles: tuple[Article, ...] | list[Article], index_dir: Path) -> dict[str, dict[str, Any]]:
    """Write the text of every article read from another format (once: a file of that name holds that text) and
    return what the manifest records of each: its document and its text file, relative to the index folder."""
    documents: dict[str, dict[str, Any]] = {}
    folder = index_dir / TEXTS
    for article in articles:
        if article.document is None:
            continue
        name = text_file_name(article)
        target = folder / name
        if not target.exists():
            folder.mkdir(parents=True, exist_ok=True)
            handle, partial = tempfile.mkstemp(dir=folder, prefix=".partial-", suffix=".txt")
            try:
                with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                    out.write(article.text)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(partial, target)
            finally:
                if os.path.exists(partial):
                    os.unlink(partial)
        documents[article.source] = {**article.document.to_json(), "text": f"{TEXTS}/{name}",
                                      "title": article.title}
    return documents


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
