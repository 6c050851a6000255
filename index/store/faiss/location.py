"""The FAISS index folder (layout.py) behind the store protocol: exact search below the sizes of [store]
compressed_from and approximate_from, above them a first stage (an 8-bit copy, or an IVF index) whose candidates
are re-scored exactly.

Searching a flat index for the top k is exact, so the retrieval layer's results are those of a full scan. The
scores of one query are computed once over every row, as before the protocol, and kept for the few calls that
follow for the same query (top-k, then the scores of the candidates' rows), so every score is the one a full
scan gives, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from citebot.config.settings import Settings, StoreSettings
from citebot.index.lexical import LexicalIndex, LexicalRecipe, effective_lexical
from citebot.index.store import checks
from citebot.index.store.faiss import lock, manifest
from citebot.index.store.faiss.approximate import ApproximatePlan, CodeRows
from citebot.index.store.faiss.compressed import TwoStepSearch
from citebot.index.store.faiss.layout import SENTENCE_VECTORS, VECTORS, FileRows
from citebot.index.store.faiss.load import StoredIndex, load_index
from citebot.index.store.faiss.reuse import FaissReuse
from citebot.index.store.faiss.writer import BuildWriter
from citebot.index.store.protocol import Counts, Leftover, LoadedIndex, Ranked
from citebot.index.store.ranking import RecentScores, top_ranked


def _query(vector: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)


def _first_stage(matrix: FileRows, ivf: faiss.Index | None, sq8: faiss.Index | None, compressed_from: int | None,
                 store: StoreSettings | None) -> TwoStepSearch | None:
    """How a table is searched when not by a full scan: its IVF index (approximate.py) from approximate_from rows,
    else its 8-bit copy (compressed.py) from compressed_from rows; candidates re-scored exactly either way, or,
    through an IVF with approximate_scores "codes", scored from its own codes."""
    rows = len(matrix)
    if ivf is not None and store is not None and 0 < store.approximate_from <= rows:
        ivf.nprobe = min(store.approximate_probe, ivf.nlist)
        return TwoStepSearch(ivf, CodeRows(ivf) if store.approximate_scores == "codes" else matrix)
    if sq8 is not None and compressed_from and rows >= compressed_from:
        return TwoStepSearch(sq8, matrix)
    return None


def _given_rows(two_step: TwoStepSearch | None, floats: FileRows) -> FileRows | CodeRows:
    """Where a table's given rows come from: its IVF's codes when it is scored from them (so nothing reads the
    float file at question time), else the float file."""
    if two_step is not None and isinstance(two_step.exact, CodeRows):
        return two_step.exact
    return floats


class FaissSearch:
    """SearchStore over a loaded FAISS folder build."""

    def __init__(self, stored: StoredIndex, lexical: LexicalIndex | None, compressed_from: int | None = None,
                 store: StoreSettings | None = None) -> None:
        """compressed_from: [store] compressed_from (None: never two-step); store: the [store] settings, whose
        compressed_from and approximate_* apply when given."""
        self.stored = stored
        self.vectors = stored.vectors
        self.lexical = lexical
        self.sentence_matrix = stored.sentence_matrix
        # Given rows are read with pread, not through a memory map (layout.FileRows says why).
        self.passage_rows = FileRows(stored.path / VECTORS)
        self.sentence_rows = FileRows(stored.path / SENTENCE_VECTORS)
        self._recent = RecentScores()
        if store is not None:
            compressed_from = store.compressed_from
        passages_sq8, sentences_sq8 = stored.compressed
        passages_ivf, sentences_ivf = stored.approximate
        self._passages_two_step = _first_stage(self.passage_rows, passages_ivf, passages_sq8, compressed_from, store)
        self._sentences_two_step = _first_stage(self.sentence_rows, sentences_ivf, sentences_sq8, compressed_from,
                                                store)
        self.passage_rows = _given_rows(self._passages_two_step, self.passage_rows)
        self.sentence_rows = _given_rows(self._sentences_two_step, self.sentence_rows)

    def _dense(self, vector: np.ndarray) -> np.ndarray:
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)

        def scan() -> np.ndarray:
            count = self.vectors.ntotal
            out = np.full(count, -1.0, dtype=np.float32)
            if count:
                scores, rows = self.vectors.search(query, count)
                valid = rows[0] >= 0
                out[rows[0][valid]] = scores[0][valid]
            return out

        return self._recent.get(("dense", query.tobytes()), scan)

    def _sentences(self, vector: np.ndarray) -> np.ndarray:
        query = np.ascontiguousarray(vector, dtype=np.float32)
        return self._recent.get(("sentences", query.tobytes()), lambda: self.sentence_matrix @ query)

    def _lexical(self) -> LexicalIndex:
        if self.lexical is None:
            raise RuntimeError("this store was opened without its lexical index")
        return self.lexical

    def search_passages(self, vector: np.ndarray, k: int) -> Ranked:
        if self._passages_two_step is not None:
            return self._passages_two_step.top(_query(vector), k)
        return top_ranked(self._dense(vector), k)

    def search_sentences(self, vector: np.ndarray, k: int) -> Ranked:
        if self._sentences_two_step is not None:
            return self._sentences_two_step.top(_query(vector), k)
        return top_ranked(self._sentences(vector), k)

    def passage_scores(self, vector: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        if self._passages_two_step is not None:
            return self._passages_two_step.scores(_query(vector), np.asarray(rows, dtype=np.int64))
        return self._dense(vector)[np.asarray(rows, dtype=np.int64)]

    def sentence_scores(self, vector: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        if self._sentences_two_step is not None:
            return self._sentences_two_step.scores(_query(vector), np.asarray(rows, dtype=np.int64))
        return self._sentences(vector)[np.asarray(rows, dtype=np.int64)]

    def passage_vectors(self, rows: Sequence[int]) -> np.ndarray:
        return self.passage_rows[np.asarray(rows, dtype=np.int64)]

    def sentence_vectors(self, rows: Sequence[int]) -> np.ndarray:
        return self.sentence_rows[np.asarray(rows, dtype=np.int64)]

    def lexical_search(self, query: str, k: int) -> Ranked:
        return Ranked(*self._lexical().top(query, k))

    def lexical_scores(self, query: str, rows: Sequence[int]) -> np.ndarray:
        return self._lexical().scores_of(query, np.asarray(rows, dtype=np.int64))

    def count(self) -> Counts:
        return Counts(self.vectors.ntotal, len(self.sentence_matrix))

    def describe(self) -> dict[str, Any]:
        def way(two_step: TwoStepSearch | None) -> str:
            if two_step is None:
                return "exact (IndexFlatIP)"
            first = two_step.compressed
            if isinstance(first, faiss.IndexIVF):
                scored = ("scored from the codes" if isinstance(two_step.exact, CodeRows)
                          else "candidates re-scored exactly")
                return f"IVF ({first.nprobe} of {first.nlist} lists, 8-bit codes), {scored}"
            return "8-bit candidates re-scored exactly"

        return {"kind": "faiss", "folder": str(self.stored.path.parent), "build": self.stored.path.name,
                "search": f"passages {way(self._passages_two_step)}, sentences {way(self._sentences_two_step)}",
                "lexical": "bm25s"}


class FaissFolder:
    """StoreLocation: an index folder (layout.py: builds beside each other, the `current` link, the lock)."""

    kind = "faiss"

    def __init__(self, folder: Path, store: StoreSettings | None = None) -> None:
        """store: the [store] settings a build follows (which tables get an IVF index); None: none does."""
        self.folder = folder
        self.store = store

    def reuse_source(self, prefix: bytes, dimension: int) -> FaissReuse | None:
        return FaissReuse.open(self.folder, prefix, dimension)

    def writer(self, dimension: int) -> BuildWriter:
        return BuildWriter(self.folder, dimension, ApproximatePlan.of(self.store) if self.store else None)

    def open(self, settings: Settings, *, model_name: str, weights_sha256: str, dimension: int | None,
             with_lexical: bool = True) -> LoadedIndex:
        stored = load_index(self.folder, model_name=model_name, weights_sha256=weights_sha256, dimension=dimension)
        recipe = LexicalRecipe.of(settings.retrieval, bool(stored.manifest.get("title_in_vectors")), settings.lexical)
        bm25 = effective_lexical(stored.lexical, stored.chunks, recipe) if with_lexical else None
        return LoadedIndex(stored.path, stored.manifest, stored.chunks, stored.sentences, stored.sources_root,
                           stored.sources, stored.lexical, bm25,
                           FaissSearch(stored, bm25, store=settings.store))

    def current_name(self) -> str | None:
        return manifest.current_name(self.folder)

    def read_manifest(self) -> dict[str, Any]:
        return manifest.read_manifest(self.folder, manifest.current_build(self.folder))

    def rebuild_hint(self) -> str:
        return manifest.rebuild_hint(self.folder)

    def sources_root(self, built: dict[str, Any]) -> Path:
        return checks.find_sources_root(built, self.folder)

    def build_lock(self) -> AbstractContextManager[list[Leftover]]:
        return lock.build_lock(self.folder)

    def build_running(self) -> bool:
        return lock.build_running(self.folder)

    def leftovers(self) -> list[Leftover]:
        return lock.leftovers(self.folder)

    def remove_leftovers(self) -> list[Leftover]:
        return lock.remove_leftovers(self.folder)

    def rollback_builds(self) -> None:
        """None: a folder keeps only its current build (the one before is removed at the swap)."""
        return None

    def leftover_builds(self) -> None:
        """None: an interrupted build leaves only leftovers() here."""
        return None
