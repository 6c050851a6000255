"""Reading articles from web pages, Markdown, PDF, JSON Lines and CSV: real files written to tmp_path.

Every article's text must be laid out like a .txt article (title line, then one paragraph a line, a blank
line between), carry no page furniture, and name where it came from (row keys, PDF page spans).
"""

from __future__ import annotations

import datetime
import gzip
import json
import random
import re
from pathlib import Path

import pytest

from citebot.config.settings import load_settings
from citebot.index.ingest.formats import SUFFIXES, Extracted, Extraction, SkippedRow, read_document
from citebot.index.ingest.formats.extracted import iso_date
from tests.conftest import PROJECT_ROOT
from tests.format_samples import BOILERPLATE, FERRY, Story, div_page, heavy_page, semantic_page

BBC = PROJECT_ROOT.parent / "shared" / "data" / "bbc_news" / "articles.jsonl.gz"
INGEST = load_settings().ingest


def read(path: Path) -> Extraction | str:
    return read_document(path, path.read_bytes(), INGEST)


def only(path: Path) -> Extracted:
    """The one article of a single-article file, its layout checked."""
    found = read(path)
    assert isinstance(found, Extraction), found
    assert found.skipped == [] and len(found.articles) == 1
    article = found.articles[0]
    assert article.key == ""
    check_layout(article)
    return article


def check_layout(article: Extracted) -> None:
    """Title on the first line, then paragraphs one a line with a blank line before each; clean lines."""
    text = article.text
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert not re.search(r"[\r\t\x0b\x0c\u00ad\u200b\u2028]|  ", text), "stray whitespace or invisible characters"
    blocks = text[:-1].split("\n\n")
    assert all(block and "\n" not in block and block == block.strip() for block in blocks)
    if article.title is not None:
        assert blocks[0] == article.title
        assert len(blocks) > 1
    lines = blocks[1:] if article.title else blocks
    assert lines and all(lines)


def lines_of(article: Extracted) -> list[str]:
    return article.text[:-1].split("\n\n")


# --- Web pages ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", [semantic_page, div_page, heavy_page])
def test_html_keeps_the_article_and_drops_the_page_furniture(tmp_path: Path, page) -> None:
    path = tmp_path / "ferry.html"
    path.write_text(page(FERRY), encoding="utf-8")
    article = only(path)
    assert article.title == FERRY.title
    assert article.date == "2024-03-14"
    assert article.url == "https://news.example.org/coast/tidal-ferry-trial"
    assert article.author == "Morwenna Pascoe"
    lines = lines_of(article)
    for paragraph in FERRY.paragraphs:
        assert paragraph in lines, "each paragraph whole, on one line"
    lowered = article.text.casefold()
    for furniture in BOILERPLATE:
        assert furniture.casefold() not in lowered, furniture
    assert "window.datalayer" not in lowered and "margin:" not in lowered  # no script or style text
    assert lines.count(FERRY.title) == 1  # the h1 repeating the title is not a paragraph


def test_html_reading_is_deterministic(tmp_path: Path) -> None:
    path = tmp_path / "ferry.htm"
    path.write_text(heavy_page(FERRY), encoding="utf-8")
    assert read(path) == read(path)


def test_html_structures_become_lines(tmp_path: Path) -> None:
    """Line breaks inside a paragraph join it; list items and table rows are lines; code listings are dropped."""
    body = " ".join(["The coastal path is open again after the landslip was cleared by volunteers."] * 3)
    page = f"""<html><head><title>Walking the coast path</title>
    <meta property="og:url" content="/relative/only"></head><body><div class="content">
    <h1>Walking the coast path</h1>
    <p>{body}</p>
    <p>Walkers should carry water, because there is no cafe between the two villages,<br>and dogs must be kept
    on leads near the grazing ponies, who are easily startled by <code>loud</code> noises.</p>
    <ul><li>Distance from the cove to the chapel: six miles of rough going</li>
    <li>Time: about three hours at an easy pace, more in wet weather</li></ul>
    <table><tr><th>Stage</th><th>Miles</th></tr><tr><td>Cove to chapel</td><td>2</td></tr></table>
    <pre><code>for step in walk:
        rest()</code></pre>
    </div></body></html>"""
    path = tmp_path / "walk.html"
    path.write_text(page, encoding="utf-8")
    article = only(path)
    lines = lines_of(article)
    assert article.title == "Walking the coast path" and article.url is None  # a relative URL is no URL
    assert body in lines
    assert ("Walkers should carry water, because there is no cafe between the two villages, and dogs must be kept "
            "on leads near the grazing ponies, who are easily startled by loud noises.") in lines
    assert "Distance from the cove to the chapel: six miles of rough going" in lines
    assert "Stage; Miles" in lines and "Cove to chapel; 2" in lines
    assert "rest()" not in article.text


def test_html_in_a_legacy_charset(tmp_path: Path) -> None:
    page = semantic_page(Story("Caf\u00e9 reopens on the quay", FERRY.paragraphs))
    path = tmp_path / "cafe.html"
    path.write_bytes(page.replace('charset="utf-8"', 'charset="windows-1252"').encode("cp1252"))
    article = only(path)
    assert article.title == "Caf\u00e9 reopens on the quay"
    assert FERRY.paragraphs[3] in lines_of(article)  # the pound signs decoded


@pytest.mark.parametrize("raw, reason", [
    (b"", "is empty"),
    (b"   \n", "is empty"),
    (b"<html><head><title>Nothing</title></head><body></body></html>", "no article text"),
    (b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "no article text"),
])
def test_empty_html_is_skipped_with_a_reason(tmp_path: Path, raw: bytes, reason: str) -> None:
    path = tmp_path / "empty.html"
    path.write_bytes(raw)
    found = read(path)
    assert isinstance(found, str) and reason in found


def test_malformed_html_is_still_read(tmp_path: Path) -> None:
    paragraphs = "".join(f"<p class=text>{p}</span>" for p in FERRY.paragraphs)  # unclosed p, stray </span>
    path = tmp_path / "broken.html"
    path.write_text(f"<html><head><title>{FERRY.title}</title><body><div id=main><h1>{FERRY.title}</h2><div>"
                    f"{paragraphs}<div <<> </table>", encoding="utf-8")
    article = only(path)
    assert [p for p in FERRY.paragraphs if p not in lines_of(article)] == []


@pytest.mark.skipif(not BBC.is_file(), reason=f"the BBC articles are not on this machine ({BBC})")
@pytest.mark.parametrize("page", [semantic_page, div_page, heavy_page])
def test_real_articles_come_back_whole_from_their_pages(tmp_path: Path, page) -> None:
    """30 real articles (read here, never stored), each wrapped in the site furniture."""
    with gzip.open(BBC, "rt", encoding="utf-8") as rows:
        stories = [Story(row["title"], tuple(p.strip() for p in row["text"].split("\n\n") if p.strip()))
                   for row, _ in zip(map(json.loads, rows), range(30), strict=False)]
    for i, story in enumerate(stories):
        path = tmp_path / f"{i}.html"
        path.write_text(page(story), encoding="utf-8")
        article = only(path)
        assert article.title == story.title
        lines = lines_of(article)
        assert [p for p in story.paragraphs if " ".join(p.split()) not in lines] == []
        for furniture in BOILERPLATE:
            assert furniture.casefold() not in article.text.casefold() or furniture.casefold() in " ".join(
                story.paragraphs).casefold()


# --- Markdown ----------------------------------------------------------------------------------------------

MARKDOWN = """---
title: "Harbour notes: spring"
date: 2024-04-02
url: https://notes.example.org/harbour/spring
author: [Jory Trelawny, Morwenna Pascoe]
---

# Harbour notes: spring

The *harbour board* met on **Tuesday** and agreed to [dredge the inner basin](https://example.org/dredge)
before the summer, at a cost of `\u00a340,000`.

## What changes

- Moorings on the east wall move to the west wall.
- The slipway closes for two weeks in May.
  1. Boats may launch from the beach instead.

> Nobody likes the mud, said the chair, but everybody likes the boats.

| Month | Work |
|-------|------|
| May   | Dredging |

```python
print("not prose")
```

<div class="note">raw html block</div>

Final words, with an image ![a gull](gull.png) left out,
and a line break kept as a space.
"""


def test_markdown_markup_removed_and_front_matter_read(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    article = only(path)
    assert article.title == "Harbour notes: spring"
    assert (article.date, article.url) == ("2024-04-02", "https://notes.example.org/harbour/spring")
    assert article.author == "Jory Trelawny, Morwenna Pascoe"
    assert lines_of(article) == [
        "Harbour notes: spring",
        "The harbour board met on Tuesday and agreed to dredge the inner basin before the summer, at a cost of "
        "\u00a340,000.",
        "What changes",
        "Moorings on the east wall move to the west wall.",
        "The slipway closes for two weeks in May.",
        "Boats may launch from the beach instead.",
        "Nobody likes the mud, said the chair, but everybody likes the boats.",
        "Month; Work",
        "May; Dredging",
        "Final words, with an image left out, and a line break kept as a space.",
    ]


def test_markdown_title_from_its_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "plain.markdown"
    path.write_text("Spring tides\n============\n\nThe highest tides of the year are due on Friday.\n",
                    encoding="utf-8")
    article = only(path)
    assert (article.title, article.date, article.url) == ("Spring tides", None, None)
    assert lines_of(article) == ["Spring tides", "The highest tides of the year are due on Friday."]
    path.write_text("An opening paragraph comes first.\n\n## Later heading\n\nMore text.\n", encoding="utf-8")
    article = only(path)
    assert article.title is None  # a heading after the text is not the title
    assert lines_of(article) == ["An opening paragraph comes first.", "Later heading", "More text."]


def test_markdown_toml_front_matter_and_a_bad_yaml_one(tmp_path: Path) -> None:
    path = tmp_path / "toml.md"
    path.write_text('+++\ntitle = "Gig racing results"\ndate = 2023-07-01T10:00:00Z\n+++\nPorthmellin won.\n',
                    encoding="utf-8")
    article = only(path)
    assert (article.title, article.date) == ("Gig racing results", "2023-07-01")
    assert lines_of(article) == ["Gig racing results", "Porthmellin won."]
    path.write_text("---\ntitle: [unclosed\n---\nText survives a broken header.\n", encoding="utf-8")
    article = only(path)
    assert article.title is None and lines_of(article) == ["Text survives a broken header."]


def test_markdown_not_utf8_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "latin.md"
    path.write_bytes("# Caf\u00e9\n\nCaf\u00e9 au lait.\n".encode("latin-1"))
    found = read(path)
    assert isinstance(found, str) and "not UTF-8" in found


# --- PDF ---------------------------------------------------------------------------------------------------

SENTENCE = ("The harbour board met eleven times during the year and approved a budget for dredging the inner "
            "basin, which has silted up since the storms of the previous winter.")


def _pdf(path: Path, *, title: str | None = "Harbour report 2023", furniture: bool = True) -> dict[str, str]:
    """A three-page report; returns the paragraphs it holds, by name."""
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 (the test extra) writes the test PDFs")

    class Report(fpdf.FPDF):
        def header(self) -> None:
            if furniture:
                self.set_font("Helvetica", size=8)
                self.cell(0, 8, "Porthmellin Harbour Board - annual report", align="R")
                self.ln(10)

        def footer(self) -> None:
            if furniture:
                self.set_y(-15)
                self.set_font("Helvetica", size=8)
                self.cell(0, 10, f"Page {self.page_no()} of {{nb}}", align="C")

    doc = Report()
    if title:
        doc.set_title(title)
    doc.set_author("Jory Trelawny")
    doc.set_creation_date(datetime.datetime(2024, 2, 1, 9, 30, tzinfo=datetime.UTC))
    doc.add_page()
    doc.set_font("Helvetica", "B", 18)
    doc.multi_cell(0, 10, "Harbour report 2023")
    doc.ln(4)
    paragraphs = {
        "first": "Page one marker: the year began with a storm that closed the quay for a week. " + SENTENCE * 2,
        "second": "Fees for visiting yachts rose to \u00a318 a night, the first rise since 2019. " + SENTENCE,
    }
    for name in ("first", "second"):
        doc.set_font("Helvetica", size=11)
        doc.multi_cell(0, 6, paragraphs[name])
        doc.ln(5)
    # A paragraph long enough to run mid-sentence from page one onto page two.
    long = " ".join(f"Clause {i} of the long paragraph records the work of the dredger on the {i}th day of "
                    f"the season and" for i in range(1, 50)) + " the work ended on time."
    paragraphs["across"] = long
    doc.multi_cell(0, 6, long)
    doc.ln(5)
    doc.set_font("Helvetica", "B", 14)
    doc.multi_cell(0, 8, "Winter service")
    doc.ln(2)
    doc.set_font("Helvetica", size=11)
    # Lines broken by hand: a word hyphenated at a line end, and a compound the text spells with a hyphen.
    for line in ("Page two marker: the well-known engineer said the trial would con-",
                 "tinue until the autumn, and that the well-",
                 "known diesel launch stays in reserve for winter."):
        doc.cell(0, 6, line)
        doc.ln(6)
    paragraphs["hyphens"] = ("Page two marker: the well-known engineer said the trial would continue until the "
                             "autumn, and that the well-known diesel launch stays in reserve for winter.")
    doc.add_page()
    doc.multi_cell(0, 6, "Page three marker: the accounts were signed by the auditor in March. " + SENTENCE)
    paragraphs["third"] = "Page three marker: the accounts were signed by the auditor in March. " + SENTENCE
    doc.output(str(path))
    return paragraphs


def test_pdf_paragraphs_titles_and_page_spans(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    paragraphs = _pdf(path)
    article = only(path)
    assert (article.title, article.date, article.author, article.url) == (
        "Harbour report 2023", "2024-02-01", "Jory Trelawny", None)
    lines = lines_of(article)
    assert lines[0] == "Harbour report 2023" and lines.count("Harbour report 2023") == 1
    for name, paragraph in paragraphs.items():
        assert paragraph in lines, name
    assert "Winter service" in lines
    assert "annual report" not in article.text and not re.search(r"Page \d", article.text)  # running head, foot
    spans = article.pages
    assert [page for page, _, _ in spans] == [1, 2, 3]
    assert spans[0][1] == 0  # the title is read from page one
    assert all(start < end <= nxt for (_, start, end), (_, nxt, _) in zip(spans, spans[1:], strict=False))
    one, two, three = (article.text[start:end] for _, start, end in spans)
    assert "Page one marker" in one and "Page one marker" not in two + three
    assert "Page two marker" in two and "Page two marker" not in one + three
    assert "Page three marker" in three and "Page three marker" not in one + two
    # The paragraph that runs over the page break is one line, split between the two pages' spans.
    start = article.text.index(paragraphs["across"])
    end = start + len(paragraphs["across"])
    assert spans[0][1] < start < spans[0][2] < spans[1][1] < end <= spans[1][2]
    assert article.text[spans[0][2]:spans[1][1]] == " "


def test_pdf_title_from_its_first_line_without_metadata(tmp_path: Path) -> None:
    path = tmp_path / "untitled.pdf"
    _pdf(path, title=None, furniture=False)
    article = only(path)
    assert article.title == "Harbour report 2023"
    assert article.text.startswith("Harbour report 2023\n\nPage one marker")


def test_pdf_without_text_encrypted_or_corrupt_is_skipped(tmp_path: Path) -> None:
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 (the test extra) writes the test PDFs")
    scan = fpdf.FPDF()
    scan.add_page()
    scan.rect(20, 20, 100, 100, style="F")
    (tmp_path / "scan.pdf").write_bytes(bytes(scan.output()))
    locked = fpdf.FPDF()
    locked.set_encryption(owner_password="owner", user_password="secret")
    locked.add_page()
    locked.set_font("Helvetica", size=11)
    locked.cell(0, 10, "A secret paragraph.")
    (tmp_path / "locked.pdf").write_bytes(bytes(locked.output()))
    (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nnot a pdf at all")
    (tmp_path / "text.pdf").write_bytes(b"this is plain text with a .pdf name")
    reasons = {name: read(tmp_path / name) for name in ("scan.pdf", "locked.pdf", "corrupt.pdf", "text.pdf")}
    assert all(isinstance(reason, str) and "\n" not in reason for reason in reasons.values()), reasons
    assert "no text layer" in reasons["scan.pdf"]
    assert "password" in reasons["locked.pdf"]


def test_truncated_pdf_never_raises(tmp_path: Path) -> None:
    good = tmp_path / "good.pdf"
    _pdf(good)
    raw = good.read_bytes()
    for cut in (len(raw) // 3, len(raw) // 2, len(raw) - 100):
        path = tmp_path / f"cut{cut}.pdf"
        path.write_bytes(raw[:cut])
        found = read(path)
        if isinstance(found, Extraction):
            check_layout(found.articles[0])


# --- Collections -------------------------------------------------------------------------------------------

def test_jsonl_rows_keyed_by_line_and_bad_rows_reported(tmp_path: Path) -> None:
    rows = [
        {"title": "Quay repairs", "text": "The quay wall is to be repaired.\n\nWork starts in June.",
         "url": "https://news.example.org/quay", "date": "2024-05-01T09:00:00+01:00", "author": "M. Pascoe"},
        {"title": "No body here", "text": "   "},
        ["not", "an", "object"],
        {"Title": "Wrapped lines", "TEXT": "A paragraph wrapped\nat forty columns.\n\nA second one.",
         "url": "not a url", "date": "3 May 2024"},
        {"title": "Lines as paragraphs", "text": "First line.\nSecond line.\u2028Same line."},
        {"title": "Numbers", "text": 42},
    ]
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    lines.insert(2, "")  # a blank line: not a row, but it counts for line numbers
    lines.insert(4, '{"title": "broken", ')
    path = tmp_path / "news.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = read(path)
    assert isinstance(found, Extraction)
    keys = [a.key for a in found.articles]
    assert keys == ["row 1", "row 6", "row 7"]
    first, wrapped, as_lines = found.articles
    for article in found.articles:
        check_layout(article)
    assert lines_of(first) == ["Quay repairs", "The quay wall is to be repaired.", "Work starts in June."]
    assert (first.url, first.date, first.author) == ("https://news.example.org/quay", "2024-05-01", "M. Pascoe")
    assert lines_of(wrapped) == ["Wrapped lines", "A paragraph wrapped at forty columns.", "A second one."]
    assert (wrapped.url, wrapped.date) == (None, "2024-05-03")
    assert lines_of(as_lines) == ["Lines as paragraphs", "First line.", "Second line. Same line."]
    skipped = {row.key: row.reason for row in found.skipped}
    assert list(skipped) == ["row 2", "row 4", "row 5", "row 8"]
    assert skipped["row 2"] == "has no text"
    assert "not a JSON object" in skipped["row 4"] and "list" in skipped["row 4"]
    assert "not JSON" in skipped["row 5"]
    assert "not a string" in skipped["row 8"]
    assert all(isinstance(row, SkippedRow) for row in found.skipped)


def test_csv_rows_keyed_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    text = ('\ufeffTitle,Text,URL,Date,Author\r\n'
            'Quay repairs,"The quay wall is to be repaired.\r\n\r\nWork starts in June, weather allowing.",'
            'https://news.example.org/quay,2024-05-01,M. Pascoe\r\n'
            'Empty,,,,\r\n'
            ',Text without a title stays.,,,\r\n'
            '"Commas, quotes ""and"" more",Plain text.,,"May 3, 2024",\r\n')
    path = tmp_path / "news.csv"
    path.write_bytes(text.encode("utf-8"))
    found = read(path)
    assert isinstance(found, Extraction)
    assert [a.key for a in found.articles] == ["row 2", "row 4", "row 5"]
    assert found.skipped == [SkippedRow("row 3", "has no text")]
    quay, untitled, commas = found.articles
    for article in found.articles:
        check_layout(article)
    assert lines_of(quay) == ["Quay repairs", "The quay wall is to be repaired.",
                              "Work starts in June, weather allowing."]
    assert (quay.url, quay.date, quay.author) == ("https://news.example.org/quay", "2024-05-01", "M. Pascoe")
    assert untitled.title is None and lines_of(untitled) == ["Text without a title stays."]
    assert commas.title == 'Commas, quotes "and" more' and commas.date == "2024-05-03"


def test_csv_with_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("title;text\nTide tables;High water at noon, low water at six.\n", encoding="utf-8")
    found = read(path)
    assert isinstance(found, Extraction)
    assert lines_of(found.articles[0]) == ["Tide tables", "High water at noon, low water at six."]


@pytest.mark.parametrize("name, raw, reason", [
    ("columns.csv", b"Heading,Story\nA,B\n", "has no text column (looked for text: text, body, content, raw_text, "
                                             "article; found Heading, Story; name yours in [ingest] columns)"),
    ("latin.csv", "title,text\nCaf\u00e9,Caf\u00e9 au lait.\n".encode("latin-1"), "is not UTF-8"),
    ("header.csv", b"title,text\n", "has a header but no rows"),
    ("blank.csv", b"title,text\n,\n", "has a header but no rows"),
    ("notext.csv", b"title,text\nA,\nB,  \n", "no row could be read (row 2 has no text and 1 more)"),
    ("scalars.jsonl", b"1\n\"two\"\nnull\n", "no row could be read (row 1 is not a JSON object (a number) and 2 more)"),
    ("blank.jsonl", b"\n\n   \n", "is empty"),
    ("latin.jsonl", '{"title": "Caf\u00e9", "text": "x"}\n'.encode("latin-1"), "is not UTF-8"),
])
def test_bad_collections_are_skipped_with_a_reason(tmp_path: Path, name: str, raw: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(raw)
    found = read(path)
    assert isinstance(found, str) and reason in found, found


# --- Any file ----------------------------------------------------------------------------------------------

def test_suffixes_and_unknown_ones(tmp_path: Path) -> None:
    assert sorted(SUFFIXES) == [".csv", ".htm", ".html", ".jsonl", ".markdown", ".md", ".pdf"]
    path = tmp_path / "notes.docx"
    path.write_bytes(b"PK\x03\x04")
    found = read(path)
    assert isinstance(found, str) and "no reader for .docx" in found
    upper = tmp_path / "PAGE.HTML"
    upper.write_text(semantic_page(FERRY), encoding="utf-8")
    assert isinstance(read(upper), Extraction)


def test_no_input_makes_read_document_raise(tmp_path: Path) -> None:
    """Random bytes, and good files cut short or with bytes flipped, give articles or a reason: never an error."""
    rng = random.Random(7)
    samples = {
        ".html": heavy_page(FERRY).encode(), ".md": MARKDOWN.encode(),
        ".jsonl": b'{"title": "A", "text": "B"}\n' * 5, ".csv": b"title,text\nA,B\n" * 5,
    }
    pdf = tmp_path / "sample.pdf"
    _pdf(pdf)
    samples[".pdf"] = pdf.read_bytes()
    for suffix in sorted(SUFFIXES):
        good = samples.get(suffix, samples[".html"])
        inputs = [bytes(rng.randrange(256) for _ in range(400)), good[: len(good) // 2], b"\x00" * 50]
        for _ in range(5):
            flipped = bytearray(good)
            for _ in range(20):
                flipped[rng.randrange(len(flipped))] = rng.randrange(256)
            inputs.append(bytes(flipped))
        for raw in inputs:
            found = read_document(Path(f"x{suffix}"), raw, INGEST)
            assert isinstance(found, str | Extraction)
            if isinstance(found, str):
                assert "\n" not in found
            else:
                for article in found.articles:
                    check_layout(article)


@pytest.mark.parametrize("value, expected", [
    ("2024-03-14", "2024-03-14"), ("2024-03-14T08:30:00Z", "2024-03-14"), ("2024/03/14", "2024-03-14"),
    ("14 March 2024", "2024-03-14"), ("March 14, 2024", "2024-03-14"),
    ("Thu, 14 Mar 2024 08:30:00 +0000", "2024-03-14"),
    (datetime.date(2024, 3, 14), "2024-03-14"), ("yesterday", None), ("", None), (None, None), (20240314, None),
])
def test_iso_date(value: object, expected: str | None) -> None:
    assert iso_date(value) == expected


def test_html_title_is_the_articles_heading_when_another_h1_comes_first(tmp_path: Path) -> None:
    """A help dialog's h1 ahead of the article's must not become the title (mdBook pages have one)."""
    paragraphs = "".join(f"<p>{p}</p>" for p in FERRY.paragraphs)
    page = (f"<html><head><title>Ferry trial - The Harbour Book</title></head><body>"
            f'<div id="help-container"><div class="help-popup"><h2 class="help-title">Keyboard shortcuts</h2>'
            f"<p>Press ? to show this help</p></div></div>"
            f'<nav class="sidebar"><ol><li><a href="/a">Introduction</a></li><li><a href="/b">Moorings</a></li></ol>'
            f'</nav><div id="menu-bar"><h1 class="menu-title">The Harbour Book</h1></div>'
            f'<div id="content"><main><h1 id="ferry">Ferry trial</h1>{paragraphs}</main></div></body></html>')
    path = tmp_path / "book.html"
    path.write_text(page, encoding="utf-8")
    article = only(path)
    assert article.title == "Ferry trial"
    assert "Keyboard shortcuts" not in article.text and "Press ?" not in article.text
