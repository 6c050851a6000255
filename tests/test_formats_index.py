"""A folder of mixed formats, indexed and cited: every quote a slice of the text file its citation names."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from tests.format_samples import FERRY, heavy_page

CLI = [sys.executable, "-m", "citebot.bot.cli"]
QUESTIONS = ("How long does the tidal ferry take to cross the channel?", "Which footbridge closed for repairs?",
             "How many gigs raced in the bay?", "When did the granite quarry reopen?",
             "What did the lighthouse keeper write about the fog horn?")


def _write_folder(folder: Path) -> None:
    from fpdf import FPDF

    folder.mkdir()
    (folder / "ferry.html").write_text(heavy_page(FERRY), encoding="utf-8")
    (folder / "quarry.md").write_text("# Quarry reopens at Carn Du\n\nThe **old granite quarry** at Carn Du reopened "
                                      "on Monday after [seven years](https://x.example) closed.\n\n- Forty jobs are "
                                      "expected.\n- Blasting will happen only on weekdays.\n", encoding="utf-8")
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in ("The lighthouse keeper wrote that the fog horn failed twice during the night of the storm.",
                 "On the second page, the keeper listed the ships that anchored in the lee of the reef."):
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(folder / "log.pdf"))
    rows = [{"title": "Bridge closed for repairs", "text": "The Tamar footbridge closed on Friday for repairs to its "
             "deck, the council said.", "url": "https://news.example.org/bridge?id=1&x=2", "date": "2024-02-01"},
            {"title": "Ferry fares frozen", "text": "Fares on the chain ferry will stay the same this year."}]
    (folder / "archive.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n",
                                          encoding="utf-8")
    with (folder / "more.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "text", "url"])
        writer.writerow(["Gig rowing regatta", "Forty gigs raced in the bay on Saturday, the largest regatta in "
                         "years.", "https://news.example.org/gigs"])
    for seed in SEEDS.glob("*.txt"):
        shutil.copy(seed, folder / seed.name)


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args, "--config", "hash.toml"], cwd=folder, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    (tmp_path / "hash.toml").write_text('[embedding]\nmodel = "hash"\n', encoding="utf-8")
    _write_folder(tmp_path / "articles")
    build = _cli(tmp_path, "index", "build", "--sources", "articles", "--index", "idx")
    assert build.returncode == 0, build.stderr
    assert "skipped articles/archive.jsonl#row 3: is not JSON" in build.stderr
    return tmp_path


def _citations(folder: Path) -> list[dict]:
    found = []
    for question in QUESTIONS:
        result = json.loads(_cli(folder, "ask", question, "--index", "idx", "--json", "--top-k", "8").stdout)
        found += [p["citation"] | {"text": p["text"]} for p in result["passages"]]
        if result["answer"]:
            answer = result["answer"]
            assert (folder / answer["source"]).read_text(encoding="utf-8")[answer["start"]:answer["end"]] == \
                answer["text"]
    return found


def test_every_format_is_indexed_and_every_quote_is_a_slice_of_its_text_file(mixed: Path) -> None:
    citations = _citations(mixed)
    documents = {Path(c["document"]).name: c for c in citations if "document" in c}
    assert {"ferry.html", "quarry.md", "log.pdf", "archive.jsonl", "more.csv"} <= set(documents)
    for c in citations:
        with open(mixed / c["text_file"], encoding="utf-8") as handle:  # noqa: PTH123 - as a user checks it
            assert handle.read()[c["start"]:c["end"]] == c["text"]
        assert c["source"] == c["text_file"]
    ferry = documents["ferry.html"]
    assert ferry["url"] == FERRY.url and ferry["date"] == FERRY.date and ferry["title"] == FERRY.title
    assert ferry["link"].startswith(FERRY.url + "#:~:text=")
    assert not any("cookies" in c["text"] or "Related stories" in c["text"] for c in citations)
    pdf = [c for c in citations if c.get("document", "").endswith("log.pdf")]
    assert {c["page"] for c in pdf} <= {1, 2} and all("page" in c for c in pdf)
    bridge = next(c for c in citations if c.get("row") == 1 and c["document"].endswith("archive.jsonl"))
    gigs = next(c for c in citations if c.get("document", "").endswith("more.csv"))
    assert gigs["row"] == 1  # a number: the first data row, the header not counted
    assert all(isinstance(c.get("row", 0), int) and isinstance(c.get("page", 0), int) for c in citations)
    assert bridge["url"] == "https://news.example.org/bridge?id=1&x=2" and bridge["date"] == "2024-02-01"
    assert "%26" not in bridge["link"].split("#")[0]  # the page's own query string is left as it is


def test_a_rebuild_reads_every_format_again_and_embeds_nothing_new(mixed: Path) -> None:
    texts = sorted(p.name for p in (mixed / "idx" / "texts").iterdir())
    again = _cli(mixed, "index", "build", "--index", "idx")
    assert again.returncode == 0 and " 0 texts embedded" in again.stderr, again.stderr
    assert sorted(p.name for p in (mixed / "idx" / "texts").iterdir()) == texts
    status = _cli(mixed, "index", "status", "--index", "idx")
    assert "status     up to date" in status.stdout, status.stdout


def test_an_edited_page_is_stale_and_left_out_of_answers(mixed: Path) -> None:
    page = mixed / "articles" / "ferry.html"
    page.write_text(page.read_text(encoding="utf-8").replace("six minutes", "seven minutes"), encoding="utf-8")
    status = _cli(mixed, "index", "status", "--index", "idx")
    assert "changed: ferry.html" in status.stdout
    result = json.loads(_cli(mixed, "ask", QUESTIONS[0], "--index", "idx", "--json").stdout)
    assert not any(p["citation"].get("document", "").endswith("ferry.html") for p in result["passages"])
    assert any("changed since the index was built" in left["reason"] for left in result["left_out"])
