"""Sentence-aware, token-budgeted chunks, each one contiguous span of its source file."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from citebot.config.settings import ChunkSettings
from citebot.index.ingest.corpus import Article, Paragraph

TokenCounter = Callable[[str], int]

_SENTENCE_END = re.compile(r"""[.!?]+["'\u2019\u201d)\]]*(?=\s+["'\u2018\u201c(\[]?[A-Z0-9])""")
_ABBREVIATIONS = frozenset(
    [
        "mr", "mrs", "ms", "dr", "st", "prof", "sen", "rep", "gen", "col", "lt", "sgt", "capt", "rev", "hon",
        "no", "vs", "etc", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "inc", "ltd", "co", "corp", "e.g", "i.e", "u.s", "u.k", "approx", "fig", "al"
    ]
)


@dataclass(frozen=True)
class Chunk:
    id: str
    source: str
    title: str | None
    start: int
    end: int
    text: str
    paragraph: int
    """Number of the paragraph the chunk starts in (see Paragraph.number)."""


def vector_text(chunk: Chunk, with_title: bool) -> str:
    """What is embedded (and BM25-indexed) for a chunk; the chunk's own text stays verbatim."""
    return f"{chunk.title}\n{chunk.text}" if with_title and chunk.title else chunk.text


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the sentences in text[start:end], whitespace around them excluded."""
    spans = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        word = re.search(r"(\S+)$", text[cursor:match.start()])
        if word:
            token = word.group(1).lstrip("'\"(\u2018\u201c").casefold()
            if token in _ABBREVIATIONS or re.fullmatch(r"[a-z]", token):
                continue
        spans.append((cursor, match.end()))
        cursor = match.end()
    spans.append((cursor, end))
    return [_strip(text, s, e) for s, e in spans if text[s:e].strip()]


def chunk_sentences(chunk: Chunk) -> list[tuple[int, int]]:
    """Spans, in the source file, of the sentences of a chunk (a sentence never crosses a line)."""
    spans = []
    for line in re.finditer(r"[^\n]+", chunk.text):
        found = sentence_spans(chunk.text, line.start(), line.end())
        spans.extend((chunk.start + s, chunk.start + e) for s, e in found)
    return spans


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    segment = text[start:end]
    return start + len(segment) - len(segment.lstrip()), end - len(segment) + len(segment.rstrip())


def _split_words(text: str, start: int, end: int, fits: Callable[[int, int], bool]) -> list[tuple[int, int]]:
    """Cut a span too long for one chunk into the longest word-aligned pieces that fit."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[start:end])]
    words = [(start + s, start + e) for s, e in words]
    pieces: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        j = i + 1
        while j < len(words) and fits(words[i][0], words[j][1]):
            j += 1
        pieces.append((words[i][0], words[j - 1][1]))  # a single word always goes, even if too long
        i = j
    return pieces


class Chunker:
    """Packs whole sentences into chunks of at most max_tokens (cl100k) and the model's own limit."""

    def __init__(self, settings: ChunkSettings, count_tokens: TokenCounter,
                 count_model_tokens: TokenCounter | None = None) -> None:
        self.settings = settings
        self.count_tokens = count_tokens
        self.count_model_tokens = count_model_tokens

    def _fits(self, text: str) -> Callable[[int, int], bool]:
        def fits(start: int, end: int) -> bool:
            span = text[start:end]
            if self.count_tokens(span) > self.settings.max_tokens:
                return False
            return self.count_model_tokens is None or (
                self.count_model_tokens(span) <= self.settings.model_max_tokens
            )

        return fits

    def chunk_article(self, article: Article) -> list[Chunk]:
        text = article.text
        fits = self._fits(text)
        chunks: list[Chunk] = []
        for run in article.kept_runs():
            units: list[tuple[int, int, Paragraph]] = []
            for paragraph in run:
                for s, e in sentence_spans(text, paragraph.start, paragraph.end):
                    pieces = [(s, e)] if fits(s, e) else _split_words(text, s, e, fits)
                    units.extend((ps, pe, paragraph) for ps, pe in pieces)
            for first, last in self._pack(text, units, fits):
                start, end = units[first][0], units[last][1]
                chunks.append(Chunk(
                    id=f"{article.fingerprint[:12]}:{start}-{end}",
                    source=article.source,
                    title=article.title,
                    start=start,
                    end=end,
                    text=text[start:end],
                    paragraph=units[first][2].number,
                ))
        return chunks

    def _pack(self, text: str, units: list[tuple[int, int, Paragraph]],
              fits: Callable[[int, int], bool]) -> list[tuple[int, int]]:
        """Greedy packing of unit indices into (first, last) groups, with sentence overlap."""
        groups = []
        first = 0
        while first < len(units):
            last = first
            while last + 1 < len(units) and fits(units[first][0], units[last + 1][1]):
                last += 1
            groups.append((first, last))
            if last + 1 >= len(units):
                break
            # Carry trailing sentences of this chunk into the next, within the overlap budget.
            next_first = last + 1
            while (next_first - 1 > first
                   and self.count_tokens(text[units[next_first - 1][0]:units[last][1]])
                   <= self.settings.overlap_tokens):
                next_first -= 1
            first = next_first
        return groups

