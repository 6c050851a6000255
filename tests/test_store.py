from __future__ import annotations

import json
from pathlib import Path

import pytest

from citebot.config.errors import IndexInvalidError, IndexMissingError
from citebot.config.settings import Settings
from citebot.index.build import build_index
from citebot.index.embedding.hashed import HashEmbedder
from citebot.index.store.faiss import layout, writer
from citebot.index.store.faiss.load import load_index
from tests.conftest import SEEDS


def _load(settings: Settings, embedder=None):
    embedder = embedder or HashEmbedder()
    return load_index(settings.paths.index, model_name=embedder.name,
                      weights_sha256=embedder.weights_sha256, dimension=embedder.dimension)


def test_build_then_load_round_trips(hash_settings: Settings) -> None:
    report = build_index(SEEDS, hash_settings.paths.index, hash_settings)
    stored = _load(hash_settings)
    assert len(stored.chunks) == report.chunks == stored.vectors.ntotal
    manifest = stored.manifest
    assert manifest["model"]["name"] == "hash"
    assert manifest["chunking"]["max_tokens"] == hash_settings.chunking.max_tokens
    assert len(manifest["sources"]) == 3 and all(len(d) == 64 for d in manifest["sources"].values())
    assert not list(stored.path.parent.glob(".build-*"))


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="citebot index build"):
        load_index(tmp_path / "none", model_name="hash", weights_sha256="none", dimension=256)


def test_a_crash_mid_build_leaves_the_old_index_serving(hash_settings: Settings, seeds_copy: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    build_index(seeds_copy, hash_settings.paths.index, hash_settings)
    before = _load(hash_settings)
    (seeds_copy / "extra.txt").write_text("Extra headline\n\nA brand new story about otters.\n", encoding="utf-8")

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(writer, "_write", crash)
    with pytest.raises(OSError):
        build_index(seeds_copy, hash_settings.paths.index, hash_settings)
    monkeypatch.undo()
    after = _load(hash_settings)
    assert after.path == before.path and len(after.chunks) == len(before.chunks)
    assert not list(hash_settings.paths.index.glob(".build-*"))  # a failed save removes its partial build
    build_index(seeds_copy, hash_settings.paths.index, hash_settings)
    rebuilt = _load(hash_settings)
    assert rebuilt.path != before.path and any("otters" in c.text for c in rebuilt.chunks)
    assert sorted(p.name for p in hash_settings.paths.index.iterdir()) == sorted(
        [".lock", "current", rebuilt.path.name])


@pytest.mark.parametrize("damage", ["vectors", "chunks", "manifest"])
def test_corrupt_files_are_a_clear_error(hash_settings: Settings, damage: str) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    build = hash_settings.paths.index / "current"
    name = {"vectors": layout.VECTORS, "chunks": layout.CHUNKS, "manifest": layout.MANIFEST}[damage]
    with open(build / name, "r+b") as handle:
        handle.seek(10)
        handle.write(b"garbage!")
    with pytest.raises(IndexInvalidError, match="rebuild"):
        _load(hash_settings)


def test_wrong_model_or_dimension_is_refused(hash_settings: Settings) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    with pytest.raises(IndexInvalidError, match="dimensional"):  # the same model's name at another width
        load_index(hash_settings.paths.index, model_name="hash", weights_sha256="none", dimension=64)
    with pytest.raises(IndexInvalidError, match="built with model 'hash', not 'hash-64'"):
        _load(hash_settings, HashEmbedder(dimension=64))
    with pytest.raises(IndexInvalidError, match="built with model"):
        load_index(hash_settings.paths.index, model_name="all-MiniLM-L6-v2", weights_sha256="x", dimension=1024)


def test_chunks_and_manifest_are_plain_json(hash_settings: Settings) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    build = hash_settings.paths.index / "current"
    json.loads((build / layout.MANIFEST).read_text(encoding="utf-8"))
    for line in (build / layout.CHUNKS).read_text(encoding="utf-8").splitlines():
        chunk = json.loads(line)
        assert {"id", "source", "start", "end", "text", "paragraph", "title"} <= set(chunk)
