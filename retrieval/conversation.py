"""Follow-up handling without a language model: carry the entity a pronoun refers to."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

_OPENERS = frozenset(
    [
        "what", "who", "whom", "whose", "which", "when", "where", "why", "how", "did", "does", "do", "is",
        "are", "was", "were", "has", "have", "had", "can", "could", "would", "should", "will", "tell", "give",
        "list", "name", "and", "but", "so", "or", "the", "a", "an", "in", "on", "at", "of", "for", "to", "i",
        "please", "also", "any"
    ]
)
_ENTITY = re.compile(r"[A-Z][\w'\u2019.-]*(?:\s+(?:of\s+the\s+|of\s+|de\s+|van\s+der\s+)?[A-Z][\w'\u2019.-]*)*")
_PRONOUN = re.compile(r"\b(he|him|his|she|her|hers|they|them|their|theirs)\b", re.IGNORECASE)
_POSSESSIVE = frozenset({"his", "their", "theirs", "hers"})
_NOT_A_NOUN = frozenset(
    [
        "to", "in", "on", "at", "by", "for", "from", "with", "about", "after", "before", "over", "as", "and",
        "or", "but", "that", "than", "if", "when", "while", "so", "say", "said", "tell", "told", "do", "did",
        "does", "be", "is", "was", "were", "has", "have", "had"
    ]
)


@dataclass(frozen=True)
class Turn:
    question: str
    searched: str
    at: float


def entities(text: str) -> list[str]:
    """Capitalised names in text, question openers ("What", "Did") taken off."""
    found = []
    for match in _ENTITY.finditer(text):
        words = match.group().split()
        while words and words[0].casefold() in _OPENERS:
            words = words[1:]
        name = " ".join(words).rstrip(".'\u2019")
        if name:
            found.append(name)
    return found


def _main_entity(text: str, prefer_person: bool) -> str | None:
    names = entities(text)
    if not names:
        return None
    if prefer_person:
        people = [n for n in names if len(n.split()) > 1 and not n.isupper()]
        if people:
            return people[0]
    return names[0]


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def rewrite_follow_up(question: str, history: list[Turn]) -> str:
    """The query to search: the question itself, or with what it refers to from earlier turns."""
    if not history:
        return question
    names = entities(question)
    # "What did Margaret Hodge say about her party?": the pronoun refers to the person in the question.
    people = [n for n in names if len(n.split()) > 1 and not n.isupper()]
    pronoun = _PRONOUN.search(question)
    if pronoun and not people:
        word = pronoun.group(1).casefold()
        name = None
        for turn in reversed(history):
            name = _main_entity(turn.searched, prefer_person=word not in {"they", "them", "their", "theirs"})
            if name:
                break
        if name is None:
            return f"{history[-1].searched} {question}"
        following = question[pronoun.end():].split(maxsplit=1)
        next_word = following[0].casefold().strip("?,.!") if following else ""
        possessive = word in _POSSESSIVE or (word == "her" and next_word and next_word not in _NOT_A_NOUN)
        replacement = _possessive(name) if possessive else name
        return question[:pronoun.start()] + replacement + question[pronoun.end():]
    content = [w for w in re.findall(r"[A-Za-z0-9']+", question) if w.casefold() not in _OPENERS]
    if not names and len(content) <= 2:
        return f"{history[-1].searched} {question}"  # "Why?", "And when?": only the last turn gives it sense
    return question


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

    def remember(self, question: str, searched: str) -> None:
        self.turns.append(Turn(question, searched, self.clock()))

    def reset(self) -> None:
        self.turns.clear()
