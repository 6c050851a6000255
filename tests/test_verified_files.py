"""A load hashes only the index files whose stat moved since a load hashed them (index/store/faiss/verified.py):
the second load of an unchanged build reads no file to hash it, and a file changed in place after it was stamped,
even to the same size, is hashed again and fails the load."""

from __future__ import annotations

import json

import pytest

from citebot.config.errors import IndexInvalidError
from citebot.config.settings import Settings
from citebot.index.build import build_index
from citebot.index.embedding.hashed import HashEmbedder
from citebot.index.hashing import file_sha256
from citebot.index.store import store_location
from citebot.index.store.faiss import verified
from citebot.index.store.faiss.layout import SENTENCE_VECTORS
from tests.conftest import SEEDS


def _open(settings: Settings):
    embedder = HashEmbedder()
    return store_location(settings).open(settings, model_name=embedder.name, weights_sha256=embedder.weights_sha256,
                                         dimension=embedder.dimension)


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files loads hash (the real hash, counted)."""
    names: list[str] = []

    def counted(path):
        names.append(path.name)
        return file_sha256(path)

    monkeypatch.setattr(verified, "file_sha256", counted)
    return names


def test_a_second_load_hashes_no_unchanged_file(hash_settings: Settings, hashed: list[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    monkeypatch.setattr(verified, "RACY_SECONDS", 0)  # the files were written a moment ago
    first = _open(hash_settings)
    assert SENTENCE_VECTORS in hashed and len(hashed) >= 8
    stamps = json.loads((first.path / verified.VERIFIED).read_text(encoding="utf-8"))
    assert stamps[SENTENCE_VECTORS]["sha256"] == first.manifest["files"][SENTENCE_VECTORS]
    hashed.clear()
    again = _open(hash_settings)
    assert hashed == []
    assert again.store.count() == first.store.count()


def test_a_file_changed_in_place_after_its_stamp_fails_the_load(hash_settings: Settings, hashed: list[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    monkeypatch.setattr(verified, "RACY_SECONDS", 0)
    path = _open(hash_settings).path / SENTENCE_VECTORS
    size = path.stat().st_size
    with path.open("r+b") as handle:  # the same size: only the stamp's times and the hash can tell
        handle.seek(size - 8)
        handle.write(b"\x7f" * 8)
    hashed.clear()
    with pytest.raises(IndexInvalidError, match="sentences.faiss is missing or corrupt"):
        _open(hash_settings)
    assert hashed == [SENTENCE_VECTORS]


def test_files_changed_a_moment_ago_are_not_stamped(hash_settings: Settings, hashed: list[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    monkeypatch.setattr(verified, "RACY_SECONDS", 3600)  # every file is recent: a same-tick write could hide
    loaded = _open(hash_settings)
    assert not (loaded.path / verified.VERIFIED).exists()
    count = len(hashed)
    _open(hash_settings)
    assert len(hashed) == 2 * count
