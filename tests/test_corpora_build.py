"""benchmarks/corpora: the folders of our own corpora are rebuilt from a git snapshot with the files chosen, the
news export reduced to English rows in the columns citebot reads, and a missing snapshot named with the command
that gets it; the checker finds off-corpus words as whole words only."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import pytest

from benchmarks.corpora.build import Kind, Source, english_news_rows, homebrew_doc, write_kind
from benchmarks.corpora.check import term_hits


def export(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["outlet", "date", "headline", "url", "article_text"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_the_news_export_keeps_english_articles_as_title_and_text() -> None:
    english = "Police detained three further suspects in the plot. " * 20
    hindi = "पंजाब में एक शख्स को पीएचडी और चार मास्टर डिग्रियों के बावजूद " * 20
    data = export([
        {"outlet": "NDTV", "date": "01/01/24", "headline": "पंजाब की खबर", "url": "u1", "article_text": hindi},
        {"outlet": "NDTV", "date": "01/01/24", "headline": "Three More Arrested", "url": "u2", "article_text": english},
        {"outlet": "NDTV", "date": "01/01/24", "headline": "Short", "url": "u3", "article_text": "Too short."},
    ])
    rows = list(csv.DictReader(io.StringIO(english_news_rows(data).decode("utf-8"))))
    assert rows == [{"title": "Three More Arrested", "text": english, "date": "2024-01-01", "url": "u2"}]


def test_homebrew_docs_leave_out_agent_instructions_and_flatten_folders() -> None:
    assert homebrew_doc("docs/FAQ.md") == "docs/FAQ.md"
    assert homebrew_doc("docs/governance/2021-agm-minutes.md") == "docs/governance-2021-agm-minutes.md"
    assert homebrew_doc("docs/AGENTS.md") is None
    assert homebrew_doc("Library/Homebrew/README.md") is None


@pytest.fixture()
def snapshot(tmp_path: Path) -> tuple[Path, str]:
    """A bare repository under MIRRORS/owner+name/repo with one commit of three files; (mirrors, commit)."""
    work = tmp_path / "work"
    (work / "docs").mkdir(parents=True)
    (work / "docs" / "FAQ.md").write_text("# FAQ\n\nHow do I update?\n")
    (work / "docs" / "AGENTS.md").write_text("instructions\n")
    (work / "README.md").write_text("readme\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(work)]
    subprocess.run([*git[:5], "init", "-q", str(work)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "docs"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    mirrors = tmp_path / "mirrors"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(mirrors / "Home+brew" / "repo")], check=True)
    return mirrors, commit


def test_a_kind_is_written_from_the_pinned_commit(snapshot: tuple[Path, str], tmp_path: Path) -> None:
    mirrors, commit = snapshot
    folder = tmp_path / "out" / "docs"
    folder.mkdir(parents=True)
    (folder / "stale.md").write_text("from an earlier build\n")
    counts = write_kind(Kind("test", (Source("Home/brew", commit, homebrew_doc),)), folder, mirrors)
    assert counts == {"Home/brew": 1}
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == ["docs/FAQ.md"]
    assert (folder / "docs" / "FAQ.md").read_text() == "# FAQ\n\nHow do I update?\n"


def test_a_missing_snapshot_says_how_to_get_it_and_keeps_the_folder(tmp_path: Path) -> None:
    kind = Kind("test", (Source("Home/brew", "0" * 40, homebrew_doc),))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "kept.md").write_text("an earlier build\n")
    with pytest.raises(SystemExit) as exit_:
        write_kind(kind, tmp_path / "docs", tmp_path / "mirrors")
    assert (tmp_path / "docs" / "kept.md").exists()
    message = str(exit_.value)
    assert "no snapshot of Home/brew" in message
    assert f"git clone --bare https://github.com/Home/brew {tmp_path / 'mirrors' / 'Home+brew' / 'repo'}" in message


def test_absent_words_are_matched_whole_and_in_any_case() -> None:
    texts = {"a.md": "The oven was proven hot. OVEN again.", "b.md": "Nothing here but provenance."}
    hits = term_hits("oven", texts, context=5)
    assert len(hits) == 2 and all(hit.startswith("a.md: ") for hit in hits)
