"""Shared fixtures: settings pointed at temporary folders, and one real-model index per session."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from citebot.config.settings import DEFAULT_CONFIG, PROJECT_ROOT, Settings, load_settings

SEEDS = PROJECT_ROOT / "seeds"


def write_config(folder: Path, *, model: str = "hash", store: dict[str, str] | None = None,
                 **overrides: object) -> Path:
    """A short config over config/default.toml that names only what a test changes: the index under folder, the
    given model, the overrides (each key found in the one section of default.toml that has it); store: the
    [store] section's values (its `kind` shares a name with a [rerank.weights] key)."""
    defaults = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    values: dict[str, object] = {
        "sources": str(SEEDS), "index": str(folder / "index"), "golden": str(PROJECT_ROOT / "tests/data/golden.jsonl"),
        "data": str(folder / "data"), "model": model, **overrides,
    }
    tables: dict[str, dict[str, object]] = {}
    for key, value in values.items():
        sections = [name for name, table in defaults.items() if key in table]
        assert len(sections) == 1, key
        tables.setdefault(sections[0], {})[key] = value
    if store:
        tables.setdefault("store", {}).update(store)
    lines = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    path = folder / "config" / "test.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def milvus_available() -> bool:
    """Whether Milvus Lite can run here. CI sets CITEBOT_REQUIRE_MILVUS=1: then its absence fails, never skips."""
    import importlib.util
    import os

    found = all(importlib.util.find_spec(name) is not None for name in ("pymilvus", "milvus_lite"))
    if not found and os.environ.get("CITEBOT_REQUIRE_MILVUS") == "1":
        pytest.fail('CITEBOT_REQUIRE_MILVUS=1 but pymilvus / milvus-lite are not installed: pip install -e ".[test]"')
    return found


def require_reference() -> None:
    """Skip, loudly, a test of the reference runtime (sentence-transformers on torch) when it is not installed: the
    test install has no torch, and the ONNX runtime is checked against the committed reference vectors instead
    (tests/test_embedders.py). `pytest -m reference` runs only these tests, where the reference extra is installed."""
    import importlib.util

    missing = [name for name in ("torch", "sentence_transformers") if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f'reference runtime not installed ({", ".join(missing)}): the live torch comparison is skipped, '
                    'the committed reference vectors are checked instead (pip install -e ".[reference]" to run it)')


@pytest.fixture(autouse=True)
def _close_milvus_lite():
    """Close the Milvus Lite databases a test opened (each test has its own, in its temporary folder)."""
    yield
    import sys

    if "citebot.index.store.milvus.connection" in sys.modules:
        from citebot.index.store.milvus import connection

        for uri, _ in list(connection._clients):
            connection.disconnect(uri)


@pytest.fixture
def hash_config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def hash_settings(hash_config: Path) -> Settings:
    return load_settings(hash_config)


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    target = tmp_path / "sources"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("real")
    return load_settings(write_config(folder, model="all-MiniLM-L6-v2"))


@pytest.fixture(scope="session")
def real_engine(real_settings: Settings):
    """The real model over the real seeds, built once for the whole session."""
    from citebot.index.build import build_index
    from citebot.retrieval.engine import Engine

    build_index(SEEDS, real_settings.paths.index, real_settings)
    return Engine(real_settings)


def killed_after(embedder: Any, texts: int) -> list[str]:
    """Make embedder's encode() raise OSError("killed mid-build") once more than `texts` texts were asked of it (a
    build killed midway, in process); the texts it did embed are listed in the list returned."""
    encode, done = embedder.encode, []

    def encode_until_killed(batch: list[str], *, progress: bool = False) -> Any:
        if len(done) + len(batch) > texts:
            raise OSError("killed mid-build")
        done.extend(batch)
        return encode(batch)

    embedder.encode = encode_until_killed
    return done
