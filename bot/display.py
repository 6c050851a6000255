"""What the bot shows of an article's own text and links, made safe to show.

Articles are other people's files: a title, a body, a file name or a URL can hold terminal control sequences
(ESC ... BEL clipboard writes, screen clears, hyperlinks), C1 controls, bidi overrides that reorder what is read,
or a URL built to end one Markdown link and start another. Stored texts and offsets stay verbatim, and JSON keeps
them as JSON escapes; what is printed to a terminal goes through printable(), and a URL is shown only when
shown_url() accepts it.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from urllib.parse import urlsplit

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")
_UNSAFE_WITH_NEWLINE = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, newlines: bool = False) -> str:
    """text with every control character (C0 but tab, DEL, C1), bidi control and line/paragraph separator shown
    as a visible escape (ESC as \\x1b, U+202E as \\u202e); newlines are kept only when newlines is True.
    Applying it twice changes nothing more."""
    return (_UNSAFE if newlines else _UNSAFE_WITH_NEWLINE).sub(_escaped, text)


_NEVER_IN_URL = re.compile(r"[\s<>\"`\\{}|^]")
_BRACKETS = {"(": "%28", ")": "%29", "[": "%5B", "]": "%5D"}


def shown_url(url: str | None) -> str | None:
    """url as it may be shown (in a terminal, or inside a Discord masked link), or None when it is not a plain
    web address: its scheme must be http or https, it must name a host, and it may hold no whitespace, control,
    quote or angle bracket (a URL like `https://a.example/x>)[Official](https://evil.example` would otherwise end
    one Markdown link and start another). Round and square brackets in its path, query and fragment are
    percent-encoded, which means the same to a web server and cannot close a link."""
    if not url or _NEVER_IN_URL.search(url) or any(unicodedata.category(ch)[0] in "CZ" for ch in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a malformed port or IPv6 literal
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "[" in parts.netloc and ":" not in host:
        return None
    rest = url[len(parts.scheme) + 3 + len(parts.netloc):]
    return url[:len(url) - len(rest)] + "".join(_BRACKETS.get(ch, ch) for ch in rest)


_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_BIDI}\u2028\u2029]")


def json_text(data: object, indent: int | None = None) -> str:
    """data as JSON for a terminal or a pipe: UTF-8 text as it is, but every character printable() escapes as a
    JSON escape (json.dumps escapes only C0 controls; C1 controls and bidi overrides would reach the terminal)."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


class PrintableLogs(logging.Filter):
    """A handler filter that shows a log line's message through printable() (newlines kept): file names and
    texts of articles in warnings cannot drive the terminal either."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        shown = printable(message, newlines=True)
        if shown != message:
            record.msg, record.args = shown, None
        return True
