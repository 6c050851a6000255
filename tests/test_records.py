"""The answers log: read back by id after a restart, from disk, with only offsets held in memory."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from citebot.bot.discord.records import AnswerLog


def test_answers_are_found_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "data" / "answers.jsonl"
    answers = AnswerLog(path)
    first = answers.add("Who is Ian Lavery?", "Who is Ian Lavery?", ["a:1", "a:2"], ["b:1"])
    second = answers.add("Qui est « Sadiq Khan » ? 👍", "Sadiq Khan", ["c:1"], [])
    assert answers.get(first.id) == first and answers.get(second.id) == second
    again = AnswerLog(path)
    assert len(again) == 2 and again.get(first.id) == first and again.get(second.id) == second
    assert again.get("0123456789ab") is None
    third = again.add("Who is Sadiq Khan?", "Who is Sadiq Khan?", [], [])
    assert AnswerLog(path).get(third.id) == third


def test_only_offsets_are_kept_in_memory(tmp_path: Path) -> None:
    answers = AnswerLog(tmp_path / "answers.jsonl")
    for n in range(50):
        answers.add(f"question {n} " + "x" * 500, "searched", ["a:1"] * 5, ["b:1"] * 5)
    assert all(isinstance(offset, int) for offset in answers._offsets.values())


def test_damaged_lines_and_a_replaced_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "answers.jsonl"
    record = AnswerLog(path).add("Who is Ian Lavery?", "Who is Ian Lavery?", ["a:1"], [])
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "half a line\n[1, 2]\n{"id": "ffffffffffff", "question": 1}\n')
    with caplog.at_level(logging.WARNING):
        answers = AnswerLog(path)
    assert "is not JSON; skipped" in caplog.text
    assert answers.get(record.id) == record and answers.get("ffffffffffff") is None  # not an answer: none
    path.write_text("", encoding="utf-8")  # emptied under the running bot: the answer is gone, not an error
    assert answers.get(record.id) is None
