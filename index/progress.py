"""The build's progress bar: one bar over the real work, the tokens run through the model, with tokens per second
and the time left.

The total is fixed before the first article is embedded, from the scan of the folder: the characters of the
articles in files that are new or changed since the last build (the scan reads or takes from the cache every
file anyway), times the tokens the model runs per character of article text. An unchanged folder's total is 0.
The model's time goes with the tokens it runs (batches hold texts of one token count, no padding), so the time
left is the tokens left at the rate so far. The one estimate is the ratio of model tokens to characters
(TOKENS_PER_CHARACTER, measured); an edited file counts whole, though its unchanged passages are reused, so its
bar ends early.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from citebot.config.settings import ChunkSettings

TOKENS_PER_CHARACTER = 0.51
"""Model tokens (passages and their sentences, special tokens included) per character of article text, at the
default chunking (max 128, overlap 48): measured in docs/performance.md."""
DEFAULT_OVERLAP = 48 / (128 - 48)
"""The share of a passage's tokens that overlap the passage before, at the default chunking."""
REFRESH_SECONDS = 0.2
"""How often the article count is redrawn while no text is embedded (an unchanged folder, chunking ahead)."""


def expected_tokens(characters: int, chunking: ChunkSettings) -> int:
    """The model tokens a build of that many new characters runs: each token once in a passage (more where
    passages overlap) and once in its sentence, run again on its own."""
    overlap = chunking.overlap_tokens / max(8, chunking.max_tokens - chunking.overlap_tokens)
    return round(characters * TOKENS_PER_CHARACTER * (2 + overlap) / (2 + DEFAULT_OVERLAP))


class EmbeddingProgress:
    """The bar. Call `embedded(texts, tokens, seconds)` after each model call and `article_done(characters)` after
    each article is queued; `close()` ends it. With enabled False it prints nothing."""

    def __init__(self, tokens: int, characters: int, articles: int, *, enabled: bool) -> None:
        """tokens: the model tokens expected (expected_tokens of characters); characters: of the new articles;
        articles: how many the build reads."""
        from tqdm import tqdm

        self._articles = articles
        self._done = 0
        self.total = tokens
        """Fixed from the start."""
        self.characters = characters
        self.chunked = 0
        """Characters of the articles chunked anew so far."""
        self.tokens = 0
        """Tokens run through the model so far."""
        self.texts = 0
        """Texts run through the model so far."""
        self.model_seconds = 0.0
        self._began = self._drawn = time.monotonic()
        self.bar: Any = tqdm(total=tokens, desc="Embedding", unit="token", unit_scale=True, file=sys.stderr,
                             disable=not enabled, dynamic_ncols=True,
                             bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}, "
                                        "{rate_fmt}{postfix}]")

    def seconds_left(self, now: float | None = None) -> float | None:
        """The time left: the characters left to chunk at the seconds per character spent outside the model so
        far, plus the tokens left to embed at the model's seconds per token; None before the model has run (0
        when there is nothing to embed)."""
        if not self.total:
            return 0.0
        if not self.tokens:
            return None
        elapsed = (now if now is not None else time.monotonic()) - self._began
        reading = max(0.0, elapsed - self.model_seconds)
        share = min(1.0, self.chunked / self.characters) if self.characters else 1.0
        left = reading / share * (1 - share) if share else 0.0
        return left + self.model_seconds / self.tokens * max(0, self.total - self.tokens)

    def _postfix(self) -> str:
        left = self.seconds_left()
        shown = "?" if left is None else f"{int(left) // 60}:{int(left) % 60:02d}"
        return f"{shown} left, article {self._done}/{self._articles}"

    def note(self, line: str) -> None:
        """Print a line above the bar (nothing when the bar is off)."""
        if not self.bar.disable:
            self.bar.write(line, file=sys.stderr)

    def embedded(self, texts: int, tokens: int, seconds: float = 0.0) -> None:
        """texts more, of tokens in all, were run through the model in seconds."""
        self.texts += texts
        self.model_seconds += seconds
        # The bar stops just short of its total while the estimate runs short; close() fills it.
        step = max(0, min(tokens, self.total - 1 - self.bar.n)) if self.total else 0
        self.tokens += tokens
        self.bar.set_postfix_str(self._postfix(), refresh=False)
        if step:
            self.bar.update(step)
        else:
            self.bar.refresh()

    def article_done(self, characters: int = 0) -> None:
        """One more article was queued: characters, its length when it was chunked anew (0 when its chunks were
        taken from the last build)."""
        self._done += 1
        self.chunked += characters
        now = time.monotonic()
        redraw = now - self._drawn >= REFRESH_SECONDS
        if redraw:
            self._drawn = now
        self.bar.set_postfix_str(self._postfix(), refresh=redraw)

    def close(self) -> None:
        """The bar ends full (a second call does nothing)."""
        if self.bar.n < self.total:
            self.bar.update(self.total - self.bar.n)
        self.bar.close()
