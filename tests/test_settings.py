"""Settings: config/default.toml is the one source of defaults; another file names only what it changes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.config.errors import ConfigError
from citebot.config.settings import DEFAULT_CONFIG, PROJECT_ROOT, load_config, load_settings


def test_a_short_config_overrides_one_value_and_keeps_every_default(tmp_path: Path) -> None:
    config = tmp_path / "mine.toml"
    config.write_text("[retrieval]\ntop_k = 3\n", encoding="utf-8")
    loaded = load_config(config)
    defaults = load_settings(DEFAULT_CONFIG)
    assert loaded.settings.retrieval.top_k == 3 and defaults.retrieval.top_k != 3
    assert loaded.settings.rerank == defaults.rerank and loaded.settings.paths == defaults.paths
    assert loaded.origins["retrieval.top_k"] == str(config) and loaded.origins["retrieval.candidates"] == "default"


def test_relative_paths_resolve_from_the_folder_of_the_file_that_names_them(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    config = tmp_path / "conf" / "mine.toml"
    config.write_text('[paths]\nsources = "articles"\n', encoding="utf-8")
    settings = load_settings(config)
    assert settings.paths.sources == tmp_path / "conf" / "articles"
    assert settings.paths.index == PROJECT_ROOT / "var" / "index"  # a default: from the project root


def test_a_table_of_weights_replaces_the_default_table(tmp_path: Path) -> None:
    config = tmp_path / "mine.toml"
    config.write_text("[rerank.weights]\nfused = 1.0\n", encoding="utf-8")
    assert load_settings(config).rerank.weights == {"fused": 1.0}


@pytest.mark.parametrize(("text", "message"), [
    ("[retrieval]\ntop_kk = 3\n", r"\[retrieval\]: unknown setting\(s\) top_kk"),
    ("[retreival]\ntop_k = 3\n", r"unknown section\(s\) retreival"),
    ("[retrieval]\ntop_k = 0\n", "top_k must be at least 1"),
    ("[retrieval]\ntop_k = \"3\"\n", "top_k must be an integer"),
    ("retrieval = 3\n", r"must be a \[retrieval\] section"),
    ("[store]\napproximate_scores = \"code\"\n", 'approximate_scores must be "floats" or "codes"'),
])
def test_a_wrong_setting_is_named(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "mine.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(config)


def test_config_show_prints_the_effective_settings_and_their_origin(tmp_path: Path) -> None:
    config = tmp_path / "mine.toml"
    config.write_text("[retrieval]\ntop_k = 3\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "citebot.bot.cli", "config", "show", "--config", str(config)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    line = next(line for line in run.stdout.splitlines() if line.startswith("top_k"))
    assert "= 3" in line and "mine.toml" in line
    assert any(line.startswith("candidates") and "default" in line for line in run.stdout.splitlines())
    shown = json.loads(subprocess.run([sys.executable, "-m", "citebot.bot.cli", "config", "show", "--json",
                                       "--config", str(config)], capture_output=True, text=True, timeout=60).stdout)
    assert shown["retrieval"]["top_k"] == {"value": 3, "from": str(config)}
