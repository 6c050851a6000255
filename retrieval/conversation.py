"""Follow-up handling without a language model: a question that leans on the last turn carries its topic (the
words of the last question few passages use, in any case: "nginx") and its names."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from citebot.retrieval.question import STOPWORDS, Question, entities, key_words

_NOT_NAMES = frozenset(
    "former shares computer by however meanwhile but yet also monday tuesday wednesday thursday friday "
    "saturday sunday january february march april may june july august september october november december "
    "last next this earlier later".split()
)


_GENERIC = frozenset(
    "said say says tell told think thought mean means meant happen happened happens make made get got go went "
    "use used uses using run runs ran work works worked often usually first last new old one many much more most "
    "some other same".split()
)
"""Words of a question that name no topic ("What did he say", "When was it first made")."""


@dataclass(frozen=True)
class Turn:
    question: Question
    searched: Question
    at: float
    answer: str = ""
    """The answer quote given to this turn ("" when it abstained)."""
    answer_source: str | None = None


TopicWords = Callable[[str], list[str]]
"""The words of a text that few passages use, in any case: what it is about ("nginx", "refinery")."""


def topic_of(turn: Turn, topic_words: TopicWords) -> list[str]:
    """What the turn asked about beyond its names, in any case: the words of its searched text that few passages
    use (topic_words), or, when it named nothing and none is rare, all its words that say what it asks about
    ("What is nginx?" in a folder about nginx)."""
    searched = turn.searched
    in_names = {w.casefold() for name in searched.entities for w in re.findall(r"\w+", name)}
    words = [w for w in key_words(searched.text)
             if w.casefold() not in in_names and w.casefold() not in _GENERIC and not any(c.isdigit() for c in w)]
    rare = set(topic_words(searched.text))
    return [w for w in words if w in rare] or ([] if searched.entities else words)


def carried_names(question: Question, turn: Turn, topic_words: TopicWords | None = None) -> list[str]:
    """The earlier turn's topic (with topic_words) and the names of its question and answer that the follow-up
    does not repeat."""
    own = question.tokens
    carried: dict[str, None] = {}
    topic = topic_of(turn, topic_words) if topic_words else []
    names = [re.sub(r"['\u2019]s$", "", part.strip())
             for name in [*turn.searched.entities, *entities(turn.answer)] for part in name.split(". ")]
    for name in [*names, *topic]:  # a topic word the names also give is carried as written there ("Linuxbrew")
        if name not in topic and " " not in name and (
                name.casefold() in STOPWORDS or name.casefold() in _NOT_NAMES
                or re.search(rf"(?:^|[.!?]\s+){re.escape(name)}\b", turn.answer)):
            continue  # a capitalised sentence opener ("The", "Around"), a weekday or month
        words = {w.casefold() for w in re.findall(r"\w+", name)}
        if words and not words <= own and name.casefold() not in (c.casefold() for c in carried):
            carried[name] = None
    return list(carried)


def rewrite_follow_up(question: Question, history: list[Turn], topic_words: TopicWords | None = None) -> str:
    """The text to search: the question itself, or followed by what it refers to from the last turn (its topic,
    with topic_words, and its names)."""
    if not history or not question.leans_on_earlier:
        return question.text
    last = history[-1]
    names = carried_names(question, last, topic_words)
    if not names:
        return f"{last.searched.text} {question.text}"
    return f"{question.text} ({', '.join(names)})"


class Conversation:
    """The last few turns of one conversation, forgotten after a period of silence."""

    def __init__(self, max_turns: int, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.turns: deque[Turn] = deque(maxlen=max(1, max_turns))
        self.idle_seconds = idle_seconds
        self.clock = clock

    def history(self) -> list[Turn]:
        if self.turns and self.clock() - self.turns[-1].at > self.idle_seconds:
            self.turns.clear()
        return list(self.turns)

    def searched_for(self, question: Question, topic_words: TopicWords | None = None) -> Question:
        """What to search for the question: itself, or (a follow-up) rewritten with what it refers to, read."""
        searched = rewrite_follow_up(question, self.history(), topic_words)
        return question if searched == question.text else Question.read(searched)

    def previous_answer(self, question: Question) -> Turn | None:
        """The last turn, when the question follows on from it."""
        history = self.history()
        return history[-1] if history and question.leans_on_earlier else None

    def remember(self, question: Question, searched: Question, answer: str = "",
                 answer_source: str | None = None) -> None:
        self.turns.append(Turn(question, searched, self.clock(), answer, answer_source))

    def reset(self) -> None:
        self.turns.clear()
