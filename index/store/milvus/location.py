"""Milvus behind the store protocol: one collection per build, an alias switched to it in one step.

A build `<alias>_b<time>_<id>` is three collections: passages (row, chunk JSON, lexical text with Milvus's BM25
function over it, content key, vector), `..._sentences` (row, chunk row, offsets, key, vector) and `..._meta`
(the manifest, in parts). They are written in full, the manifest last; then `alter_alias` points the alias at the
passages collection, the one step readers see: before it they search the old build, after it the new one, never
half of one. A build that dies before the switch leaves the old build serving; its collections are dropped by the
next build. After a switch the build before stays for rollback (`previous` in the manifest); older ones go.

The write path (writer.py) stages the build as an ordinary index folder under [paths] data, which holds the build
lock, and uploads it at commit; the vectors of unchanged texts are reused from the current Milvus build (reuse.py),
or, for the first, from the FAISS index at [paths] index (the same keys, index/incremental.py). A loaded build is
searched by search.py; connection.py holds the client. This module is the location: the alias, the builds, the
lock, opening the current build with the checks every store makes (index/store/checks.py).

Milvus Lite (a local .db) serves one process at a time: stop `citebot serve` to build, or use a server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from citebot.config.errors import CitebotError, IndexInvalidError, IndexMissingError
from citebot.config.settings import Settings
from citebot.index.lexical import LexicalIndex, LexicalRecipe
from citebot.index.store import checks
from citebot.index.store.faiss import lock
from citebot.index.store.faiss.layout import FORMAT_VERSION, expected_files
from citebot.index.store.faiss.reuse import FaissReuse
from citebot.index.store.hint import with_options
from citebot.index.store.milvus.connection import (
    MAX_K,
    collection_names,
    connect,
    load_pymilvus,
    milvus_errors,
    scan,
    vector_index,
)
from citebot.index.store.milvus.reuse import MilvusReuse
from citebot.index.store.milvus.search import MilvusSearch
from citebot.index.store.milvus.writer import MilvusBuildWriter
from citebot.index.store.protocol import Leftover, LoadedIndex, SentenceRef

log = logging.getLogger(__name__)

REBUILD = "rebuild it with: citebot index build --store milvus"


class MilvusLocation:
    """StoreLocation for [store] kind = "milvus"."""

    kind = "milvus"

    def __init__(self, settings: Settings) -> None:
        load_pymilvus()  # not installed: say so before anything else happens
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
        meta = collection_names(base)[2]
        client = self.client
        with milvus_errors(f"reading the manifest of {base}"):
            if not client.has_collection(meta):
                raise IndexInvalidError(f"the index in {self.where()} is damaged: {base} has no manifest; "
                                        f"{self.rebuild_hint()}")
            client.load_collection(meta)
            parts = client.query(meta, filter="part >= 0", output_fields=["part", "text"], limit=MAX_K)
        try:
            manifest = json.loads("".join(p["text"] for p in sorted(parts, key=lambda p: p["part"])))
        except ValueError as exc:
            raise IndexInvalidError(f"the manifest of {base} is unreadable ({exc}); {self.rebuild_hint()}") from None
        problem = checks.manifest_problem(manifest, FORMAT_VERSION, expected_files)  # staged as a folder build
        if problem:
            raise IndexInvalidError(f"the manifest of {base} in {self.where()} is invalid: {problem}; "
                                    f"{self.rebuild_hint()}")
        return manifest

    def read_manifest(self) -> dict[str, Any]:
        base = self.current_name()
        if base is None:
            raise IndexMissingError(f"no index in {self.where()}; build one with: citebot index build --store milvus")
        return self._manifest_of(base)

    def kept(self) -> set[str]:
        """The builds to keep: the current one and the one before it (for rollback)."""
        return self._kept(self.current_name())

    def _kept(self, current: str | None) -> set[str]:
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
                for name in collection_names(base):
                    if self.client.has_collection(name):
                        self.client.drop_collection(name)
            dropped.append(base)
        return dropped

    def rollback_builds(self) -> list[str]:
        """The build before the current one, when it is still there (`previous` in the current manifest)."""
        current = self.current_name()
        return sorted(self._kept(current) - {current})

    def leftover_builds(self) -> list[str]:
        """Builds that are neither serving nor kept for rollback (a crashed build's, usually)."""
        keep = self.kept()
        return [base for base in self.builds() if base not in keep]

    def rebuild_hint(self) -> str:
        return with_options(REBUILD)

    def sources_root(self, manifest: dict[str, Any]) -> Path:
        return checks.find_sources_root(manifest, self.folder)

    # -- the build lock and the staging folder's leftovers (the FAISS folder's, in self.folder) ---------

    def build_lock(self) -> AbstractContextManager[list[Leftover]]:
        return lock.build_lock(self.folder)

    def build_running(self) -> bool:
        return lock.build_running(self.folder)

    def leftovers(self) -> list[Leftover]:
        return lock.leftovers(self.folder)

    def remove_leftovers(self) -> list[Leftover]:
        return lock.remove_leftovers(self.folder)

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
        return MilvusReuse.open(self.client, current, dimension)

    def writer(self, dimension: int) -> MilvusBuildWriter:
        dropped = self.drop_builds(self.kept())
        if dropped:
            log.warning("dropped %d collection set(s) left by interrupted builds: %s", len(dropped), ", ".join(dropped))
        return MilvusBuildWriter(self, dimension)

    # -- reading ----------------------------------------------------------------------------------------

    def open(self, settings: Settings, *, model_name: str, weights_sha256: str, dimension: int | None,
             with_lexical: bool = True) -> LoadedIndex:
        for _ in range(3):
            base = self.current_name()
            if base is None:
                raise IndexMissingError(f"no index in {self.where()}; build one with: citebot index build "
                                        "--store milvus")
            try:
                return self._open(base, settings, model_name, weights_sha256, dimension, with_lexical)
            except IndexInvalidError:
                if self.current_name() == base:
                    raise
                # A build was switched in (and this one dropped) while it was read: read the new one.
        raise IndexInvalidError(f"the index in {self.where()} kept changing while it was read; try again")

    def _open(self, base: str, settings: Settings, model_name: str, weights_sha256: str, dimension: int | None,
              with_lexical: bool) -> LoadedIndex:
        manifest = self._manifest_of(base)
        checks.check_model(manifest, model_name=model_name, weights_sha256=weights_sha256, dimension=dimension,
                           where=self.where(), rebuild=self.rebuild_hint())
        passages, sentences_name, _ = collection_names(base)
        client = self.client
        try:
            with milvus_errors(f"reading {base}"):
                client.load_collection(passages)
                client.load_collection(sentences_name)
                chunk_rows = sorted((r["row"], r["chunk"]) for r in scan(client, passages, ["row", "chunk"]))
                sentence_rows = sorted((r["row"], r["chunk"], r["start"], r["end"])
                                       for r in scan(client, sentences_name, ["row", "chunk", "start", "end"]))
            chunks = [checks.chunk_from_json(text) for _, text in chunk_rows]
            sentences = [SentenceRef(c, s, e) for _, c, s, e in sentence_rows]
        except (ValueError, TypeError, KeyError) as exc:
            raise IndexInvalidError(f"index in {self.where()} cannot be read ({exc}); {self.rebuild_hint()}") from None
        # Rows are primary keys 0..n-1, each with its vector of the collection's dimension (the manifest's).
        problem = None
        if [r for r, _ in chunk_rows] != list(range(len(chunk_rows))):
            problem = f"{passages} has gaps in its rows"
        elif [r[0] for r in sentence_rows] != list(range(len(sentence_rows))):
            problem = f"{sentences_name} has gaps in its rows"
        d = manifest["dimension"]
        problem = problem or checks.contents_problem(manifest, chunks, sentences, (len(chunk_rows), d),
                                                     (len(sentence_rows), d))
        if problem:
            raise IndexInvalidError(f"index in {self.where()} is inconsistent ({problem}); {self.rebuild_hint()}")
        root, chunks, sources = checks.named_sources(manifest, self.folder, chunks)
        recipe = LexicalRecipe.of(settings.retrieval, bool(manifest.get("title_in_vectors")), settings.lexical)
        # Milvus keeps no files: bm25s's index (the bm25s ranking, and the second stage's term statistics) is made here
        bm25 = LexicalIndex.build(chunks, recipe) if with_lexical else None
        index_type, _, search_params = vector_index(settings)
        built = manifest.get("store", {}).get("index", "FLAT")  # the type the build's collections were made with
        if built != index_type:
            log.warning("[store] milvus_index is %s, the build's collections have %s: searching them with no search "
                        "parameters until a rebuild", index_type, built)
            index_type, search_params = built, {}
        search = MilvusSearch(client, base, manifest["dimension"], bm25, settings.store.lexical, len(chunks),
                              len(sentences), self.settings.store.uri, (index_type, search_params))
        path = Path(self.settings.store.uri if not self.settings.store.is_server else "milvus") / base
        return LoadedIndex(path, manifest, chunks, sentences, root, sources, None, bm25, search)

