"""The answer quote: the sentence(s) of the top passages that best answer the question."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from index.chunking import Chunk, sentence_spans
from index.embed import Embedder
from index.settings import AnswerSettings
from retrieval.citations import Answer

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the of in on at to for from by with and or but is are was were be been being do does did has have had "
    "what which who whom whose when where why how that this these those it its he she they them his her their "
    "there about did said say says tell told me you your we our i not no as into than then so if".split()
)


@dataclass(frozen=True)
class Sentence:
    passage_rank: int
    start: int
    end: int
    text: str
    line: int
    """Index of the line of the chunk holding the sentence; quotes never cross lines."""


def _content_words(text: str) -> set[str]:
    return {w[:6] for w in _WORD.findall(text.casefold()) if w not in _STOP}


def passage_sentences(chunk: Chunk, passage_rank: int) -> list[Sentence]:
    """The sentences of a chunk with offsets in its source file."""
    out = []
    for line_number, match in enumerate(re.finditer(r"[^\n]+", chunk.text)):
        for start, end in sentence_spans(chunk.text, match.start(), match.end()):
            out.append(Sentence(passage_rank, chunk.start + start, chunk.start + end,
                                chunk.text[start:end], line_number))
    return out


def pick_answer(question: str, query_vector: np.ndarray, ranked: list[Chunk], embedder: Embedder,
                settings: AnswerSettings) -> Answer | None:
    """Best-scoring sentence of the top passages, joined with an adjacent one that scores nearly as well."""
    candidates = [s for rank, chunk in enumerate(ranked[:settings.passages_considered], start=1)
                  for s in passage_sentences(chunk, rank)]
    if not candidates:
        return None
    vectors = embedder.encode([s.text for s in candidates])
    question_words = _content_words(question)
    scores = []
    for sentence, vector in zip(candidates, vectors, strict=True):
        overlap = len(question_words & _content_words(sentence.text)) / max(1, len(question_words))
        # Semantic match first; shared content words and a higher-ranked passage break near-ties.
        scores.append(float(vector @ query_vector) + 0.25 * overlap + 0.03 / sentence.passage_rank)
    best = int(np.argmax(scores))
    chosen = [best]
    while len(chosen) < settings.max_sentences:
        neighbours = [i for i in (chosen[0] - 1, chosen[-1] + 1)
                      if 0 <= i < len(candidates)
                      and candidates[i].passage_rank == candidates[best].passage_rank
                      and candidates[i].line == candidates[best].line
                      and scores[i] >= settings.extend_ratio * scores[best]]
        if not neighbours:
            break
        chosen = sorted(chosen + [max(neighbours, key=lambda i: scores[i])])
    first, last = candidates[chosen[0]], candidates[chosen[-1]]
    chunk = ranked[first.passage_rank - 1]
    text = chunk.text[first.start - chunk.start:last.end - chunk.start]
    return Answer(text, chunk.source, first.start, last.end, first.passage_rank)
