"""The libraries that read files talk: pypdf, fontTools, trafilatura, lxml log warnings of their own, without the
file's name (a real folder of 15 papers gave 678 lines of `fontTools is required to fully parse ...`).

While a file is read inside `reading(name)`, everything those loggers say (and Python warnings) is kept for that
file instead of printed; when the read ends, the file gets one line that names it and counts what was said (INFO,
shown with --verbose; each message at DEBUG). `counting_files()` around a whole build collects the names of the
files that gave warnings, so the command can close with one count.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

log = logging.getLogger(__name__)

READER_LOGGERS = ("pypdf", "pdfminer", "fontTools", "trafilatura", "htmldate", "courlan", "justext", "lxml",
                  "readability", "charset_normalizer", "citebot.index.ingest.formats")
"""The loggers whose records, while a file is read, are the file's reader warnings (children included)."""

_MESSAGES: ContextVar[list[str] | None] = ContextVar("citebot_reader_messages", default=None)
_WARNED: ContextVar[set[str] | None] = ContextVar("citebot_warned_files", default=None)


class _Funnel(logging.Handler):
    """Keeps a warning or error for the file being read in this context; hands a record on to the root's
    handlers otherwise (a library's INFO or DEBUG line under --verbose; another thread that reads no file)."""

    def emit(self, record: logging.LogRecord) -> None:
        messages = _MESSAGES.get()
        if messages is None or record.levelno < logging.WARNING:
            logging.getLogger().callHandlers(record)
            return
        try:
            messages.append(" ".join(record.getMessage().split()))
        except Exception:  # a library's malformed log call must not fail the read
            messages.append(str(record.msg))


_FUNNEL = _Funnel(logging.DEBUG)
_lock = threading.Lock()
_readers = 0
_saved: dict[str, bool] = {}


def _install() -> None:
    """Route the reader loggers to the funnel instead of the root (first reader in)."""
    global _readers
    with _lock:
        _readers += 1
        if _readers == 1:
            for name in READER_LOGGERS:
                logger = logging.getLogger(name)
                _saved[name] = logger.propagate
                logger.addHandler(_FUNNEL)
                logger.propagate = False


def _uninstall() -> None:
    """Give the reader loggers back their own behaviour (last reader out)."""
    global _readers
    with _lock:
        _readers -= 1
        if _readers == 0:
            for name in READER_LOGGERS:
                logger = logging.getLogger(name)
                logger.removeHandler(_FUNNEL)
                logger.propagate = _saved.pop(name, True)


@contextmanager
def reading(name: str) -> Iterator[list[str]]:
    """Read one file (named name in what is shown) with its libraries' warnings kept: the list yielded holds
    them, and one INFO line names the file when there are any."""
    messages: list[str] = []
    token = _MESSAGES.set(messages)
    _install()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield messages
        messages.extend(" ".join(str(w.message).split()) for w in caught)
    finally:
        _uninstall()
        _MESSAGES.reset(token)
    if messages:
        first = messages[0] if len(messages[0]) <= 160 else messages[0][:159] + "\u2026"
        log.info("%s: %d reader warning(s), the first: %s", name, len(messages), first)
        for message in messages:
            log.debug("%s: %s", name, message)
        if (warned := _WARNED.get()) is not None:
            warned.add(name)


@contextmanager
def counting_files() -> Iterator[set[str]]:
    """The names of the files read in this context that gave reader warnings (filled as they are read)."""
    warned: set[str] = set()
    token = _WARNED.set(warned)
    try:
        yield warned
    finally:
        _WARNED.reset(token)


def summary(warned: set[str]) -> str | None:
    """The one line a command closes with when files gave reader warnings, else None."""
    if not warned:
        return None
    return f"{len(warned)} file(s) gave reader warnings; see --verbose (with --full, files read before too)"
