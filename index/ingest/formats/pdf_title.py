"""A PDF's title: its metadata's when that names the document, else the largest text at the top of page 1.

Metadata titles are often the name of the file or of the program that made it ("paper.dvi", "Microsoft Word -
x.doc", "untitled", "root") or boilerplate ("This paper is included in the Proceedings of the"); those are not
titles. The largest text at the top of page 1 is every line, in order, in the largest size of the upper part of the
page's text, from the first such line to the last one before a smaller line: a title over two or three lines is
kept whole.
"""

from __future__ import annotations

import re
from statistics import median

from .extracted import clean_line, same_line
from .pdf_lines import Line, Segment

_FILE_OR_PROGRAM = re.compile(
    r"""^( untitled\d* | unknown | document\d* | title | slide\s*\d* | presentation\d* | paper\d*
         | microsoft\s+(word|powerpoint|excel)\s+-.* | .*\.(dvi|ps|eps|pdf|docx?|pptx?|tex|indd|odt|rtf|txt|qxd|pages|
           html?|key|wpd|xps)
         | [\w.-]+ )$                                     # one "word" with no space: a file name or slug
    """, re.IGNORECASE | re.VERBOSE)
_BOILERPLATE = re.compile(r"\b(is included in the proceedings|proceedings of the|all rights reserved|copyright"
                          r"|submitted to|permission to make digital)\b", re.IGNORECASE)
# IEEE Xplore's "Title - Venue": "Sparse partitions - Foundations of Computer Science, 1990. Proceedings., ...".
_VENUE = re.compile(r"^(?P<title>.+?)\s+-\s+.*\b(proceedings|symposium|conference|journal|transactions|workshop)\b",
                    re.IGNORECASE)
FOOTNOTE_MARKS = "*\u2217\u2020\u2021\u00a7\u00b6"
"""Marks after a title that point to a footnote (* \u2217 \u2020 \u2021 \u00a7 \u00b6): not part of it."""
_MAX_TITLE_WORDS = 40
_TOP_SHARE = 0.4
"""The top of a page: its text's upper 40 % (by baseline height between its highest and lowest line)."""
_LARGER = 1.15
"""A headline is at least this much larger than the page's usual text."""


def metadata_title(value: object) -> str | None:
    """The metadata's title when it names the document, not a file, program or boilerplate."""
    title = clean_line(value) if isinstance(value, str) else ""
    if venue := _VENUE.match(title):
        title = venue["title"]
    if not title or _FILE_OR_PROGRAM.match(title) or _BOILERPLATE.search(title):
        return None
    if not re.search(r"[^\W\d_]{2}", title) or len(title.split()) > _MAX_TITLE_WORDS:
        return None
    return title


def largest_text_on_top(page: list[Line]) -> str | None:
    """The largest text at the top of the page, when it is larger than the page's usual text."""
    lines = [line for line in page if line.text]
    if len(lines) < 2:
        return None
    highest, lowest = max(line.y for line in lines), min(line.y for line in lines)
    top = [line for line in lines if line.y >= highest - _TOP_SHARE * (highest - lowest)]
    usual = median(line.size for line in lines)
    largest = max(line.size for line in top)
    if largest < _LARGER * usual:
        return None
    run: list[Line] = []
    for line in top:
        if line.size >= 0.95 * largest:
            run.append(line)
        elif run:
            break
    title = clean_line(" ".join(line.text for line in run))
    if not re.search(r"[^\W\d_]{2}", title) or len(title.split()) > _MAX_TITLE_WORDS or _BOILERPLATE.search(title):
        return None
    return title


def title_paragraphs(title: str, found: list[list[Segment]], first_page: int = 1) -> tuple[int, int] | None:
    """Where the title is among the first paragraphs read from page first_page: (index, count), the paragraphs
    found[index:index + count] reading as the title; None when it is not there."""
    on_page = 0
    while on_page < min(len(found), 8) and all(page in (None, first_page) for page, _ in found[on_page]):
        on_page += 1
    for index in range(on_page):
        joined = ""
        for count in range(1, min(4, on_page - index) + 1):
            joined = " ".join(filter(None, (joined, "".join(piece for _, piece in found[index + count - 1]))))
            if same_line(joined, title):
                return index, count
            if len(joined) > len(title):
                break
    return None
