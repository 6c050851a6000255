"""Before a passage is cited: its source must still be the file the index was built from, and the
passage must still be that file's text at its offsets.

A long-running process (`citebot chat`, the Discord bot) checks each source it is about to cite: its
size and times first (one stat), its sha256 only when those moved. A changed or removed source's passages
are left out, with one warning per change, exactly as a fresh process leaves them out.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from citebot.config.settings import IngestSettings
from citebot.index.chunking import Chunk
from citebot.index.ingest.bounded import NotRegular, read_bounded
from citebot.index.ingest.corpus import outside_link
from citebot.index.ingest.texts import CitedSources
from citebot.index.store.protocol import SourceFile
from citebot.retrieval.citations import LeftOut

log = logging.getLogger(__name__)

TEXTS_KEPT = 256
"""Source texts kept in memory for verifying passages (the most recently cited)."""

WARN_EACH = 5
"""Up to this many stale sources are named one by one when a process starts; more get one warning."""

STORED_TEXT_FACTOR = 4
"""A text the index kept of an article read from another format may be this many times [ingest] max_file_bytes:
the text of a compressed PDF can outgrow its file."""

Stamp = tuple[int, int, int, int, int]


RACY_NS = 2_000_000_000
"""A file changed this recently may change again within the same clock tick: its stamp is not trusted."""

CHANGED = "changed since the index was built"
REMOVED = "was removed since the index was built"


def _stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def _trusted(stamp: Stamp | None, after: Stamp | None) -> Stamp | None:
    """The stamp to remember after reading a file: none when it moved while read or is too recent."""
    if stamp is None or after != stamp or time.time_ns() - max(stamp[1], stamp[2]) < RACY_NS:
        return None
    return stamp


@dataclass(frozen=True)
class CheckBounds:
    """What checking a source may read: what a build would read of it and no more. Regular files only (a FIFO or
    a device is refused by its stat, never opened for reading), at most [ingest] max_file_bytes, and a link out of
    the sources folder refused unless [ingest] allow_links_outside, checked again at every read."""

    root: Path
    """The sources folder."""
    max_file_bytes: int
    allow_links_outside: bool

    @cached_property
    def real_root(self) -> Path:
        """The sources folder with its links resolved (once: a check of every source at load asks for it)."""
        return self.root.resolve()

    @classmethod
    def of(cls, ingest: IngestSettings, root: Path) -> CheckBounds:
        return cls(root, ingest.max_file_bytes, ingest.allow_links_outside)

    def read_source(self, path: Path) -> bytes:
        """A source's bytes; NotRegular (with its reason) for what a build would not read, OSError otherwise."""
        if not self.allow_links_outside and (outside := outside_link(path, self.root, self.real_root)) is not None:
            raise NotRegular(outside.reason)
        return read_bounded(path, self.max_file_bytes)

    def read_stored_text(self, path: Path) -> str | None:
        """The text the index kept of an article as open(path).read() gives it, or None when it cannot be read."""
        try:
            return _universal(read_bounded(path, STORED_TEXT_FACTOR * self.max_file_bytes))
        except (OSError, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class _State:
    stamp: Stamp | None
    fresh: bool
    why: str = ""
    """Why the source is not fresh ("changed since the index was built"), empty when it is."""


@dataclass(frozen=True)
class _Examined:
    """What one check of a source found (made without the lock held)."""

    state: _State
    text: str | None
    digest: tuple[Stamp, str] | None
    """The file's sha256 at a trusted stamp, to reuse for the other rows of the same collection file."""


class SourceWatcher:
    """Knows which sources still match the build; safe to share between threads. A source is read outside the
    lock, within bounds (CheckBounds), so a check never blocks another question for long."""

    def __init__(self, sources: Mapping[str, SourceFile], bounds: CheckBounds,
                 rebuild_hint: str = "citebot index build") -> None:
        self._sources = sources if isinstance(sources, CitedSources) else CitedSources(dict(sources))
        self._units = self._sources.units()
        """What is checked, once each: a file, or a collection for all its rows (states and texts are by unit)."""
        self._bounds = bounds
        self._digests: dict[Path, tuple[Stamp, str]] = {}
        """A file's sha256 at a trusted stamp: the rows of one collection file are hashed once."""
        self._hint = rebuild_hint
        self._states: dict[str, _State] = {}
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._warned: set[str] = set()
        """The user's files warned about (a collection's rows share their file's warning)."""
        self._bad_passages: set[str] = set()
        self._lock = threading.Lock()

    def shown(self, source: str) -> str:
        """The user's file a source was read from, as the user names it: a .txt source itself, for another format
        its original file (not the text the index kept of it)."""
        file = self._units.get(self._sources.unit(source))
        return file.document.file if file is not None and file.document is not None else source

    def check_all(self) -> set[str]:
        """Check every source now (hashing each, a collection once for all its rows); the fresh ones. Many stale
        files get one warning."""
        fresh = {source for source in self._units if self._refresh(source, warn=False).fresh}
        stale: dict[str, str] = {}
        for source in sorted(set(self._units) - fresh):
            stale.setdefault(self.shown(source), self._why(source))
        if stale and not fresh and not self._bounds.root.is_dir():
            log.warning("the sources folder %s is not there (moved or deleted?): every article is left out until "
                        "you rebuild from where the articles are now: %s", self._bounds.root, self._rebuild())
        elif len(stale) > WARN_EACH:
            names = sorted(stale)
            log.warning("%d sources changed or were removed since the index was built (%s, ...); their passages "
                        "are left out until you run: %s", len(names), ", ".join(names[:3]), self._rebuild())
        else:
            for name, why in sorted(stale.items()):
                self._warn(name, why)
        return fresh

    def is_fresh(self, source: str) -> bool:
        """True when source's file is still the one the index was built from."""
        unit = self._sources.unit(source)
        return unit in self._units and self._refresh(unit, warn=True).fresh

    def _refresh(self, source: str, warn: bool) -> _State:
        """source's (a unit's) state, checked again when its stamp moved since the last check."""
        file = self._units[source]
        stamp = _stamp(file.path)
        with self._lock:
            state = self._states.get(source)
            if state is not None and stamp is not None and state.stamp == stamp:
                return state
            known = self._digests.get(file.path)
        return self._record(source, self._examine(file, stamp, known), warn).state

    def _examine(self, file: SourceFile, stamp: Stamp | None, known: tuple[Stamp, str] | None) -> _Examined:
        """Read and hash a source (within bounds) and, when it is unchanged, the text its passages are offsets of."""
        if stamp is None:
            return _Examined(_State(None, False, REMOVED), None, None)
        raw = None
        if known is not None and known[0] == stamp and file.text is not None:
            actual = known[1]  # another row of the same collection file, hashed at this very stamp
        else:
            try:
                raw = self._bounds.read_source(file.path)
            except NotRegular as exc:
                return _Examined(_State(None, False, exc.reason), None, None)
            except OSError as exc:
                return _Examined(_State(None, False, f"cannot be read ({exc.strerror or exc})"), None, None)
            actual = hashlib.sha256(raw).hexdigest()
        trusted = _trusted(stamp, _stamp(file.path))
        digest = (trusted, actual) if trusted is not None else None
        if actual != file.sha256:
            return _Examined(_State(trusted, False, CHANGED), None, digest)
        if file.text is not None:
            text = self._bounds.read_stored_text(file.text)
            why = "" if text is not None else f"has no readable text in the index ({file.text.name})"
        else:  # universal newlines, as open(source).read() gives: the text citations are offsets into
            text = _universal(raw or b"")
            why = ""
        return _Examined(_State(trusted, text is not None, why), text, digest)

    def _record(self, source: str, found: _Examined, warn: bool) -> _Examined:
        name = self.shown(source)
        with self._lock:
            self._states[source] = found.state  # no trusted stamp kept: checked again next time
            self._texts.pop(source, None)
            if found.text is not None:
                self._remember(source, found.text)
            if found.digest is not None:
                self._digests[self._units[source].path] = found.digest
            news = not found.state.fresh and name not in self._warned
            if found.state.fresh:
                self._warned.discard(name)  # restored: a later change is news again
            elif news:
                self._warned.add(name)
        if news and warn:
            self._warn(name, found.state.why)
        return found

    def _warn(self, name: str, why: str) -> None:
        log.warning("%s %s; its passages are left out until you run: %s", name, why, self._rebuild())

    def _remember(self, source: str, text: str) -> None:
        self._texts[source] = text
        self._texts.move_to_end(source)
        while len(self._texts) > TEXTS_KEPT:
            self._texts.popitem(last=False)

    def _text(self, source: str) -> str | None:
        with self._lock:
            text = self._texts.get(source)
            if text is not None:
                self._texts.move_to_end(source)
                return text
        return self._record(source, self._examine(self._units[source], _stamp(self._units[source].path),
                                                  None), warn=True).text

    def _why(self, source: str) -> str:
        with self._lock:
            state = self._states.get(source)
        if state is not None and state.why:
            return state.why
        if state is not None and state.fresh:
            return "does not hold a passage at the offsets the index gives (the index is corrupt)"
        return REMOVED if _stamp(self._units[source].path) is None else CHANGED

    def why_left_out(self, source: str) -> str:
        """Why a source's passages are not cited, with the command that brings them back."""
        unit = self._sources.unit(source)
        why = self._why(unit) if unit in self._units else REMOVED
        return f"{why}; rebuild with: {self._rebuild()}"

    def _rebuild(self) -> str:
        """The command that brings left-out passages back. When the sources folder is gone the recorded one cannot
        be built: the articles are built from where they are now (DIR), replacing the folder the index names."""
        return self._hint if self._bounds.root.is_dir() else f"{self._hint} --sources DIR --replace"

    def left_out(self, sources: Iterable[str]) -> tuple[LeftOut, ...]:
        """The user's files whose passages matched but are not cited, each once, with why."""
        found: dict[str, LeftOut] = {}
        for source in sources:
            name = self.shown(source)
            found.setdefault(name, LeftOut(name, self.why_left_out(source)))
        return tuple(found[name] for name in sorted(found))

    def passage_ok(self, chunk: Chunk) -> bool:
        """True when chunk may be cited: its source is unchanged and holds chunk.text at its offsets."""
        if not self.is_fresh(chunk.source):
            return False
        text = article_text(self._sources, chunk.source, self._text(self._sources.unit(chunk.source)))
        if text is not None and text[chunk.start:chunk.end] == chunk.text:
            return True
        if text is not None and chunk.id not in self._bad_passages:
            self._bad_passages.add(chunk.id)
            log.warning("passage %s does not match %s at chars %d-%d: the index is corrupt and the passage is "
                        "left out; rebuild it with: %s", chunk.id, chunk.source, chunk.start, chunk.end, self._hint)
        return False


def _read_if_unchanged(file: SourceFile, bounds: CheckBounds) -> str | None:
    """The text passages are offsets into (universal newlines) when the source's bytes still hash to its digest."""
    try:
        raw = bounds.read_source(file.path)
    except OSError:
        return None
    if hashlib.sha256(raw).hexdigest() != file.sha256:
        return None
    if file.text is not None:
        return bounds.read_stored_text(file.text)
    return _universal(raw)


def _universal(raw: bytes) -> str:
    """UTF-8 bytes as open(encoding="utf-8").read() gives them: universal newlines (the text offsets count in)."""
    return io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8").read()


def article_text(sources: CitedSources, source: str, unit_text: str | None) -> str | None:
    """The text a source's chunks are offsets into, given its unit's text: a collection's row is its span of its
    collection's text ("" when the row table does not hold it: its passages then do not match)."""
    if unit_text is None or sources.unit(source) == source:
        return unit_text
    file = sources.get(source)
    return unit_text[file.span[0]:file.span[1]] if file is not None and file.span is not None else ""


def corrupt_passages(chunks: list[Chunk], sources: Mapping[str, SourceFile], bounds: CheckBounds) -> list[Chunk]:
    """Chunks whose source is unchanged but does not hold their text at their offsets: a corrupt index.

    Chunks of changed or removed sources are not counted (that is staleness, not corruption).
    """
    cited = sources if isinstance(sources, CitedSources) else CitedSources(dict(sources))
    units = cited.units()
    bad: list[Chunk] = []
    unit, text = None, None
    for chunk in chunks:  # a build writes an article's chunks together: one file read per article or collection
        if cited.unit(chunk.source) != unit:
            unit = cited.unit(chunk.source)
            text = _read_if_unchanged(units[unit], bounds) if unit in units else None
        own = article_text(cited, chunk.source, text)
        if own is not None and own[chunk.start:chunk.end] != chunk.text:
            bad.append(chunk)
    return bad
