"""A PDF's title: its metadata's when that names the document, else the largest text at the top of page 1, whole.
Papers written with fpdf2 to tmp_path, their metadata titles as real files have them."""

from __future__ import annotations

from pathlib import Path

import pytest

from citebot.config.settings import load_settings
from citebot.index.ingest.formats import Extraction, read_document
from citebot.index.ingest.formats.pdf_title import metadata_title

TITLE = "MOVING OBJECTS THROUGH A CROWDED HARBOUR: SCHEDULING TIDAL FERRIES WITH LIMITED BERTHS"
BODY = ("The harbour board met eleven times during the year and approved a budget for dredging the inner basin, "
        "which has silted up since the storms of the previous winter. ")


def write_paper(path: Path, metadata_title: str | None, *, header: str | None = None) -> None:
    """A two-page paper: an optional small journal line, a title in 20 pt over two lines, authors, then body."""
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 (the test extra) writes the test PDFs")
    doc = fpdf.FPDF()
    if metadata_title is not None:
        doc.set_title(metadata_title)
    doc.add_page()
    if header:
        doc.set_font("Helvetica", size=8)
        doc.multi_cell(0, 5, header)
        doc.ln(6)
    doc.set_font("Helvetica", "B", 20)
    doc.multi_cell(120, 9, TITLE)  # narrow: the title wraps over lines
    doc.ln(4)
    doc.set_font("Helvetica", size=11)
    doc.multi_cell(0, 6, "Morwenna Pascoe and Jory Trelawny, Porthmellin Marine Laboratory")
    doc.ln(6)
    for n in range(4):
        doc.multi_cell(0, 6, f"Paragraph {n}. " + BODY * 3)
        doc.ln(4)
    doc.add_page()
    doc.multi_cell(0, 6, "Second page. " + BODY * 3)
    doc.output(str(path))


def title_and_text(path: Path) -> tuple[str | None, str]:
    found = read_document(path, path.read_bytes(), load_settings().ingest)
    assert isinstance(found, Extraction), found
    return found.articles[0].title, found.articles[0].text


@pytest.mark.parametrize("metadata", [None, "paper.dvi", "prpaperdraft.dvi", "Microsoft Word - harbour.doc",
                                      "untitled", "This paper is included in the Proceedings of the"])
def test_a_file_or_program_name_gives_way_to_the_largest_text_on_page_one(tmp_path: Path, metadata) -> None:
    path = tmp_path / "paper.pdf"
    write_paper(path, metadata)
    title, text = title_and_text(path)
    assert title == TITLE  # whole, not cut after its first line
    assert text.startswith(TITLE + "\n\nMorwenna Pascoe") and text.count("CROWDED HARBOUR") == 1


def test_the_largest_text_wins_over_a_small_journal_line_above_it(tmp_path: Path) -> None:
    path = tmp_path / "paper.pdf"
    write_paper(path, "root.dvi", header="LISP AND SYMBOLIC COMPUTATION: An International Journal, 4, 223-242")
    title, text = title_and_text(path)
    assert title == TITLE
    assert text.startswith(TITLE + "\n\nLISP AND SYMBOLIC COMPUTATION") and text.count("CROWDED HARBOUR") == 1


def test_a_metadata_title_that_names_the_document_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "paper.pdf"
    write_paper(path, "Tidal ferry scheduling")
    title, text = title_and_text(path)
    assert title == "Tidal ferry scheduling"
    assert text.count("CROWDED HARBOUR") == 1  # the page's own title stays in the text once


@pytest.mark.parametrize("value, kept", [
    ("paper.dvi", False), ("single.dvi", False), ("Microsoft PowerPoint - talk.pptx", False), ("Unknown", False),
    ("dataflow-made-simple", False), ("This paper is included in the Proceedings of the", False), ("", False),
    ("Dynamo: Amazon's Highly Available Key-value Store", True), ("Tidy Data", True),
])
def test_metadata_titles(value: str, kept: bool) -> None:
    assert (metadata_title(value) == value) is kept


def test_a_venue_after_the_title_is_not_part_of_it() -> None:
    assert metadata_title("Sparse partitions - Foundations of Computer Science, 1990. Proceedings., 31st Annual "
                          "Symposium on") == "Sparse partitions"
    assert metadata_title("Lock-free queues - a survey") == "Lock-free queues - a survey"


def test_a_footnote_mark_after_the_title_on_the_page_is_left_out(tmp_path: Path) -> None:
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 (the test extra) writes the test PDFs")
    doc = fpdf.FPDF()
    doc.set_title("paper.dvi")
    doc.add_page()
    doc.set_font("Helvetica", "B", 20)
    doc.multi_cell(0, 9, "Age-Based Garbage Collection*")
    doc.ln(4)
    doc.set_font("Helvetica", size=11)
    doc.multi_cell(0, 6, BODY * 3)
    doc.ln(4)
    doc.multi_cell(0, 6, "* Supported by a grant of the harbour board.")
    doc.output(str(tmp_path / "gc.pdf"))
    title, text = title_and_text(tmp_path / "gc.pdf")
    assert title == "Age-Based Garbage Collection" and text.startswith(title + "\n\nThe harbour board")
