"""Shape the ranked list: no passage twice, one fact once (others "also in"), a cap per article."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from citebot.index.chunking import Chunk
from citebot.index.ingest.corpus import normalise_line

SHINGLE = 5


@dataclass
class Slot:
    """A passage kept for display, with the passages from other articles that repeat it."""

    row: int
    chunk: Chunk
    also_in: list[int] = field(default_factory=list)


def shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", normalise_line(text))
    return {tuple(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}


def repeats(a: set[tuple[str, ...]], b: set[tuple[str, ...]], share: float) -> bool:
    """True when at least `share` of the smaller passage's word 5-grams appear in the other."""
    smaller = min(len(a), len(b))
    return smaller > 0 and len(a & b) >= share * smaller


def arrange(rows: list[int], chunks: list[Chunk], wanted: int, max_per_article: int,
            duplicate_share: float) -> list[Slot]:
    """The first `wanted` passages to show, from rows in ranked order."""
    kept: list[Slot] = []
    deferred: list[Slot] = []
    grams: dict[int, set[tuple[str, ...]]] = {}
    per_article: dict[str, int] = {}
    for row in rows:
        if len(kept) >= wanted:
            break
        chunk = chunks[row]
        grams[row] = shingles(chunk.text)
        same_file = [s for s in kept + deferred if s.chunk.source == chunk.source]
        if any(2 * (min(s.chunk.end, chunk.end) - max(s.chunk.start, chunk.start)) > chunk.end - chunk.start
               for s in same_file):
            continue  # mostly the text of a passage already listed (overlapping chunks)
        twin = next((s for s in kept if s.chunk.source != chunk.source
                     and repeats(grams[s.row], grams[row], duplicate_share)), None)
        if twin is not None:
            if all(chunks[r].source != chunk.source for r in twin.also_in):  # each other article (row) once
                twin.also_in.append(row)
            continue
        slot = Slot(row, chunk)
        if per_article.get(chunk.source, 0) >= max_per_article:
            deferred.append(slot)
            continue
        per_article[chunk.source] = per_article.get(chunk.source, 0) + 1
        kept.append(slot)
    return kept + deferred[:max(0, wanted - len(kept))]
