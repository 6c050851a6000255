from __future__ import annotations

from retrieval.conversation import Conversation, Turn, entities, rewrite_follow_up


def _history(*searched: str) -> list[Turn]:
    return [Turn(s, s, 0.0) for s in searched]


def test_entities_drop_question_openers() -> None:
    assert entities("What did Theresa May tell MPs?") == ["Theresa May", "MPs"]
    assert entities("Who is Ian Lavery?") == ["Ian Lavery"]


def test_pronouns_are_replaced_by_the_person_named_before() -> None:
    assert (rewrite_follow_up("Which kinds of hatred did she name?", _history("What did Theresa May tell MPs?"))
            == "Which kinds of hatred did Theresa May name?")
    assert (rewrite_follow_up("What did he do at the meeting?", _history("Who is Ian Lavery?"))
            == "What did Ian Lavery do at the meeting?")
    assert (rewrite_follow_up("What did she write in her email?", _history("Who is Karie Murphy?"))
            == "What did Karie Murphy write in her email?")
    assert rewrite_follow_up("What is his job?", _history("Who is Ian Lavery?")) == "What is Ian Lavery's job?"


def test_standalone_questions_are_left_alone() -> None:
    history = _history("What did Theresa May tell MPs?")
    assert rewrite_follow_up("What did Sadiq Khan say?", history) == "What did Sadiq Khan say?"
    assert rewrite_follow_up("Which kinds of hatred?", []) == "Which kinds of hatred?"


def test_bare_follow_ups_carry_the_last_question() -> None:
    history = _history("What did the Board of Deputies say in their letter?")
    assert rewrite_follow_up("Who signed it?", history) == (
        "What did the Board of Deputies say in their letter? Who signed it?")


def test_conversation_forgets_after_idle_time_and_on_reset() -> None:
    now = [0.0]
    conversation = Conversation(max_turns=2, idle_seconds=60, clock=lambda: now[0])
    conversation.remember("Who is Ian Lavery?", "Who is Ian Lavery?")
    assert conversation.searched_for("What did he say?") == "What did Ian Lavery say?"
    now[0] = 61.0
    assert conversation.searched_for("What did he say?") == "What did he say?"
    conversation.remember("Who is Ian Lavery?", "Who is Ian Lavery?")
    conversation.reset()
    assert conversation.searched_for("What did he say?") == "What did he say?"
