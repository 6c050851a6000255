"""Conversations outlive a restart (DATA/conversations.json), idle ones are forgotten in memory and on disk."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from citebot.bot.discord.conversations import KeptConversations
from citebot.config.settings import ConversationSettings
from citebot.retrieval.question import Question


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def q(text: str) -> Question:
    return Question.read(text)


def kept(path: Path, clock: Clock) -> KeptConversations:
    settings = ConversationSettings(max_turns=4, idle_minutes=30, topic_max_share=0.01)
    return KeptConversations(path, settings, clock=clock)


def test_turns_are_saved_as_they_come_and_restored(tmp_path: Path) -> None:
    path, clock = tmp_path / "data" / "conversations.json", Clock()
    first = kept(path, clock)
    conversation, _ = first.get(3000)
    conversation.remember(q("What did Theresa May tell MPs?"), q("What did Theresa May tell MPs?"), "There is no place",
                          "seeds/a.txt")
    other, _ = first.get(3001)
    for n in range(6):
        other.remember(q(f"question {n}"), q(f"question {n}"))
    again = kept(path, clock)  # a restart
    restored, _ = again.get(3000)
    assert [t.question.text for t in restored.history()] == ["What did Theresa May tell MPs?"]
    assert restored.history()[0].answer_source == "seeds/a.txt"
    assert restored.searched_for(q("Which kinds of hatred did she name?")).text.endswith("(Theresa May, MPs)")
    assert [t.question.text for t in again.get(3001)[0].history()] == [f"question {n}" for n in range(2, 6)]
    assert "Theresa" in path.read_text(encoding="utf-8") and not list(path.parent.glob(".*partial"))


def test_reset_is_saved(tmp_path: Path) -> None:
    path, clock = tmp_path / "conversations.json", Clock()
    conversations = kept(path, clock)
    conversations.get(1)[0].remember(q("Who is Ian Lavery?"), q("Who is Ian Lavery?"))
    conversations.reset(1)
    assert json.loads(path.read_text())["conversations"] == {}
    assert kept(path, clock).get(1)[0].history() == []


def test_idle_conversations_are_forgotten_in_memory_and_on_disk(tmp_path: Path) -> None:
    path, clock = tmp_path / "conversations.json", Clock()
    conversations = kept(path, clock)
    for channel in range(100):
        conversations.get(channel)[0].remember(q("Who is Ian Lavery?"), q("Who is Ian Lavery?"))
    assert len(conversations) == 100
    clock.now += 31 * 60
    conversations.get(500)[0].remember(q("Who is Sadiq Khan?"), q("Who is Sadiq Khan?"))
    assert len(conversations) == 1  # memory stays as large as the conversations going on
    assert list(json.loads(path.read_text())["conversations"]) == ["500"]
    clock.now += 31 * 60
    assert len(kept(path, clock)) == 0  # expired while the bot was down


def test_a_damaged_file_is_one_warning_and_a_fresh_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "conversations.json"
    path.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        conversations = kept(path, Clock())
    assert len(conversations) == 0 and "cannot read the saved conversations" in caplog.text
    conversations.get(7)[0].remember(q("Who is Ian Lavery?"), q("Who is Ian Lavery?"))
    assert json.loads(path.read_text())["conversations"]["7"][0]["question"] == "Who is Ian Lavery?"


def test_an_unwritable_data_folder_keeps_answering(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    conversations = kept(blocker / "conversations.json", Clock())
    with caplog.at_level(logging.WARNING):
        conversations.get(1)[0].remember(q("Who is Ian Lavery?"), q("Who is Ian Lavery?"))
    assert "cannot save the conversations" in caplog.text
    assert conversations.get(1)[0].history()
