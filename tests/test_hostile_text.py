"""Articles that try to drive the terminal or forge a link: control sequences, C1 controls, bidi overrides and
hostile URLs in every format and in file names are shown escaped (or not at all), while stored texts and their
offsets stay verbatim. Real files, a real index (the hash embedder), the real CLI."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.bot.display import printable, shown_url

CLI = [sys.executable, "-m", "citebot.bot.cli"]
PHISH = "https://example.com/a>)[Official_statement](https://evil.example/phish"
ESCAPES = {
    "title": "\x1b]0;pwned\x07",
    "clipboard": "\x1b]52;c;ZXZpbA==\x07",
    "clear": "\x1b[2J",
    "hyperlink": "\x1b]8;;https://evil.example/\x1b\\here\x1b]8;;\x1b\\",
    "csi": "\u009b31m",
    "bidi": "\u202eevil\u202c",
}
HOSTILE = "".join(v for k, v in ESCAPES.items() if k != "hyperlink")
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _write_folder(folder: Path) -> None:
    folder.mkdir()
    (folder / "harbour.txt").write_text(f"Harbour {ESCAPES['title']}news {ESCAPES['hyperlink']}\n\n"
                                        f"The harbour ferry {HOSTILE} runs daily at noon from the granite quay.\n",
                                        encoding="utf-8")
    (folder / "esc\x1b[31mname.txt").write_text("Quay works\n\nThe granite quay ferry runs daily at noon again "
                                                "after the works.\n", encoding="utf-8")
    (folder / "new\nline.txt").write_text("Ferry times\n\nThe ferry runs daily at noon from the quay, the harbour "
                                          "master said.\n", encoding="utf-8")
    (folder / "post.md").write_text(f"---\ntitle: \"Ferry \\u202e notice\"\nurl: \"{PHISH}\"\n---\n\n"
                                    f"The harbour ferry runs daily at noon {ESCAPES['csi']} says the notice.\n",
                                    encoding="utf-8")
    rows = [{"title": "Ferry \u009b2J row", "text": f"The ferry runs daily at noon, {ESCAPES['bidi']} the row says.",
             "url": "javascript:alert(1)"},
            {"title": "Ferry row two", "text": "The noon ferry runs daily from the harbour quay, row two says.",
             "url": "https://news.example.org/ferry\x1b]0;x\x07"}]
    (folder / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with (folder / "rows.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "text", "url"])
        writer.writerow(["Ferry csv", f"The harbour ferry runs daily at noon {ESCAPES['clear']} the sheet says.",
                         "https://news.example.org/a b"])


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args, "--config", "hash.toml"], cwd=folder, capture_output=True, text=True,
                          timeout=300, encoding="utf-8", errors="surrogateescape")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "hash.toml").write_text('[embedding]\nmodel = "hash"\n', encoding="utf-8")
    _write_folder(folder / "articles")
    build = _cli(folder, "index", "build", "--sources", "articles", "--index", "idx")
    assert build.returncode == 0, build.stderr
    assert not UNSAFE.search(build.stderr), build.stderr
    return folder


def test_plain_ask_and_chat_show_every_control_character_escaped(hostile: Path) -> None:
    asked = _cli(hostile, "ask", "When does the harbour ferry run?", "--index", "idx", "--top-k", "10")
    chat = subprocess.run([*CLI, "chat", "--index", "idx", "--config", "hash.toml"], cwd=hostile, text=True,
                          input="When does the harbour ferry run?\n", capture_output=True, timeout=300)
    for run in (asked, chat):
        assert run.returncode == 0, run.stderr
        shown = run.stdout + run.stderr
        assert not UNSAFE.search(shown), [m[0] for m in UNSAFE.finditer(shown)]
        assert "\\x" in shown and "evil.example/phish" not in shown
    shown = asked.stdout  # ten passages: every article
    assert "\\x1b]52;c;ZXZpbA==\\x07" in shown and "\\x9b31m" in shown and "\\u202eevil" in shown
    assert "\\x1b]8;;https://evil.example/\\x1b\\here" in shown  # the title's hyperlink, inert
    assert "esc\\x1b[31mname.txt" in shown and "new\\x0aline.txt" in shown  # file names, one line each
    assert "evil.example/phish" not in shown and "javascript:" not in shown  # hostile URLs are not shown
    assert "news.example.org/a b" not in shown and "ferry\\x1b" not in shown


def test_json_keeps_the_texts_verbatim_as_json_escapes(hostile: Path) -> None:
    run = _cli(hostile, "ask", "When does the harbour ferry run?", "--index", "idx", "--top-k", "10", "--json")
    assert run.returncode == 0, run.stderr
    assert not UNSAFE.search(run.stdout)  # C1 and bidi characters as \u escapes too, not raw
    result = json.loads(run.stdout)
    texts = [p["text"] for p in result["passages"]]
    assert any(HOSTILE in text for text in texts)
    for passage in result["passages"]:  # offsets still count in the verbatim text
        c = passage["citation"]
        held = (hostile / c["text_file"]).read_text(encoding="utf-8")
        assert held[c["start"]:c["end"]] == passage["text"]


@pytest.mark.parametrize(("url", "shown"), [
    (PHISH, None),
    ("javascript:alert(1)", None),
    ("https://news.example.org/a b", None),
    ("https:///no-host", None),
    ("ftp://files.example.org/a", None),
    ("https://news.example.org/x\u202e", None),
    ("https://news.example.org/x\x1b]0;t\x07", None),
    ("https://en.wikipedia.org/wiki/Ferry_(boat)#:~:text=a(b)", "https://en.wikipedia.org/wiki/Ferry_%28boat%29#:~:text=a%28b%29"),
    ("http://[::1]:8080/p?q=[1]", "http://[::1]:8080/p?q=%5B1%5D"),
    ("https://news.example.org/ferry?id=7&x=2", "https://news.example.org/ferry?id=7&x=2"),
])
def test_a_url_is_shown_only_when_it_is_a_plain_web_address(url: str, shown: str | None) -> None:
    assert shown_url(url) == shown


def test_discord_does_not_turn_a_hostile_url_into_a_second_link() -> None:
    from citebot.bot.discord.render import passage_field
    from citebot.index.ingest.corpus import Document
    from citebot.retrieval.citations import Passage, cite

    text = "The harbour ferry runs daily at noon."
    document = Document("post.md", url=PHISH)
    citation = cite("idx/texts/post.md.0123.txt", "Ferry notice", 0, len(text), 1, document, text)
    _, value = passage_field(Passage(1, 1.0, text, citation, "c1", 0.5))
    assert "evil.example" not in value and "](" not in value
    assert value.startswith("post.md, paragraph 1, chars 0–37\n")


def test_printable_escapes_once_and_keeps_newlines_only_when_asked() -> None:
    assert printable("a\x1b[2Jb\u009b\u202ec\n") == "a\\x1b[2Jb\\x9b\\u202ec\\x0a"
    assert printable("a\x1b[2J\nb", newlines=True) == "a\\x1b[2J\nb"
    assert printable(printable(HOSTILE)) == printable(HOSTILE)
    assert printable("tab\tand café — “quotes” 👍") == "tab\tand café — “quotes” 👍"


@pytest.mark.parametrize("url", [None, "https://news.example.org/ferry"])
def test_discord_shows_a_file_name_that_looks_like_markup_as_text(url: str | None) -> None:
    """A file name (no "/" in it, but "]", "[", "(" and "*" are allowed) cannot end the masked link's text early,
    start a masked link of its own, or turn the line bold."""
    from citebot.bot.discord.render import passage_field
    from citebot.index.ingest.corpus import Document
    from citebot.retrieval.citations import Passage, cite

    text = "The harbour ferry runs daily at noon."
    document = Document("notes] [Official](evil.example) **now**.md", url=url)
    citation = cite("idx/texts/notes.md.0123.txt", "Ferry notice", 0, len(text), 1, document, text)
    _, value = passage_field(Passage(1, 1.0, text, citation, "c1", 0.5))
    header = value.split("\n", 1)[0]
    shown = "notes\\] \\[Official\\](evil.example) \\*\\*now\\*\\*.md, paragraph 1, chars 0–37"
    assert header == (f"[{shown}](<{citation.link}>)" if url else shown)
