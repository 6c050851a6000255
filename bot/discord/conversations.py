"""The bot's conversations, one per channel or thread, kept on disk so that a restart forgets none.

DATA/conversations.json holds the turns each conversation remembers (the last [conversation] max_turns, none
idle longer than idle_minutes), keyed by channel or thread id; no user names or ids. It is rewritten whole,
atomically, after every turn and /reset, from the worker thread that answered, so the event loop never waits
on the disk. Idle conversations are dropped from memory and from the file, so both stay as small as the
conversations going on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from citebot.bot.discord.records import open_regular
from citebot.config.settings import ConversationSettings
from citebot.retrieval.conversation import Conversation, Turn
from citebot.retrieval.question import Question

log = logging.getLogger(__name__)

VERSION = 1


class KeptConversation(Conversation):
    """A Conversation on the wall clock (its turns outlive the process) that says when it changed."""

    def __init__(self, max_turns: int, idle_seconds: float, changed: Callable[[], None],
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(max_turns, idle_seconds, clock)
        self._changed = changed

    def remember(self, question: Question, searched: Question, answer: str = "",
                 answer_source: str | None = None) -> None:
        super().remember(question, searched, answer, answer_source)
        self._changed()

    def reset(self) -> None:
        had = bool(self.turns)
        super().reset()
        if had:
            self._changed()

    def idle(self) -> bool:
        return not self.turns or self.clock() - self.turns[-1].at > self.idle_seconds


class KeptConversations:
    """One conversation per channel or thread, each with a lock so its turns stay in order; saved to path."""

    def __init__(self, path: Path, settings: ConversationSettings, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.max_turns, self.idle_seconds, self.clock = settings.max_turns, settings.idle_minutes * 60, clock
        self._conversations: dict[int, KeptConversation] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._save_lock = threading.Lock()
        self._load()

    def __len__(self) -> int:
        return len(self._conversations)

    def get(self, channel_id: int) -> tuple[Conversation, asyncio.Lock]:
        if channel_id not in self._conversations:
            self._forget_idle()
            self._conversations[channel_id] = self._new()
            self._locks[channel_id] = asyncio.Lock()
        return self._conversations[channel_id], self._locks[channel_id]

    def reset(self, channel_id: int) -> None:
        if channel_id in self._conversations:
            self._conversations[channel_id].reset()

    def _new(self) -> KeptConversation:
        return KeptConversation(self.max_turns, self.idle_seconds, self.save, self.clock)

    def _forget_idle(self) -> None:
        """Drop the conversations idle past their time (and never one whose lock is held: it is answering)."""
        for channel_id, conversation in list(self._conversations.items()):
            if conversation.idle() and not self._locks[channel_id].locked():
                del self._conversations[channel_id], self._locks[channel_id]

    def save(self) -> None:
        """Write every conversation that still has turns to remember, atomically (thread-safe)."""
        kept = {str(channel_id): [_row(turn) for turn in list(conversation.turns)]
                for channel_id, conversation in list(self._conversations.items()) if not conversation.idle()}
        text = json.dumps({"version": VERSION, "conversations": kept}, ensure_ascii=False)
        with self._save_lock:
            partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                partial.write_text(text, encoding="utf-8")
                os.replace(partial, self.path)
            except OSError as exc:  # the answer was given; only the memory of it is at risk: say so, go on
                log.warning("cannot save the conversations to %s (%s); they are kept in memory", self.path,
                            exc.strerror or exc)

    def _load(self) -> None:
        try:
            with open_regular(self.path) as handle:
                data = json.loads(handle.read().decode("utf-8"))
            rows = data["conversations"] if data.get("version") == VERSION else {}
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            log.warning("cannot read the saved conversations in %s (%s); starting without them", self.path, why)
            return
        for channel_id, turns in rows.items():
            conversation = self._new()
            try:
                key = int(channel_id)
                conversation.turns.extend(_turn(row) for row in turns)
            except (TypeError, ValueError, KeyError, AttributeError):
                continue
            if not conversation.idle():
                self._conversations[key] = conversation
                self._locks[key] = asyncio.Lock()
        if self._conversations:
            log.info("%d conversation(s) restored from %s", len(self._conversations), self.path)


def _row(turn: Turn) -> dict[str, Any]:
    """A turn as JSON: its questions as the text they were read from."""
    return {"question": turn.question.text, "searched": turn.searched.text, "at": turn.at, "answer": turn.answer,
            "answer_source": turn.answer_source}


def _turn(row: dict[str, Any]) -> Turn:
    return Turn(Question.read(row["question"]), Question.read(row["searched"]), float(row["at"]),
                str(row.get("answer") or ""), row.get("answer_source"))
