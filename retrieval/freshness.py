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
from dataclasses import dataclass
from pathlib import Path

from citebot.index.chunking import Chunk
from citebot.index.store.protocol import SourceFile

log = logging.getLogger(__name__)

TEXTS_KEPT = 256
"""Source texts kept in memory for verifying passages (the most recently cited)."""

WARN_EACH = 5
"""Up to this many stale sources are named one by one when a process starts; more get one warning."""

Stamp = tuple[int, int, int, int, int]


RACY_NS = 2_000_000_000
"""A file changed this recently may change again within the same clock tick: its stamp is not trusted."""


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
class _State:
    stamp: Stamp | None
    fresh: bool


class SourceWatcher:
    """Knows which sources still match the build; safe to share between threads."""

    def __init__(self, sources: dict[str, SourceFile], rebuild_hint: str = "citebot index build") -> None:
        self._sources = sources
        self._digests: dict[Path, tuple[Stamp, str]] = {}
        """A file's sha256 at a trusted stamp: the rows of one collection file are hashed once."""
        self._hint = rebuild_hint
        self._states: dict[str, _State] = {}
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._warned: set[str] = set()
        self._bad_passages: set[str] = set()
        self._lock = threading.Lock()
        self._quiet = False

    def check_all(self) -> set[str]:
        """Check every source now (hashing each); the fresh ones. Many stale sources get one warning."""
        self._quiet = True
        try:
            fresh = {source for source in self._sources if self.is_fresh(source)}
        finally:
            self._quiet = False
        stale = sorted(set(self._sources) - fresh)
        if len(stale) > WARN_EACH:
            log.warning("%d sources changed or were removed since the index was built (%s, ...); their passages "
                        "are left out until you run: %s", len(stale), ", ".join(stale[:3]), self._hint)
        else:
            for source in stale:
                self._warn(source, _stamp(self._sources[source].path) is None)
        return fresh

    def is_fresh(self, source: str) -> bool:
        """True when source's file is still the one the index was built from."""
        if source not in self._sources:
            return False
        path = self._sources[source].path
        with self._lock:
            stamp = _stamp(path)
            state = self._states.get(source)
            if state is None or stamp is None or state.stamp != stamp:
                state = self._check(source, self._sources[source], stamp)
            return state.fresh

    def _check(self, source: str, file: SourceFile, stamp: Stamp | None) -> _State:
        path, digest = file.path, file.sha256
        raw, actual = None, None
        known = self._digests.get(path)
        if stamp is not None and known is not None and known[0] == stamp and file.text is not None:
            actual = known[1]  # another row of the same collection file, hashed at this very stamp
        elif stamp is not None:
            try:
                raw = path.read_bytes()
                actual = hashlib.sha256(raw).hexdigest()
            except OSError:
                raw = None
        fresh = actual == digest
        self._texts.pop(source, None)
        if fresh:
            # Universal newlines, as open(source).read() gives: the text citations are offsets into.
            text = _read_text(file.text) if file.text is not None else (
                io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8").read() if raw is not None else None)
            fresh = text is not None
            if text is not None:
                self._remember(source, text)
        trusted = _trusted(stamp, _stamp(path))
        if trusted is not None and actual is not None:
            self._digests[path] = (trusted, actual)
        state = _State(trusted, fresh)  # no stamp kept: hashed again next time
        self._states[source] = state
        if fresh:
            self._warned.discard(source)  # restored: a later change is news again
        elif source not in self._warned:
            self._warned.add(source)
            if not self._quiet:
                self._warn(source, stamp is None)
        return state

    def _warn(self, source: str, removed: bool) -> None:
        log.warning("%s %s since the index was built; its passages are left out until you run: %s",
                    source, "was removed" if removed else "changed", self._hint)

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
            self._check(source, self._sources[source], _stamp(self._sources[source].path))
            return self._texts.get(source)

    def why_left_out(self, source: str) -> str:
        """Why a source's passages are not cited, with the command that brings them back."""
        path = self._sources[source].path if source in self._sources else None
        what = "was removed" if path is None or _stamp(path) is None else "changed"
        return f"{what} since the index was built; rebuild with: {self._hint}"

    def passage_ok(self, chunk: Chunk) -> bool:
        """True when chunk may be cited: its source is unchanged and holds chunk.text at its offsets."""
        if not self.is_fresh(chunk.source):
            return False
        text = self._text(chunk.source)
        if text is not None and text[chunk.start:chunk.end] == chunk.text:
            return True
        if text is not None and chunk.id not in self._bad_passages:
            self._bad_passages.add(chunk.id)
            log.warning("passage %s does not match %s at chars %d-%d: the index is corrupt and the passage is "
                        "left out; rebuild it with: %s", chunk.id, chunk.source, chunk.start, chunk.end, self._hint)
        return False


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _read_if_unchanged(file: SourceFile) -> str | None:
    """The text passages are offsets into (universal newlines) when the source's bytes still hash to its digest."""
    try:
        raw = file.path.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(raw).hexdigest() != file.sha256:
        return None
    return _read_text(file.text) if file.text is not None else io.TextIOWrapper(io.BytesIO(raw),
                                                                                  encoding="utf-8").read()


def corrupt_passages(chunks: list[Chunk], sources: dict[str, SourceFile]) -> list[Chunk]:
    """Chunks whose source is unchanged but does not hold their text at their offsets: a corrupt index.

    Chunks of changed or removed sources are not counted (that is staleness, not corruption).
    """
    bad: list[Chunk] = []
    source, text = None, None
    for chunk in chunks:  # a build writes an article's chunks together: one file read per article
        if chunk.source != source:
            source = chunk.source
            text = _read_if_unchanged(sources[source]) if source in sources else None
        if text is not None and text[chunk.start:chunk.end] != chunk.text:
            bad.append(chunk)
    return bad
