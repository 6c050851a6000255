"""Issue 26 item 11: files of other formats that a build skipped (an empty page, a header-only CSV, an over-size
JSONL) are remembered, so `index status` is up to date after the build and the rebuild it suggests, and still sees
such a file change. Real files, the CLI in-process, the hash embedder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from citebot.bot.cli.main import main
from tests.conftest import SEEDS, write_config

LIMIT = 20_000


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    sources = tmp_path / "arts"
    shutil.copytree(SEEDS, sources)
    (sources / "empty.html").write_text("")
    (sources / "header.csv").write_text("title,text\n")
    row = {"title": "A long row", "text": "Words of a row that goes on. " * 40}
    (sources / "big.jsonl").write_text("\n".join(json.dumps(row) for _ in range(30)) + "\n")
    assert (sources / "big.jsonl").stat().st_size > LIMIT
    write_config(tmp_path, max_file_bytes=LIMIT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def citebot(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main([*args, "--config", "config/test.toml"])
    return code, capsys.readouterr().out


def status(capsys: pytest.CaptureFixture[str]) -> dict:
    code, out = citebot(capsys, "index", "status", "--json", "--index", "idx")
    assert code == 0
    return json.loads(out)


def test_skipped_files_leave_the_status_up_to_date(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert citebot(capsys, "index", "build", "--sources", "arts", "--index", "idx")[0] == 0
    first = status(capsys)
    assert sorted(s["path"] for s in first["skipped"]) == ["big.jsonl", "empty.html", "header.csv"]
    assert first["up_to_date"] and first["changes"] == [] and first["articles"] == 3
    code, text = citebot(capsys, "index", "status", "--index", "idx")
    assert code == 0 and "status     up to date" in text

    # A skipped file that changes is news: the status says so, and the rebuild it prints clears it.
    (project / "arts" / "header.csv").write_text('title,text\nOtters,"Otters returned to the river this spring."\n')
    stale = status(capsys)
    assert not stale["up_to_date"] and stale["changes"] == ["added: header.csv"]
    code, text = citebot(capsys, "index", "status", "--index", "idx")
    rebuild = text.split("STALE, run: ", 1)[1].splitlines()[0]
    assert rebuild.startswith("citebot index build")
    assert citebot(capsys, *rebuild.split()[1:])[0] == 0
    after = status(capsys)
    assert after["up_to_date"] and after["articles"] == 4
    assert sorted(s["path"] for s in after["skipped"]) == ["big.jsonl", "empty.html"]

    # A skipped file removed changes nothing the index holds.
    (project / "arts" / "empty.html").unlink()
    assert status(capsys)["up_to_date"]


def test_a_skipped_file_rewritten_with_the_same_size_is_seen(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    assert citebot(capsys, "index", "build", "--sources", "arts", "--index", "idx")[0] == 0
    page = project / "arts" / "empty.html"
    then = page.stat().st_mtime_ns
    page.write_text("")
    os.utime(page, ns=(then + 5_000_000_000, then + 5_000_000_000))
    assert status(capsys)["changes"] == ["added: empty.html"]
