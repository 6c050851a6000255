"""Whether a text read from a file is language at all, or glyph codes, mojibake or number soup.

The measure is the share of the text's words (runs of non-space characters) that are shaped like words of some
language: after the punctuation around it, letters only (an apostrophe or hyphen between letters allowed), all of
one script, in the case of a word (lower case, Capitalised or CAPITALS). A paper's text layer scores 0.70-0.95;
the text layer of a PDF whose fonts have their own encoding scores 0.2-0.4 ("ÛªþUÿ", "K:è]^[", "ïKR;5YOAX_JM8(O"),
a table of numbers near 0. Scripts written without spaces (Chinese, Japanese, Thai) count a run by its characters:
a run that is mostly letters is a word. Nothing here needs a dictionary, so prose in any language passes; a text
whose letters were shifted to other letters ("Wkh kdueru") looks like words and passes too.

Figures on real files: `python -m benchmarks.corpora.language_scores` (docs/operations.md).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

MIN_WORD_SHARE = 0.5
"""Below this share of word-shaped words, a text is not language."""
MIN_WORDS = 30
"""Shorter texts are not judged (a title page, a caption): too few words to tell."""

_AROUND = re.compile(r"^[\W_]+|[\W_]+$")
_JOINERS = "'\u2019-\u2010"
_UNSPACED = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN", "HANGUL", "IDEOGRAPHIC")


@dataclass(frozen=True)
class LanguageScore:
    """How much of a text is shaped like words."""

    words: int
    """Runs of non-space characters in the text."""
    word_shaped: int
    """Those that look like a word of some language (see the module's docstring)."""

    @property
    def share(self) -> float:
        return self.word_shaped / self.words if self.words else 1.0

    @property
    def is_language(self) -> bool:
        """False only for a text long enough to judge whose word-shaped share is below MIN_WORD_SHARE."""
        return self.words < MIN_WORDS or self.share >= MIN_WORD_SHARE


def language_score(text: str, limit: int = 20_000) -> LanguageScore:
    """The score of text, from its first `limit` words (enough to judge, bounded on long texts)."""
    words = text.split(maxsplit=limit)[:limit]
    return LanguageScore(len(words), sum(map(_word_shaped, words)))


def not_language_reason(text: str) -> str | None:
    """A clause saying why text is not language ("only 23% of its words look like words"), or None."""
    score = language_score(text)
    if score.is_language:
        return None
    return f"only {score.share:.0%} of its {score.words:,} words look like words"


@lru_cache(maxsize=65_536)
def _word_shaped(word: str) -> bool:
    core = _AROUND.sub("", word)
    if not core:
        return False
    scripts = {_script(c) for c in core if c.isalpha()}
    if scripts & set(_UNSPACED):
        return sum(c.isalpha() for c in core) >= 0.7 * len(core)
    letters = core.replace("\u2019", "'")
    if not all(c.isalpha() or c in _JOINERS for c in letters) or any(
            a in _JOINERS and b in _JOINERS for a, b in zip(letters, letters[1:], strict=False)):
        return False
    if len(scripts) != 1:
        return False
    return core.islower() or core.isupper() or (core[0].isupper() and core[1:].islower()) or _one_inner_capital(core)


def _one_inner_capital(core: str) -> bool:
    """Names and brands with one capital inside, before a small letter: McDonald, iPhone, JavaScript."""
    inner = [i for i, c in enumerate(core) if c.isupper() and i > 0]
    return (len(inner) == 1 and sum(c.isupper() for c in core) <= 2 and inner[0] + 1 < len(core)
            and core[inner[0] + 1].islower() and len(core) >= 4)


@lru_cache(maxsize=4096)
def _script(char: str) -> str:
    """The script of a letter as the first word of its Unicode name (LATIN, CYRILLIC, GREEK, CJK, ...)."""
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"
