"""Shared fixtures: settings pointed at temporary folders, and one real-model index per session."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from index.settings import DEFAULT_CONFIG, PROJECT_ROOT, Settings, load_settings

SEEDS = PROJECT_ROOT / "seeds"


def write_config(folder: Path, *, model: str = "hash", store: dict[str, str] | None = None,
                 **overrides: object) -> Path:
    """A copy of config/default.toml with the index under folder, the given model and overrides; store: the
    [store] section's values to change (its `kind` shares a name with a [rerank.weights] key)."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    values: dict[str, object] = {
        "sources": str(SEEDS), "index": str(folder / "index"), "golden": str(PROJECT_ROOT / "tests/data/golden.jsonl"),
        "data": str(folder / "data"), "model": model, **overrides,
    }
    for key, value in values.items():
        rendered = f'"{value}"' if isinstance(value, str) else str(value).lower()
        text, count = re.subn(rf"(?m)^{key}\s*=\s*[^#\n]*", f"{key} = {rendered} ", text)
        assert count == 1, key
    if store:
        head, section = text.split("\n[store]\n")
        for key, value in store.items():
            section, count = re.subn(rf"(?m)^{key}\s*=\s*[^#\n]*", f'{key} = "{value}" ', section)
            assert count == 1, key
        text = f"{head}\n[store]\n{section}"
    path = folder / "config" / "test.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
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
    """Skip, loudly, a test of the reference runtime (sentence-transformers on torch) when it is not installed.
    CI sets CITEBOT_REQUIRE_REFERENCE=1: then its absence fails, never skips."""
    import importlib.util
    import os

    missing = [name for name in ("torch", "sentence_transformers") if importlib.util.find_spec(name) is None]
    if not missing:
        return
    if os.environ.get("CITEBOT_REQUIRE_REFERENCE") == "1":
        pytest.fail(f'CITEBOT_REQUIRE_REFERENCE=1 but {", ".join(missing)} not installed: pip install -e ".[test]"')
    pytest.skip(f'REFERENCE RUNTIME TESTS SKIPPED: {", ".join(missing)} not installed (pip install -e ".[reference]")')


@pytest.fixture(autouse=True)
def _close_milvus_lite():
    """Close the Milvus Lite databases a test opened (each test has its own, in its temporary folder)."""
    yield
    import sys

    if "index.milvus_store" in sys.modules:
        from index import milvus_store

        for uri, _ in list(milvus_store._clients):
            milvus_store.disconnect(uri)


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
    from index.build import build_index
    from retrieval.engine import Engine

    build_index(SEEDS, real_settings.paths.index, real_settings)
    return Engine(real_settings)
