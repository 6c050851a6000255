"""What a result is made of, how it serialises, and how a citation is checked against its file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citebot.index.ingest.corpus import Document
from citebot.retrieval.abstain import Evidence
from citebot.retrieval.text_fragment import fragment_link


def row_number(document: Document | None) -> int | None:
    """A collection row's number among the file's data rows, 1 for the first: in a CSV file the header is not
    counted (the index names rows as a spreadsheet does, "row 2" for the first), in JSON Lines it is the line
    number. None for an article that is not a row."""
    if document is None or not document.row:
        return None
    try:
        number = int(document.row.removeprefix("row").strip())
    except ValueError:
        return None
    return number - 1 if document.file.lower().endswith(".csv") else number


@dataclass(frozen=True)
class Citation:
    source: str
    """The file the quote is a slice of: `open(source).read()[start:end]` is the passage. For an article read
    from another format than .txt, the text the index kept of it (the article's own file is `document`)."""
    title: str | None
    start: int
    end: int
    paragraph: int
    document: Document | None = None
    """For an article of another format: its file (web page, Markdown, PDF, collection) and what it said."""
    link: str | None = None
    """The article's URL with a text fragment that opens the page at the passage, when the URL is known."""

    @property
    def page(self) -> int | None:
        """The PDF page that holds the passage's first character (1 for the first page)."""
        return self.document.page_at(self.start) if self.document else None

    @property
    def row(self) -> int | None:
        """The collection row the passage is from (row_number)."""
        return row_number(self.document)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "title": self.title, "start": self.start, "end": self.end,
                               "paragraph": self.paragraph, "text_file": self.source}
        if self.document is not None:
            out["document"] = self.document.file
            out.update({k: v for k, v in (("row", self.row), ("page", self.page),
                                          ("url", self.document.url), ("date", self.document.date),
                                          ("author", self.document.author)) if v is not None})
        if self.link:
            out["link"] = self.link
        return out


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
    link: str | None = None
    """The article's URL with a text fragment that opens the page at the quote, when the URL is known."""
    article: str | None = None
    """The article's name in the loaded index (its chunks' source), when source is not it: a collection's rows
    share one text file."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "source": self.source, "start": self.start, "end": self.end,
                               "passage": self.passage}
        if self.link:
            out["link"] = self.link
        return out


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


def text_file(source: str, document: Document | None) -> tuple[str, int]:
    """The file an article's passages are a slice of, and where the article's text starts in it: a collection's
    row (named "<text file>#row N" in a loaded index) is a span of its collection's text file."""
    if document is not None and document.row and source.endswith(f"#{document.row}"):
        return source[:-len(document.row) - 1], document.offset
    return source, 0


def cite(source: str, title: str | None, start: int, end: int, paragraph: int, document: Document | None,
         text: str) -> Citation:
    """The citation of text, at start:end of the article source (its name in the loaded index), with its article's
    document and a link to it when known; its source is a file that holds text at its offsets (text_file)."""
    link = fragment_link(document.url, text) if document is not None and document.url else None
    file, offset = text_file(source, document)
    return Citation(file, title, start + offset, end + offset, paragraph, document, link)


def quote_matches_source(text: str, source: str, start: int, end: int) -> bool:
    """True when the file at source holds exactly text between start and end."""
    try:
        with Path(source).open(encoding="utf-8") as handle:
            return handle.read()[start:end] == text
    except (OSError, UnicodeDecodeError):
        return False
