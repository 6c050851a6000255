"""The hash test embedder at another width: named by it, and an index built at one width refuses the other."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from citebot.config.errors import ModelError
from citebot.config.settings import EmbeddingSettings
from citebot.index.embedding import make_embedder
from tests.conftest import SEEDS

CLI = [sys.executable, "-m", "citebot.bot.cli"]


def _named(model: str) -> EmbeddingSettings:
    return EmbeddingSettings(model=model, weights_sha256="none", batch_size=32, title_in_vectors=False,
                             runtime="onnx", onnx_cache=Path("unused"))


def test_the_width_is_in_the_name_and_the_vectors() -> None:
    narrow = make_embedder(_named("hash-384"))
    vectors = narrow.encode(["a wire story about a council vote", ""])
    assert narrow.name == "hash-384" and vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert make_embedder(_named("hash")).dimension == 1024


@pytest.mark.parametrize("model", ["hash-", "hash-0", "hash-x", "hash384"])
def test_a_malformed_width_is_an_unknown_model(model: str) -> None:
    with pytest.raises(ModelError, match="unknown embedding model"):
        make_embedder(_named(model))


def test_an_index_of_one_width_refuses_the_other(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "articles")
    for width in ("hash", "hash-384"):
        (tmp_path / f"{width}.toml").write_text(f'[embedding]\nmodel = "{width}"\n', encoding="utf-8")
    build = subprocess.run([*CLI, "index", "build", "--config", "hash-384.toml", "--index", "narrow", "--sources",
                            "articles"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stderr
    status = json.loads(subprocess.run([*CLI, "index", "status", "--config", "hash-384.toml", "--index", "narrow",
                                        "--json"], cwd=tmp_path, capture_output=True, text=True).stdout)
    assert "hash-384" in json.dumps(status)
    wide = subprocess.run([*CLI, "ask", "Who is Ian Lavery?", "--config", "hash.toml", "--index", "narrow"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert wide.returncode != 0 and "hash-384" in wide.stderr and "Traceback" not in wide.stderr
