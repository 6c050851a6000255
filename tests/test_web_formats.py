"""Web pages, Markdown and collections as they come from outside (issues 26 and 28): hostile front matter, control
character references, deep lists, redirect stubs, saved pages, short pages with a byline, link lists, collections
with their own column names. Real files in tmp_path; the alias bomb in a subprocess with memory and time limits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.config.errors import ConfigError
from citebot.config.settings import load_settings
from citebot.index.ingest.formats import Extracted, Extraction, read_document

CLI = [sys.executable, "-m", "citebot.bot.cli"]
STORY = ("The British Library will charge visitors for wireless internet access in its reading rooms from next "
         "month, it said on Tuesday. A day pass will cost five pounds.")


def read(path: Path, settings=None) -> Extraction | str:
    raw = path.read_bytes()
    return read_document(path, raw) if settings is None else read_document(path, raw, settings)


def only(path: Path) -> Extracted:
    found = read(path)
    assert isinstance(found, Extraction), found
    assert len(found.articles) == 1
    return found.articles[0]


def lines(article: Extracted) -> list[str]:
    return [line for line in article.text.split("\n") if line]


# -- Markdown front matter ------------------------------------------------------------------------------------

BOMB = """---
title: Alias bomb
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
author: [*g,*g,*g,*g,*g,*g,*g,*g,*g]
---
# Library wireless prices set

The body of the post survives the bomb in its front matter.
"""

_READ_IN_LIMITS = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))
from citebot.index.ingest.formats import read_document
path = Path(sys.argv[1])
found = read_document(path, path.read_bytes())
print(found if isinstance(found, str) else found.articles[0].text, end="")
"""


def test_a_yaml_alias_bomb_in_front_matter_is_not_expanded(tmp_path: Path) -> None:
    path = tmp_path / "bomb.md"
    path.write_text(BOMB, encoding="utf-8")
    assert len(path.read_bytes()) < 600
    run = subprocess.run([sys.executable, "-c", _READ_IN_LIMITS, str(path)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr[-500:]
    assert run.stdout == ("Library wireless prices set\n\n"
                          "The body of the post survives the bomb in its front matter.\n")


@pytest.mark.parametrize("front, author, title", [
    ("title: T\nauthor: [Ann, Bob]\n", "Ann, Bob", "T"),
    ("title: T\nauthor: {name: Ann}\n", None, "T"),  # not a string: left out
    ("title: T\nauthor: [" + ", ".join(["x"] * 50) + "]\n", None, "T"),  # too many authors
    ("title: " + "long " * 100 + "\n", None, "Heading"),  # a title too long to be one: the heading is
])
def test_front_matter_fields_that_are_not_short_strings_are_left_out(tmp_path: Path, front: str,
                                                                      author: str | None, title: str) -> None:
    path = tmp_path / "post.md"
    path.write_text(f"---\n{front}---\n# Heading\n\nA paragraph of the post.\n", encoding="utf-8")
    article = only(path)
    assert (article.author, article.title) == (author, title)


def test_front_matter_over_its_limit_is_not_read(tmp_path: Path) -> None:
    settings = load_settings()
    path = tmp_path / "big.md"
    padding = "x" * (settings.ingest.front_matter_max_bytes + 10)
    path.write_text(f"---\ntitle: Front\nnote: {padding}\n---\n# Heading\n\nText.\n", encoding="utf-8")
    found = read(path, settings.ingest)
    assert isinstance(found, Extraction) and found.articles[0].title == "Heading"


# -- Markdown structure ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("deep", [
    "".join("  " * i + f"- item {i}\n" for i in range(1500)),
    "- " * 1500 + "deep\n",
])
def test_a_paragraph_after_a_deeply_nested_list_is_kept(tmp_path: Path, deep: str) -> None:
    path = tmp_path / "deep.md"
    path.write_text(f"# Deep\n\nFirst paragraph.\n\n{deep}\nThe paragraph after the list.\n", encoding="utf-8")
    text = lines(only(path))
    assert text[-1] == "The paragraph after the list." and "First paragraph." in text


def test_a_nested_list_of_ten_levels_reads_as_usual(tmp_path: Path) -> None:
    path = tmp_path / "nested.md"
    path.write_text("# Nested\n\n" + "".join("  " * i + f"- level {i}\n" for i in range(10)) + "\nAfter.\n",
                    encoding="utf-8")
    assert lines(only(path))[1:] == [f"level {i}" for i in range(10)] + ["After."]


def test_markdown_link_lists_are_not_passages(tmp_path: Path) -> None:
    path = tmp_path / "post.md"
    path.write_text("# Ferry fares frozen\n\nFares on the [chain ferry](https://x.example) stay the same.\n\n"
                    "Stabilised APIs:\n\n- [`Vec::pop_if`](https://doc.example/a)\n- [`Box::new`](https://doc.example/b)\n\n"
                    "## Related stories\n\n- [Bridge closed for repairs](https://x.example/1)\n"
                    "- [Gig rowing regatta](https://x.example/2)\n\n[Read more](https://x.example/3)\n\n"
                    "Last words of the post.\n", encoding="utf-8")
    assert lines(only(path)) == ["Ferry fares frozen", "Fares on the chain ferry stay the same.",
                                 "Stabilised APIs:", "Vec::pop_if", "Box::new", "Last words of the post."]


def test_markdown_headings_stay_their_own_line(tmp_path: Path) -> None:
    path = tmp_path / "post.md"
    path.write_text(f"---\ntitle: Library wireless prices set\n---\n## By a staff reporter\n\n{STORY}\n",
                    encoding="utf-8")
    assert lines(only(path)) == ["Library wireless prices set", "By a staff reporter", STORY]


# -- HTML -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reference", ["&#x1b;", "&#7;", "&#27;", "&#x0;", "\x1b", "&#xD800;"])
def test_a_control_character_does_not_drop_the_page(tmp_path: Path, reference: str) -> None:
    path = tmp_path / "page.html"
    path.write_text(f"<html><head><title>Wireless prices</title></head><body><article><h1>Wireless prices</h1>"
                    f"<p>{STORY}</p><p>A second{reference} paragraph of the article.</p></article></body></html>",
                    encoding="utf-8")
    assert lines(only(path)) == ["Wireless prices", STORY, "A second paragraph of the article."]


@pytest.mark.parametrize("page", [
    # jekyll-redirect-from's stub, as it writes it
    """<!DOCTYPE html>\n<html lang="en-US">\n  <meta charset="utf-8">\n  <title>Redirecting&hellip;</title>
  <link rel="canonical" href="https://example.org/new/">\n  <script>location="https://example.org/new/"</script>
  <meta http-equiv="refresh" content="0; url=https://example.org/new/">\n  <meta name="robots" content="noindex">
  <h1>Redirecting&hellip;</h1>\n  <a href="https://example.org/new/">Click here if you are not redirected.</a>
</html>""",
    """<html><head><meta http-equiv="refresh" content="3;URL='https://example.org/new/'"><title>Moved</title></head>
<body><p>This page has moved to a new address, please update your bookmarks now.</p></body></html>""",
])
def test_a_redirect_stub_is_skipped_with_where_it_points(tmp_path: Path, page: str) -> None:
    path = tmp_path / "old.html"
    path.write_text(page, encoding="utf-8")
    assert read(path) == "is a redirect to https://example.org/new/, not an article (index the page it points to)"


@pytest.mark.parametrize("comment", [
    "<!-- saved from url=(0042)https://news.example.org/2024/wireless -->",
    "<!--\n Page saved with SingleFile \n url: https://news.example.org/2024/wireless \n saved date: Mon -->",
    "<!-- Saved from https://news.example.org/2024/wireless at 2024-05-01T10:00:00Z using monolith v2.8.0 -->",
])
def test_a_saved_page_keeps_the_address_it_was_saved_from(tmp_path: Path, comment: str) -> None:
    path = tmp_path / "saved.html"
    path.write_text(f"<!DOCTYPE html>{comment}<html><head><title>Wireless prices</title></head><body><article>"
                    f"<h1>Wireless prices</h1><p>{STORY}</p></article></body></html>", encoding="utf-8")
    assert only(path).url == "https://news.example.org/2024/wireless"


@pytest.mark.parametrize("body", [
    f"<div><b>Library wireless prices set</b><br>By a staff reporter<br><br>{STORY}<br><br>Readers said the prices "
    "were high but fair.</div>",
    f"<div><p><b>Library wireless prices set</b><br>By a staff reporter<br><br>{STORY}<br><br>Readers said the "
    "prices were high but fair.</p></div>",
    f"<h2>Library wireless prices set</h2><p><i>By a staff reporter</i></p><p>{STORY}</p><p>Readers said the prices "
    "were high but fair.</p>",
])
def test_a_short_pages_heading_and_byline_stay_their_own_lines(tmp_path: Path, body: str) -> None:
    path = tmp_path / "short.html"
    path.write_text(f"<html><head><title>Library wireless prices set</title></head><body>{body}</body></html>",
                    encoding="utf-8")
    assert lines(only(path)) == ["Library wireless prices set", "By a staff reporter", STORY,
                                 "Readers said the prices were high but fair."]


def test_a_paragraph_wrapped_in_the_source_stays_one_line(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.html"
    path.write_text("<html><body><article><h1>Compilers</h1><p>Our compiler is much like our interpreter.\n"
                    "Moreover, it keeps\nThe Same conventions of register usage as the interpreter.</p>"
                    "</article></body></html>", encoding="utf-8")
    assert lines(only(path))[1:] == ["Our compiler is much like our interpreter. Moreover, it keeps The Same "
                                     "conventions of register usage as the interpreter."]


def test_html_link_lists_are_not_passages(tmp_path: Path) -> None:
    path = tmp_path / "news.html"
    path.write_text(f"<html><body><article><h1>Wireless prices</h1><p>{STORY}</p><ul>"
                    "<li><a href='#a'>Prices for readers</a></li><li><a href='#b'>What the library said</a></li>"
                    "</ul><p>The library will review the prices in a year, it <a href='/x'>said</a>.</p>"
                    "<p><a href='/more'>Read more</a></p></article></body></html>", encoding="utf-8")
    assert lines(only(path)) == ["Wireless prices", STORY,
                                 "The library will review the prices in a year, it said."]


def test_a_nested_table_of_contents_and_a_heading_left_over_nothing_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "guide.html"
    path.write_text(f"<html><body><article><h1>Wireless prices</h1><ul><li><a href='#a'>Prices</a><ul>"
                    "<li><a href='#b'>For readers</a></li></ul></li><li><a href='#c'>What the library said</a></li>"
                    f"</ul><h2 id='a'>Prices</h2><p>{STORY}</p><h2>Related stories</h2></article></body></html>",
                    encoding="utf-8")
    assert lines(only(path)) == ["Wireless prices", "Prices", STORY]


def test_a_control_reference_in_a_legacy_charset_page(tmp_path: Path) -> None:
    path = tmp_path / "cafe.html"
    path.write_bytes(f"<html><head><meta charset='iso-8859-1'><title>Caf\u00e9</title></head><body><article>"
                     f"<h1>Caf\u00e9 prices</h1><p>{STORY}&#x1b;</p></article></body></html>".encode("latin-1"))
    assert lines(only(path)) == ["Caf\u00e9 prices", STORY]


def test_html_reading_writes_no_third_party_log_lines(tmp_path: Path) -> None:
    """A page that is not HTML: trafilatura logs "parsed tree length: 0, ..." naming no file; a build shows only
    its own skip line, naming the file."""
    sources = tmp_path / "articles"
    sources.mkdir()
    (sources / "notes.html").write_bytes(b"plain text, no tags at all")
    (sources / "page.html").write_text(f"<html><body><article><h1>Wireless</h1><p>{STORY}</p></article></body>"
                                       "</html>", encoding="utf-8")
    (tmp_path / "hash.toml").write_text('[embedding]\nmodel = "hash"\n', encoding="utf-8")
    build = subprocess.run([*CLI, "index", "build", "--sources", "articles", "--index", "idx", "--config",
                            "hash.toml"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    said = [line for line in build.stderr.splitlines() if "tree length" in line or "discarding" in line]
    assert said and all("notes.html: no article text found in the page" in line for line in said), build.stderr


# -- Collections ----------------------------------------------------------------------------------------------

def test_a_news_export_with_its_own_column_names_is_read(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("id,Headline,raw_text,published_date_gmt,byline,link\n"
                    f'7,Wireless prices set,"{STORY}",2024-05-01T10:00:00Z,A staff reporter,https://x.example/7\n',
                    encoding="utf-8")
    article = only(path)
    assert (article.title, article.date, article.author, article.url, article.key) == (
        "Wireless prices set", "2024-05-01", "A staff reporter", "https://x.example/7", "row 2")
    assert lines(article) == ["Wireless prices set", STORY]


def test_json_lines_with_body_pubdate_and_authors(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps({"title": "Wireless", "body": STORY, "pubdate": "3 May 2024", "authors": ["A", "B"],
                                "link": "https://x.example/1"}) + "\n", encoding="utf-8")
    article = only(path)
    assert (article.date, article.author, article.url) == ("2024-05-03", "A, B", "https://x.example/1")


def test_a_collection_without_titles_is_read(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text(json.dumps({"content": STORY}) + "\n", encoding="utf-8")
    article = only(path)
    assert article.title is None and lines(article) == [STORY]


def test_columns_no_default_names_say_what_was_looked_for_and_found(tmp_path: Path) -> None:
    path = tmp_path / "stories.csv"
    path.write_text(f'story_id,title,story_body\n1,Wireless,"{STORY}"\n', encoding="utf-8")
    assert read(path) == ("has no text column (looked for text: text, body, content, raw_text, article; "
                          "found story_id, title, story_body; name yours in [ingest] columns)")


def test_ingest_columns_maps_other_names_and_keeps_the_other_defaults(tmp_path: Path) -> None:
    config = tmp_path / "mine.toml"
    config.write_text('[ingest.columns]\ntext = ["story_body"]\n', encoding="utf-8")
    settings = load_settings(config)
    assert settings.ingest.columns["title"] == ["title", "headline"]
    path = tmp_path / "stories.csv"
    path.write_text(f'story_id,headline,story_body\n1,Wireless,"{STORY}"\n', encoding="utf-8")
    found = read(path, settings.ingest)
    assert isinstance(found, Extraction) and lines(found.articles[0]) == ["Wireless", STORY]
    shown = subprocess.run([*CLI, "config", "show", "--config", str(config)], capture_output=True, text=True,
                           timeout=60)
    assert 'text = ["story_body"]' in shown.stdout and str(config) in shown.stdout.split("columns =")[1].split("\n")[0]


@pytest.mark.parametrize("toml, message", [
    ('[ingest.columns]\nbody = ["x"]\n', "unknown field(s) body"),
    ('[ingest.columns]\ntext = []\n', "text must be a list of column names"),
    ('[ingest.columns]\ntext = 3\n', "text must be a list of column names"),
])
def test_bad_ingest_columns_are_refused(tmp_path: Path, toml: str, message: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(config)


def test_a_folder_whose_only_collection_cannot_be_read_says_so_plainly(tmp_path: Path) -> None:
    sources = tmp_path / "articles"
    sources.mkdir()
    (sources / "stories.csv").write_text("story_id,story_title\n1,A\n", encoding="utf-8")
    build = subprocess.run([*CLI, "index", "build", "--sources", str(sources), "--index", str(tmp_path / "idx")],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode != 0
    assert "none could be read" not in build.stderr and "readable file(s)" not in build.stderr
    assert "stories.csv: has no text column" in build.stderr, build.stderr


def test_a_utf16_page_is_read(tmp_path: Path) -> None:
    """Control characters are blanked before parsing; a UTF-16 page's NUL bytes are not theirs to blank."""
    path = tmp_path / "unicode.html"
    path.write_bytes(f"<html><body><article><h1>Wireless prices</h1><p>{STORY}</p></article></body></html>"
                     .encode("utf-16"))
    assert lines(only(path)) == ["Wireless prices", STORY]
