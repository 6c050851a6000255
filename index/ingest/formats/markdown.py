"""Markdown: markup removed with markdown-it-py; YAML (---) or TOML (+++) front matter read for title, date, url."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Sequence

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .extracted import Extracted, article, clean_line

_FRONT_MATTER = re.compile(
    r"\A(?:---[ \t]*\n(.*?)\n(?:---|\.\.\.)|\+\+\+[ \t]*\n(.*?)\n\+\+\+)[ \t]*(?:\n|\Z)", re.DOTALL
)  # group 1: YAML between --- lines; group 2: TOML between +++ lines
_PARSER = MarkdownIt("commonmark").enable("table")


def read_markdown(text: str) -> Extracted | str:
    """The article in a Markdown file: front matter's title, else a heading that opens the file."""
    meta, body = front_matter(text)
    title = _text(meta.get("title"))
    lines: list[str] = []
    opening: str | None = None  # a heading before any other text
    for line, is_heading in _blocks(_PARSER.parse(body)):
        if not (line := clean_line(line)):
            continue
        if is_heading and not lines and opening is None:
            opening = line
        else:
            lines.append(line)
    if opening is not None and title is None:
        title = opening
    elif opening is not None:
        lines.insert(0, opening)  # article() drops it when it repeats the title
    author = meta.get("author") or meta.get("authors")
    if isinstance(author, list):
        author = ", ".join(str(name) for name in author)
    return article(title, lines, date=meta.get("date"), url=_text(meta.get("url")), author=_text(author))


def front_matter(text: str) -> tuple[dict[str, object], str]:
    """The front matter's fields (empty when absent or unreadable) and the text after it."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    body = text[match.end():]
    try:
        fields = yaml.safe_load(match[1]) if match[1] is not None else tomllib.loads(match[2])
    except (yaml.YAMLError, tomllib.TOMLDecodeError, RecursionError):
        return {}, body
    return (fields if isinstance(fields, dict) else {}), body


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _blocks(tokens: Sequence[Token]) -> Iterator[tuple[str, bool]]:
    """(text, is a heading) for each heading, paragraph and table row; code blocks and raw HTML are dropped."""
    row: list[str] | None = None
    for i, token in enumerate(tokens):
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            yield "; ".join(cell for cell in row if cell), False
            row = None
        elif token.type == "inline":
            line = _inline(token.children or [])
            if row is not None:
                row.append(clean_line(line))
            else:
                yield line, tokens[i - 1].type == "heading_open"


def _inline(children: Sequence[Token]) -> str:
    """The words of an inline run: emphasis and links kept as their text, images and HTML tags dropped."""
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak") or (child.type == "html_inline" and child.content[:3] == "<br"):
            parts.append(" ")
    return "".join(parts)
