"""PDF: pypdf reads each page's text; paragraphs are rejoined and every page's span in the text recorded."""

from __future__ import annotations

import io
import logging
import re

from pypdf import PdfReader
from pypdf.errors import DependencyError

from citebot.index.ingest.language import not_language_reason

from .extracted import Extracted, clean_line, iso_date, lay_out
from .pdf_budget import BudgetExceeded, DecodeBudget, PdfLimits, decode_budget
from .pdf_lines import Line, Segment, drop_furniture, page_lines, paragraphs
from .pdf_title import FOOTNOTE_MARKS, largest_text_on_top, metadata_title, title_paragraphs

log = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"[.!?,;]$")
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})(\d{2})")


AES_REASON = "is encrypted with AES (install the cryptography package to read it: pip install cryptography)"


def read_pdf(raw: bytes, limits: PdfLimits) -> Extracted | str:
    """The text of a PDF with each page's span, its title (metadata, else a headline opening page 1),
    creation date and author, or why it cannot be read; reading it may cost at most limits."""
    try:
        with decode_budget(limits) as budget:
            return _read_pdf(raw, budget)
    except BudgetExceeded as exc:
        return str(exc)
    except DependencyError:  # pypdf without cryptography meets AES: at opening (AES-256) or per stream (AES-128)
        return AES_REASON


def _read_pdf(raw: bytes, budget: DecodeBudget) -> Extracted | str:
    reader = PdfReader(io.BytesIO(raw))
    if reader.is_encrypted and not reader.decrypt(""):
        return "is encrypted (it needs a password)"
    pages, failed = _read_pages(reader, budget)
    kept = drop_furniture(pages)
    found = paragraphs(kept)
    if not found and failed:
        number, exc = failed[0]
        detail = " ".join(str(exc).split())[:160]
        return (f"could not be read on {len(failed)} of its {len(pages)} page(s) (page {number}: "
                f"{type(exc).__name__}{': ' + detail if detail else ''})")
    if not found:
        return f"has no text layer on its {len(pages)} page(s) (a scan? run OCR on it first)"
    if gibberish := not_language_reason(" ".join(_text(paragraph) for paragraph in found)):
        return f"its text layer cannot be decoded ({gibberish}); OCR it first"
    meta = _metadata(reader)
    title, on_page, found = _title(meta.get("/Title"), kept[0] if kept else [], found)
    if not found:
        return "has a title but no text"
    body = [_text(paragraph) for paragraph in found]
    text, starts = lay_out(title, body)
    spans: dict[int, list[int]] = {}
    placed = ([(0, on_page)] if on_page else []) + list(zip(starts, found, strict=True))
    for start, paragraph in placed:
        offset = start
        for page, piece in paragraph:
            if page is not None:
                span = spans.setdefault(page, [offset, offset + len(piece)])
                span[1] = offset + len(piece)
            offset += len(piece)
    pages_spans = tuple((page, start, end) for page, (start, end) in sorted(spans.items()))
    return Extracted("", text, title, _date(meta.get("/CreationDate")), None,
                     clean_line(str(meta.get("/Author") or "")) or None, pages_spans)


def _read_pages(reader: PdfReader, budget: DecodeBudget) -> tuple[list[list[Line]], list[tuple[int, Exception]]]:
    """Each page's lines (none for a page that failed), and the pages that failed with why."""
    pages: list[list[Line]] = []
    failed: list[tuple[int, Exception]] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            pages.append(page_lines(page, budget.check))
        except (BudgetExceeded, DependencyError):
            raise
        except Exception as exc:  # one unreadable page should not lose the others
            budget.check()  # unless the budget ran out inside pypdf, which turned that into another error
            log.warning("page %d could not be read: %s", number, exc)
            failed.append((number, exc))
            pages.append([])
        budget.check()
    return pages, failed


def _text(paragraph: list[Segment]) -> str:
    return "".join(piece for _, piece in paragraph)


def _metadata(reader: PdfReader) -> dict[str, object]:
    try:
        return dict(reader.metadata or {})
    except Exception:  # a broken Info dictionary only costs the metadata
        return {}


def _title(value: object, first_page: list[Line], found: list[list[Segment]]
           ) -> tuple[str | None, list[Segment] | None, list[list[Segment]]]:
    """The title (metadata's when it names the document, else the largest text at the top of page 1, else page
    1's first paragraph if it reads as a headline), the paragraph of the text that is the title when it is one
    (its lines joined), and the other paragraphs."""
    title = metadata_title(value) or largest_text_on_top(first_page)
    if title is None:
        first = _text(found[0])
        if len(found) > 1 and len(first.split()) <= 20 and not _SENTENCE_END.search(first):
            return first, found[0], found[1:]
        return None, None, found
    where = title_paragraphs(title, found)
    if where is None:
        return title, None, found
    index, count = where
    on_page: list[Segment] = []
    for paragraph in found[index:index + count]:
        on_page += ([(None, " ")] if on_page else []) + paragraph
    page, last = on_page[-1]
    if last.rstrip(FOOTNOTE_MARKS).strip():  # "Age-Based Garbage Collection*": the mark is a footnote's
        on_page[-1] = (page, last.rstrip(FOOTNOTE_MARKS).rstrip())
    return _text(on_page), on_page, found[:index] + found[index + count:]


def _date(value: object) -> str | None:
    match = _PDF_DATE.match(str(value or "").strip())
    return iso_date("-".join(match.groups())) if match else None
