"""Searching one Milvus build: top-k in Milvus (its vector index, [store] milvus_index, by inner product; its BM25
function), the scores of given rows
from their vectors fetched by primary key, and bm25s's ranking when [store] lexical = "bm25s"."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from citebot.config.errors import IndexInvalidError
from citebot.index.lexical import LexicalIndex
from citebot.index.store.milvus.connection import MAX_K, collection_names, milvus_errors
from citebot.index.store.protocol import Counts, Ranked

VECTOR_CACHE = 20000
"""Vectors per collection a loaded build keeps after fetching them (30 MB at 384 dimensions)."""


class MilvusSearch:
    """SearchStore over one Milvus build (its collections by name, not the alias: a switch mid-question does not
    mix two builds; a running bot moves to the new build by reloading).

    Top-k searches run in Milvus; the scores of given rows are computed here from their vectors, fetched by
    primary key (a filtered search would scan the collection again) and kept in a bounded cache."""

    def __init__(self, client: Any, base: str, dimension: int, bm25: LexicalIndex | None, lexical: str,
                 passages: int, sentences: int, uri: str, index: tuple[str, dict[str, Any]] = ("FLAT", {})) -> None:
        """index: the vector index's type and search parameters ([store] milvus_index, milvus_search_params)."""
        self.client = client
        self.base = base
        self.passages, self.sentences, _ = collection_names(base)
        self.dimension = dimension
        self.bm25 = bm25
        self.lexical = lexical
        self._counts = Counts(passages, sentences)
        self.uri = uri
        self._cache: dict[str, OrderedDict[int, np.ndarray]] = {self.passages: OrderedDict(),
                                                                  self.sentences: OrderedDict()}
        self._lock = threading.Lock()
        self.index_type, self.search_params = index

    def _search(self, collection: str, field: str, data: Any, k: int, metric: str,
                rows: Sequence[int] | None = None) -> Ranked:
        if k <= 0:
            return Ranked.empty()
        found_rows: list[int] = []
        found_scores: list[float] = []
        batches = [list(rows[i:i + MAX_K]) for i in range(0, len(rows), MAX_K)] if rows is not None else [None]
        with milvus_errors(f"searching {collection}"):
            for batch in batches:
                hits = self.client.search(
                    collection, data=[data], anns_field=field, limit=min(k if batch is None else len(batch), MAX_K),
                    filter=f"row in {[int(r) for r in batch]}" if batch is not None else "",
                    output_fields=["row"], search_params={"metric_type": metric, **(
                        {"params": self.search_params} if metric == "IP" and self.search_params else {})})
                for hit in hits[0]:
                    found_rows.append(int(hit["row"]))
                    # Milvus Lite reports BM25 as a negative distance, a server as a positive score.
                    found_scores.append(abs(hit["distance"]) if metric == "BM25" else hit["distance"])
        return Ranked.of(found_rows, found_scores)

    def _vector(self, vector: np.ndarray) -> list[float]:
        return np.asarray(vector, dtype=np.float32).reshape(-1).tolist()

    def _scores_of(self, ranked: Ranked, rows: Sequence[int], missing: float) -> np.ndarray:
        found = dict(zip(ranked.rows.tolist(), ranked.scores.tolist(), strict=True))
        return np.array([found.get(int(r), missing) for r in rows], dtype=np.float32)

    def search_passages(self, vector: np.ndarray, k: int) -> Ranked:
        return self._search(self.passages, "vector", self._vector(vector), min(k, self._counts.passages), "IP")

    def search_sentences(self, vector: np.ndarray, k: int) -> Ranked:
        return self._search(self.sentences, "vector", self._vector(vector), min(k, self._counts.sentences), "IP")

    def _vectors(self, collection: str, rows: Sequence[int]) -> np.ndarray:
        """Stored vectors by row: fetched by primary key (no scan), the most recently used kept in memory."""
        wanted = [int(r) for r in rows]
        cache = self._cache[collection]
        with self._lock:
            missing = list(dict.fromkeys(r for r in wanted if r not in cache))
        if missing:
            with milvus_errors(f"reading vectors of {collection}"):
                got = []
                for i in range(0, len(missing), MAX_K):
                    got += self.client.get(collection, ids=missing[i:i + MAX_K], output_fields=["vector"])
            fetched = {int(g["row"]): np.asarray(g["vector"], dtype=np.float32) for g in got}
            if len(fetched) != len(missing):
                raise IndexInvalidError(f"{collection} lacks rows {sorted(set(missing) - set(fetched))[:5]}; "
                                        "rebuild it with: citebot index build --store milvus")
        else:
            fetched = {}
        with self._lock:
            out = np.stack([fetched[r] if r in fetched else cache[r] for r in wanted]) if wanted else np.zeros(
                (0, self.dimension), dtype=np.float32)
            for row, vector in fetched.items():
                cache[row] = vector
            for row in wanted:
                if row in cache:
                    cache.move_to_end(row)
            while len(cache) > VECTOR_CACHE:
                cache.popitem(last=False)
        return out

    def passage_scores(self, vector: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        return self._vectors(self.passages, rows) @ np.asarray(vector, dtype=np.float32).reshape(-1)

    def sentence_scores(self, vector: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        return self._vectors(self.sentences, rows) @ np.asarray(vector, dtype=np.float32).reshape(-1)

    def passage_vectors(self, rows: Sequence[int]) -> np.ndarray:
        return self._vectors(self.passages, rows).reshape(len(rows), self.dimension)

    def sentence_vectors(self, rows: Sequence[int]) -> np.ndarray:
        return self._vectors(self.sentences, rows).reshape(len(rows), self.dimension)

    def _terms(self, query: str) -> list[str]:
        if self.bm25 is None:
            raise RuntimeError("this store was opened without its lexical index")
        return self.bm25.terms(query)

    def _bm25s(self) -> LexicalIndex:
        if self.bm25 is None:
            raise RuntimeError("this store was opened without its lexical index")
        return self.bm25

    def lexical_search(self, query: str, k: int) -> Ranked:
        if self.lexical == "milvus":
            if not query.strip() or not self._terms(query):
                return Ranked.empty()
            found = self._search(self.passages, "sparse", query, min(k, self._counts.passages), "BM25")
            keep = found.scores > 0
            return Ranked(found.rows[keep], found.scores[keep])
        return Ranked(*self._bm25s().top(query, k))

    def lexical_scores(self, query: str, rows: Sequence[int]) -> np.ndarray:
        if self.lexical == "milvus":
            if not len(rows) or not query.strip() or not self._terms(query):
                return np.zeros(len(rows), dtype=np.float32)
            found = self._search(self.passages, "sparse", query, len(rows), "BM25", rows)
            return self._scores_of(found, rows, 0.0)
        return self._bm25s().scores_of(query, np.asarray(rows, dtype=np.int64))

    def count(self) -> Counts:
        return self._counts

    def describe(self) -> dict[str, Any]:
        search = "exact (FLAT, IP)" if self.index_type == "FLAT" else f"{self.index_type} (approximate), IP"
        return {"kind": "milvus", "uri": self.uri, "collection": self.base, "search": search,
                "lexical": "Milvus BM25 function" if self.lexical == "milvus" else "bm25s"}

