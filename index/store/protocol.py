"""The one seam between retrieval and where the vectors live: a small protocol, no implementation imported.

`SearchStore` is what the retrieval layer sees of a loaded build: top-k search of passages and of sentences by
vector, the scores of given rows (so a top-k store still gives the second stage every signal it reads), lexical
search, count and describe. `StoreLocation` is where builds are written and opened: the FAISS index folder
(faiss/, the default, format unchanged) or a Milvus collection behind an alias (milvus/). It also answers what the
command line, the bot's reload and the build ask of a store: which build is current, the build lock, what
interrupted builds left behind, the build kept for a rollback. `[store] kind` in the config picks one; nothing else
knows which.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol, overload

import numpy as np

from citebot.config.settings import Settings
from citebot.index.chunking import Chunk
from citebot.index.ingest.corpus import Document
from citebot.index.lexical import LexicalIndex
from citebot.index.store.passages import ChunkTable, compact_ints

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SentenceRef:
    chunk: int
    """Row of the chunk the sentence belongs to."""
    start: int
    end: int


class SentenceTable(Sequence[SentenceRef]):
    """A build's sentences as three integer arrays (chunk row, start, end), in row order: 12 bytes a sentence
    instead of an object each, and each chunk's sentence rows found by bisection (sentences are written in chunk
    order; a table in another order keeps the order that sorts it too)."""

    def __init__(self, chunk: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        self.chunk, self.start, self.end = (compact_ints(a) for a in (chunk, start, end))
        self._order: np.ndarray | None = None
        self._chunks = self.chunk
        if len(self.chunk) and not (np.diff(self.chunk) >= 0).all():  # a build writes them in chunk order
            self._order = np.argsort(self.chunk, kind="stable")
            self._chunks = self.chunk[self._order]

    @classmethod
    def of(cls, sentences: Sequence[SentenceRef]) -> SentenceTable:
        if isinstance(sentences, SentenceTable):
            return sentences
        rows = np.array([(s.chunk, s.start, s.end) for s in sentences], dtype=np.int64).reshape(-1, 3)
        return cls(rows[:, 0], rows[:, 1], rows[:, 2])

    def __len__(self) -> int:
        return len(self.chunk)

    @overload
    def __getitem__(self, i: int) -> SentenceRef: ...

    @overload
    def __getitem__(self, i: slice) -> list[SentenceRef]: ...

    def __getitem__(self, i: int | slice) -> SentenceRef | list[SentenceRef]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return SentenceRef(int(self.chunk[i]), int(self.start[i]), int(self.end[i]))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SentenceTable):
            return all(np.array_equal(a, b) for a, b in ((self.chunk, other.chunk), (self.start, other.start),
                                                          (self.end, other.end)))
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def span(self, i: int) -> tuple[int, int]:
        return int(self.start[i]), int(self.end[i])

    def of_chunk(self, row: int) -> list[int]:
        """The sentence rows of one chunk, in row order."""
        # the needles in the table's own dtype: numpy would otherwise cast the whole table at every call
        lo, hi = np.searchsorted(self._chunks, np.array([row, row + 1], dtype=self._chunks.dtype))
        return list(range(lo, hi)) if self._order is None else self._order[lo:hi].tolist()


class SourceFile(NamedTuple):
    """What a cited source is checked against: its file and that file's sha256 at build time, and for an article
    read from another format, the text file in the index that its passages are offsets into."""

    path: Path
    sha256: str
    text: Path | None = None
    document: Document | None = None
    """The article's file as citations show it, and what the file said (url, date, row, pages)."""
    span: tuple[int, int] | None = None
    """A collection's row: where its text lies in text, the collection's (None: the article is all of text)."""


@dataclass(frozen=True)
class Ranked:
    """Rows of a top-k search and their scores, best first (ties by row)."""

    rows: np.ndarray
    scores: np.ndarray

    @classmethod
    def of(cls, rows: Sequence[int], scores: Sequence[float]) -> Ranked:
        rows_a = np.asarray(rows, dtype=np.int64)
        scores_a = np.asarray(scores, dtype=np.float32)
        order = np.lexsort((rows_a, -scores_a))
        return cls(rows_a[order], scores_a[order])

    @classmethod
    def empty(cls) -> Ranked:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


@dataclass(frozen=True)
class Counts:
    passages: int
    sentences: int


@dataclass(frozen=True)
class Leftover:
    """What an interrupted build left in a location's folder: a partial build, a temporary link, or a complete build
    that was never switched in."""

    path: Path
    size: int
    """Bytes on disk."""


class ReuseSource(Protocol):
    """The current build's vectors by text key (index/incremental.py's key), for a new build to copy."""

    @property
    def build(self) -> Path | str:
        """The build the vectors are read from (its folder, or its name), as the new build's manifest records it."""
        ...

    folder: Path | None
    """The build's folder, whose chunks and BM25 terms a new build may reuse too (None: the store keeps no files)."""
    manifest: dict[str, Any] | None
    """The manifest of the build in folder, checked (None when folder is None)."""

    def vector(self, key: str) -> np.ndarray | None:
        """The stored vector of the text with this key, or None."""
        ...

    def close(self) -> None: ...


class SearchStore(Protocol):
    """One loaded build's vectors and lexical index. Rows are those of LoadedIndex.chunks and .sentences."""

    def search_passages(self, vector: np.ndarray, k: int) -> Ranked:
        """The k passages most similar (inner product of unit vectors) to vector."""
        ...

    def search_sentences(self, vector: np.ndarray, k: int) -> Ranked:
        """The k sentences most similar to vector."""
        ...

    def passage_scores(self, vector: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        """The similarity of vector to each of the given passages, in their order."""
        ...

    def sentence_scores(self, vector: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        """The similarity of vector to each of the given sentences, in their order."""
        ...

    def passage_vectors(self, rows: Sequence[int]) -> np.ndarray:
        """The stored vectors of the given passages (float32, one row each)."""
        ...

    def sentence_vectors(self, rows: Sequence[int]) -> np.ndarray:
        """The stored vectors of the given sentences (float32, one row each)."""
        ...

    def lexical_search(self, query: str, k: int) -> Ranked:
        """The k passages with the highest BM25 score for query; only scores above 0."""
        ...

    def lexical_scores(self, query: str, rows: Sequence[int]) -> np.ndarray:
        """The BM25 score of each of the given passages for query (0 where no term matches)."""
        ...

    def count(self) -> Counts:
        ...

    def describe(self) -> dict[str, Any]:
        """What and where the store is, for `citebot index status` (JSON-ready)."""
        ...


@dataclass(frozen=True)
class LoadedIndex:
    """One build as the retrieval layer reads it, whichever store holds it."""

    path: Path
    """The build (its folder; for Milvus, a path whose name is the build's collection)."""
    manifest: dict[str, Any]
    chunks: ChunkTable
    """Each passage's fields as arrays, its text read when asked for (passages.py)."""
    sentences: Sequence[SentenceRef]
    sources_root: Path
    sources: Mapping[str, SourceFile]
    """Each source as chunks name it -> its file, its sha256 at build time, and its text file in the index (a
    CitedSources: a collection's rows are looked up in its row table when asked for)."""
    lexical: LexicalIndex | None
    """The BM25 index saved with the build (None when it has none: an older build, or Milvus)."""
    bm25: LexicalIndex | None
    """The BM25 index in use: the saved one, or one built at load (another recipe, or none saved)."""
    store: SearchStore


class BuildSink(Protocol):
    """Where a build writes passages, sentences and their vectors (faiss/writer.py's BuildWriter is one).
    Leaving its `with` block without commit() discards the build; the current one keeps serving."""

    vectors: Any
    sentence_vectors: Any

    @property
    def chunk_count(self) -> int:
        """Chunks written so far."""
        ...

    def __enter__(self) -> BuildSink: ...

    def __exit__(self, *exc: object) -> None: ...

    def add_chunk(self, chunk: Chunk, key: str) -> int: ...

    def add_sentence(self, sentence: SentenceRef, key: str) -> int: ...

    def add_article(self, source: str, key: str, chunks: int) -> None: ...

    def save_lexical(self, lexical: LexicalIndex,
                     save_article_terms: Callable[[Path], None] | None = None) -> None:
        """Keep the BM25 index (and, where the store keeps files, each article's terms for the next build)."""

    def commit(self, manifest: dict[str, Any]) -> Path: ...


class StoreLocation(Protocol):
    """Where builds are written and opened: the lock, the vectors to reuse, the writer, the current build, and
    what a status report shows (leftovers of interrupted builds, the build kept for a rollback)."""

    kind: str
    folder: Path
    """The local folder holding the build lock (and, for FAISS, the builds themselves)."""

    def reuse_source(self, prefix: bytes, dimension: int) -> ReuseSource | None: ...

    def writer(self, dimension: int) -> BuildSink: ...

    def open(self, settings: Settings, *, model_name: str, weights_sha256: str, dimension: int | None,
             with_lexical: bool = True) -> LoadedIndex:
        """The current build, checked; with_lexical=False skips making the BM25 index (bm25 is then None and
        the store cannot search lexically: for `citebot index status`)."""
        ...

    def current_name(self) -> str | None:
        """The name of the build serving now (cheap: checked every few seconds by a running bot), or None."""
        ...

    def read_manifest(self) -> dict[str, Any]:
        """The current build's manifest; IndexMissingError when there is none."""
        ...

    def rebuild_hint(self) -> str:
        """How to rebuild this store's index, as error messages end ("rebuild it with: citebot index build ...")."""
        ...

    def sources_root(self, manifest: dict[str, Any]) -> Path:
        """The sources folder of the build of manifest, as found now (moved with the index, or where it was)."""
        ...

    # -- one build at a time, and what interrupted builds leave -------------------------------------------

    def build_lock(self) -> AbstractContextManager[list[Leftover]]:
        """Hold the build lock (re-entrant within a thread), or raise IndexBusyError when another build holds it.
        Taking it removes the leftovers of interrupted builds, and yields them."""
        ...

    def build_running(self) -> bool:
        """True when a build holds the lock now."""
        ...

    def leftovers(self) -> list[Leftover]:
        """What interrupted builds left in folder (removed by the next build, or by remove_leftovers)."""
        ...

    def remove_leftovers(self) -> list[Leftover]:
        """Remove the leftovers unless a build is running; returns what was removed."""
        ...

    def rollback_builds(self) -> list[str] | None:
        """The builds kept besides the current one, to roll back to, oldest first; None when the store keeps none
        (the FAISS folder keeps only the current build)."""
        ...

    def leftover_builds(self) -> list[str] | None:
        """Builds in the store that are neither current nor kept (an interrupted build's; the next build drops
        them); None when an interrupted build leaves nothing but leftovers() (the FAISS folder)."""
        ...
