"""Articles in other formats than .txt: web pages, Markdown, PDF, and collections (JSON Lines, CSV).

`read_document(path, raw, settings)` returns an `Extraction` (the articles, and the rows of a collection left out) or a
one-line reason to skip the whole file; it never raises on a bad file. Each article's `text` is laid out like
citebot's .txt files, and every quote is a slice of it. What the reading libraries say about the file is kept for
it (index/ingest/reader_warnings.py), never printed raw.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

from citebot.config.settings import DEFAULT_CONFIG, IngestSettings, load_settings
from citebot.index.ingest.reader_warnings import reading

from .collection import read_csv, read_jsonl
from .extracted import Extracted, Extraction, SkippedRow
from .html import read_html
from .markdown import read_markdown
from .pdf import read_pdf
from .pdf_budget import PdfLimits

__all__ = ["READERS", "SUFFIXES", "Extracted", "Extraction", "SkippedRow", "read_document"]

log = logging.getLogger(__name__)

Reader = Callable[[bytes, IngestSettings], Extraction | Extracted | str]


def _utf8(read: Callable[[str, IngestSettings], Extraction | Extracted | str]) -> Reader:
    """A reader of UTF-8 text (a BOM allowed, newlines made "\\n") from one of decoded text."""
    def reader(raw: bytes, settings: IngestSettings) -> Extraction | Extracted | str:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return f"is not UTF-8 (bad byte at offset {exc.start}; save it as UTF-8)"
        return read(text.replace("\r\n", "\n").replace("\r", "\n"), settings)
    return reader


def _bytes(read: Callable[[bytes], Extraction | Extracted | str]) -> Reader:
    """A reader of a file's bytes that needs no settings."""
    return lambda raw, settings: read(raw)


def _pdf(raw: bytes, settings: IngestSettings) -> Extraction | Extracted | str:
    """A PDF, read within the allowance [ingest] sets (pdf_budget.py)."""
    return read_pdf(raw, limits=PdfLimits(settings.pdf_max_decompressed_bytes, settings.pdf_max_seconds))


@cache
def default_settings() -> IngestSettings:
    """[ingest] as config/default.toml sets it, for callers that pass no settings."""
    return load_settings(DEFAULT_CONFIG).ingest


READERS: dict[str, tuple[str, Reader]] = {
    ".html": ("a web page", _bytes(read_html)),
    ".htm": ("a web page", _bytes(read_html)),
    ".md": ("Markdown", _utf8(read_markdown)),
    ".markdown": ("Markdown", _utf8(read_markdown)),
    ".pdf": ("a PDF", _pdf),
    ".jsonl": ("JSON Lines", _utf8(read_jsonl)),
    ".csv": ("CSV", _utf8(read_csv)),
}
"""Suffix (lower case) -> (what the format is called, its reader of the file's bytes)."""
SUFFIXES = frozenset(READERS)


def read_document(path: Path, raw: bytes, settings: IngestSettings | None = None) -> Extraction | str:
    """The articles in a file of one of SUFFIXES (its bytes are raw), or a one-line reason to skip it; settings
    ([ingest]: collection columns, front matter and PDF limits) default to config/default.toml's; what the reading
    libraries say meanwhile is logged as one line naming path (see reader_warnings)."""
    suffix = path.suffix.casefold()
    if suffix not in READERS:
        return f"has no reader for {suffix or 'files without a suffix'} (readable: {', '.join(sorted(SUFFIXES))})"
    kind, read = READERS[suffix]
    if not raw.strip():
        return "is empty"
    try:
        with reading(str(path)):
            found = read(raw, settings or default_settings())
    except Exception as exc:  # a bad file is skipped with its reason, never fatal to the build
        log.debug("reading %s failed", path, exc_info=True)
        detail = " ".join(str(exc).split())[:200]
        return f"could not be read as {kind} ({type(exc).__name__}{': ' + detail if detail else ''})"
    if isinstance(found, str):
        return " ".join(found.split())
    return Extraction([found], []) if isinstance(found, Extracted) else found
