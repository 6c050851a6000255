"""The answer quote: the best sentence, extended by a neighbour that scores nearly as well."""

from __future__ import annotations

from dataclasses import replace

from index.settings import load_settings
from retrieval.answer import Sentence, pick_answer

SETTINGS = replace(load_settings().answer, word_overlap_weight=0.0, kind_weight=0.0, rank_weight=0.0,
                   extend_ratio=0.6, max_sentences=2)


def _sentences(*similarities: float) -> list[Sentence]:
    return [Sentence(1, "a.txt", 10 * i, 10 * i + 9, f"Sentence {i}.", s) for i, s in enumerate(similarities)]


def test_the_best_sentence_is_extended_by_a_close_neighbour_and_named() -> None:
    first, last, best = pick_answer("q", _sentences(0.2, 0.5, 0.9, 0.6), SETTINGS)
    assert (first.start, last.start, best.start) == (20, 30, 20)


def test_a_distant_neighbour_is_left_out() -> None:
    first, last, best = pick_answer("q", _sentences(0.2, 0.5, 0.9, 0.5), SETTINGS)
    assert first is last is best and best.start == 20
    first, last, _ = pick_answer("q", _sentences(0.2, 0.5, 0.9, 0.5), replace(SETTINGS, extend_ratio=0.5))
    assert (first.start, last.start) == (10, 20)  # ties go to the earlier neighbour


def test_a_follow_up_leans_on_the_best_sentence_not_the_whole_quote(real_engine) -> None:
    conversation = real_engine.new_conversation()
    result = real_engine.ask("What did Theresa May tell MPs?", conversation)
    remembered = conversation.turns[-1].answer
    assert result.answer is not None and remembered and remembered in result.answer.text
