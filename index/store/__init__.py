"""Where the vectors live: the factory over the store protocol (protocol.py) and its implementations,
the FAISS index folder (faiss/, the default) and a Milvus collection (milvus/). `[store] kind` picks one."""

from __future__ import annotations

from pathlib import Path

from citebot.config.settings import Settings, StoreSettings
from citebot.index.store.protocol import LoadedIndex, StoreLocation


def store_location(settings: Settings) -> StoreLocation:
    """The configured store ([store] kind): the FAISS folder at [paths] index, or Milvus."""
    if settings.store.kind == "milvus":
        from citebot.index.store.milvus.location import MilvusLocation

        return MilvusLocation(settings)
    return index_folder(settings.paths.index, settings.store)


def index_folder(folder: Path, store: StoreSettings | None = None) -> StoreLocation:
    """The FAISS index folder at folder (what a build or a check given only a folder works on); store: the [store]
    settings a build there follows (None: it writes no IVF index)."""
    from citebot.index.store.faiss.location import FaissFolder

    return FaissFolder(folder, store)


def open_index(settings: Settings, *, model_name: str, weights_sha256: str, dimension: int | None,
               with_lexical: bool = True) -> LoadedIndex:
    """Load the configured store's current build, with every check its store makes."""
    return store_location(settings).open(settings, model_name=model_name, weights_sha256=weights_sha256,
                                         dimension=dimension, with_lexical=with_lexical)
