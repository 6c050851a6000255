"""The build's progress bar: one bar over the real work, the texts run through the model, with texts per second
and the time left.

What a build must embed is known only once its articles are read and chunked, and that goes along with the
embedding, one article at a time (a build never holds the corpus). So the bar's total is the texts queued so far
plus an estimate for the articles still to come: the texts queued per article so far (an article whose chunks the
last build made queues none: its vectors are reused) times the articles left; before the first article, a prior
from the chunking settings and the folder's size. The estimate steadies after a few dozen articles, drops to 0
after the first article of an unchanged folder, and is exact once the last article is queued.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from citebot.config.settings import ChunkSettings

CHARACTERS_PER_TOKEN = 4
"""About right for English news and papers (cl100k and WordPiece alike)."""
TOKENS_PER_SENTENCE = 30
REFRESH_SECONDS = 0.2
"""How often the article count is redrawn while no text is embedded (an unchanged folder, chunking ahead)."""


def prior_texts_per_character(chunking: ChunkSettings) -> float:
    """Texts per character before any article is chunked: a passage every max - overlap tokens, and each of its
    sentences (about one every 30 tokens) embedded on its own."""
    stride = max(8, chunking.max_tokens - chunking.overlap_tokens)
    return 1 / (CHARACTERS_PER_TOKEN * stride) + 1 / (CHARACTERS_PER_TOKEN * TOKENS_PER_SENTENCE)


class EmbeddingProgress:
    """The bar. Call `embedded(n)` after each model call and `article_done(queued)` after each article is queued;
    `close()` at the end sets the total to what was embedded. With enabled False it prints nothing."""

    def __init__(self, articles: int, prior_per_article: float, *, enabled: bool) -> None:
        """articles: how many the build reads; prior_per_article: texts expected of each until one is queued."""
        from tqdm import tqdm

        self._articles = articles
        self._done = 0
        self.total = round(prior_per_article * articles)
        """Texts queued so far plus the estimate for the articles still to come."""
        self.texts = 0
        """Texts run through the model so far."""
        self._drawn = time.monotonic()
        self.bar: Any = tqdm(total=self.total, desc="Embedding", unit="text", file=sys.stderr,
                             disable=not enabled, dynamic_ncols=True, smoothing=0.05)

    def embedded(self, texts: int) -> None:
        """texts more were run through the model."""
        self.texts += texts
        self.bar.update(texts)

    def article_done(self, queued: int) -> None:
        """One more article was queued (chunked, or its chunks taken from the last build); queued: texts queued
        for the model by the build so far."""
        self._done += 1
        total = queued + round(queued / self._done * max(0, self._articles - self._done))
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
