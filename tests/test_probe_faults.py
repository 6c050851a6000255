"""Issue 21, "faults found by a probe": each reproduction as it was run, on real files and real subprocesses.

A full disk and a run out of inodes are real when this process may mount a small tmpfs (root, as on the test
machine); otherwise the same faults are simulated in-process (a write or the link raising ENOSPC).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.config.errors import ConfigError
from citebot.config.settings import AT_LEAST_ONE, PROJECT_ROOT, load_settings
from tests.conftest import write_config

CLI = [sys.executable, "-m", "citebot.bot.cli"]
ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, env=ENV, timeout=timeout)


def one_line_error(err: bytes) -> bool:
    lines = [line for line in err.decode().strip().splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("citebot: error: ") and "Traceback" not in err.decode()


# -- a file of only spaces, of any script, is empty -------------------------------------------------------------

def test_a_file_of_non_ascii_spaces_is_skipped_as_empty(tmp_path: Path, seeds_copy: Path) -> None:
    blank = {"ascii.txt": " \t\n\n", "nbsp.txt": "\u00a0\u2003\n", "zero-width.txt": "\ufeff\u200b\u3000\n"}
    for name, text in blank.items():
        (seeds_copy / name).write_text(text, encoding="utf-8")
    config = write_config(tmp_path, sources=str(seeds_copy))
    build = cli("index", "build", "--config", str(config), cwd=tmp_path)
    err = build.stderr.decode()
    assert build.returncode == 0 and "Indexed 3 article(s)" in err, err
    for name in blank:
        assert f"skipped sources/{name}: is empty" in err
    status = json.loads(cli("index", "status", "--json", "--config", str(config)).stdout)
    assert status["articles"] == 3 and status["up_to_date"]
    assert sorted(s["path"] for s in status["skipped"]) == sorted(blank)


# -- a file name that is not UTF-8 -------------------------------------------------------------------------------

def test_a_file_name_that_is_not_utf8_is_skipped_and_named_safely(tmp_path: Path, seeds_copy: Path) -> None:
    """Skipped, not indexed under an escaped name: `caf\\xe9.txt` could be another file's real name, and a citation
    must open the file it names."""
    article = b"Cafe headline\n\nThe cafe on the corner opened again this week after the floods.\n"
    folder = os.fsencode(seeds_copy)
    (Path(os.fsdecode(folder + b"/d\xe9j\xe0"))).mkdir()
    for name in (b"caf\xe9.txt", b"d\xe9j\xe0/inside.txt"):
        with open(folder + b"/" + name, "wb") as handle:
            handle.write(article)
    config = write_config(tmp_path, sources=str(seeds_copy))
    build = cli("index", "build", "--config", str(config), cwd=tmp_path)
    err = build.stderr.decode("utf-8")  # strict: every name printed is text
    assert build.returncode == 0 and "Traceback" not in err and "Indexed 3 article(s)" in err, err
    assert "skipped sources/caf\\xe9.txt: its name is not valid UTF-8 (rename the file to index it)" in err
    assert "skipped sources/d\\xe9j\\xe0/inside.txt: its name is not valid UTF-8" in err
    status = cli("index", "status", "--json", "--config", str(config))
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout.decode("utf-8"))
    assert sorted(s["path"] for s in report["skipped"]) == ["caf\\xe9.txt", "d\\xe9j\\xe0/inside.txt"]
    assert report["up_to_date"] and report["articles"] == 3
    text = cli("index", "status", "--config", str(config))
    assert text.returncode == 0 and "skipped    caf\\xe9.txt: its name is not valid UTF-8" in text.stdout.decode()


# -- a count of 0 that leaves nothing to do is refused --------------------------------------------------------

def test_zero_candidates_is_refused_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, candidates=0)
    ask = cli("ask", "What did Theresa May say?", "--config", str(config))
    assert ask.returncode == 1 and one_line_error(ask.stderr), ask.stderr
    assert b"config [retrieval] candidates must be at least 1" in ask.stderr and ask.stdout == b""


@pytest.mark.parametrize(("section", "key"), [(s, k) for s, keys in AT_LEAST_ONE.items() for k in keys])
def test_every_count_that_cannot_be_zero_is_checked(tmp_path: Path, section: str, key: str) -> None:
    config = tmp_path / "zero.toml"
    config.write_text(f"[{section}]\n{key} = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^config \[{section}\] {key} must be at least 1$"):
        load_settings(config)
