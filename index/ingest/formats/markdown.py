"""Markdown: markup removed with markdown-it-py; YAML (---) or TOML (+++) front matter read for title, date, url.

Front matter is read within bounds: over [ingest] front_matter_max_bytes, or YAML with anchors and aliases (the
shape of an alias bomb), it is not read and the post is indexed without its fields; a field that is not a short
string (or a short list of them, for authors) is left out. Lists whose every item is only a link ("Related
stories", "Read more", a closing list of links) and paragraphs that are only links are not text: they are left
out, with a heading that introduces such a list.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Sequence

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from citebot.config.settings import IngestSettings

from .extracted import Extracted, article, clean_line

_FRONT_MATTER = re.compile(
    r"\A(?:---[ \t]*\n(.*?)\n(?:---|\.\.\.)|\+\+\+[ \t]*\n(.*?)\n\+\+\+)[ \t]*(?:\n|\Z)", re.DOTALL
)  # group 1: YAML between --- lines; group 2: TOML between +++ lines
MAX_NESTING = 64
"""Blocks nested deeper than this (lists, quotes) are read as a flat list: markdown-it would drop the rest."""
_PARSER = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING}).enable("table")
FIELD_MAX_CHARS = 300
"""A front matter field longer than this (a title, a joined author list) is left out."""
MAX_AUTHORS = 20
_CONTAINER_PREFIX = re.compile(r"^(?:[ \t]*(?:[-*+]|\d{1,9}[.)]|>)(?=[ \t]|$))+[ \t]*|^[ \t]+")
_LINK_GLUE = set(" \t,;:|/·•-–—()[].")  # what may stand between the links of a link-only line


def read_markdown(text: str, settings: IngestSettings) -> Extracted | str:
    """The article in a Markdown file: front matter's title, else a heading that opens the file."""
    meta, body = front_matter(text, settings.front_matter_max_bytes)
    title = short_text(meta.get("title"))
    lines: list[str] = []
    opening: str | None = None  # a heading before any other text
    for line, is_heading in _blocks(_parse(body)):
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
    return article(title, lines, date=_date(meta.get("date")), url=short_text(meta.get("url")),
                   author=_authors(meta.get("author") or meta.get("authors")))


class _NoAliasLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing anchors and aliases: front matter never needs them, and a few hundred bytes
    of nested aliases expand to gigabytes once read as text."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent) or getattr(self.peek_event(), "anchor", None):
            raise yaml.YAMLError("front matter with anchors or aliases is not read")
        return super().compose_node(parent, index)


def front_matter(text: str, max_bytes: int) -> tuple[dict[str, object], str]:
    """The front matter's fields (empty when absent, over max_bytes, or unreadable) and the text after it."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    body = text[match.end():]
    raw = match[1] if match[1] is not None else match[2]
    if len(raw.encode("utf-8", "replace")) > max_bytes:
        return {}, body
    try:
        fields = yaml.load(raw, Loader=_NoAliasLoader) if match[1] is not None else tomllib.loads(raw)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, RecursionError, ValueError):
        return {}, body
    return (fields if isinstance(fields, dict) else {}), body


def short_text(value: object) -> str | None:
    """value as one line when it is a string of at most FIELD_MAX_CHARS characters, else None."""
    line = clean_line(value) if isinstance(value, str) else ""
    return line if line and len(line) <= FIELD_MAX_CHARS else None


def _authors(value: object) -> str | None:
    """One author, or a list of up to MAX_AUTHORS names joined, as a short line; anything else None."""
    if isinstance(value, list):
        if len(value) > MAX_AUTHORS or not all(isinstance(name, str) for name in value):
            return None
        value = ", ".join(value)
    return short_text(value)


def _date(value: object) -> object:
    """A date as YAML or TOML gives it (a date, a datetime, or a short string), else None."""
    return value if not isinstance(value, str) else short_text(value)


def _parse(body: str) -> list[Token]:
    """markdown-it's tokens; a file nested deeper than MAX_NESTING is read again with its deep blocks flattened,
    because markdown-it drops everything after the point where it stops descending."""
    tokens = _PARSER.parse(body)
    if any(token.level >= MAX_NESTING - 1 for token in tokens):
        tokens = _PARSER.parse(_flattened(body))
    return tokens


def _flattened(body: str) -> str:
    """body with every line's indentation and list or quote markers cut to one list marker at most: each line
    keeps its words, structure goes (code fences stay fences)."""
    lines = []
    for line in body.split("\n"):
        prefix = _CONTAINER_PREFIX.match(line)
        if prefix:
            marker = prefix[0].strip()
            line = ("- " if marker and marker[-1] not in ">" else "") + line[prefix.end():]
        lines.append(line)
    return "\n".join(lines)


def _blocks(tokens: Sequence[Token]) -> Iterator[tuple[str, bool]]:
    """(text, is a heading) for each heading, paragraph and table row; code blocks, raw HTML and link lists are
    dropped."""
    dropped = _link_only(tokens)
    row: list[str] | None = None
    for i, token in enumerate(tokens):
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            yield "; ".join(cell for cell in row if cell), False
            row = None
        elif token.type == "inline" and i not in dropped:
            line = _inline(token.children or [])
            if row is not None:
                row.append(clean_line(line))
            else:
                yield line, tokens[i - 1].type == "heading_open"


def _link_only(tokens: Sequence[Token]) -> set[int]:
    """The inline tokens that are link lists: every item of a list whose items are each only links, the heading
    just before such a list, and a paragraph that is only links."""
    dropped: set[int] = set()
    for i, token in enumerate(tokens):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            end = _closing(tokens, i)
            inlines = [j for j in range(i, end) if tokens[j].type == "inline"]
            runs = [_links_in(tokens[j]) for j in inlines]
            # every item only links (nested lists too), some of them words: code-only links are an API list
            if inlines and all(run is not None for run in runs) and any(run for run in runs):
                dropped.update(inlines)
                if i >= 3 and tokens[i - 1].type == "heading_close":
                    dropped.add(i - 2)
        elif (token.type == "inline" and i and tokens[i - 1].type == "paragraph_open" and tokens[i - 1].level == 0
              and _is_links(token)):
            dropped.add(i)
    return dropped


def _closing(tokens: Sequence[Token], start: int) -> int:
    """The index of the token that closes the one opened at start."""
    depth = 0
    for j in range(start, len(tokens)):
        depth += tokens[j].nesting
        if depth == 0:
            return j
    return len(tokens)


def _is_links(token: Token) -> bool:
    """Whether an inline run is only links (with spaces and punctuation between), of words rather than code."""
    return bool(_links_in(token))


def _links_in(token: Token) -> bool | None:
    """None when an inline run holds more than links (with spaces and punctuation between), else whether one
    of its links is words rather than code."""
    inside, links, words = 0, 0, False
    for child in token.children or []:
        if child.type == "link_open":
            inside, links = inside + 1, links + 1
        elif child.type == "link_close":
            inside -= 1
        elif not inside and (child.type == "code_inline"
                             or (child.type == "text" and not set(child.content) <= _LINK_GLUE)):
            return None
        elif child.type == "text" and inside and child.content.strip():
            words = True
    return words if links else None


def _inline(children: Sequence[Token]) -> str:
    """The words of an inline run: emphasis and links kept as their text, images and HTML tags dropped."""
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak") or (child.type == "html_inline" and child.content[:3] == "<br"):
            parts.append(" ")
    return "".join(parts)
