"""What a result is made of, how it serialises, and how a citation is checked against its file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citebot.retrieval.abstain import Evidence


@dataclass(frozen=True)
class Citation:
    source: str
    title: str | None
    start: int
    end: int
    paragraph: int

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "title": self.title, "start": self.start, "end": self.end,
                "paragraph": self.paragraph}


@dataclass(frozen=True)
class Passage:
    rank: int
    score: float
    text: str
    citation: Citation
    chunk_id: str
    similarity: float
    """Cosine similarity of the query with the passage or its best sentence, whichever is higher."""
    also_in: tuple[Passage, ...] = field(default=())
    """Passages from other articles that say the same thing, each with its own citation."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rank": self.rank, "score": round(self.score, 6), "text": self.text,
                               "citation": self.citation.to_json()}
        if self.also_in:
            out["also_in"] = [{"text": p.text, "citation": p.citation.to_json()} for p in self.also_in]
        return out


@dataclass(frozen=True)
class Answer:
    text: str
    source: str
    start: int
    end: int
    passage: int
    """Rank of the passage the quote was taken from."""

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "source": self.source, "start": self.start, "end": self.end,
                "passage": self.passage}


@dataclass(frozen=True)
class LeftOut:
    """An article whose passages matched but are not cited: its file changed or went away since the build."""

    source: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "reason": self.reason}


@dataclass(frozen=True)
class Result:
    question: str
    searched: str
    abstained: bool
    answer: Answer | None
    passages: tuple[Passage, ...]
    more: tuple[Passage, ...] = field(default=())
    """The passages after the top ones (for "more sources")."""
    abstain_reason: str | None = None
    """Why the articles were judged not to answer (None when they answer)."""
    evidence: Evidence | None = None
    """What the abstention decision looked at (best similarity, names and years the top articles lack)."""
    left_out: tuple[LeftOut, ...] = ()
    """Articles that matched but changed or were removed since the build (their passages are not cited)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "searched": self.searched,
            "abstained": self.abstained,
            **({"abstain_reason": self.abstain_reason} if self.abstained else {}),
            "answer": self.answer.to_json() if self.answer else None,
            "passages": [p.to_json() for p in self.passages],
            **({"left_out": [left.to_json() for left in self.left_out]} if self.left_out else {}),
        }


def quote_matches_source(text: str, source: str, start: int, end: int) -> bool:
    """True when the file at source holds exactly text between start and end."""
    try:
        with Path(source).open(encoding="utf-8") as handle:
            return handle.read()[start:end] == text
    except (OSError, UnicodeDecodeError):
        return False
