"""Articles in other formats than .txt: web pages, Markdown, PDF, and collections (JSON Lines, CSV).

`read_document(path, raw, settings)` returns an `Extraction` (the articles, and the rows of a collection left out)
or a one-line reason to skip the whole file; it never raises on a bad file. Each article's `text` is laid out like
citebot's .txt files, and every quote is a slice of it. What the reading libraries say about the file is kept for
it (index/ingest/reader_warnings.py), never printed raw.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

from citebot.config.settings import IngestSettings
from citebot.index.ingest.reader_warnings import reading

from .collection import read_csv, read_jsonl
from .extracted import Extracted, Extraction, SkippedRow
from .html import read_html
from .markdown import read_markdown
from .pdf import read_pdf
from .pdf_budget import PdfLimits

__all__ = ["READERS", "SUFFIXES", "Extracted", "Extraction", "SkippedRow", "read_document"]

log = logging.getLogger(__name__)

Reader = Callable[[bytes], Extraction | Extracted | str]


def _utf8(read: Callable[[str], Extraction | Extracted | str]) -> Reader:
    """A reader of UTF-8 text (a BOM allowed, newlines made "\\n") from one of decoded text."""
    def reader(raw: bytes) -> Extraction | Extracted | str:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return f"is not UTF-8 (bad byte at offset {exc.start}; save it as UTF-8)"
        return read(text.replace("\r\n", "\n").replace("\r", "\n"))
    return reader


READERS: dict[str, tuple[str, Reader]] = {
    ".html": ("a web page", read_html),
    ".htm": ("a web page", read_html),
    ".md": ("Markdown", _utf8(read_markdown)),
    ".markdown": ("Markdown", _utf8(read_markdown)),
    ".pdf": ("a PDF", read_pdf),
    ".jsonl": ("JSON Lines", _utf8(read_jsonl)),
    ".csv": ("CSV", _utf8(read_csv)),
}
"""Suffix (lower case) -> (what the format is called, its reader of the file's bytes)."""
SUFFIXES = frozenset(READERS)


def _reader(suffix: str, settings: IngestSettings) -> Reader:
    """The reader of a suffix, given the limits the settings set for its format."""
    read = READERS[suffix][1]
    if read is read_pdf:
        return partial(read_pdf, limits=PdfLimits(settings.pdf_max_decompressed_bytes, settings.pdf_max_seconds))
    return read


def read_document(path: Path, raw: bytes, settings: IngestSettings) -> Extraction | str:
    """The articles in a file of one of SUFFIXES (its bytes are raw), or a one-line reason to skip it; what the
    reading libraries say meanwhile is logged as one line naming path (see reader_warnings)."""
    suffix = path.suffix.casefold()
    if suffix not in READERS:
        return f"has no reader for {suffix or 'files without a suffix'} (readable: {', '.join(sorted(SUFFIXES))})"
    kind = READERS[suffix][0]
    if not raw.strip():
        return "is empty"
    try:
        with reading(str(path)):
            found = _reader(suffix, settings)(raw)
    except Exception as exc:  # a bad file is skipped with its reason, never fatal to the build
        log.debug("reading %s failed", path, exc_info=True)
        detail = " ".join(str(exc).split())[:200]
        return f"could not be read as {kind} ({type(exc).__name__}{': ' + detail if detail else ''})"
    if isinstance(found, str):
        return " ".join(found.split())
    return Extraction([found], []) if isinstance(found, Extracted) else found
