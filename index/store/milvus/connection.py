"""The Milvus client: one per process and uri, its failures as one line, and the collections of a build.

A build `<alias>_b<time>_<id>` is three collections: passages, `..._sentences` and `..._meta` (the manifest).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from citebot.config.errors import CitebotError, ConfigError
from citebot.config.settings import Settings

INSTALL = 'Milvus support is not installed; install it with: pip install -e ".[milvus]" (pymilvus and milvus-lite)'
MAX_K = 16384
"""Milvus's largest limit for one search or query."""

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


def load_pymilvus() -> Any:
    """The pymilvus module, or a CitebotError saying how to install it."""
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
    pymilvus = load_pymilvus()
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
    pymilvus = load_pymilvus()
    try:
        yield
    except pymilvus.MilvusException as exc:
        raise CitebotError(f"Milvus failed while {what}: {_one_line(exc)}") from None


LITE_INDEXES = ("FLAT", "HNSW", "IVF_FLAT")
"""The [store] milvus_index types Milvus Lite builds (it has no DiskANN: asked for one, it would scan every row)."""


def _whole(value: float) -> int | float:
    """A TOML number as Milvus wants it: M, nlist, ef... are integers ([store] tables are read as floats)."""
    return int(value) if float(value).is_integer() else value


def vector_index(settings: Settings) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The vector index of the passage and sentence collections ([store] milvus_index), its build parameters and
    its search parameters; a ConfigError when Milvus Lite is asked for a type it does not build."""
    store = settings.store
    if not store.is_server and store.milvus_index not in LITE_INDEXES:
        raise ConfigError(f"[store] milvus_index = {store.milvus_index!r} needs a Milvus server; Milvus Lite "
                          f"({store.uri}) builds {', '.join(LITE_INDEXES)}: set milvus_index = \"FLAT\" or "
                          "uri = \"http://HOST:19530\"")
    build = {key: _whole(value) for key, value in store.milvus_index_params.items()}
    search = {key: _whole(value) for key, value in store.milvus_search_params.items()}
    return store.milvus_index, build, search


def collection_names(base: str) -> tuple[str, str, str]:
    """The passages, sentences and meta collections of the build `base`."""
    return base, f"{base}_sentences", f"{base}_meta"


def scan(client: Any, collection: str, fields: list[str], batch: int = 4000) -> Iterator[dict[str, Any]]:
    """Every row of a collection, in batches (a plain query stops at 16,384 rows)."""
    iterator = client.query_iterator(collection, batch_size=batch, output_fields=fields)
    try:
        while rows := iterator.next():
            yield from rows
    finally:
        iterator.close()
