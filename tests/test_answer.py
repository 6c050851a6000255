"""The answer quote: the best sentence, extended by a neighbour that scores nearly as well."""

from __future__ import annotations

from dataclasses import replace

from citebot.config.settings import load_settings
from citebot.retrieval.answer import Sentence, pick_answer
from citebot.retrieval.question import Question, QuestionKind

Q = Question.read("q")
SETTINGS = replace(load_settings().answer, word_overlap_weight=0.0, kind_weight=0.0, rank_weight=0.0,
                   extend_ratio=0.6, max_sentences=2)


def _sentences(*similarities: float) -> list[Sentence]:
    return [Sentence(1, "a.txt", 10 * i, 10 * i + 9, f"Sentence {i}.", s) for i, s in enumerate(similarities)]


def test_the_best_sentence_is_extended_by_a_close_neighbour_and_named() -> None:
    first, last, best = pick_answer(Q, _sentences(0.2, 0.5, 0.9, 0.6), SETTINGS)
    assert (first.start, last.start, best.start) == (20, 30, 20)


def test_a_distant_neighbour_is_left_out() -> None:
    first, last, best = pick_answer(Q, _sentences(0.2, 0.5, 0.9, 0.5), SETTINGS)
    assert first is last is best and best.start == 20
    first, last, _ = pick_answer(Q, _sentences(0.2, 0.5, 0.9, 0.5), replace(SETTINGS, extend_ratio=0.5))
    assert (first.start, last.start) == (10, 20)  # ties go to the earlier neighbour


def test_the_kind_asked_for_outweighs_an_echo_of_the_question() -> None:
    question = "What annual budget will England's first children's commissioner oversee in 2005?"
    texts = ["The first children's commissioner for England has been appointed for 2005.",
             "He will oversee a £2.5m annual budget."]
    sentences = [Sentence(1, "a.txt", 0, 74, texts[0], 0.75), Sentence(1, "a.txt", 75, 113, texts[1], 0.6)]
    settings = replace(SETTINGS, kind_weight=0.2, max_sentences=1)
    read = Question.read(question)
    assert pick_answer(read, sentences, settings)[2].text == texts[0]  # no kind: the echo is closer
    # "What annual budget" asks an amount; the year 2005 is the question's own (and no amount), £2.5m is new.
    assert pick_answer(read, sentences, settings, read.answer_kind)[2].text == texts[1]
    loose = QuestionKind("amount")  # the second stage's test would count 2005 and keep the echo
    assert loose.present_in(texts[0])


def test_a_follow_up_leans_on_the_best_sentence_not_the_whole_quote(real_engine) -> None:
    conversation = real_engine.new_conversation()
    result = real_engine.ask("What did Theresa May tell MPs?", conversation)
    remembered = conversation.turns[-1].answer
    assert result.answer is not None and remembered and remembered in result.answer.text


def test_a_follow_up_answer_weighs_the_question_as_asked() -> None:
    # Searched with the names it carried, the follow-up is closest to the sentence that named them.
    named = Sentence(1, "a.txt", 0, 50, "Al Aynsley-Green was appointed commissioner.", 0.7, own_similarity=0.3)
    asked = Sentence(1, "a.txt", 51, 99, "He was the national clinical director.", 0.5, own_similarity=0.6)
    settings = replace(SETTINGS, max_sentences=1)
    assert pick_answer(Q, [named, asked], replace(settings, own_question_weight=0.0))[2] is named
    assert pick_answer(Q, [named, asked], replace(settings, own_question_weight=0.5))[2] is asked
    assert asked.blended(0.5) == 0.55 and Sentence(1, "a.txt", 0, 1, "x", 0.7).blended(0.5) == 0.7


def test_only_a_rewritten_follow_up_gets_its_own_similarity(real_engine) -> None:
    question = "What did he do at the meeting?"
    read = Question.read(question)
    assert real_engine.own_scores(read, read) is None
    own = real_engine.own_scores(read, Question.read(question + " (Ian Lavery, Corbyn)"))
    rows = [0, 1, 2]
    expected = real_engine.searcher.sentence_scores(real_engine.searcher.embed_query(question))[rows]
    assert own is not None and list(own[rows]) == list(expected)
    conversation = real_engine.new_conversation()
    real_engine.ask("Who is Ian Lavery?", conversation)
    result = real_engine.ask(question, conversation)
    assert result.searched != question and result.answer is not None
