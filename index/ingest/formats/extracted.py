"""What a reader returns: articles laid out as citebot's .txt files, and the rows it left out."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple

# Characters that print as nothing: soft hyphen, zero-width space/joiners, word joiner, BOM.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")


@dataclass(frozen=True)
class Extracted:
    """One article read from a file.

    `text` is what the index saves and quotes from: the title on the first line (when there is one), then each
    paragraph on a line of its own, a blank line before each (the layout of the .txt articles), "\\n" newlines and a
    final newline. No line holds a newline, a tab or a run of spaces.
    """

    key: str
    """Names the article within its file: "" for a file that is one article, "row N" for a collection's row
    (JSON Lines: N is the line number; CSV: the spreadsheet row, the header being row 1)."""
    text: str
    title: str | None
    date: str | None
    """ISO 8601 date (YYYY-MM-DD) when the file gives one."""
    url: str | None
    """An absolute http(s) URL when the file gives one (a page's canonical URL)."""
    author: str | None
    pages: tuple[tuple[int, int, int], ...] = ()
    """PDF only: (page number from 1, start, end), the span of `text` read from that page."""


@dataclass(frozen=True)
class SkippedRow:
    """A row of a collection that was left out, and why."""

    key: str
    reason: str


class Extraction(NamedTuple):
    """A file's articles, and the rows of a collection left out (always empty for a single-article file)."""

    articles: list[Extracted]
    skipped: list[SkippedRow]


def clean_line(value: str) -> str:
    """value as one line: invisible characters dropped, every run of whitespace (newlines too) one space."""
    return " ".join(_CONTROL.sub(" ", value.translate(_INVISIBLE)).split())


def same_line(a: str, b: str) -> bool:
    """Whether two lines read the same (case and whitespace aside): a title repeated as the first paragraph."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def lay_out(title: str | None, paragraphs: Iterable[str]) -> tuple[str, list[int]]:
    """The article's text and where each paragraph starts in it; paragraphs must be clean_line'd and non-empty."""
    parts: list[str] = [title] if title else []
    starts: list[int] = []
    offset = len(title) if title else 0
    for paragraph in paragraphs:
        if parts:
            parts.append("\n\n")
            offset += 2
        starts.append(offset)
        parts.append(paragraph)
        offset += len(paragraph)
    parts.append("\n")
    return "".join(parts), starts


def article(title: str | None, paragraphs: Iterable[str], *, key: str = "", date: str | None = None,
            url: str | None = None, author: str | None = None) -> Extracted | str:
    """An Extracted from raw title and paragraphs (cleaned here), or why there is nothing to keep."""
    title = clean_line(title or "") or None
    lines = [line for line in map(clean_line, paragraphs) if line]
    if title and lines and same_line(title, lines[0]):
        lines = lines[1:]
    if not lines:
        return "has a title but no text" if title else "has no text"
    text, _ = lay_out(title, lines)
    return Extracted(key, text, title, iso_date(date), web_url(url), clean_line(author or "") or None)


def web_url(value: str | None) -> str | None:
    """value if it is an absolute http(s) URL (surrounding space removed), else None."""
    value = (value or "").strip()
    return value if re.match(r"https?://[^\s/]+", value, re.IGNORECASE) and not re.search(r"\s", value) else None


_DATE_FORMATS = ("%Y/%m/%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%d/%m/%Y")


def iso_date(value: object) -> str | None:
    """The ISO 8601 date (YYYY-MM-DD) that value names, or None when it names none.

    Takes ISO dates and timestamps, date objects, RFC 2822 dates, and a few written forms ("3 May 2024",
    "May 3, 2024"); an ambiguous numeric date other than YYYY/MM/DD is read day first (DD/MM/YYYY).
    """
    if isinstance(value, datetime | date):
        return (value.date() if isinstance(value, datetime) else value).isoformat()
    if not isinstance(value, str) or not (text := " ".join(value.split())):
        return None
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        pass
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(text, form).date().isoformat()
        except ValueError:
            continue
    try:
        return parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None
