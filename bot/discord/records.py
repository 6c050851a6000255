"""What the bot keeps on disk: answers (so buttons work after a restart) and 👍/👎 feedback.

Both are append-only JSONL files under the data folder; neither holds user names or ids. In memory the bot
keeps only where each answer's line starts, and reads the line back when one of its buttons is pressed, so its
memory does not grow with the answers it has given.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

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


class JsonlLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, row: dict) -> int:
        """Append row as one line; the byte offset where the line starts."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as handle:
                offset = handle.tell()
                handle.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
        return offset

    def offsets(self) -> Iterator[tuple[int, dict]]:
        """Each row that is a JSON object, with the byte offset of its line."""
        if not self.path.is_file():
            return
        offset = 0
        with self.path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    row = json.loads(line)
                except ValueError:
                    log.warning("%s:%d is not JSON; skipped", self.path, number)
                else:
                    if isinstance(row, dict):
                        yield offset, row
                offset += len(line)

    def row_at(self, offset: int) -> dict | None:
        """The row whose line starts at offset, or None (the file changed or went away)."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(offset)
                row = json.loads(handle.readline())
        except (OSError, ValueError):
            return None
        return row if isinstance(row, dict) else None


class AnswerLog:
    """Answers by id: on disk, with where each one's line starts in memory."""

    def __init__(self, path: Path) -> None:
        self._log = JsonlLog(path)
        self._offsets = {row["id"]: offset for offset, row in self._log.offsets() if isinstance(row.get("id"), str)}

    def __len__(self) -> int:
        return len(self._offsets)

    def add(self, question: str, searched: str, chunk_ids: list[str], more_chunk_ids: list[str]) -> AnswerRecord:
        record = AnswerRecord(secrets.token_hex(6), question, searched, chunk_ids, more_chunk_ids, time.time())
        self._offsets[record.id] = self._log.append(asdict(record))
        return record

    def get(self, answer_id: str) -> AnswerRecord | None:
        offset = self._offsets.get(answer_id)
        row = self._log.row_at(offset) if offset is not None else None
        try:
            record = AnswerRecord(**row) if row is not None else None
        except TypeError:
            return None
        return record if record is not None and record.id == answer_id else None


class FeedbackLog:
    def __init__(self, path: Path) -> None:
        self._log = JsonlLog(path)

    def record(self, answer: AnswerRecord, vote: str) -> None:
        self._log.append({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "answer": answer.id,
                          "question": answer.question, "searched": answer.searched,
                          "chunk_ids": answer.chunk_ids, "vote": vote})
