"""Collections: JSON Lines (an object a line) and CSV (a header row), one article a row.

Which column gives each field (text required; title, url, date, author optional) is [ingest] columns: the
first name listed there that the file has, case-insensitively, "*" matching any characters (`published*` finds
`published_date_gmt`). A row is named "row N": in JSON Lines N is the line number, in CSV the spreadsheet row
(the header is row 1). A row without text, or that is not an object, is left out and named in the Extraction's
`skipped`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase

from citebot.config.settings import ColumnNames, IngestSettings

from .extracted import Extracted, Extraction, SkippedRow, article

REQUIRED = ("text",)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_CSV_FIELD_LIMIT = 64 * 1024 * 1024  # the csv module's default, 128 KiB, is shorter than a long article


def paragraphs(text: str) -> list[str]:
    """A text column's paragraphs: the blocks between blank lines when it has any (a wrapped line joins its
    paragraph), else its lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _BLANK_LINE.split(text) if _BLANK_LINE.search(text) else text.split("\n")


def read_jsonl(text: str, settings: IngestSettings) -> Extraction | str:
    """Each non-blank line a JSON object with a title and a text (under the names [ingest] columns lists)."""
    rows: list[tuple[str, Mapping[str, object] | str]] = []
    # Only "\n" ends a line: JSON strings may hold U+2028 and the like, which str.splitlines() would split on.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:
            rows.append((f"row {number}", f"is not JSON ({_first_line(exc)})"))
            continue
        if isinstance(value, dict):
            rows.append((f"row {number}", {str(k).strip().casefold(): v for k, v in value.items()}))
        else:
            rows.append((f"row {number}", f"is not a JSON object (a {_json_type(value)})"))
    if not rows:
        return "has no rows"
    names = dict.fromkeys(key for _, row in rows if not isinstance(row, str) for key in row)
    chosen = choose_columns(names, settings.columns) if names else {}
    if isinstance(chosen, str):
        return chosen
    return _collect(rows, chosen)


def read_csv(text: str, settings: IngestSettings) -> Extraction | str:
    """A header row naming the columns (comma, semicolon or tab separated), then one article a row."""
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    header_line = text.lstrip("\ufeff").split("\n", 1)[0]
    by_delimiter = {d: choose_columns(_columns(header_line, d), settings.columns) for d in ",;\t"}
    readable = [(d, chosen) for d, chosen in by_delimiter.items() if isinstance(chosen, dict)]
    if not readable:  # say why with the delimiter that splits the header the most
        return str(by_delimiter[max(by_delimiter, key=lambda d: len(_columns(header_line, d)))])
    delimiter, chosen = readable[0]
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    try:
        header = [name.strip().casefold() for name in next(reader)]
        rows: list[tuple[str, Mapping[str, object] | str]] = []
        for number, record in enumerate(reader, start=2):
            if any(cell.strip() for cell in record):
                rows.append((f"row {number}", dict(zip(header, record, strict=False))))
    except csv.Error as exc:
        return f"is not valid CSV ({_first_line(exc)})"
    if not rows:
        return "has a header but no rows"
    return _collect(rows, chosen)


def choose_columns(names: Iterable[str], wanted: ColumnNames) -> dict[str, str] | str:
    """field -> the column that gives it (its name case-folded, as rows are keyed), for the fields the file has;
    or, when text has none, why not: the names looked for and the columns found."""
    names = [name for name in names if isinstance(name, str)]
    chosen: dict[str, str] = {}
    for field, patterns in wanted.items():
        for pattern in patterns:
            match = next((n for n in names if fnmatchcase(n.strip().casefold(), pattern.casefold())), None)
            if match is not None:
                chosen[field] = match.strip().casefold()
                break
    missing = [field for field in REQUIRED if field not in chosen]
    if not missing:
        return chosen
    looked = "; ".join(f"{field}: {', '.join(wanted[field])}" for field in missing)
    found = ", ".join(n.strip() for n in names) or "none"
    if len(found) > 200:
        found = found[:199] + "…"
    return (f"has no {' and no '.join(missing)} column (looked for {looked}; found {found}; "
            "name yours in [ingest] columns)")


def _collect(rows: Iterable[tuple[str, Mapping[str, object] | str]], columns: dict[str, str]) -> Extraction | str:
    articles: list[Extracted] = []
    skipped: list[SkippedRow] = []
    for key, row in rows:
        found = row if isinstance(row, str) else _row_article(key, {f: row.get(c) for f, c in columns.items()})
        if isinstance(found, str):
            skipped.append(SkippedRow(key, found))
        else:
            articles.append(found)
    if not articles:
        first = skipped[0]
        more = f" and {len(skipped) - 1} more" if len(skipped) > 1 else ""
        return f"no row could be read ({first.key} {first.reason}{more})"
    return Extraction(articles, skipped)


def _row_article(key: str, row: Mapping[str, object]) -> Extracted | str:
    text = row.get("text")
    if text is not None and not isinstance(text, str):
        return f"has a text that is not a string (a {_json_type(text)})"
    author = row.get("author")
    if isinstance(author, list):
        author = ", ".join(str(name) for name in author)
    found = article(_string(row.get("title")), paragraphs(text or ""), key=key, date=_string(row.get("date")),
                    url=_string(row.get("url")), author=_string(author))
    return "has no text" if found == "has a title but no text" else found


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _columns(header_line: str, delimiter: str) -> list[str]:
    try:
        return [name.strip() for name in next(csv.reader([header_line], delimiter=delimiter), [])]
    except csv.Error:
        return []


def _json_type(value: object) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
