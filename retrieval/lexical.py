"""How text becomes BM25 terms, and what text of a passage BM25 indexes: one options object, one tokenizer.

Kept apart from the BM25 index itself (retrieval/search.py) so that the same options can be recorded with a
BM25 index saved at build time and checked against the config when it is loaded. The defaults reproduce
bm25s's own tokenization (lower-cased `\\w\\w+` words, its 33 English stop words, Snowball English stems).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from index.chunking import Chunk
from index.settings import LexicalSettings

_WORD = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern
# With `numbers`: a number keeps its decimals, thousands and unit ("1.13bn", "£600m" -> "600m", "76%" -> "76",
# "1,000" -> "1000") and single digits count; other words as above.
_WORD_OR_NUMBER = re.compile(r"(?u)\d+(?:[.,]\d+)*(?:[a-z]+\b)?|\b\w\w+\b")
_CAPITAL = re.compile(r"(?u)\b[^\W\d_][\w'\u2019-]*")


def stopword_set(name: str) -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    if name == "none":
        return frozenset()
    if name == "question":
        from retrieval.query import OPENERS, STOPWORDS

        return frozenset(STOPWORDS_EN) | OPENERS | STOPWORDS
    return frozenset(STOPWORDS_EN)


class Tokenizer:
    """Text -> BM25 terms, the same for passages and questions."""

    def __init__(self, options: LexicalSettings) -> None:
        import Stemmer

        self.options = options
        self._stopwords = stopword_set(options.stopwords)
        self._stem: Callable[[list[str]], list[str]] = (
            Stemmer.Stemmer("english").stemWords if options.stem else list)
        self._pattern = _WORD_OR_NUMBER if options.numbers else _WORD

    def _words(self, text: str) -> list[str]:
        words = self._pattern.findall(text.lower())
        if self.options.numbers:
            words = [w.replace(",", "") if w[0].isdigit() else w for w in words]
        return [w for w in words if w not in self._stopwords]

    def __call__(self, text: str) -> list[str]:
        words = self._words(text)
        terms = self._stem(words) if words else []
        if self.options.bigrams and len(terms) > 1:
            terms = terms + [f"{a}_{b}" for a, b in zip(terms, terms[1:], strict=False)]
        if self.options.names:
            terms = terms + [f"={n}" for n in name_words(text) if n not in self._stopwords]
        return terms


def name_words(text: str) -> list[str]:
    """Case-folded capitalised words that do not open a sentence or line ("Wales", "BBC"), possessive 's off."""
    out = []
    for match in _CAPITAL.finditer(text):
        word = match.group()
        if not word[0].isupper():
            continue
        before = text[:match.start()].rstrip(" \"'\u2018\u201c(")
        if not before or before[-1] in ".!?:\n":
            continue
        out.append(re.sub(r"['\u2019]s$", "", word).rstrip("'\u2019-").casefold())
    return out


def passage_text(chunk: Chunk, with_title: bool, options: LexicalSettings, context: str = "") -> str:
    """What BM25 indexes for a passage: its title (title_repeat times), the context before it, its text."""
    parts = [chunk.title] * options.title_repeat if with_title and chunk.title else []
    if context:
        parts.append(context)
    return "\n".join([*parts, chunk.text])
