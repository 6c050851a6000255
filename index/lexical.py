"""BM25 over the passages (bm25s): built with the index, saved in its build folder, loaded by every engine.

Saved as bm25s's own files (JSON parameters and vocabulary, .npy score arrays, no pickle) in the build's
`lexical/` folder, with the corpus's folded words (words.json) for questions about names no article uses.
The manifest records how it was made (`lexical`: k1, b, titles, tokenizer) and hashes every file.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import Chunk, vector_text
from index.documents import normalise_line
from index.settings import RetrievalSettings

LEXICAL_DIR = "lexical"
BM25_FILES = ("params.index.json", "vocab.index.json", "data.csc.index.npy", "indices.csc.index.npy",
              "indptr.csc.index.npy")
WORDS = "words.json"
LEXICAL_FILES = tuple(f"{LEXICAL_DIR}/{name}" for name in (*BM25_FILES, WORDS))
TOKENIZER = "bm25s-en-stopwords+snowball-english"
"""Names the tokenisation below; a saved index made by another is rebuilt at load."""

_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class LexicalRecipe:
    """How a lexical index is made: what the manifest records and a loader compares with its config."""

    k1: float
    b: float
    titles: bool
    """The article title is indexed with each passage."""
    tokenizer: str = TOKENIZER

    def to_manifest(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, settings: RetrievalSettings, titles_in_vectors: bool) -> LexicalRecipe:
        """The recipe these settings ask for (titles always indexed when they are in the vectors)."""
        return cls(settings.bm25_k1, settings.bm25_b, settings.lexical_title or titles_in_vectors)


def folded_words(text: str) -> set[str]:
    """The words of text as the corpus vocabulary holds them (case- and accent-folded)."""
    return set(_WORD.findall(normalise_line(text)))


class Tokenizer:
    """English stop words removed, Snowball-stemmed: the tokens of bm25s.tokenize(stopwords="en", stemmer=...)."""

    def __init__(self) -> None:
        import Stemmer
        from bm25s.stopwords import STOPWORDS_EN

        self._stopwords = frozenset(STOPWORDS_EN)
        self._stemmer = Stemmer.Stemmer("english")

    def terms(self, text: str) -> list[str]:
        words = [w for w in _TOKEN.findall(text.lower()) if w not in self._stopwords]
        return self._stemmer.stemWords(words) if words else []


def _quiet_bm25s() -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its own logger to DEBUG
    return bm25s


class LexicalIndex:
    """BM25 scores of every passage for a query, and the corpus statistics the second stage reads."""

    def __init__(self, model: Any, recipe: LexicalRecipe, words: frozenset[str], tokenizer: Tokenizer) -> None:
        self._model = model
        self.recipe = recipe
        self.words = words
        """Every folded word of the passages' own text."""
        self.tokenizer = tokenizer
        self.size = int(model.scores["num_docs"])
        self._terms: list[set[str]] | None = None

    @classmethod
    def build(cls, chunks: list[Chunk], recipe: LexicalRecipe) -> LexicalIndex:
        builder = LexicalBuilder(recipe)
        for chunk in chunks:
            builder.add(chunk)
        return builder.finish()

    @classmethod
    def load(cls, folder: Path, recipe: LexicalRecipe) -> LexicalIndex:
        """Read a saved index (its files already checked against the manifest)."""
        bm25s = _quiet_bm25s()
        model = bm25s.BM25.load(str(folder), mmap=False, show_progress=False)
        words = frozenset(json.loads((folder / WORDS).read_text(encoding="utf-8")))
        return cls(model, recipe, words, Tokenizer())

    def save(self, folder: Path) -> None:
        folder.mkdir()
        self._model.save(str(folder), show_progress=False)
        (folder / WORDS).write_text(json.dumps(sorted(self.words), ensure_ascii=False), encoding="utf-8")
        missing = [name for name in (*BM25_FILES, WORDS) if not (folder / name).is_file()]
        if missing:
            raise RuntimeError(f"this bm25s did not write {', '.join(missing)}")

    def terms(self, text: str) -> list[str]:
        return self.tokenizer.terms(text)

    def scores(self, query: str) -> np.ndarray:
        tokens = [t for t in self.terms(query) if t in self._model.vocab_dict]
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)

    def passage_terms(self) -> list[set[str]]:
        """Each passage's distinct terms, read back from the score matrix (a passage's terms are its nonzeros)."""
        if self._terms is None:
            scores = self._model.scores
            indptr = np.asarray(scores["indptr"])
            docs = np.asarray(scores["indices"])
            term_ids = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
            order = np.argsort(docs, kind="stable")
            bounds = np.searchsorted(docs[order], np.arange(self.size + 1))
            vocabulary = [""] * max(len(indptr) - 1, len(self._model.vocab_dict))
            for term, i in self._model.vocab_dict.items():
                vocabulary[i] = term
            ids = term_ids[order].tolist()
            self._terms = [{vocabulary[i] for i in ids[bounds[row]:bounds[row + 1]]} - {""}
                           for row in range(self.size)]
        return self._terms


class LexicalBuilder:
    """Tokenises passages one by one as a build writes them; finish() indexes them."""

    def __init__(self, recipe: LexicalRecipe) -> None:
        self.recipe = recipe
        self.tokenizer = Tokenizer()
        self._documents: list[list[str]] = []
        self._words: set[str] = set()

    def add(self, chunk: Chunk) -> None:
        self._documents.append(self.tokenizer.terms(vector_text(chunk, self.recipe.titles)))
        self._words |= folded_words(chunk.text)

    def finish(self) -> LexicalIndex:
        bm25s = _quiet_bm25s()
        model = bm25s.BM25(k1=self.recipe.k1, b=self.recipe.b)
        # Term ids in sorted order (bm25s's own follow set order), so that equal folders give equal files.
        vocabulary = {term: i for i, term in enumerate(sorted({t for d in self._documents for t in d}))}
        model.index(([[vocabulary[t] for t in d] for d in self._documents], vocabulary), show_progress=False)
        return LexicalIndex(model, self.recipe, frozenset(self._words), self.tokenizer)
