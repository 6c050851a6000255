"""Follow-up handling without a language model: a question that leans on the last turn carries its names."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from citebot.retrieval.question import OPENERS, STOPWORDS

_ENTITY = re.compile(r"[A-Z][\w'\u2019.-]*(?:\s+(?:of\s+the\s+|of\s+|de\s+|van\s+der\s+)?[A-Z][\w'\u2019.-]*)*")
_ASKED_ABOUT = re.compile(r"\s*who\s+\w+\s+(?:he|she|they)\b", re.IGNORECASE)
_POSSESSIVE = frozenset({"his", "her", "hers", "their", "theirs"})
_PRONOUN = re.compile(r"\b(he|him|his|she|her|hers|they|them|their|theirs)\b", re.IGNORECASE)

_NOT_NAMES = frozenset(
    "former shares computer by however meanwhile but yet also monday tuesday wednesday thursday friday "
    "saturday sunday january february march april may june july august september october november december "
    "last next this earlier later".split()
)


@dataclass(frozen=True)
class Turn:
    question: str
    searched: str
    at: float
    answer: str = ""
    """The answer quote given to this turn ("" when it abstained)."""
    answer_source: str | None = None


_DEPENDENT = re.compile(
    r"\b(?:he|him|his|she|her|hers|they|them|their|theirs|it|its|this|that|these|those|there|then)\b"
    r"|^\s*(?:and|but|so|also|what about|how about)\b|\b(?:the (?:same|latter|former|firm|company|film|group|"
    r"party|minister|government|deal|plan|bill|report|club|team|band|album|show|case|court|move|side)|"
    r"afterwards|instead|else|other)\b",
    re.IGNORECASE,
)


def entities(text: str) -> list[str]:
    """Capitalised names in text, question openers ("What", "Did") taken off."""
    found = []
    for match in _ENTITY.finditer(text):
        words = match.group().split()
        while words and words[0].casefold() in OPENERS:
            words = words[1:]
        name = " ".join(words).rstrip(".'\u2019")
        if name:
            found.append(name)
    return found


def depends_on_earlier(question: str) -> bool:
    """Whether a question needs an earlier turn to make sense: a pronoun or "that film" whose referent it
    does not name itself, an opening "And ...", or too few words of its own."""
    names = entities(question)
    asked = _ASKED_ABOUT.match(question)
    rest = question[asked.end():] if asked else question  # "Who claims he gave ...": he is the one asked about
    pronoun = _PRONOUN.search(rest)
    # A possessive may come before its name ("After her Olympic ordeal, did Paula Radcliffe ..."); "he" or
    # "she" before any name ("What post had he held at the Department of Health?") is someone said earlier.
    before = 0 if not pronoun else len(rest) if pronoun.group().casefold() in _POSSESSIVE else pronoun.start()
    people = [n for n in names if len(n.split()) > 1 and not n.isupper() and -1 < rest.find(n) < before]
    if pronoun and people and not re.search(r"\b(it|its|they|them|their)\b", rest, re.IGNORECASE):
        return False  # "What did Margaret Hodge say about her party?": the pronoun is hers
    if _DEPENDENT.search(rest):
        return True
    content = [w for w in re.findall(r"[A-Za-z0-9']+", question) if w.casefold() not in OPENERS]
    return not names and len(content) <= 2


def carried_names(question: str, turn: Turn) -> list[str]:
    """Names from the earlier turn's question and answer that the follow-up does not repeat."""
    own = {w.casefold() for w in re.findall(r"\w+", question)}
    carried: dict[str, None] = {}
    names = [part.strip() for name in entities(turn.searched) + entities(turn.answer) for part in name.split(". ")]
    for name in names:
        if " " not in name and (name.casefold() in STOPWORDS or name.casefold() in _NOT_NAMES or re.search(
                rf"(?:^|[.!?]\s+){re.escape(name)}\b", turn.answer)):
            continue  # a capitalised sentence opener ("The", "Around"), a weekday or month
        words = {w.casefold() for w in re.findall(r"\w+", name)}
        if words and not words <= own and name.casefold() not in (c.casefold() for c in carried):
            carried[name] = None
    return list(carried)


def rewrite_follow_up(question: str, history: list[Turn]) -> str:
    """The query to search: the question itself, or followed by what it refers to from the last turn."""
    if not history or not depends_on_earlier(question):
        return question
    last = history[-1]
    names = carried_names(question, last)
    if not names:
        return f"{last.searched} {question}"
    return f"{question} ({', '.join(names)})"


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

    def searched_for(self, question: str) -> str:
        return rewrite_follow_up(question, self.history())

    def previous_answer(self, question: str) -> Turn | None:
        """The last turn, when the question follows on from it."""
        history = self.history()
        return history[-1] if history and depends_on_earlier(question) else None

    def remember(self, question: str, searched: str, answer: str = "", answer_source: str | None = None) -> None:
        self.turns.append(Turn(question, searched, self.clock(), answer, answer_source))

    def reset(self) -> None:
        self.turns.clear()
