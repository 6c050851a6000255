"""Follow-ups: which questions lean on the last turn (Question.leans_on_earlier) and what they carry from it."""

from __future__ import annotations

from citebot.retrieval.conversation import Conversation, Turn, rewrite_follow_up
from citebot.retrieval.question import Question, entities


def _turn(question: str, answer: str = "", source: str | None = None) -> Turn:
    return Turn(Question.read(question), Question.read(question), 0.0, answer, source)


def depends_on_earlier(question: str) -> bool:
    return Question.read(question).leans_on_earlier


def rewrite(question: str, history: list[Turn]) -> str:
    return rewrite_follow_up(Question.read(question), history)


def test_entities_drop_question_openers() -> None:
    assert entities("What did Theresa May tell MPs?") == ["Theresa May", "MPs"]
    assert entities("Who is Ian Lavery?") == ["Ian Lavery"]
    assert Question.read("Did Theresa May meet the Duke of Edinburgh?").entities == ("Theresa May",
                                                                                     "Duke of Edinburgh")


def test_questions_that_lean_on_the_last_turn_are_recognised() -> None:
    for question in ("How old is she?", "What is the price?", "Is it leaving Iraq altogether?",
                     "How much did that film take?",
                     "And which other phone company held talks with it?", "According to him, what happens next?",
                     "Why?", "Who signed it?"):
        assert depends_on_earlier(question), question
    for question in ("What did Sadiq Khan say?", "What did Margaret Hodge say about her party?",
                     "Which film topped the US box office?", "What is nginx?", "What is redis used for?"):
        assert not depends_on_earlier(question), question


def test_a_pronoun_before_any_name_is_someone_said_earlier() -> None:
    # "he" before the only name: the Department of Health is not who "he" is.
    assert depends_on_earlier("What post had he held at the Department of Health?")
    assert depends_on_earlier("How does he feel about Jewish Londoners?")
    # A possessive may come before its own name; "Who claims he ..." asks about "he".
    assert not depends_on_earlier("How many weeks after her Olympic ordeal did Paula Radcliffe run in New York?")
    assert not depends_on_earlier("Who claims he gave Marion Jones performance-enhancing drugs?")


def test_follow_ups_carry_the_names_of_the_last_question_and_answer() -> None:
    history = [_turn("Who told the Politics Show that Ken Livingstone would apologise?",
                     "Labour's Diane Abbott told the BBC's Politics Show he would apologise.")]
    searched = rewrite("Does she think he is anti-Semitic?", history)
    assert searched.startswith("Does she think he is anti-Semitic?")
    assert "Ken Livingstone" in searched and "Diane Abbott" in searched
    # A name the follow-up repeats is not carried twice.
    searched = rewrite("What did Ken Livingstone say next?", history)
    assert searched == "What did Ken Livingstone say next?"


def test_standalone_questions_are_left_alone() -> None:
    history = [_turn("What did Theresa May tell MPs?")]
    assert rewrite("What did Sadiq Khan say?", history) == "What did Sadiq Khan say?"
    assert rewrite("Which kinds of hatred?", []) == "Which kinds of hatred?"


def test_bare_follow_ups_carry_the_last_question() -> None:
    history = [_turn("what did the board say in their letter?")]
    assert rewrite("Who signed it?", history) == "what did the board say in their letter? Who signed it?"


def test_previous_source_only_for_dependent_follow_ups() -> None:
    conversation = Conversation(max_turns=2, idle_seconds=60, clock=lambda: 0.0)
    lavery = Question.read("Who is Ian Lavery?")
    conversation.remember(lavery, lavery, "Ian Lavery is chairman.", "a.txt")
    assert conversation.previous_answer(Question.read("What did he say?")).answer_source == "a.txt"
    assert conversation.previous_answer(Question.read("What did Sadiq Khan say?")) is None


def test_conversation_forgets_after_idle_time_and_on_reset() -> None:
    now = [0.0]
    conversation = Conversation(max_turns=2, idle_seconds=60, clock=lambda: now[0])
    lavery = Question.read("Who is Ian Lavery?")
    conversation.remember(lavery, lavery)
    assert conversation.searched_for(Question.read("What did he say?")).text == "What did he say? (Ian Lavery)"
    now[0] = 61.0
    assert conversation.searched_for(Question.read("What did he say?")).text == "What did he say?"
    conversation.remember(lavery, lavery)
    conversation.reset()
    assert conversation.searched_for(Question.read("What did he say?")).text == "What did he say?"


def test_a_standalone_question_is_searched_as_read() -> None:
    conversation = Conversation(max_turns=2, idle_seconds=60, clock=lambda: 0.0)
    question = Question.read("What did Sadiq Khan say?")
    assert conversation.searched_for(question) is question  # nothing to rewrite: not read again
    conversation.remember(question, question)
    follow_up = Question.read("What did he say next?")
    searched = conversation.searched_for(follow_up)
    assert searched.text == "What did he say next? (Sadiq Khan)"
    assert searched.names_and_numbers == ("sadiq", "khan")  # the rewritten text, read


def _rare_words(text: str) -> list[str]:
    """A stand-in for the engine's topic_words over a corpus in which only these words are rare."""
    return [w for w in text.replace("?", " ").split() if w in {"refinery", "nginx"}]


def test_a_follow_up_carries_a_lowercase_topic_the_last_question_named_nothing_else() -> None:
    # "nginx" is no capitalised name, and the answer brings names of its own: before, only those were carried.
    history = [_turn("What is nginx?", "It was written by Igor Sysoev, a Russian software engineer, as nginx's core.")]
    searched = rewrite_follow_up(Question.read("When was it first made public?"), history, _rare_words)
    assert searched == "When was it first made public? (Igor Sysoev, Russian, nginx)"
    # A rare word of the last question is its topic; without one, every word of a question that named nothing.
    history = [_turn("How often does brew cleanup run automatically?", "It runs every 30 days.")]
    assert rewrite_follow_up(Question.read("How can I turn it off?"), history, lambda text: ["cleanup"]) == (
        "How can I turn it off? (cleanup)")
    assert rewrite_follow_up(Question.read("How can I turn it off?"), history, lambda text: []) == (
        "How can I turn it off? (brew, cleanup, automatically)")


def test_a_follow_up_carries_the_rare_words_of_a_question_that_named_names() -> None:
    history = [_turn("A fire at which company's Texas refinery shut down petrol production?",
                     "The refinery belongs to BP.")]
    searched = rewrite_follow_up(Question.read("Could the firm say when it would be running again?"), history,
                                 _rare_words)
    assert searched == "Could the firm say when it would be running again? (Texas, BP, refinery)"
    # Without a corpus to say which words are rare, only names are carried, as before.
    assert rewrite_follow_up(Question.read("Could the firm say when it would be running again?"), history) == (
        "Could the firm say when it would be running again? (Texas, BP)")
