"""What the bot keeps on disk: answers (so buttons work after a restart) and 👍/👎 feedback.

Both are append-only JSONL files under the data folder; neither holds user names or ids. In memory the bot
keeps only where each answer's line starts, and reads the line back when one of its buttons is pressed, so its
memory does not grow with the answers it has given.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerRecord:
    id: str
    question: str
    searched: str
    chunk_ids: list[str]
    """The passages shown, in order."""
    more_chunk_ids: list[str]
    """The passages "More sources" shows."""
    at: float


def open_regular(path: Path) -> BinaryIO:
    """path opened for binary reading, only when it is a regular file: a record file replaced by a link to
    /dev/full, /dev/zero or a FIFO would otherwise be read forever (or block) when the bot starts."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return os.fdopen(fd, "rb")


class JsonlLog:
    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        """What the rows are, as the warning names them ("answers", "feedback")."""
        self._lock = threading.Lock()
        self._failing = False

    def append(self, row: dict) -> int | None:
        """Append row as one line; the byte offset where the line starts, or None when the file cannot be
        written (a full disk, a read-only or missing data folder). The reply matters more than its record: one
        warning when writing starts to fail (and one line when it works again), never an exception."""
        line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("ab") as handle:
                    offset = handle.tell()
                    try:
                        handle.write(line)
                        handle.flush()  # a full disk raises here, inside the try, not at an unguarded close
                    except OSError:
                        with contextlib.suppress(OSError):  # no half line for the next one to be glued to
                            handle.truncate(offset)
                        raise
            except OSError as exc:
                if not self._failing:
                    log.warning("cannot write the %s to %s (%s); answering goes on without writing them until "
                                "it can", self.what, self.path, exc.strerror or exc)
                self._failing = True
                return None
            if self._failing:
                log.warning("writing the %s to %s works again", self.what, self.path)
                self._failing = False
        return offset

    def offsets(self) -> Iterator[tuple[int, dict]]:
        """Each row that is a JSON object, with the byte offset of its line."""
        offset = 0
        try:
            with open_regular(self.path) as handle:
                for number, line in enumerate(handle, start=1):
                    try:
                        row = json.loads(line)
                    except ValueError:
                        log.warning("%s:%d is not JSON; skipped", self.path, number)
                    else:
                        if isinstance(row, dict):
                            yield offset, row
                    offset += len(line)
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read the %s in %s (%s); starting without them", self.what, self.path,
                        exc.strerror or exc)

    def row_at(self, offset: int) -> dict | None:
        """The row whose line starts at offset, or None (the file changed or went away)."""
        try:
            with open_regular(self.path) as handle:
                handle.seek(offset)
                row = json.loads(handle.readline())
        except (OSError, ValueError):
            return None
        return row if isinstance(row, dict) else None


UNSAVED_ANSWERS_KEPT = 1000
"""Answers that could not be written, kept in memory for their buttons: a bound, not a setting (a few KB each)."""


class AnswerLog:
    """Answers by id: on disk, with where each one's line starts in memory. An answer that cannot be written is
    kept in memory instead (the newest `unsaved_limit` of them), so its buttons work until the bot restarts."""

    def __init__(self, path: Path, unsaved_limit: int = UNSAVED_ANSWERS_KEPT) -> None:
        self._log = JsonlLog(path, "answers")
        self._offsets = {row["id"]: offset for offset, row in self._log.offsets() if isinstance(row.get("id"), str)}
        self._unsaved: OrderedDict[str, AnswerRecord] = OrderedDict()
        self._unsaved_limit = unsaved_limit

    def __len__(self) -> int:
        return len(self._offsets) + len(self._unsaved)

    def add(self, question: str, searched: str, chunk_ids: list[str], more_chunk_ids: list[str]) -> AnswerRecord:
        record = AnswerRecord(secrets.token_hex(6), question, searched, chunk_ids, more_chunk_ids, time.time())
        offset = self._log.append(asdict(record))
        if offset is not None:
            self._offsets[record.id] = offset
        else:
            self._unsaved[record.id] = record
            while len(self._unsaved) > self._unsaved_limit:
                self._unsaved.popitem(last=False)
        return record

    def get(self, answer_id: str) -> AnswerRecord | None:
        if answer_id in self._unsaved:
            return self._unsaved[answer_id]
        offset = self._offsets.get(answer_id)
        row = self._log.row_at(offset) if offset is not None else None
        try:
            record = AnswerRecord(**row) if row is not None else None
        except TypeError:
            return None
        return record if record is not None and record.id == answer_id else None


class FeedbackLog:
    def __init__(self, path: Path) -> None:
        self._log = JsonlLog(path, "feedback")

    def record(self, answer: AnswerRecord, vote: str) -> bool:
        """Append the vote; False when it could not be written (warned once)."""
        return self._log.append({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "answer": answer.id,
                          "question": answer.question, "searched": answer.searched,
                          "chunk_ids": answer.chunk_ids, "vote": vote}) is not None
