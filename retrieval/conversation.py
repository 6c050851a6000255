"""Follow-up handling without a language model: a question that leans on the last turn carries its names."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from citebot.retrieval.question import STOPWORDS, Question, entities

_NOT_NAMES = frozenset(
    "former shares computer by however meanwhile but yet also monday tuesday wednesday thursday friday "
    "saturday sunday january february march april may june july august september october november december "
    "last next this earlier later".split()
)


@dataclass(frozen=True)
class Turn:
    question: Question
    searched: Question
    at: float
    answer: str = ""
    """The answer quote given to this turn ("" when it abstained)."""
    answer_source: str | None = None


def carried_names(question: Question, turn: Turn) -> list[str]:
    """Names from the earlier turn's question and answer that the follow-up does not repeat."""
    own = question.tokens
    carried: dict[str, None] = {}
    names = [part.strip() for name in [*turn.searched.entities, *entities(turn.answer)] for part in name.split(". ")]
    for name in names:
        if " " not in name and (name.casefold() in STOPWORDS or name.casefold() in _NOT_NAMES or re.search(
                rf"(?:^|[.!?]\s+){re.escape(name)}\b", turn.answer)):
            continue  # a capitalised sentence opener ("The", "Around"), a weekday or month
        words = {w.casefold() for w in re.findall(r"\w+", name)}
        if words and not words <= own and name.casefold() not in (c.casefold() for c in carried):
            carried[name] = None
    return list(carried)


def rewrite_follow_up(question: Question, history: list[Turn]) -> str:
    """The text to search: the question itself, or followed by what it refers to from the last turn."""
    if not history or not question.leans_on_earlier:
        return question.text
    last = history[-1]
    names = carried_names(question, last)
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

    def searched_for(self, question: Question) -> Question:
        """What to search for the question: itself, or (a follow-up) rewritten with what it refers to, read."""
        searched = rewrite_follow_up(question, self.history())
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
