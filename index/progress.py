"""The build's progress bar: one bar over the real work, the texts run through the model, with texts per second
and the time left.

What a build must embed is known only once its articles are chunked, and chunking goes along with the
embedding, article by article. So the bar's total is the texts queued so far plus an estimate for the articles
still to come: none for an article whose chunks the last build made (its vectors are reused), and for a new or
changed one its kept characters times the texts per character of the new articles chunked so far (before the
first, a prior from the chunking settings). The estimate steadies after a few dozen articles and is exact once the
last article is chunked; an unchanged folder shows 0 texts.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from citebot.config.settings import ChunkSettings
from citebot.index.ingest.corpus import Article

CHARACTERS_PER_TOKEN = 4
"""About right for English news and papers (cl100k and WordPiece alike)."""
TOKENS_PER_SENTENCE = 30
REFRESH_SECONDS = 0.2
"""How often the article count is redrawn while no text is embedded (an unchanged folder, chunking ahead)."""


def kept_characters(article: Article) -> int:
    """Characters of the article's kept paragraphs: what its chunks are made of."""
    return sum(p.end - p.start for p in article.paragraphs if not p.dropped)


def prior_texts_per_character(chunking: ChunkSettings) -> float:
    """Texts per character before any article is chunked: a passage every max - overlap tokens, and each of its
    sentences (about one every 30 tokens) embedded on its own."""
    stride = max(8, chunking.max_tokens - chunking.overlap_tokens)
    return 1 / (CHARACTERS_PER_TOKEN * stride) + 1 / (CHARACTERS_PER_TOKEN * TOKENS_PER_SENTENCE)


class EmbeddingProgress:
    """The bar. Call `embedded(n)` after each model call and `article_done(...)` after each article is queued;
    `close()` at the end sets the total to what was embedded. With enabled False it prints nothing."""

    def __init__(self, articles: int, characters_to_chunk: int, prior: float, *, enabled: bool) -> None:
        """articles: how many the build reads; characters_to_chunk: kept characters of those it must chunk (new or
        changed); prior: texts per character until an article is chunked."""
        from tqdm import tqdm

        self._articles = articles
        self._done = 0
        self._to_chunk = characters_to_chunk
        self._chunked = 0
        self._queued_by_chunked = 0
        self._prior = prior
        self.total = round(prior * characters_to_chunk)
        """Texts queued so far plus the estimate for the articles still to come."""
        self.texts = 0
        """Texts run through the model so far."""
        self._drawn = time.monotonic()
        self.bar: Any = tqdm(total=self.total, desc="Embedding", unit="text", file=sys.stderr,
                             disable=not enabled, dynamic_ncols=True, smoothing=0.05)

    @property
    def texts_per_character(self) -> float:
        """The rate the estimate uses: that of the articles chunked so far, or the prior."""
        return self._queued_by_chunked / self._chunked if self._chunked else self._prior

    def embedded(self, texts: int) -> None:
        """texts more were run through the model."""
        self.texts += texts
        self.bar.update(texts)

    def article_done(self, characters: int, chunked: bool, queued_by_it: int, queued: int) -> None:
        """An article of kept characters was chunked (or its chunks were taken from the last build), and
        queued_by_it of its texts were queued for the model; queued: texts queued by the build so far."""
        self._done += 1
        if chunked:
            self._to_chunk = max(0, self._to_chunk - characters)
            self._chunked += characters
            self._queued_by_chunked += queued_by_it
        total = queued + round(self.texts_per_character * self._to_chunk)
        if total != self.total:
            self.total = self.bar.total = total
        now = time.monotonic()
        redraw = now - self._drawn >= REFRESH_SECONDS
        if redraw:
            self._drawn = now
        self.bar.set_postfix_str(f"article {self._done}/{self._articles}", refresh=redraw)

    def close(self) -> None:
        """The total becomes what was embedded, and the bar ends (a second call does nothing)."""
        if self.total != self.texts:
            self.total = self.bar.total = self.texts
        self.bar.close()
