"""Web pages: trafilatura finds the article (no menus, banners, share prompts or related links) and its metadata."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import trafilatura
from lxml import etree

from .extracted import Extracted, article, clean_line

# Elements of trafilatura's XML body that start a line; the rest (hi, ref, lb, del) are inline.
_BLOCKS = frozenset({"p", "head", "list", "item", "quote", "table", "row", "div"})
# A code element directly in one of these is a listing; elsewhere it is inline code within a sentence.
_CODE_CONTAINERS = frozenset({"body", "div", "quote"})
# Read the page's own metadata; htmldate's extensive search would guess dates from the running text.
_DATE_PARAMS = {"extensive_search": False, "original_date": True}
_TITLE_TAG = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
MIN_WORDS = 5
"""Fewer words than this is a page of links (trafilatura's last resort returns a bare menu), not an article."""


def read_html(raw: bytes, *, fast: bool = True) -> Extracted | str:
    """The main text of a page with its title, date, canonical URL and author, or why there is none.

    fast skips trafilatura's second opinions (readability and jusText), which triple the time on a large page
    (benchmarks/format_reading.py) and changed nothing on the test pages.
    """
    try:
        page: bytes | str = raw.decode("utf-8")  # most pages; else trafilatura reads the declared charset
    except UnicodeDecodeError:
        page = raw
    found = trafilatura.bare_extraction(
        page, fast=fast, with_metadata=True, include_comments=False, include_tables=True, include_images=False,
        include_links=False, deduplicate=False, date_extraction_params=_DATE_PARAMS,
    )
    if found is None or getattr(found, "body", None) is None:
        return "no article text found in the page"
    lines = list(_lines(found.body))
    if sum(len(line.split()) for line in lines) < MIN_WORDS:
        return f"no article text found in the page (under {MIN_WORDS} words)"
    title = _opening_heading(found.body, page, found.title) or found.title
    return article(title, lines, date=found.date, url=found.url, author=found.author)


def _lines(body: etree._Element) -> Iterator[str]:
    """One string per paragraph, heading, list item or table row, in reading order."""
    buffer: list[str] = []
    yield from _walk(body, buffer)
    yield "".join(buffer)


def _walk(element: etree._Element, buffer: list[str]) -> Iterator[str]:
    for child in element:
        tag = child.tag if isinstance(child.tag, str) else ""
        listing = tag == "code" and element.tag in _CODE_CONTAINERS
        if listing and "\n" in "".join(child.itertext()).strip():
            pass  # several lines of code are not prose, and collapsed into one line they would read as nonsense
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
                buffer.append(" ")
            if tag and child.text:
                buffer.append(child.text)
            yield from _walk(child, buffer)
        if child.tail:
            buffer.append(child.tail)


def _opening_heading(body: etree._Element, page: bytes | str, title: str | None) -> str | None:
    """The h1 that opens the article, unless the title trafilatura found is in the page's <title>: that one
    can come from a dialog or a menu ("Keyboard shortcuts") when a page has several h1."""
    if not len(body) or body[0].tag != "head" or body[0].get("rend") != "h1":
        return None
    text = page if isinstance(page, str) else page[:200_000].decode("utf-8", "replace")
    match = _TITLE_TAG.search(text)
    page_title = clean_line(unescape(match[1])).casefold() if match else ""
    if title and clean_line(title).casefold() in page_title:
        return None
    return clean_line("".join(body[0].itertext())) or None
