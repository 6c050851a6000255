"""Writing a Milvus build: staged as an index folder (the FAISS folder's writer, so a killed build leaves what a
killed folder build leaves), uploaded at commit into three new collections, the manifest last, then switched in."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from citebot.config.errors import IndexInvalidError
from citebot.index.chunking import Chunk, vector_text
from citebot.index.lexical import LexicalIndex, LexicalRecipe
from citebot.index.store.checks import chunk_from_json
from citebot.index.store.faiss.layout import (
    CHUNKS,
    CURRENT,
    FLAT_HEADER_BYTES,
    MANIFEST,
    SENTENCE_KEYS,
    SENTENCE_VECTORS,
    SENTENCES,
    VECTOR_KEYS,
    VECTORS,
)
from citebot.index.store.faiss.writer import BuildWriter
from citebot.index.store.milvus.connection import collection_names, load_pymilvus, milvus_errors, vector_index
from citebot.index.store.protocol import SentenceRef

if TYPE_CHECKING:
    from citebot.index.store.milvus.location import MilvusLocation

BATCH = 2000
"""Rows per insert (a gRPC message stays far below its 64 MB limit at 384 dimensions)."""
MANIFEST_PART = 16000
"""Characters of the manifest per row of the meta collection (a VARCHAR holds at most 65,535 bytes)."""
STOPWORDS_NOTE = "Milvus BM25: standard tokenizer, lowercase, English Snowball stemmer, bm25s's English stop words"


def _schema(client: Any, kind: str, dimension: int, recipe: LexicalRecipe | None,
            index: tuple[str, dict[str, Any]] = ("FLAT", {})) -> tuple[Any, Any]:
    """The collection's schema and index parameters; index: the vector index of passages and sentences (type and
    build parameters, [store] milvus_index)."""
    pymilvus = load_pymilvus()
    types = pymilvus.DataType
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    params = client.prepare_index_params()
    if kind == "meta":
        schema.add_field("part", types.INT64, is_primary=True)
        schema.add_field("text", types.VARCHAR, max_length=65535)
        schema.add_field("vector", types.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
        params.add_index("vector", index_type="FLAT", metric_type="IP")
        return schema, params
    schema.add_field("row", types.INT64, is_primary=True)
    if kind == "passages":
        from bm25s.stopwords import STOPWORDS_EN

        schema.add_field("chunk", types.VARCHAR, max_length=65535)
        analyzer = {"tokenizer": "standard", "filter": [
            "lowercase", {"type": "stop", "stop_words": sorted(STOPWORDS_EN)},
            {"type": "stemmer", "language": "english"}]}
        schema.add_field("lexical", types.VARCHAR, max_length=65535, enable_analyzer=True,
                         analyzer_params=analyzer)
        schema.add_field("sparse", types.SPARSE_FLOAT_VECTOR)
        schema.add_function(pymilvus.Function(name="bm25", function_type=pymilvus.FunctionType.BM25,
                                              input_field_names=["lexical"], output_field_names=["sparse"]))
        recipe = recipe or LexicalRecipe(1.2, 0.75, False)
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params={"bm25_k1": recipe.k1, "bm25_b": recipe.b})
    else:
        schema.add_field("chunk", types.INT64)
        schema.add_field("start", types.INT64)
        schema.add_field("end", types.INT64)
    schema.add_field("key", types.VARCHAR, max_length=64)
    schema.add_field("vector", types.FLOAT_VECTOR, dim=dimension)
    index_type, index_params = index
    params.add_index("vector", index_type=index_type, metric_type="IP", params=index_params)  # FLAT: exact
    return schema, params


def _flat_rows(path: Path, dimension: int) -> np.ndarray:
    """The vectors of a faiss IndexFlatIP file written by the staging writer, memory-mapped."""
    rows = (path.stat().st_size - FLAT_HEADER_BYTES) // (4 * dimension)
    if rows == 0:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.memmap(path, dtype=np.float32, mode="r", offset=FLAT_HEADER_BYTES, shape=(rows, dimension))


class MilvusBuildWriter:
    """A build staged as an index folder (the FAISS folder's BuildWriter), uploaded to new collections at commit,
    then switched in. Leaving the `with` block without commit drops whatever was uploaded."""

    def __init__(self, location: MilvusLocation, dimension: int) -> None:
        self.location = location
        self.dimension = dimension
        index_type, build, _ = vector_index(location.settings)  # a type Milvus Lite lacks: said before any work
        self.index = (index_type, build)
        self.stage = BuildWriter(location.folder, dimension)
        self.vectors = self.stage.vectors
        self.sentence_vectors = self.stage.sentence_vectors
        self.base = f"{location.alias}_b{self.stage.build_id.replace('-', '_')}"
        self.recipe: LexicalRecipe | None = None
        self._switched = False

    def __enter__(self) -> MilvusBuildWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stage.__exit__(*exc)
        if not self._switched:  # never switched in: its collections are of no use
            with contextlib.suppress(Exception):
                self.location.drop_builds(self.location.kept())

    @property
    def chunk_count(self) -> int:
        return self.stage.chunk_count

    @property
    def sentence_count(self) -> int:
        return self.stage.sentence_count

    def add_chunk(self, chunk: Chunk, key: str) -> int:
        return self.stage.add_chunk(chunk, key)

    def add_sentence(self, sentence: SentenceRef, key: str) -> int:
        return self.stage.add_sentence(sentence, key)

    def add_article(self, source: str, key: str, chunks: int) -> None:
        self.stage.add_article(source, key, chunks)

    def save_lexical(self, lexical: LexicalIndex, save_article_terms: Callable[[Path], None] | None = None) -> None:
        """Milvus indexes the passages' text with its own BM25 function; the recipe sets its k1 and b (no files
        are kept, so a Milvus build tokenises every article)."""
        if lexical.size != self.stage.chunk_count:
            raise ValueError(f"a lexical index of {lexical.size} passages for {self.stage.chunk_count} chunks")
        self.recipe = lexical.recipe

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Stage, upload every row, write the manifest last, then switch the alias in one step."""
        previous = self.location.current_name()
        manifest = {**manifest, "store": {"kind": "milvus", "collection": self.base, "previous": previous,
                                          "lexical": STOPWORDS_NOTE, "index": self.index[0]}}
        staged = self.stage.commit(manifest)
        try:
            self._upload(staged, json.loads((staged / MANIFEST).read_text(encoding="utf-8")))
            self.location.switch(self.base)
            self._switched = True
        finally:
            shutil.rmtree(staged, ignore_errors=True)
            with contextlib.suppress(OSError):
                (self.location.folder / CURRENT).unlink()
        self.location.drop_builds({self.base, previous} if previous else {self.base})
        return Path(self.location.settings.store.uri) / self.base

    def _upload(self, staged: Path, manifest: dict[str, Any]) -> None:
        client = self.location.client
        passages, sentences, meta = collection_names(self.base)
        titles = self.recipe.titles if self.recipe else False
        with milvus_errors(f"writing the build {self.base}"):
            for name, kind in ((passages, "passages"), (sentences, "sentences"), (meta, "meta")):
                schema, params = _schema(client, kind, self.dimension, self.recipe, self.index)
                client.create_collection(name, schema=schema, index_params=params)
            vectors = _flat_rows(staged / VECTORS, self.dimension)
            with (staged / CHUNKS).open(encoding="utf-8") as chunks, (staged / VECTOR_KEYS).open() as keys:
                batch: list[dict[str, Any]] = []
                for row, (line, key) in enumerate(zip(chunks, keys, strict=True)):
                    chunk = chunk_from_json(line)
                    data = line.rstrip("\n")
                    if len(data.encode("utf-8")) > 65535:
                        raise IndexInvalidError(f"passage {chunk.id} is too long for Milvus (65,535 bytes)")
                    batch.append({"row": row, "chunk": data, "lexical": vector_text(chunk, titles),
                                  "key": key.strip(), "vector": vectors[row].tolist()})
                    if len(batch) >= BATCH:
                        client.insert(passages, batch)
                        batch = []
                if batch:
                    client.insert(passages, batch)
            vectors = _flat_rows(staged / SENTENCE_VECTORS, self.dimension)
            with (staged / SENTENCES).open(encoding="utf-8") as refs, (staged / SENTENCE_KEYS).open() as keys:
                batch = []
                for row, (line, key) in enumerate(zip(refs, keys, strict=True)):
                    chunk_row, start, end = json.loads(line)
                    batch.append({"row": row, "chunk": chunk_row, "start": start, "end": end, "key": key.strip(),
                                  "vector": vectors[row].tolist()})
                    if len(batch) >= BATCH:
                        client.insert(sentences, batch)
                        batch = []
                if batch:
                    client.insert(sentences, batch)
            text = json.dumps(manifest, ensure_ascii=False)
            parts = [text[i:i + MANIFEST_PART] for i in range(0, len(text), MANIFEST_PART)]
            for name in (passages, sentences):
                client.flush(name)
                client.load_collection(name)
            client.insert(meta, [{"part": i, "text": part, "vector": [1.0, 0.0]} for i, part in enumerate(parts)])
            client.flush(meta)
            client.load_collection(meta)
