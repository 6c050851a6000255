"""Milvus behind the store protocol: one collection per build, an alias switched to it in one step.

A build `<alias>_b<time>_<id>` is three collections: passages (row, chunk JSON, lexical text with Milvus's BM25
function over it, content key, vector), `..._sentences` (row, chunk row, offsets, key, vector) and `..._meta`
(the manifest, in parts). They are written in full, the manifest last; then `alter_alias` points the alias at the
passages collection, the one step readers see: before it they search the old build, after it the new one, never
half of one. A build that dies before the switch leaves the old build serving; its collections are dropped by the
next build. After a switch the build before stays for rollback (`previous` in the manifest); older ones go.

The write path stages the build as an ordinary index folder (index/store.py) under [paths] data, which holds the
build lock, and uploads it at commit; the vectors of unchanged texts are reused from the current Milvus build, or,
for the first, from the FAISS index at [paths] index (the same keys, index/incremental.py).

Milvus Lite (a local .db) serves one process at a time: stop `citebot serve` to build, or use a server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from citebot.config.errors import CitebotError, IndexInvalidError, IndexMissingError
from citebot.config.settings import Settings
from citebot.index.chunking import Chunk, vector_text
from citebot.index.ingest.texts import cited_sources
from citebot.index.lexical import LexicalIndex, LexicalRecipe
from citebot.index.store.faiss.files import (
    CHUNKS,
    FLAT_HEADER_BYTES,
    SENTENCE_KEYS,
    SENTENCE_VECTORS,
    SENTENCES,
    VECTOR_KEYS,
    VECTORS,
    BuildWriter,
    _manifest_problem,
    chunk_from_json,
    display_path,
    find_sources_root,
)
from citebot.index.store.faiss.reuse import FaissReuse
from citebot.index.store.protocol import Counts, LoadedIndex, Ranked, SentenceRef

log = logging.getLogger(__name__)

INSTALL = 'Milvus support is not installed; install it with: pip install -e ".[milvus]" (pymilvus and milvus-lite)'
BATCH = 2000
"""Rows per insert (a gRPC message stays far below its 64 MB limit at 384 dimensions)."""
MAX_K = 16384
"""Milvus's largest limit for one search or query."""
VECTOR_CACHE = 20000
"""Vectors per collection a loaded build keeps after fetching them (30 MB at 384 dimensions)."""
MANIFEST_PART = 16000
"""Characters of the manifest per row of the meta collection (a VARCHAR holds at most 65,535 bytes)."""
STOPWORDS_NOTE = "Milvus BM25: standard tokenizer, lowercase, English Snowball stemmer, bm25s's English stop words"

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


def _pymilvus() -> Any:
    # gRPC's core logs keepalive chatter with Milvus Lite ("too_many_pings") to stderr; a command prints one line.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    try:
        import pymilvus
    except ImportError:
        raise CitebotError(INSTALL) from None
    return pymilvus


def _one_line(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return " ".join(str(message).split())[:300]


def connect(settings: Settings) -> Any:
    """A client for [store] uri (one per process and uri), or a CitebotError saying what went wrong."""
    pymilvus = _pymilvus()
    logging.getLogger("pymilvus").setLevel(logging.ERROR)  # a warning per query_iterator about client-side time
    store = settings.store
    token = os.environ.get(store.token_env, "") if store.token_env else ""
    key = (store.uri, token)
    with _clients_lock:
        if key in _clients:
            return _clients[key]
        if not store.is_server:
            if not store.uri.endswith(".db"):
                raise CitebotError(f"[store] uri {store.uri!r} must be a local .db file (Milvus Lite) or "
                                   "http://host:19530 (a Milvus server)")
            Path(store.uri).parent.mkdir(parents=True, exist_ok=True)
            # Milvus Lite runs its server in this process; it logs a traceback for a call it does not implement
            # (AllocTimestamp, tried by every query_iterator before it falls back to the client's clock).
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
            logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)  # a failed open: our one line says it
        try:
            client = pymilvus.MilvusClient(uri=store.uri, token=token)
        except Exception as exc:
            if not store.is_server:
                raise CitebotError(f"cannot open the Milvus Lite database {store.uri} ({_one_line(exc)}): is another "
                                   "process using it? Milvus Lite serves one process at a time: stop the other "
                                   "citebot, or point [store] uri at a Milvus server") from None
            raise CitebotError(f"cannot connect to Milvus at {store.uri} ({_one_line(exc)}); is it running, and is "
                               f"the token in ${store.token_env} right?") from None
        _clients[key] = client
        return client


def disconnect(uri: str) -> None:
    """Close this process's clients of uri (Milvus Lite frees its database for other processes)."""
    with _clients_lock:
        for key in [k for k in _clients if k[0] == uri]:
            with contextlib.suppress(Exception):
                _clients.pop(key).close()


@contextlib.contextmanager
def milvus_errors(what: str) -> Iterator[None]:
    """Turn a Milvus failure into one line that says what was being done."""
    pymilvus = _pymilvus()
    try:
        yield
    except pymilvus.MilvusException as exc:
        raise CitebotError(f"Milvus failed while {what}: {_one_line(exc)}") from None


def _names(base: str) -> tuple[str, str, str]:
    return base, f"{base}_sentences", f"{base}_meta"


def _schema(client: Any, kind: str, dimension: int, recipe: LexicalRecipe | None) -> tuple[Any, Any]:
    pymilvus = _pymilvus()
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
    params.add_index("vector", index_type="FLAT", metric_type="IP")  # exact, as the FAISS folder
    return schema, params


def _flat_rows(path: Path, dimension: int) -> np.ndarray:
    """The vectors of a faiss IndexFlatIP file written by index/store.py, memory-mapped."""
    rows = (path.stat().st_size - FLAT_HEADER_BYTES) // (4 * dimension)
    if rows == 0:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.memmap(path, dtype=np.float32, mode="r", offset=FLAT_HEADER_BYTES, shape=(rows, dimension))


def _scan(client: Any, collection: str, fields: list[str], batch: int = 4000) -> Iterator[dict[str, Any]]:
    """Every row of a collection, in batches (a plain query stops at 16,384 rows)."""
    iterator = client.query_iterator(collection, batch_size=batch, output_fields=fields)
    try:
        while rows := iterator.next():
            yield from rows
    finally:
        iterator.close()


class MilvusLocation:
    """StoreLocation for [store] kind = "milvus"."""

    kind = "milvus"

    def __init__(self, settings: Settings) -> None:
        _pymilvus()  # not installed: say so before anything else happens
        self.settings = settings
        self.alias = settings.store.collection
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,150}", self.alias):
            raise CitebotError(f"[store] collection {self.alias!r} must be letters, digits and underscores, "
                               "starting with a letter or an underscore")
        self.folder = settings.paths.data / "milvus-builds" / self.alias
        """The build lock and the staging folder of a build on its way into Milvus."""

    @property
    def client(self) -> Any:
        return connect(self.settings)

    def where(self) -> str:
        return f"Milvus collection {self.alias!r} at {self.settings.store.uri}"

    # -- builds in the database ----------------------------------------------------------------------

    def current_name(self) -> str | None:
        with milvus_errors("looking up the alias"):
            if self.alias not in self.client.list_aliases().get("aliases", []):
                return None
            return str(self.client.describe_alias(self.alias)["collection_name"])

    def builds(self) -> list[str]:
        """Every build's passages collection in the database, oldest first."""
        pattern = re.compile(rf"{re.escape(self.alias)}_b\d{{8}}T\d{{6}}_[0-9a-f]{{8}}")
        with milvus_errors("listing collections"):
            return sorted(name for name in self.client.list_collections() if pattern.fullmatch(name))

    def _manifest_of(self, base: str) -> dict[str, Any]:
        meta = _names(base)[2]
        client = self.client
        with milvus_errors(f"reading the manifest of {base}"):
            if not client.has_collection(meta):
                raise IndexInvalidError(f"the index in {self.where()} is damaged: {base} has no manifest; "
                                        f"rebuild it with: citebot index build --store milvus")
            client.load_collection(meta)
            parts = client.query(meta, filter="part >= 0", output_fields=["part", "text"], limit=MAX_K)
        try:
            manifest = json.loads("".join(p["text"] for p in sorted(parts, key=lambda p: p["part"])))
        except ValueError as exc:
            raise IndexInvalidError(f"the manifest of {base} is unreadable ({exc}); rebuild it with: "
                                    "citebot index build --store milvus") from None
        problem = _manifest_problem(manifest)
        if problem:
            raise IndexInvalidError(f"the manifest of {base} in {self.where()} is invalid: {problem}; rebuild it "
                                    "with: citebot index build --store milvus")
        return manifest

    def read_manifest(self) -> dict[str, Any]:
        base = self.current_name()
        if base is None:
            raise IndexMissingError(f"no index in {self.where()}; build one with: citebot index build --store milvus")
        return self._manifest_of(base)

    def kept(self) -> set[str]:
        """The builds to keep: the current one and the one before it (for rollback)."""
        current = self.current_name()
        if current is None:
            return set()
        keep = {current}
        with contextlib.suppress(CitebotError):
            previous = self._manifest_of(current).get("store", {}).get("previous")
            if previous:
                keep.add(previous)
        return keep

    def drop_builds(self, keep: set[str]) -> list[str]:
        """Drop every build's collections except those of keep (and never the one the alias names)."""
        current = self.current_name()
        dropped = []
        for base in self.builds():
            if base in keep or base == current:
                continue
            with milvus_errors(f"dropping the old build {base}"):
                for name in _names(base):
                    if self.client.has_collection(name):
                        self.client.drop_collection(name)
            dropped.append(base)
        return dropped

    def leftovers(self) -> list[str]:
        """Builds that are neither serving nor kept for rollback (a crashed build's, usually)."""
        keep = self.kept()
        return [base for base in self.builds() if base not in keep]

    def switch(self, base: str) -> None:
        """Point the alias at base: the one step that makes a build current."""
        with milvus_errors(f"switching the alias {self.alias!r} to {base}"):
            if self.current_name() is None:
                self.client.create_alias(base, self.alias)
            else:
                self.client.alter_alias(base, self.alias)

    # -- writing ----------------------------------------------------------------------------------------

    def reuse_source(self, prefix: bytes, dimension: int) -> FaissReuse | MilvusReuse | None:
        """The current Milvus build's vectors by key; for a first build, the FAISS index folder's."""
        current = self.current_name()
        if current is None:
            found = FaissReuse.open(self.settings.paths.index, prefix, dimension)
            if found is not None:
                log.info("first Milvus build: reusing the vectors of the FAISS index in %s", self.settings.paths.index)
            return found
        manifest = self._manifest_of(current)
        vectors = manifest.get("vectors")
        if not isinstance(vectors, dict) or vectors.get("key_prefix") != prefix.hex():
            log.info("the current build was embedded another way; embedding everything")
            return None
        return MilvusReuse.open(self, current, dimension)

    def writer(self, dimension: int) -> MilvusBuildWriter:
        dropped = self.drop_builds(self.kept())
        if dropped:
            log.warning("dropped %d collection set(s) left by interrupted builds: %s", len(dropped), ", ".join(dropped))
        return MilvusBuildWriter(self, dimension)

    # -- reading ----------------------------------------------------------------------------------------

    def open(self, settings: Settings, *, model_name: str, weights_sha256: str, dimension: int | None,
             with_lexical: bool = True) -> LoadedIndex:
        rebuild = "rebuild it with: citebot index build --store milvus"
        for _ in range(3):
            base = self.current_name()
            if base is None:
                raise IndexMissingError(f"no index in {self.where()}; build one with: citebot index build "
                                        "--store milvus")
            try:
                return self._open(base, settings, model_name, weights_sha256, dimension, rebuild, with_lexical)
            except IndexInvalidError:
                if self.current_name() == base:
                    raise
                # A build was switched in (and this one dropped) while it was read: read the new one.
        raise IndexInvalidError(f"the index in {self.where()} kept changing while it was read; try again")

    def _open(self, base: str, settings: Settings, model_name: str, weights_sha256: str, dimension: int | None,
              rebuild: str, with_lexical: bool) -> LoadedIndex:
        manifest = self._manifest_of(base)
        model = manifest["model"]
        if model["name"] != model_name or model["weights_sha256"] != weights_sha256:
            raise IndexInvalidError(f"index in {self.where()} was built with model {model['name']!r}, not "
                                    f"{model_name!r} (or with other weights); {rebuild}")
        if dimension is not None and manifest["dimension"] != dimension:
            raise IndexInvalidError(f"index in {self.where()} holds {manifest['dimension']}-dimensional vectors, "
                                    f"the model makes {dimension}; {rebuild}")
        passages, sentences_name, _ = _names(base)
        client = self.client
        try:
            with milvus_errors(f"reading {base}"):
                client.load_collection(passages)
                client.load_collection(sentences_name)
                chunk_rows = sorted((r["row"], r["chunk"]) for r in _scan(client, passages, ["row", "chunk"]))
                sentence_rows = sorted((r["row"], r["chunk"], r["start"], r["end"])
                                       for r in _scan(client, sentences_name, ["row", "chunk", "start", "end"]))
            chunks = [chunk_from_json(text) for _, text in chunk_rows]
            sentences = [SentenceRef(c, s, e) for _, c, s, e in sentence_rows]
        except (ValueError, TypeError, KeyError) as exc:
            raise IndexInvalidError(f"index in {self.where()} cannot be read ({exc}); {rebuild}") from None
        problem = None
        if [r for r, _ in chunk_rows] != list(range(manifest["chunk_count"])):
            problem = f"{passages} holds {len(chunk_rows)} passages, the manifest {manifest['chunk_count']}"
        elif [r[0] for r in sentence_rows] != list(range(len(sentence_rows))):
            problem = f"{sentences_name} has gaps in its rows"
        elif any(c.source not in manifest["sources"] for c in chunks):
            problem = "a passage cites a source the manifest does not list"
        elif not all(0 <= s.chunk < len(chunks) and chunks[s.chunk].start <= s.start < s.end <= chunks[s.chunk].end
                     for s in sentences):
            problem = "a sentence lies outside its passage"
        if problem:
            raise IndexInvalidError(f"index in {self.where()} is inconsistent ({problem}); {rebuild}")
        root = find_sources_root(manifest, self.folder)
        shown, sources = cited_sources(manifest, root, self.folder, display_path)
        chunks = [replace(c, source=shown[c.source]) for c in chunks]
        recipe = LexicalRecipe.of(settings.retrieval, bool(manifest.get("title_in_vectors")), settings.lexical)
        # Milvus keeps no files: bm25s's index (the bm25s ranking, and the second stage's term statistics) is made here
        bm25 = LexicalIndex.build(chunks, recipe) if with_lexical else None
        search = MilvusSearch(client, base, manifest["dimension"], bm25, settings.store.lexical, len(chunks),
                              len(sentences), self.settings.store.uri)
        path = Path(self.settings.store.uri if not self.settings.store.is_server else "milvus") / base
        return LoadedIndex(path, manifest, chunks, sentences, root, sources, None, bm25, search)


class MilvusBuildWriter:
    """A build staged as an index folder (index/store.py's BuildWriter), uploaded to new collections at commit,
    then switched in. Leaving the `with` block without commit drops whatever was uploaded."""

    def __init__(self, location: MilvusLocation, dimension: int) -> None:
        self.location = location
        self.dimension = dimension
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
                                          "lexical": STOPWORDS_NOTE}}
        staged = self.stage.commit(manifest)
        try:
            self._upload(staged, json.loads((staged / "manifest.json").read_text(encoding="utf-8")))
            self.location.switch(self.base)
            self._switched = True
        finally:
            shutil.rmtree(staged, ignore_errors=True)
            with contextlib.suppress(OSError):
                (self.location.folder / "current").unlink()
        self.location.drop_builds({self.base, previous} if previous else {self.base})
        return Path(self.location.settings.store.uri) / self.base

    def _upload(self, staged: Path, manifest: dict[str, Any]) -> None:
        client = self.location.client
        passages, sentences, meta = _names(self.base)
        titles = self.recipe.titles if self.recipe else False
        with milvus_errors(f"writing the build {self.base}"):
            for name, kind in ((passages, "passages"), (sentences, "sentences"), (meta, "meta")):
                schema, params = _schema(client, kind, self.dimension, self.recipe)
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


class MilvusReuse:
    """The vectors of a Milvus build by key, copied once into a temporary file (memory stays flat)."""

    def __init__(self, path: Path, dimension: int, rows: dict[str, int], build: str) -> None:
        self.build = build
        """The build whose vectors these are."""
        self.folder: Path | None = None  # a Milvus build keeps no chunk or term files to reuse
        self._path = path
        self.dimension = dimension
        self._rows = rows
        self._fd = os.open(path, os.O_RDONLY)

    @classmethod
    def open(cls, location: MilvusLocation, base: str, dimension: int) -> MilvusReuse:
        client = location.client
        handle = tempfile.NamedTemporaryFile(prefix="citebot-reuse-", suffix=".f32", delete=False)  # noqa: SIM115
        rows: dict[str, int] = {}
        try:
            with handle, milvus_errors(f"reading the vectors of {base}"):
                for name in _names(base)[:2]:
                    client.load_collection(name)
                    for item in _scan(client, name, ["key", "vector"], batch=2000):
                        if item["key"] not in rows:
                            rows[item["key"]] = len(rows)
                            handle.write(np.asarray(item["vector"], dtype=np.float32).tobytes())
            return cls(Path(handle.name), dimension, rows, base)
        finally:
            with contextlib.suppress(OSError):
                if not rows:
                    os.unlink(handle.name)

    def vector(self, key: str) -> np.ndarray | None:
        row = self._rows.get(key)
        if row is None:
            return None
        size = self.dimension * 4
        return np.frombuffer(os.pread(self._fd, size, row * size), dtype=np.float32)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        with contextlib.suppress(OSError):
            self._path.unlink()
        self._rows = {}


class MilvusSearch:
    """SearchStore over one Milvus build (its collections by name, not the alias: a switch mid-question does not
    mix two builds; a running bot moves to the new build by reloading).

    Top-k searches run in Milvus; the scores of given rows are computed here from their vectors, fetched by
    primary key (a filtered search would scan the collection again) and kept in a bounded cache."""

    def __init__(self, client: Any, base: str, dimension: int, bm25: LexicalIndex | None, lexical: str,
                 passages: int, sentences: int, uri: str) -> None:
        self.client = client
        self.base = base
        self.passages, self.sentences, _ = _names(base)
        self.dimension = dimension
        self.bm25 = bm25
        self.lexical = lexical
        self._counts = Counts(passages, sentences)
        self.uri = uri
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache: dict[str, OrderedDict[int, np.ndarray]] = {self.passages: OrderedDict(),
                                                                  self.sentences: OrderedDict()}
        self._lock = threading.Lock()

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
                    output_fields=["row"], search_params={"metric_type": metric})
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

    def _bm25s(self, query: str) -> np.ndarray:
        if self.bm25 is None:
            raise RuntimeError("this store was opened without its lexical index")
        with self._lock:
            if query in self._recent:
                return self._recent[query]
        scores = self.bm25.scores(query)
        with self._lock:
            self._recent[query] = scores
            while len(self._recent) > 8:
                self._recent.popitem(last=False)
        return scores

    def lexical_search(self, query: str, k: int) -> Ranked:
        if self.lexical == "milvus":
            if not query.strip() or not self._terms(query):
                return Ranked.empty()
            found = self._search(self.passages, "sparse", query, min(k, self._counts.passages), "BM25")
            keep = found.scores > 0
            return Ranked(found.rows[keep], found.scores[keep])
        from citebot.index.store.faiss.location import top_rows

        scores = self._bm25s(query)
        rows = [r for r in top_rows(scores, k) if scores[r] > 0] if len(scores) else []
        return Ranked(np.asarray(rows, dtype=np.int64), scores[rows].astype(np.float32))

    def lexical_scores(self, query: str, rows: Sequence[int]) -> np.ndarray:
        if self.lexical == "milvus":
            if not len(rows) or not query.strip() or not self._terms(query):
                return np.zeros(len(rows), dtype=np.float32)
            found = self._search(self.passages, "sparse", query, len(rows), "BM25", rows)
            return self._scores_of(found, rows, 0.0)
        return self._bm25s(query)[np.asarray(rows, dtype=np.int64)]

    def count(self) -> Counts:
        return self._counts

    def describe(self) -> dict[str, Any]:
        return {"kind": "milvus", "uri": self.uri, "collection": self.base, "search": "exact (FLAT, IP)",
                "lexical": "Milvus BM25 function" if self.lexical == "milvus" else "bm25s"}

