"""A web page's source before and around trafilatura: what lxml would refuse, where the page breaks lines, where a
saved page came from, whether it is a redirect stub, and the log lines the parsers write."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape

from .extracted import web_url

log = logging.getLogger(__name__)

BREAK = "\ue000"
"""Written after each <br>: trafilatura keeps some as <lb/> and turns others into a newline, which in its text can
also be the source's own wrapping; this private-use character tells them apart."""
REDIRECT_MAX_WORDS = 50
"""A page that redirects (meta refresh, or a "Redirecting" heading) with fewer words than this is a stub."""
_THIRD_PARTY_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext", "readability", "lxml")
_CONTROL_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BR_TAG = re.compile(r"<br\b[^>]*>", re.IGNORECASE)
_REFRESH = re.compile(r"<meta\b[^>]*http-equiv\s*=\s*[\"']?refresh\b[^>]*>", re.IGNORECASE)
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"\s>]+)", re.IGNORECASE)
_SAVED_FROM = (
    re.compile(r"<!--\s*saved from url=\(\d+\)(\S+?)\s*-->", re.IGNORECASE),  # Chromium, Internet Explorer
    re.compile(r"Page saved with SingleFile\s[^>]*?\burl:\s*(\S+)"),  # SingleFile's header comment
    re.compile(r"<!--\s*Saved from (\S+) at \S+ using monolith"),  # monolith's
)


def decoded(raw: bytes) -> bytes | str:
    """The page as text when it is UTF-8 or UTF-16 with a byte order mark (most pages), else its bytes, for
    trafilatura to read in the charset the page declares."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    return raw


def prepared(page: bytes | str) -> bytes | str:
    """page with control characters, and references to them (`&#x1b;`, `&#7;`), as spaces (lxml refuses a
    document holding one, and trafilatura then finds nothing in the whole page), and BREAK after each <br>."""
    def replace(match: re.Match[str]) -> str:
        code = int(match[1], 16) if match[1] else int(match[2])
        bad = code < 32 and code not in (9, 10, 13) or code == 127 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF
        return " " if bad else match[0]

    if isinstance(page, bytes):  # an ASCII-compatible charset: references and controls are single bytes
        text = page.decode("latin-1")
        return _RAW_CONTROL.sub(" ", _CONTROL_REFERENCE.sub(replace, text)).encode("latin-1")
    page = _RAW_CONTROL.sub(" ", _CONTROL_REFERENCE.sub(replace, page.replace(BREAK, " ")))
    return _BR_TAG.sub(lambda match: match[0] + BREAK, page)


def saved_from(head: str) -> str | None:
    """The address a saved page came from, as its saver wrote it in a comment (Chromium and Internet Explorer's
    `<!-- saved from url=(0042)https://... -->`, SingleFile's `url: https://...`, monolith's `Saved from ...`)."""
    for pattern in _SAVED_FROM:
        if (match := pattern.search(head)) and (url := web_url(unescape(match[1]))):
            return url
    return None


def redirect_stub(head: str, lines: list[str]) -> str | None:
    """Why a page is a redirect stub (a refresh to another address, or a "Redirecting" heading, with almost
    no text), or None."""
    redirecting = [line for line in lines if line.casefold().startswith("redirect")]
    if sum(len(line.split()) for line in lines if line not in redirecting) >= REDIRECT_MAX_WORDS:
        return None
    refresh = _REFRESH.search(head)
    target = _REFRESH_URL.search(refresh[0]) if refresh else None
    if not (refresh and target) and not redirecting:
        return None
    where = f" to {unescape(target[1])}" if target else ""
    return f"is a redirect{where}, not an article (index the page it points to)"


class _Collect(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def third_party_logs() -> Iterator[list[logging.LogRecord]]:
    """The records trafilatura, htmldate, lxml and the like log meanwhile, kept from the terminal: their lines
    ("parsed tree length: 1, wrong data type or not valid HTML") name no file. They are logged at DEBUG here; the
    reader quotes the first error in its reason to skip the page. A general per-file warning funnel can take
    this one's place."""
    records: list[logging.LogRecord] = []
    handler = _Collect(records)
    loggers = [logging.getLogger(name) for name in _THIRD_PARTY_LOGGERS]
    saved = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield records
    finally:
        for logger, propagate in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.propagate = propagate
        for record in records:
            log.debug("%s: %s", record.name, record.getMessage())
