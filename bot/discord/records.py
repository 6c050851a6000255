"""What the bot keeps on disk: answers (so buttons work after a restart) and 👍/👎 feedback.

Both are append-only JSONL files under the data folder; neither holds user names or ids.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
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

    def append(self, row: dict) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    def rows(self) -> list[dict]:
        if not self.path.is_file():
            return []
        rows = []
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    log.warning("%s:%d is not JSON; skipped", self.path, number)
        return rows


class AnswerLog:
    """Answers by id, in memory and on disk."""

    def __init__(self, path: Path) -> None:
        self._log = JsonlLog(path)
        self._answers: dict[str, AnswerRecord] = {}
        for row in self._log.rows():
            try:
                record = AnswerRecord(**row)
            except TypeError:
                continue
            self._answers[record.id] = record

    def add(self, question: str, searched: str, chunk_ids: list[str], more_chunk_ids: list[str]) -> AnswerRecord:
        record = AnswerRecord(secrets.token_hex(6), question, searched, chunk_ids, more_chunk_ids, time.time())
        self._answers[record.id] = record
        self._log.append(asdict(record))
        return record

    def get(self, answer_id: str) -> AnswerRecord | None:
        return self._answers.get(answer_id)


class FeedbackLog:
    def __init__(self, path: Path) -> None:
        self._log = JsonlLog(path)

    def record(self, answer: AnswerRecord, vote: str) -> None:
        self._log.append({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "answer": answer.id,
                          "question": answer.question, "searched": answer.searched,
                          "chunk_ids": answer.chunk_ids, "vote": vote})
