"""BM25 over the passages (bm25s): built with the index, saved in its build folder, loaded by every engine.

Saved as bm25s's own files (JSON parameters and vocabulary, .npy score arrays, no pickle) in the build's
`lexical/` folder, with the corpus's folded words (words.json) for questions about names no article uses,
and each article's passage terms (articles.jsonl) for the next build to reuse.
The manifest records how it was made (`lexical`: k1, b, titles, tokenizer and its [lexical] options) and hashes
every file. The [lexical] options (how terms are made, what of the article is indexed with a passage) were
measured by benchmarks/tuning/context_variants.py; the defaults are bm25s's own tokenization of title + passage.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import re
import shutil
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from citebot.config.settings import LexicalSettings, RetrievalSettings
from citebot.index.chunking import Chunk, chunk_sentences
from citebot.index.ingest.corpus import QUOTES
from citebot.index.lexical_top import PostingLists, positive_top

LEXICAL_DIR = "lexical"
BM25_FILES = ("params.index.json", "vocab.index.json", "data.csc.index.npy", "indices.csc.index.npy",
              "indptr.csc.index.npy")
WORDS = "words.json"
LEXICAL_FILES = tuple(f"{LEXICAL_DIR}/{name}" for name in (*BM25_FILES, WORDS))
ARTICLE_TERMS = f"{LEXICAL_DIR}/articles.jsonl"
STEMS_KEPT = 50_000
"""Words whose stems a tokenizer keeps (a question's and its candidates' words need a few thousand)."""
"""Each article's passage terms and words, for the next build to reuse (a build's, not an engine's, file)."""
TOKENIZER = "bm25s-en-stopwords+snowball-english+ligatures"
"""Names the tokenisation below; a saved index made by another is rebuilt at load."""
LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                           "\ufb05": "st", "\ufb06": "st"})
"""PDF text keeps typographic ligatures ("\ufb01nd"); a question types "find". Read as their letters for BM25 terms
only: the stored text stays verbatim."""

_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern
_WORD = re.compile(r"\w+")
# With `numbers`: a number keeps its decimals, thousands and unit ("1.13bn", "£600m" -> "600m", "76%" -> "76",
# "1,000" -> "1000") and single digits count; other words as above.
_TOKEN_OR_NUMBER = re.compile(r"(?u)\d+(?:[.,]\d+)*(?:[a-z]+\b)?|\b\w\w+\b")
_CAPITAL = re.compile(r"(?u)\b[^\W\d_][\w'\u2019-]*")
_ARTICLE_KEY = re.compile(r'^\{"key": "([0-9a-f]+)"')

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LexicalRecipe:
    """How a lexical index is made: what the manifest records and a loader compares with its config."""

    k1: float
    b: float
    titles: bool
    """The article title is indexed with each passage."""
    tokenizer: str = TOKENIZER
    """The tokenizer's family (its word pattern and stemmer); the fields below say how its options are set."""
    # The [lexical] options (index/settings.py LexicalSettings); a manifest from before them has the defaults.
    stem: bool = True
    stopwords: str = "en"
    numbers: bool = False
    names: bool = False
    bigrams: bool = False
    title_repeat: int = 1
    context: str = "none"

    def to_manifest(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def options(self) -> LexicalSettings:
        return LexicalSettings(self.stem, self.stopwords, self.numbers, self.names, self.bigrams,
                               self.title_repeat, self.context)

    @classmethod
    def of(cls, settings: RetrievalSettings, titles_in_vectors: bool,
           lexical: LexicalSettings | None = None) -> LexicalRecipe:
        """The recipe these settings ask for (titles always indexed when they are in the vectors)."""
        return cls(settings.bm25_k1, settings.bm25_b, settings.lexical_title or titles_in_vectors,
                   **asdict(lexical or LexicalSettings()))


def folded_words(text: str) -> set[str]:
    """The words of text as the corpus vocabulary holds them: the words of normalise_line(text)."""
    return set(_WORD.findall(text.translate(QUOTES).casefold()))  # normalise_line's spacing cannot change words


def stopword_set(name: str) -> frozenset[str]:
    """The stop words of one of index/settings.py's STOPWORD_LISTS."""
    from bm25s.stopwords import STOPWORDS_EN

    if name == "none":
        return frozenset()
    return frozenset(STOPWORDS_EN)


class Tokenizer:
    """Text -> BM25 terms, the same for passages and questions. With the default options, the tokens of
    bm25s.tokenize(stopwords="en", stemmer=Snowball English)."""

    def __init__(self, options: LexicalSettings | None = None) -> None:
        import Stemmer

        self.options = options = options or LexicalSettings()
        self._stopwords = stopword_set(options.stopwords)
        self._stemmer = Stemmer.Stemmer("english") if options.stem else None
        self._stems: dict[str, str] = {}
        self._pattern = _TOKEN_OR_NUMBER if options.numbers else _TOKEN

    def _stem(self, words: list[str]) -> list[str]:
        """Snowball stems of words, each distinct word stemmed once per tokenizer."""
        stems = self._stems
        unseen = [w for w in set(words) if w not in stems]
        if len(stems) + len(unseen) > STEMS_KEPT:
            stems.clear()  # a bound, not a store of every word the process ever met
            unseen = list(set(words))
        if unseen:
            stems.update(zip(unseen, self._stemmer.stemWords(unseen), strict=True))
        return [stems[w] for w in words]

    def terms(self, text: str) -> list[str]:
        words = self._pattern.findall(text.translate(LIGATURES).lower())
        if self.options.numbers:
            words = [w.replace(",", "") if w[0].isdigit() else w for w in words]
        if self._stopwords:
            words = [w for w in words if w not in self._stopwords]
        terms = self._stem(words) if self._stemmer else words
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
    """What BM25 indexes for a passage: its title (title_repeat times), the context before it, its own text."""
    parts = [chunk.title] * options.title_repeat if with_title and chunk.title else []
    if context:
        parts.append(context)
    return "\n".join([*parts, chunk.text])


class ArticleContext:
    """The text of an article before each of its passages, for `LexicalSettings.context`; passages are given
    in article order (as a build writes them), an article's overlapping passages sharing sentences."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._source: str | None = None
        self._sentences: dict[int, tuple[int, str]] = {}
        """start -> (end, text) of the current article's sentences seen so far."""

    def before(self, chunk: Chunk, sentences: list[tuple[int, int]] | None = None) -> str:
        """The context of this passage (and remember its sentences for the passages after it);
        sentences: the chunk's chunk_sentences(), when known."""
        if self.kind == "none":
            return ""
        if chunk.source != self._source:
            self._source, self._sentences = chunk.source, {}
        elif self.kind == "lead" and self._sentences:  # the article's first passage gave its first sentence
            first = min(self._sentences, default=None)
            return self._sentences[first][1] if first is not None and first < chunk.start else ""
        for start, end in chunk_sentences(chunk) if sentences is None else sentences:
            self._sentences.setdefault(start, (end, chunk.text[start - chunk.start:end - chunk.start]))
        earlier = [text for start, (_, text) in sorted(self._sentences.items()) if start < chunk.start]
        if self.kind == "previous":
            return earlier[-1] if earlier else ""
        if self.kind == "names":
            return " ".join(dict.fromkeys(w.capitalize() for s in earlier[-2:] for w in name_words(s)))
        return earlier[0] if earlier else ""  # lead: the article's first sentence


def _quiet_bm25s() -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its own logger to DEBUG
    return bm25s


class SortedWords:
    """A set of words held as their sorted UTF-8 bytes in one buffer with offsets, membership by bisection: a few
    bytes a word instead of a str and a hash-table slot (some 90 bytes) each. Supports `in`, `len`, iteration,
    and `a_set <= words`."""

    def __init__(self, words: Iterable[str]) -> None:
        self._fill(sorted({w.encode("utf-8") for w in words}))  # UTF-8 byte order is code point order

    def _fill(self, encoded: list[bytes]) -> None:
        """Hold these distinct words, given as UTF-8 in sorted order."""
        self._blob = b"".join(encoded)
        self._offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=self._offsets[1:])

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _word(self, i: int) -> bytes:
        return self._blob[self._offsets[i]:self._offsets[i + 1]]

    def find(self, word: str) -> int | None:
        """The word's place in sorted order, or None."""
        wanted = word.encode("utf-8", "surrogatepass")
        i = bisect.bisect_left(range(len(self)), wanted, key=self._word)
        return i if i < len(self) and self._word(i) == wanted else None

    def word(self, i: int) -> str:
        return self._word(i).decode("utf-8")

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.find(word) is not None

    def __iter__(self) -> Iterator[str]:
        return (self._word(i).decode("utf-8") for i in range(len(self)))

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, set | frozenset):
            return NotImplemented
        return all(word in self for word in other)


class TermIds(Mapping[str, int]):
    """bm25s's vocabulary (term -> id) as sorted UTF-8 bytes with offsets and two id arrays, looked up by
    bisection: the mapping bm25s reads (`in`, `[]`) at some 12 bytes a term instead of a dict entry and a str."""

    def __init__(self, vocabulary: Mapping[str, int]) -> None:
        pairs = sorted((term.encode("utf-8"), i) for term, i in vocabulary.items())
        self._terms = SortedWords(())
        self._terms._fill([term for term, _ in pairs])
        self._ids = np.array([i for _, i in pairs], dtype=np.int64)
        self._position = np.full(int(self._ids.max()) + 1 if len(pairs) else 0, -1, dtype=np.int64)
        self._position[self._ids] = np.arange(len(pairs))

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self._terms)

    def __getitem__(self, term: str) -> int:
        i = self._terms.find(term)
        if i is None:
            raise KeyError(term)
        return int(self._ids[i])

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self._terms.find(term) is not None

    def term(self, term_id: int) -> str:
        """The term with this id ("" for an id no term has)."""
        if not 0 <= term_id < len(self._position) or self._position[term_id] < 0:
            return ""
        return self._terms.word(int(self._position[term_id]))


class LexicalIndex:
    """BM25 scores of every passage for a query, and the corpus statistics the second stage reads."""

    def __init__(self, model: Any, recipe: LexicalRecipe, words: frozenset[str] | SortedWords,
                 tokenizer: Tokenizer) -> None:
        self._model = model
        self.recipe = recipe
        self.words = words
        """Every folded word of the passages' own text."""
        self.tokenizer = tokenizer
        self.size = int(model.scores["num_docs"])
        self._terms: PassageTerms | None = None
        self._lists: PostingLists | None = None
        self._last_query: tuple[str, list[int]] | None = None
        self._folder: Path | None = None
        """The folder a saved index was loaded from."""

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
        model = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        model.unique_token_ids_set = None  # bm25s's set of every term id, read only by searches by id (not ours)
        model.vocab_dict = TermIds(model.vocab_dict)
        words = SortedWords(json.loads((folder / WORDS).read_text(encoding="utf-8")))
        loaded = cls(model, recipe, words, Tokenizer(recipe.options))
        loaded._folder = folder
        return loaded

    def save(self, folder: Path) -> None:
        folder.mkdir()
        self._model.save(str(folder), show_progress=False)
        (folder / WORDS).write_text(json.dumps(sorted(self.words), ensure_ascii=False), encoding="utf-8")
        missing = [name for name in (*BM25_FILES, WORDS) if not (folder / name).is_file()]
        if missing:
            raise RuntimeError(f"this bm25s did not write {', '.join(missing)}")

    def terms(self, text: str) -> list[str]:
        return self.tokenizer.terms(text)

    def _term_ids(self, query: str) -> list[int]:
        """The query's term ids, in its order (the last query's kept: a question asks for its top passages and then
        for its candidates' scores, a batch at a time)."""
        last = self._last_query
        if last is not None and last[0] == query:
            return last[1]
        vocabulary = self._model.vocab_dict
        ids = [vocabulary[t] for t in self.terms(query) if t in vocabulary]
        self._last_query = (query, ids)
        return ids

    def _postings(self) -> PostingLists | None:
        """The score matrix as posting lists (None for bm25l and bm25+, which score absent terms too)."""
        if self._lists is None and self._model.nonoccurrence_array is None:
            matrix = self._model.scores
            self._lists = PostingLists(matrix["indptr"], matrix["indices"], matrix["data"], self.size)
        return self._lists

    def scores(self, query: str) -> np.ndarray:
        """BM25 of every passage for the query: bm25s's sum, to the bit (lexical_top.PostingLists.full)."""
        ids = self._term_ids(query)
        lists = self._postings()
        if lists is None:
            return np.asarray(self._model.get_scores(ids), dtype=np.float32) if ids else np.zeros(self.size, np.float32)
        return lists.full(ids)

    def top(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best passages with a score above 0 and their scores, best first, ties by row: those of scores(),
        found without adding every posting of the question's common terms when a bound allows (lexical_top.py)."""
        lists = self._postings()
        if lists is None:
            return positive_top(self.scores(query), k)
        return lists.top(self._term_ids(query), k)

    def scores_of(self, query: str, rows: np.ndarray) -> np.ndarray:
        """scores(query)[rows], without scoring the other passages."""
        lists = self._postings()
        if lists is None:
            return self.scores(query)[np.asarray(rows, dtype=np.int64)]
        return lists.scores_of(self._term_ids(query), rows)

    def passage_terms(self) -> PassageTerms:
        """Each passage's distinct terms and each term's passage count, read from the score matrix."""
        if self._terms is None:
            self._terms = PassageTerms(self._model, self.size, self._folder)
        return self._terms


TRANSPOSE_BY_COUNTING_FROM = 20_000_000
"""Score-matrix entries from which a passage's terms are gathered by scipy's counting transpose (O(entries); 48 s
against 349 s for the sort at 6 million passages) rather than a stable sort (faster below: scipy's import alone
takes 0.3 s of a cold start)."""


def _by_passage(docs: np.ndarray, indptr: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The term ids of each passage in ascending order, and each passage's bounds in them, from a matrix stored
    by term (each term's passages in `docs`, bounded by indptr)."""
    if len(docs) >= TRANSPOSE_BY_COUNTING_FROM:
        from scipy.sparse import csc_matrix

        by_term = csc_matrix((np.zeros(len(docs), dtype=np.int8), docs, indptr), shape=(size, len(indptr) - 1),
                             copy=False)
        by_passage = by_term.tocsr()
        return by_passage.indices.astype(np.int32, copy=False), by_passage.indptr
    term_ids = np.repeat(np.arange(len(indptr) - 1, dtype=np.int32), np.diff(indptr))
    order = np.argsort(docs, kind="stable")
    return term_ids[order], np.searchsorted(docs[order], np.arange(size + 1))


class PassageTerms(Sequence[set[str]]):
    """Each passage's distinct terms, read back from bm25s's score matrix (a passage's terms are its nonzeros) as
    they are asked for: the matrix re-sorted by passage as 4-byte term ids, not a set of strings a passage."""

    def __init__(self, model: Any, size: int, folder: Path | None = None) -> None:
        scores = model.scores
        indptr = np.asarray(scores["indptr"])
        # The matrix's passage numbers are read once, to sort; from a saved index, read from its file rather than
        # through bm25s's memory map, whose pages would all stay in the process's RSS for that one pass.
        saved = folder / "indices.csc.index.npy" if folder is not None else None
        docs = np.load(saved) if saved is not None and saved.is_file() else np.asarray(scores["indices"])
        self._counts = np.diff(indptr)
        self._by_passage, bounds = _by_passage(docs, indptr, size)
        del docs
        self._bounds = bounds.astype(np.int32) if len(self._by_passage) < 2**31 else bounds.astype(np.int64)
        vocabulary = model.vocab_dict
        self._ids = vocabulary
        if isinstance(vocabulary, TermIds):
            self._term = vocabulary.term
        else:
            names = [""] * max(len(indptr) - 1, len(vocabulary))
            for term, i in vocabulary.items():
                names[i] = term
            self._term = names.__getitem__

    def __len__(self) -> int:
        return len(self._bounds) - 1

    def __getitem__(self, row):  # type: ignore[override]
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        return {self._term(i) for i in self.term_ids(row).tolist()} - {""}

    def term_ids(self, row: int) -> np.ndarray:
        """The passage's distinct terms as the vocabulary's ids, ascending (a view, not a copy)."""
        return self._by_passage[self._bounds[row]:self._bounds[row + 1]]

    def id_of(self, term: str) -> int:
        """The term's id, or -1 for a term no passage has."""
        i = self._ids.get(term) if term else None
        return int(i) if i is not None and i < len(self._counts) else -1

    def document_frequency(self, term: str) -> int:
        """How many passages hold the term (0 for a term no passage has)."""
        i = self.id_of(term)
        return int(self._counts[i]) if i >= 0 else 0


class ArticleTerms:
    """The last build's terms of each article's passages and its words, by article key (see
    index/chunk_cache.py): an article whose chunks are reused and whose recipe is unchanged is not tokenised
    again. Kept as JSON lines, parsed when asked for."""

    def __init__(self, lines: dict[str, str]) -> None:
        self._lines = lines

    @classmethod
    def open(cls, build: Path, manifest: dict[str, Any], recipe: LexicalRecipe) -> ArticleTerms | None:
        """The build's article terms, or None when it has none, made them another way, or they do not check out."""
        digest = manifest.get("files", {}).get(ARTICLE_TERMS)
        saved = manifest.get("lexical")
        if digest is None or not isinstance(saved, dict):
            return None
        try:  # k1 and b weigh terms, they do not make them
            if replace(LexicalRecipe(**saved), k1=recipe.k1, b=recipe.b) != recipe:
                return None
            data = (build / ARTICLE_TERMS).read_bytes()
        except (OSError, TypeError):
            return None
        if hashlib.sha256(data).hexdigest() != digest:
            log.warning("not reusing the current build's BM25 terms (%s does not match the manifest)", ARTICLE_TERMS)
            return None
        lines = {}
        for line in data.decode("utf-8").splitlines():
            if found := _ARTICLE_KEY.match(line):  # as add_article() writes them: the key first
                lines[found.group(1)] = line
        return cls(lines)

    def get(self, key: str) -> str | None:
        """The saved line of the article with this key, or None."""
        return self._lines.get(key)


class LexicalBuilder:
    """Tokenises passages as a build writes them, an article at a time (or a passage at a time, in article
    order, with add()); finish() indexes them. An article found in `previous` is taken from it."""

    def __init__(self, recipe: LexicalRecipe, previous: ArticleTerms | None = None, spool: Path | None = None) -> None:
        self.recipe = recipe
        self.spool = spool
        """The folder of the temporary files (None: the system's); they have no name there, so go with the build."""
        self.tokenizer = Tokenizer(recipe.options)
        self._context = ArticleContext(recipe.context)
        self._documents = _SpooledTerms(spool)
        self._words: set[str] = set()
        self._previous = previous
        self._article_lines = tempfile.TemporaryFile(  # noqa: SIM115 (closed by close(), or with the builder)
            "w+", encoding="utf-8", newline="\n", dir=spool)
        """What add_article() was given, for save_article_terms(): on disk, it is as large as the corpus."""
        self.reused = 0
        """Articles whose terms came from `previous`."""

    def add_article(self, key: str, pieces: list[tuple[Chunk, list[tuple[int, int]]]]) -> None:
        """Add an article's passages, each with its chunk_sentences(); key: its chunking key."""
        line = self._previous.get(key) if self._previous else None
        if line is not None:
            saved = json.loads(line)
            if len(saved["terms"]) == len(pieces):
                for terms in saved["terms"]:
                    self._documents.add(terms)
                self._words.update(saved["words"])
                self._article_lines.write(line + "\n")
                self.reused += 1
                return
        terms, words = [], set()
        for chunk, sentences in pieces:
            text = passage_text(chunk, self.recipe.titles, self.recipe.options,
                                self._context.before(chunk, sentences))
            terms.append(self.tokenizer.terms(text))
            words |= folded_words(chunk.text)
        for passage in terms:
            self._documents.add(passage)
        self._words |= words
        self._article_lines.write(json.dumps({"key": key, "terms": terms, "words": sorted(words)},
                                             ensure_ascii=False) + "\n")

    def save_article_terms(self, path: Path) -> None:
        """Write what add_article() was given, for the next build."""
        self._article_lines.flush()
        self._article_lines.seek(0)
        with path.open("w", encoding="utf-8", newline="\n") as out:
            shutil.copyfileobj(self._article_lines, out)

    def add(self, chunk: Chunk, sentences: list[tuple[int, int]] | None = None) -> None:
        """Add the next passage (an article's passages in order, see ArticleContext; sentences: its
        chunk_sentences(), when known)."""
        text = passage_text(chunk, self.recipe.titles, self.recipe.options,
                            self._context.before(chunk, sentences))
        self._documents.add(self.tokenizer.terms(text))
        self._words |= folded_words(chunk.text)

    def close(self) -> None:
        """Let the temporary files go (a build does, when it ends or fails)."""
        self._article_lines.close()
        self._documents.close()

    def finish_on_disk(self) -> SpooledLexical:
        """The index as finish() makes it, to be saved only: it is made as it is saved, out of memory."""
        return SpooledLexical(self)

    def finish(self) -> LexicalIndex:
        bm25s = _quiet_bm25s()
        model = bm25s.BM25(k1=self.recipe.k1, b=self.recipe.b)
        # Term ids in sorted order (bm25s's own follow set order), so that equal folders give equal files.
        model.index(self._documents.sorted(), show_progress=False)
        return LexicalIndex(model, self.recipe, frozenset(self._words), self.tokenizer)


class SpooledLexical:
    """A LexicalBuilder's BM25 index, to be saved without holding it: save() writes the files bm25s writes, the
    same to the byte, from the spooled terms in passes over them. In memory at most: the vocabulary, a few
    numbers per term, and BUCKET entries of the score matrix (12 bytes each) at a time."""

    BUCKET = 1 << 22
    """Score-matrix entries sorted in memory at a time (some 50 MB with the sort's own arrays)."""
    BLOCK = 1 << 20

    def __init__(self, builder: LexicalBuilder) -> None:
        self.recipe = builder.recipe
        self.size = builder._documents.count
        self._builder = builder

    def save(self, folder: Path) -> None:
        """Write the index's files into folder (new); once: the spooled terms go as they are used."""
        from bm25s.scoring import _get_counts_from_token_ids, _select_idf_scorer, _select_tfc_scorer

        bm25s = _quiet_bm25s()
        terms = self._builder._documents.sorted()
        model = bm25s.BM25(k1=self.recipe.k1, b=self.recipe.b)
        if not terms.vocab or model.method in ("bm25l", "bm25+"):
            self._builder.finish().save(folder)  # nothing to hold (or a method this does not do out of core)
            return
        n_docs, n_vocab = len(terms), len(terms.vocab)
        frequencies = np.zeros(n_vocab, dtype=np.int64)  # documents holding each term
        total, seen = 0, []
        for ids in terms.arrays():
            total += len(ids)
            seen.append(np.unique(ids))
            if len(seen) >= 4096:
                frequencies += np.bincount(np.concatenate(seen), minlength=n_vocab)
                seen = []
        if seen:
            frequencies += np.bincount(np.concatenate(seen), minlength=n_vocab)
        average = np.float64(total) / n_docs  # bm25s's np.array(lengths).mean(): a sum of integers, exact
        idf = np.zeros(n_vocab, dtype=model.dtype)
        idf_of = _select_idf_scorer(model.idf_method)
        for term, count in enumerate(frequencies.tolist()):
            if count:
                idf[term] = idf_of(count, N=n_docs)
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(frequencies, out=indptr[1:])
        del frequencies
        bucket_of = indptr[:-1] // self.BUCKET  # terms in order, each bucket some BUCKET entries
        entry = np.dtype([("term", np.int32), ("doc", np.int32), ("score", np.float32)])
        buckets = [tempfile.TemporaryFile(dir=self._builder.spool)  # noqa: SIM115 (closed below)
                   for _ in range(int(bucket_of[-1]) + 1)]
        try:
            tfc = _select_tfc_scorer(model.method)
            block: list[np.ndarray] = []
            held = 0

            def spill() -> None:
                rows = np.concatenate(block)
                order = np.argsort(bucket_of[rows["term"]], kind="stable")  # documents stay in order
                rows = rows[order]
                where = bucket_of[rows["term"]]
                for bucket, start, end in _runs(where):
                    buckets[bucket].write(rows[start:end].tobytes())
                block.clear()

            for doc, ids in enumerate(terms):  # as bm25s scores a document
                vocabulary_ids, tf = _get_counts_from_token_ids(ids, dtype=model.dtype, int_dtype=model.int_dtype)
                scores = idf[vocabulary_ids] * tfc(tf_array=tf, l_d=len(ids), l_avg=average, k1=model.k1,
                                                   b=model.b, delta=model.delta)
                rows = np.empty(len(scores), dtype=entry)
                rows["term"], rows["doc"], rows["score"] = vocabulary_ids, doc, scores
                block.append(rows)
                held += len(rows)
                if held >= self.BLOCK:
                    spill()
                    held = 0
            if block:
                spill()
            self._builder._documents.close()  # the terms are read: their file goes before the index's are made
            folder.mkdir()
            model.scores = {"data": np.zeros(0, dtype=model.dtype), "indices": np.zeros(0, dtype=model.int_dtype),
                            "indptr": indptr, "num_docs": n_docs}
            model.vocab_dict = {**terms.vocab, "": n_vocab}  # bm25s adds the empty token last
            model.nonoccurrence_array = None
            model.save(str(folder), show_progress=False)
            nnz = int(indptr[-1])
            with (folder / BM25_FILES[2]).open("wb") as data, (folder / BM25_FILES[3]).open("wb") as indices:
                _npy_header(data, np.dtype(model.dtype), nnz)
                _npy_header(indices, np.dtype(model.int_dtype), nnz)
                for bucket in buckets:
                    bucket.seek(0)
                    rows = np.frombuffer(bucket.read(), dtype=entry)
                    rows = rows[np.argsort(rows["term"], kind="stable")]  # by term, then document
                    data.write(np.ascontiguousarray(rows["score"]).tobytes())
                    indices.write(np.ascontiguousarray(rows["doc"]).astype(model.int_dtype).tobytes())
        finally:
            for bucket in buckets:
                bucket.close()
        words = sorted(self._builder._words)
        (folder / WORDS).write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
        missing = [name for name in (*BM25_FILES, WORDS) if not (folder / name).is_file()]
        if missing:
            raise RuntimeError(f"this bm25s did not write {', '.join(missing)}")


def _runs(values: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """(value, start, end) of each run of equal values in a sorted array."""
    if not len(values):
        return
    starts = np.flatnonzero(np.diff(values)) + 1
    bounds = [0, *starts.tolist(), len(values)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        yield int(values[start]), start, end


def _npy_header(handle: Any, dtype: np.dtype, length: int) -> None:
    """The header np.save writes for a 1-d array of length values of dtype."""
    from numpy.lib import format as npy

    npy.write_array_header_1_0(handle, {"descr": npy.dtype_to_descr(dtype), "fortran_order": False,
                                        "shape": (length,)})


class _SpooledTerms:
    """Each passage's terms, kept as ids in a temporary file (4 bytes a term), the vocabulary in memory: what
    bm25s's index() reads (three times over) without the corpus's terms in memory."""

    BLOCK = 1 << 20
    """Ids written or read at a time."""

    def __init__(self, spool: Path | None = None) -> None:
        self._ids: dict[str, int] = {}
        """Each term's id in order of first use."""
        self._file = tempfile.TemporaryFile(dir=spool)  # noqa: SIM115 (deleted when closed, with the builder)
        self._buffer = array("i")
        self.count = 0

    def add(self, terms: list[str]) -> None:
        ids = self._ids
        self._buffer.append(len(terms))
        self._buffer.extend([ids.setdefault(term, len(ids)) for term in terms])
        self.count += 1
        if len(self._buffer) >= self.BLOCK:
            self._flush()

    def _flush(self) -> None:
        self._buffer.tofile(self._file)
        self._buffer = array("i")

    def close(self) -> None:
        self._file.close()

    def sorted(self) -> _SortedTerms:
        """The passages' terms with ids in the sorted order of the terms, and that vocabulary."""
        self._flush()
        vocabulary = {term: i for i, term in enumerate(sorted(self._ids))}
        remap = np.zeros(len(self._ids), dtype=np.int64)
        for term, first in self._ids.items():
            remap[first] = vocabulary[term]
        return _SortedTerms(self, remap, vocabulary)

    def blocks(self) -> Iterator[np.ndarray]:
        self._file.seek(0)
        while block := self._file.read(4 * self.BLOCK):
            yield np.frombuffer(block, dtype=np.int32)


class _SortedTerms:
    """bm25s's corpus object (`ids`, `vocab`): ids iterated from the file, in sorted-vocabulary ids."""

    def __init__(self, spool: _SpooledTerms, remap: np.ndarray, vocab: dict[str, int]) -> None:
        self._spool = spool
        self._remap = remap
        self.vocab = vocab
        self.ids = self

    def __len__(self) -> int:
        return self._spool.count

    def __iter__(self) -> Iterator[list[int]]:
        for ids in self.arrays():
            yield ids.tolist()

    def arrays(self) -> Iterator[np.ndarray]:
        left = np.zeros(0, dtype=np.int32)
        for block in self._spool.blocks():
            data = np.concatenate([left, block]) if len(left) else block
            at = 0
            while at < len(data) and at + 1 + int(data[at]) <= len(data):
                size = int(data[at])
                yield self._remap[data[at + 1:at + 1 + size]]
                at += 1 + size
            left = data[at:]
        if len(left):
            raise RuntimeError("the spooled BM25 terms end inside a passage")


def effective_lexical(saved: LexicalIndex | None, chunks: list[Chunk], recipe: LexicalRecipe) -> LexicalIndex:
    """The build's saved BM25 index, or one built now when the build has none or the config asks for another."""
    if saved is not None and saved.recipe == recipe:
        return saved
    log.info("building BM25 in memory as the config asks: %s", recipe)  # the engine warns, see changed_settings
    return LexicalIndex.build(chunks, recipe)
