"""What the reading libraries say reaches the user as at most one line per file, naming it, and one count at the
end of a build; a skipped file is reported once. Real files on disk, the CLI run as a user runs it."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.config.settings import load_settings
from citebot.index.ingest import reader_warnings
from citebot.index.ingest.formats import Extraction, read_document
from tests.conftest import SEEDS
from tests.pdf_samples import pdf_with_pages, text_stream

INGEST = load_settings().ingest
LINES = ("The lighthouse keeper wrote that the fog horn failed twice.", "The keeper listed the ships at anchor.")


def write_bad_xref(path: Path) -> None:
    """A readable PDF whose startxref points a few bytes off: pypdf recovers, logging two warnings."""
    raw = pdf_with_pages([text_stream(*LINES)])
    at = raw.rindex(b"startxref\n") + len(b"startxref\n")
    number = raw[at:].split()[0]
    path.write_bytes(raw[:at] + str(int(number) + 7).encode() + raw[at + len(number):])


def test_library_warnings_become_one_line_naming_the_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "keeper.pdf"
    write_bad_xref(path)
    caplog.set_level(logging.DEBUG)
    with reader_warnings.counting_files() as warned:
        found = read_document(path, path.read_bytes(), INGEST)
    assert isinstance(found, Extraction) and LINES[0] in found.articles[0].text
    assert not [r for r in caplog.records if r.name.startswith("pypdf")], "pypdf's own records reached the root"
    lines = [r for r in caplog.records if r.name == reader_warnings.__name__ and r.levelno == logging.INFO]
    assert len(lines) == 1 and lines[0].getMessage().startswith(f"{path}: 2 reader warning(s), the first: ")
    assert "startxref" in lines[0].getMessage()
    assert warned == {str(path)}
    # Outside a read, the libraries' loggers are as they were.
    assert logging.getLogger("pypdf").propagate and reader_warnings._FUNNEL not in logging.getLogger("pypdf").handlers


def test_a_clean_file_gives_no_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "clean.pdf"
    path.write_bytes(pdf_with_pages([text_stream(*LINES)]))
    caplog.set_level(logging.DEBUG)
    with reader_warnings.counting_files() as warned:
        assert isinstance(read_document(path, path.read_bytes(), INGEST), Extraction)
    assert warned == set() and not [r for r in caplog.records if r.name == reader_warnings.__name__]


def test_a_build_prints_a_count_not_the_warnings_and_each_skip_once(tmp_path: Path) -> None:
    sources = tmp_path / "articles"
    sources.mkdir()
    for seed in sorted(SEEDS.glob("*.txt"))[:2]:
        (sources / seed.name).write_bytes(seed.read_bytes())
    write_bad_xref(sources / "keeper.pdf")
    (sources / "scan.pdf").write_bytes(pdf_with_pages([b"x\x9c\x03\x00\x00\x00\x00\x01"]))  # one empty page
    (tmp_path / "hash.toml").write_text('[embedding]\nmodel = "hash"\n', encoding="utf-8")

    def build(*extra: str) -> str:
        done = subprocess.run([sys.executable, "-m", "citebot.bot.cli", "index", "build", "--sources", "articles",
                               "--index", "idx", "--config", "hash.toml", *extra], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stderr

    printed = build()
    assert "startxref" not in printed and "Object Streams" not in printed
    assert printed.count("1 file(s) gave reader warnings; see --verbose") == 1
    assert printed.count("scan.pdf") == 1, printed  # the skip, once
    verbose = build("--verbose", "--full")  # an unchanged file is not read again unless --full
    assert "articles/keeper.pdf: 2 reader warning(s), the first: incorrect startxref pointer" in verbose, verbose
