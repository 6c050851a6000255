"""A PDF's text lines with their place on the page, rejoined into paragraphs that remember their pages.

pypdf gives lines in content order. A paragraph ends at a blank line, a change of font size, a gap wider than
the usual line spacing, an indented next line, or a short line ending a sentence; a page break joins a paragraph
that runs on mid-sentence. Running heads, running feet and page numbers are dropped; a word hyphenated at a line
end is rejoined (the hyphen is kept when the next part starts with a capital or a digit, or when the document
spells the word with a hyphen elsewhere and never without).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from statistics import median

from pypdf import PageObject

from .extracted import clean_line

_SENTENCE_END = re.compile(r"""[.!?:;]["'\u2019\u201d)\]]*$""")
# "12", "- 12 -", "(xii)", "Page 12", "12 of 40", "12/40": a page number alone on a line.
_PAGE_NUMBER = re.compile(
    r"^(page\s*)?[-\u2013\u2014(\[]?\s*(\d+|(?=[ivxlc])c{0,3}(xc|xl|l?x{0,3})(ix|iv|v?i{0,3}))\s*[-\u2013\u2014)\]]?"
    r"(\s*(of|/)\s*\d+)?$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_HYPHENS = "-\u2010"


@dataclass(frozen=True)
class Line:
    """One line of a page: its text (clean_line'd; "" for a blank line), position and font size."""

    text: str
    x: float
    y: float
    size: float


Segment = tuple[int | None, str]
"""A piece of a paragraph: (page number, text) for words read from a page, (None, separator) between lines."""


def page_lines(page: PageObject, check: Callable[[], None] = lambda: None) -> list[Line]:
    """The lines pypdf reads from a page, each placed where its first words are (check is called as each piece
    of text is read: it may raise to stop the reading)."""
    lines: list[Line] = []
    parts: list[str] = []
    place: tuple[float, float, float] | None = None

    def visit(text: str, cm: list[float], tm: list[float], _font: object, size: float) -> None:
        nonlocal place
        check()
        for i, part in enumerate(text.split("\n")):
            if i:
                lines.append(Line(clean_line("".join(parts)), *(place or (0.0, 0.0, 0.0))))
                parts.clear()
                place = None
            if part.strip() and place is None:
                place = _position(cm, tm, size)
            parts.append(part)

    page.extract_text(visitor_text=visit)
    lines.append(Line(clean_line("".join(parts)), *(place or (0.0, 0.0, 0.0))))
    return lines


def _position(cm: list[float], tm: list[float], size: float) -> tuple[float, float, float]:
    """Where text drawn under these matrices starts on the page, and its height in points."""
    x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
    y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
    scale = math.hypot(tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3])
    return x, y, abs(size * scale) or abs(size)


def drop_furniture(pages: list[list[Line]]) -> list[list[Line]]:
    """Pages without page numbers, running heads and running feet (lines repeated at a page's top or foot)."""
    def key(line: Line) -> str:
        return re.sub(r"\d+", "#", line.text.casefold())

    ends: list[tuple[list[Line], list[Line]]] = []
    for lines in pages:
        words = [line for line in lines if line.text]
        ends.append((words[:2], words[-2:]))
    heads = Counter(key(line) for top, _ in ends for line in set(top))
    feet = Counter(key(line) for _, foot in ends for line in set(foot))
    repeated = max(2, math.ceil(len(pages) / 2))
    kept = []
    for lines, (top, foot) in zip(pages, ends, strict=True):
        drop = {id(line) for line in top if heads[key(line)] >= repeated or _PAGE_NUMBER.match(line.text)}
        drop |= {id(line) for line in foot if feet[key(line)] >= repeated or _PAGE_NUMBER.match(line.text)}
        kept.append([line for line in lines if id(line) not in drop])
    return kept


def paragraphs(pages: list[list[Line]]) -> list[list[Segment]]:
    """The paragraphs of the pages (page numbers from 1), each a list of segments."""
    words = [line for lines in pages for line in lines if line.text]
    if not words:
        return []
    spacing = _line_spacing(pages)
    full = sorted(len(line.text) for line in words)[int(0.8 * (len(words) - 1))]
    vocabulary, hyphenated = _vocabulary(words)
    found: list[list[Segment]] = []
    previous: Line | None = None
    for number, lines in enumerate(pages, start=1):
        margin = _left_margin(lines)
        blank = True  # a new page starts like a blank line, unless the sentence runs on
        for line in lines:
            if not line.text:
                blank = True
                continue
            if previous is None or _ends_paragraph(previous, line, blank and number == _page_of(found), spacing,
                                                   full, margin) or (blank and _SENTENCE_END.search(previous.text)):
                found.append([(number, line.text)])
            else:
                _join(found[-1], number, line.text, vocabulary, hyphenated)
            previous, blank = line, False
    return found


def _page_of(found: list[list[Segment]]) -> int | None:
    """The page of the last words read so far."""
    return next((page for page, _ in reversed(found[-1]) if page is not None), None) if found else None


def _ends_paragraph(previous: Line, line: Line, blank_between: bool, spacing: float, full: int,
                    margin: float) -> bool:
    if blank_between or abs(line.size - previous.size) > 0.15 * max(line.size, previous.size, 1.0):
        return True
    gap = previous.y - line.y
    if spacing and gap > 1.4 * spacing:
        return True
    if not _SENTENCE_END.search(previous.text):
        return False
    indented = line.x > margin + 0.8 * line.size and previous.x <= margin + 0.8 * line.size
    return indented or len(previous.text) < 0.75 * full


def _line_spacing(pages: list[list[Line]]) -> float:
    """The usual distance between the baselines of consecutive lines (0 when unknown)."""
    gaps = []
    for lines in pages:
        words = [line for line in lines if line.text]
        for a, b in zip(words, words[1:], strict=False):
            if 0 < a.y - b.y < 3 * max(a.size, 1.0) and abs(a.size - b.size) < 0.5:
                gaps.append(a.y - b.y)
    return median(gaps) if gaps else 0.0


def _left_margin(lines: list[Line]) -> float:
    xs = Counter(round(line.x) for line in lines if line.text)
    return float(xs.most_common(1)[0][0]) if xs else 0.0


def _vocabulary(lines: list[Line]) -> tuple[set[str], set[str]]:
    """The words of the document written whole, and those written with a hyphen (line ends aside)."""
    whole: set[str] = set()
    hyphenated: set[str] = set()
    for line in lines:
        text = line.text[:-1] if line.text[-1] in _HYPHENS else line.text
        for word in _WORD.findall(text.casefold()):
            (hyphenated if "-" in word else whole).add(word)
    return whole, hyphenated


def _join(paragraph: list[Segment], page: int, text: str, vocabulary: set[str], hyphenated: set[str]) -> None:
    """Add a line to the paragraph it continues, undoing a hyphenation at the end of the line before."""
    last_page, last = paragraph[-1]
    separator = " "
    if last[-1] in _HYPHENS and len(last) > 1 and last[-2].isalnum() and text[0].isalnum():
        left = _WORD.findall(last[:-1].casefold())[-1:] or [""]
        right = _WORD.findall(text.casefold())[:1] or [""]
        whole = left[0].rsplit("-", 1)[-1] + right[0].split("-", 1)[0]
        keep = not text[0].islower() or (f"{left[0]}-{right[0]}" in hyphenated and whole not in vocabulary)
        separator = ""
        if not keep:
            paragraph[-1] = (last_page, last[:-1])
    elif last[-1] in "\u2014/":
        separator = ""
    if separator:
        paragraph.append((None, separator))
    paragraph.append((page, text))
