"""A user's own folder: an index remembers what it was built from, and every hint names the real command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SEEDS

CLI = [sys.executable, "-m", "citebot.bot.cli"]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A working folder with a hash-model config, a folder of articles and another one."""
    (tmp_path / "hash.toml").write_text('[embedding]\nmodel = "hash"\n', encoding="utf-8")
    shutil.copytree(SEEDS, tmp_path / "articles")
    shutil.copytree(SEEDS, tmp_path / "other")
    (tmp_path / "other" / "001_414cf1cdc2bd87dd.txt").unlink()
    return tmp_path


def test_a_new_index_needs_its_folder_and_then_remembers_it(folder: Path) -> None:
    first = _run("index", "build", "--config", "hash.toml", "--index", "mine", cwd=folder)
    assert first.returncode == 1 and not (folder / "mine").exists()
    assert "citebot index build --sources DIR --index mine --config hash.toml" in first.stderr
    assert _run("index", "build", "--config", "hash.toml", "--index", "mine", "--sources", "articles",
                cwd=folder).returncode == 0
    again = _run("index", "build", "--config", "hash.toml", "--index", "mine", cwd=folder)
    assert again.returncode == 0 and "Indexing the articles in articles into mine" in again.stderr
    status = json.loads(_run("index", "status", "--config", "hash.toml", "--index", "mine", "--json",
                             cwd=folder).stdout)
    assert status["sources_root"] == "articles" and status["articles"] == 3


def test_another_folder_for_an_existing_index_is_refused_unless_replaced(folder: Path) -> None:
    _run("index", "build", "--config", "hash.toml", "--index", "mine", "--sources", "articles", cwd=folder)
    refused = _run("index", "build", "--config", "hash.toml", "--index", "mine", "--sources", "other", cwd=folder)
    assert refused.returncode == 1 and "built from articles, not other" in refused.stderr
    assert "citebot index build --sources other --index mine --config hash.toml --replace" in refused.stderr
    replaced = _run("index", "build", "--config", "hash.toml", "--index", "mine", "--sources", "other",
                    "--replace", cwd=folder)
    assert replaced.returncode == 0
    status = json.loads(_run("index", "status", "--config", "hash.toml", "--index", "mine", "--json",
                             cwd=folder).stdout)
    assert status["sources_root"] == "other" and status["articles"] == 2


def test_a_mistyped_index_is_an_error_not_a_build_of_the_seeds(folder: Path) -> None:
    ask = _run("ask", "Who is Ian Lavery?", "--config", "hash.toml", "--index", "typo", cwd=folder)
    assert ask.returncode == 1 and not (folder / "typo").exists()
    assert "no index in typo" in ask.stderr and "--sources DIR --index typo" in ask.stderr


def test_an_edited_article_is_named_in_the_answer_with_the_command_that_rebuilds(folder: Path) -> None:
    _run("index", "build", "--config", "hash.toml", "--index", "mine", "--sources", "articles", cwd=folder)
    for path in (folder / "articles").iterdir():
        path.write_text(path.read_text(encoding="utf-8") + "\nAn added line.\n", encoding="utf-8")
    ask = _run("ask", "Who is Ian Lavery?", "--config", "hash.toml", "--index", "mine", "--json", cwd=folder)
    left_out = json.loads(ask.stdout)["left_out"]
    assert left_out and all("changed since the index was built" in left["reason"] for left in left_out)
    assert all("citebot index build --index mine --config hash.toml" in left["reason"] for left in left_out)
    text = _run("ask", "Who is Ian Lavery?", "--config", "hash.toml", "--index", "mine", cwd=folder).stdout
    assert "Left out: articles/" in text
    status = _run("index", "status", "--config", "hash.toml", "--index", "mine", cwd=folder).stdout
    assert "STALE, run: citebot index build --index mine --config hash.toml" in status


def test_the_build_shows_one_bar_over_the_tokens_embedded(folder: Path) -> None:
    build = _run("index", "build", "--config", "hash.toml", "--index", "mine", "--sources", "articles", cwd=folder)
    assert "Embedding: 100%" in build.stderr and "token/s" in build.stderr and "article 3/3" in build.stderr
    assert "Reading, chunking" not in build.stderr and "still waiting" not in build.stderr
