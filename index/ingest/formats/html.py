"""Web pages: trafilatura finds the article (no menus, banners, share prompts or related links) and its metadata.

Around it (page_source.py): character references to control characters (`&#x1b;`, which make lxml refuse the
whole page) are read as spaces; a redirect stub is skipped with the address it points to; a page saved by a
browser, SingleFile or monolith keeps the address it was saved from (from its comment) when the page names no
canonical URL; the log lines trafilatura and lxml write are collected rather than printed. Here: a line break
after a heading or a byline keeps it on a line of its own; lists of links only are not text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import trafilatura
from lxml import etree
from trafilatura.settings import use_config

from .extracted import Extracted, article, clean_line, web_url
from .page_source import BREAK, decoded, prepared, redirect_stub, saved_from, third_party_logs

# Elements of trafilatura's XML body that start a line; the rest (hi, ref, lb, del) are inline.
_BLOCKS = frozenset({"p", "head", "list", "item", "quote", "table", "row", "div"})
# A code element directly in one of these is a listing; elsewhere it is inline code within a sentence.
_CODE_CONTAINERS = frozenset({"body", "div", "quote"})
# Read the page's own metadata; htmldate's extensive search would guess dates from the running text.
_DATE_PARAMS = {"extensive_search": False, "original_date": True}
_TITLE_TAG = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
MIN_WORDS = 5
"""Fewer words than this is a page of links (trafilatura's last resort returns a bare menu), not an article."""
SHORT_WORDS = 60
"""A find this short is compared with trafilatura's fallback (baseline), which may find more but as one line."""
HEADING_MAX_WORDS = 12
"""A line this short before a line break, without a final full stop, is a heading or a byline, not wrapping."""

# trafilatura replaces a find under min_extracted_size characters (250) by its baseline: every text of the
# <article> or body as one paragraph, which glues a short page's heading and byline to its first paragraph.
_STRUCTURED = use_config()
_STRUCTURED.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
_FALLBACK = use_config()

_PART_BREAK = re.compile(f"{BREAK}|\n[ \t]*\n")
_WORD = re.compile(r"\w")
_SENTENCE_END = ".!?:;…\"”’)]"


def read_html(raw: bytes, *, fast: bool = True) -> Extracted | str:
    """The main text of a page with its title, date, canonical URL and author, or why there is none.

    fast skips trafilatura's second opinions (readability and jusText), which triple the time on a large page
    (benchmarks/performance/format_reading.py) and changed nothing on the test pages.
    """
    page = prepared(decoded(raw))
    head = page[:200_000] if isinstance(page, str) else page[:200_000].decode("utf-8", "replace")
    with third_party_logs() as logged:
        found = _extract(page, fast, _STRUCTURED)
        lines = list(_lines(found.body)) if found is not None and found.body is not None else []
        if _words(lines) < SHORT_WORDS:
            fallback = _extract(page, fast, _FALLBACK)
            more = list(_lines(fallback.body)) if fallback is not None and fallback.body is not None else []
            if _words(more) > 1.5 * _words(lines) + 10:
                found, lines = fallback, more
    if (stub := redirect_stub(head, lines)) is not None:
        return stub
    if found is None or found.body is None:
        errors = [record for record in logged if record.levelno >= logging.ERROR]
        said = f" (the parser said: {clean_line(errors[0].getMessage())[:120]})" if errors else ""
        return f"no article text found in the page{said}"
    if _words(lines) < MIN_WORDS:
        return f"no article text found in the page (under {MIN_WORDS} words)"
    title = _opening_heading(found.body, head, found.title) or found.title
    url = web_url(found.url) or saved_from(head)
    return article(title, lines, date=found.date, url=url, author=found.author)


def _extract(page: bytes | str, fast: bool, config: Any) -> Any:
    return trafilatura.bare_extraction(
        page, fast=fast, with_metadata=True, include_comments=False, include_tables=True, include_images=False,
        include_links=True, deduplicate=False, date_extraction_params=_DATE_PARAMS, config=config,
    )


def _words(lines: list[str]) -> int:
    return sum(len(line.split()) for line in lines)


def _lines(body: etree._Element) -> Iterator[str]:
    """One string per paragraph, heading, list item or table row, in reading order; a line break in a
    paragraph after a heading or byline, or after a full sentence, starts a line of its own."""
    buffer: list[str] = []
    for block in (*_walk(body, buffer), "".join(buffer)):
        yield from _broken(block)


def _broken(block: str) -> Iterator[str]:
    """block's lines: its parts between <br>s (or blank lines) each joined to the one before unless that one
    ends a sentence or is short (a heading, a byline) and the next starts like a new line; and the short lines
    that open a part before a plain newline (trafilatura's text for a <br> in a <div>) kept apart likewise."""
    current = ""
    for part in _PART_BREAK.split(block):
        for line in _opening_lines(part):
            if current and _ends_line(current, line):
                yield current
                current = line
            else:
                current = f"{current} {line}" if current else line
    yield current


def _opening_lines(part: str) -> list[str]:
    """part as one line, but with the short heading-like lines that open it before a newline on their own;
    other newlines are the source's wrapping."""
    segments = [" ".join(segment.split()) for segment in part.split("\n")]
    segments = [segment for segment in segments if segment]
    lines: list[str] = []
    while len(segments) > 1 and segments[0][-1] not in _SENTENCE_END and _ends_line(segments[0], segments[1]):
        lines.append(segments.pop(0))
    return [*lines, " ".join(segments)] if segments else lines


def _ends_line(line: str, following: str) -> bool:
    """Whether line stands apart from the text following it: it ends a sentence, or it is short (a heading, a
    byline) and what follows starts like a line of its own."""
    starts_line = following[0].isupper() or following[0].isdigit() or following[0] in "\"“‘('"
    return line[-1] in _SENTENCE_END or (len(line.split()) <= HEADING_MAX_WORDS and starts_line)


def _walk(element: etree._Element, buffer: list[str]) -> Iterator[str]:
    children = list(element)
    for i, child in enumerate(children):
        tag = child.tag if isinstance(child.tag, str) else ""
        listing = tag == "code" and element.tag in _CODE_CONTAINERS
        following = children[i + 1] if i + 1 < len(children) else None
        if listing and "\n" in "".join(child.itertext()).strip():
            pass  # several lines of code are not prose, and collapsed into one line they would read as nonsense
        elif _link_only(child) or (tag == "head" and following is not None and _link_only(following)
                                   and following.tag == "list") or (element.tag == "body"
                                                                    and _empty_heading(child, following)):
            pass  # a list of links ("Related stories", a table of contents, "Read more"), its heading, or a
            # heading left over nothing once trafilatura dropped such a list
        elif tag in _BLOCKS or listing:
            yield "".join(buffer)
            buffer.clear()
            if child.text:
                buffer.append(child.text)
            yield from _walk(child, buffer)
            yield "".join(buffer)
            buffer.clear()
        else:
            if tag == "cell" and "".join(buffer).strip():
                buffer.append("; ")  # cells of a row read as one line
            elif tag == "lb":
                buffer.append(" ")  # the BREAK written after the <br> follows
            if tag and child.text:
                buffer.append(child.text)
            yield from _walk(child, buffer)
        if child.tail:
            buffer.append(child.tail)


def _link_only(element: etree._Element) -> bool:
    """Whether a list (nested lists and all) or a paragraph holds nothing but links, with spaces or punctuation
    between them."""
    if element.tag not in ("list", "p", "item"):
        return False
    refs = [ref for ref in element.iter("ref") if ref.get("target")]  # a ref without one is an anchor
    in_links = sum(len(_WORD.findall("".join(ref.itertext()))) for ref in refs)
    return in_links > 0 and in_links == len(_WORD.findall("".join(element.itertext())))


def _empty_heading(element: etree._Element, following: etree._Element | None) -> bool:
    """Whether element is a heading over nothing: the last of the article, or followed by a heading of its rank
    or above (what it headed, a list of related links, was dropped)."""
    if element.tag != "head":
        return False
    if following is None:
        return True
    return following.tag == "head" and _rank(following) <= _rank(element)


def _rank(head: etree._Element) -> int:
    rend = head.get("rend") or ""
    return int(rend[1]) if len(rend) == 2 and rend[0] == "h" and rend[1].isdigit() else 9


def _opening_heading(body: etree._Element, head: str, title: str | None) -> str | None:
    """The h1 that opens the article, unless the title trafilatura found is in the page's <title>: that one
    can come from a dialog or a menu ("Keyboard shortcuts") when a page has several h1."""
    if not len(body) or body[0].tag != "head" or body[0].get("rend") != "h1":
        return None
    match = _TITLE_TAG.search(head)
    page_title = clean_line(unescape(match[1])).casefold() if match else ""
    if title and clean_line(title).casefold() in page_title:
        return None
    return clean_line("".join(body[0].itertext()).replace(BREAK, " ")) or None
