"""The text read from each article that is not a .txt file, kept in the index folder so every quote stays checkable:
`open(text_file).read()[start:end] == quote`. Files are named by their content and never rewritten, so a build
swapped in later, or a rollback, finds the texts its citations name.

A collection (CSV, JSON Lines) is kept as one text file for the whole file, its rows' texts one after another, and
one row table beside it (`<name>.<digest>.rows.jsonl`: a line per row, in row order, with its name, span in the
text, title, url, date and author). The manifest names the collection once, by its file, however many rows it has.
A loaded index reads a collection's row table when one of its rows is first cited or checked, and then parses only
the lines a bisection for that row looks at: the cost of a load does not grow with the rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from citebot.index.ingest.corpus import Article, Document
from citebot.index.ingest.row_table import ROWS_SUFFIX, RowTable, read_rows, row_number
from citebot.index.store.protocol import SourceFile

TEXTS = "texts"
"""The folder of the texts, inside the index folder."""
ROW_SEPARATOR = "\n\n"
"""Between two rows' texts in a collection's text file (the row table gives each row's exact span)."""
_WRITTEN = re.compile(r"\.partial-[A-Za-z0-9_]+\.(txt|jsonl)|[A-Za-z0-9._-]+\.[0-9a-f]{16}(\.txt|\.rows\.jsonl)")
"""The names save_text and save_collection give the files they write here (and their partial files)."""

RowRead = tuple[str, Document, "str | None"]
"""One article of a file read: its text, its document, its title."""


def text_file_name(article: Article) -> str:
    """A readable name that is unique to the text: the file's name, the row, and a digest of the text."""
    assert article.document is not None
    return _file_name(article.text, article.document)


def _file_name(text: str, document: Document, suffix: str = ".txt") -> str:
    stem = Path(document.file).name + (f"-{document.row}" if document.row else "")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:80] or "article"
    return f"{safe}.{digest_of(text)}{suffix}"


def digest_of(text: str) -> str:
    """The first 16 hex digits of text's sha256: what names a stored text and lets a reader check it is whole."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def save_text(text: str, document: Document, index_dir: Path, *, check: bool = False) -> str:
    """Write the text of an article read from document's file (once: a file of that name holds that text; with
    check, one that holds another text is written again); its name relative to the index folder."""
    return _save(text, _file_name(text, document), index_dir, check)


def _save(text: str, name: str, index_dir: Path, check: bool) -> str:
    folder = index_dir / TEXTS
    target = folder / name
    if not target.exists() or (check and not _holds(target, text)):
        folder.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=folder, prefix=".partial-", suffix=Path(name).suffix)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    return f"{TEXTS}/{name}"


def _holds(path: Path, text: str) -> bool:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read() == text
    except (OSError, UnicodeDecodeError):
        return False


def is_collection(articles: list[RowRead]) -> bool:
    """Whether a file's articles are a collection's rows (kept as one text and a row table)."""
    return bool(articles) and articles[0][1].row is not None


def save_collection(file: str, articles: list[RowRead], index_dir: Path, *, check: bool = False) -> dict[str, Any]:
    """Write a collection's rows as one text file and one row table (see the module's doc); what the manifest
    records of the file: its name, the two files (relative to the index folder) and how many rows they hold."""
    parts, rows, at = [], [], 0
    for text, document, title in articles:
        if parts:
            parts.append(ROW_SEPARATOR)
            at += len(ROW_SEPARATOR)
        parts.append(text)
        rows.append([document.row, at, at + len(text), title, document.url, document.date, document.author])
        at += len(text)
    text = "".join(parts)
    rows.sort(key=lambda row: row_number(row[0]))  # file order already: the table is bisected by row number
    table = "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)
    named = Document(file)
    return {"file": file, "text": _save(text, _file_name(text, named), index_dir, check),
            "rows": _save(table, _file_name(table, named, ROWS_SUFFIX), index_dir, check), "articles": len(rows)}


def read_stored(index_dir: Path, name: str) -> str | None:
    """A stored text or row table, when it is whole (its name holds the first 16 hex digits of its sha256)."""
    try:
        with (index_dir / name).open(encoding="utf-8", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return None
    expected = Path(name).name.removesuffix(ROWS_SUFFIX).removesuffix(".txt").rsplit(".", 1)[-1]
    return text if digest_of(text) == expected else None


def read_collection(index_dir: Path, entry: dict[str, Any]) -> list[RowRead] | None:
    """The rows a build read of a collection, as it read them (None when its stored text or table is not whole)."""
    rows = read_rows(index_dir, entry)
    text = read_stored(index_dir, entry["text"]) if rows is not None else None
    if rows is None or text is None:
        return None
    return [(text[start:end], Document(entry["file"], key, url, date, author), title)
            for key, start, end, title, url, date, author in rows]


def save_texts(articles: tuple[Article, ...] | list[Article], index_dir: Path) -> dict[str, dict[str, Any]]:
    """Write the text of every article read from another format (see save_text) and return what the manifest
    records of each: its document and its text file, relative to the index folder."""
    return {article.source: {**article.document.to_json(), "text": save_text(article.text, article.document, index_dir),
                             "title": article.title}
            for article in articles if article.document is not None}


def stored_files(documents: dict[str, dict[str, Any]]) -> set[str]:
    """The files under the index folder a manifest's documents name (texts and row tables)."""
    return {name for d in documents.values() for name in (d["text"], d.get("rows")) if name}


def remove_unused_texts(index_dir: Path, used: set[str]) -> int:
    """Remove the texts (files named as save_text names them) that no name in used (relative to the index folder)
    names, and the partial files of interrupted writes; how many were removed. Anything else in the folder is left
    alone. Call it holding the build lock, after the switch, with the texts of every build kept."""
    folder = index_dir / TEXTS
    removed = 0
    if not folder.is_dir():
        return 0
    for entry in folder.iterdir():
        ours = _WRITTEN.fullmatch(entry.name)
        if ours and f"{TEXTS}/{entry.name}" not in used and entry.is_file() and not entry.is_symlink():
            try:
                entry.unlink()
                removed += 1
            except OSError:
                pass
    return removed


def article_count(manifest: dict[str, Any]) -> int:
    """How many articles a build holds (a collection is one source and many articles)."""
    found = manifest.get("articles")
    return found if isinstance(found, int) and not isinstance(found, bool) else len(manifest["sources"])


def collection_of(name: str, collections: Mapping[str, Any]) -> tuple[str, str] | None:
    """(file, row) of an article named "file#row N" when file is one of collections, else None."""
    file, mark, row = name.rpartition("#")
    return (file, row) if mark and file in collections else None


@dataclass(frozen=True)
class _Collection:
    """A loaded collection: what its rows are checked against, and where its row table is."""

    whole: SourceFile
    """The collection file, its sha256, its text in the index, its document (no row)."""
    index_dir: Path
    rows: str
    """Its row table, relative to index_dir."""


class CitedSources(Mapping[str, SourceFile]):
    """Each source as a loaded build's chunks name it -> what it is checked against (a SourceFile).

    A .txt file and an article of another format are listed one by one. A collection's row is named
    "<its text file>#row N", its unit (units(), unit()) is the collection's text file, checked once for all its rows;
    its row table is read the first time one of its rows is looked up.
    """

    def __init__(self, plain: dict[str, SourceFile], collections: dict[str, _Collection] | None = None) -> None:
        self._plain = plain
        self._collections = collections or {}
        self._tables: dict[str, RowTable | None] = {}

    def __getitem__(self, name: str) -> SourceFile:
        found = self._plain.get(name)
        if found is not None:
            return found
        where = collection_of(name, self._collections)
        found = self._row(*where) if where else None
        if found is None:
            raise KeyError(name)
        return found

    def _row(self, unit: str, key: str) -> SourceFile | None:
        """A collection's row, from its table (read the first time a row of it is looked up)."""
        if unit not in self._tables:
            collection = self._collections[unit]
            self._tables[unit] = RowTable.open(collection.index_dir, collection.rows)
        table = self._tables[unit]
        row = table.find(key) if table is not None else None
        if row is None:
            return None
        whole = self._collections[unit].whole
        _, start, end, _, url, date, author = row
        document = Document(whole.document.file, key, url, date, author, offset=start)  # type: ignore[union-attr]
        return SourceFile(whole.path, whole.sha256, whole.text, document, (start, end))

    def __iter__(self) -> Iterator[str]:
        yield from self._plain
        for unit, collection in self._collections.items():
            rows = read_rows(collection.index_dir, {"rows": collection.rows}) or []
            yield from (f"{unit}#{row[0]}" for row in rows)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._plain or self.get(name) is not None)

    def unit(self, name: str) -> str:
        """What a source is checked as: a collection's row as its collection's text, anything else as itself."""
        where = collection_of(name, self._collections)
        return where[0] if where else name

    def units(self) -> dict[str, SourceFile]:
        """Every file checked, once each: a .txt file, an article of another format, a collection (no row)."""
        return {**self._plain, **{unit: c.whole for unit, c in self._collections.items()}}


def cited_sources(manifest: dict[str, Any], root: Path, index_dir: Path,
                  display: Callable[[Path], str]) -> tuple[Callable[[str], str], CitedSources]:
    """How a loaded build names each article in its citations, and what each is checked against.

    A .txt article is cited by its file (display(root / name)); an article of another format by the text file the
    index kept of it, checked against its original file (a changed original leaves the article out, as a changed
    .txt file does); a collection's row by its collection's text file and "#row N". Nothing here is per row.
    """
    documents = manifest.get("documents") or {}
    shown: dict[str, str] = {}
    plain: dict[str, SourceFile] = {}
    collections: dict[str, _Collection] = {}
    by_file: dict[str, str] = {}
    for name, digest in manifest["sources"].items():
        document = documents.get(name)
        if document is None:
            shown[name] = display(root / name)
            plain[shown[name]] = SourceFile(root / name, digest)
            continue
        text = index_dir / document["text"]
        shown[name] = display(text)
        cited = replace(Document.from_json(document), file=display(root / document["file"]))
        if "rows" in document:
            by_file[name] = shown[name]
            collections[shown[name]] = _Collection(SourceFile(root / document["file"], digest, text, cited),
                                                   index_dir, document["rows"])
        else:
            plain[shown[name]] = SourceFile(root / document["file"], digest, text, cited)

    def show(name: str) -> str:
        if name in shown:
            return shown[name]
        file, _, row = name.rpartition("#")
        return f"{by_file[file]}#{row}"  # a row of a collection (the chunks' sources are checked against the manifest)

    return show, CitedSources(plain, collections)


class ManifestSources:
    """What a build's manifest records of the articles it indexed, gathered one article at a time: `sources` (a
    .txt file or an article of another format by its name, a collection once by its file, with its sha256) and
    `documents` (an article of another format: its file, what it said, its text; a collection: its text and row
    table, as the read cache kept them). Nothing is recorded per row of a collection."""

    def __init__(self, index_dir: Path, documents_of: Callable[[str], list[dict[str, Any]]]) -> None:
        self.index_dir = index_dir
        self._documents_of = documents_of
        """The manifest's records of a file's articles as the build read them (ReadCache.documents_of)."""
        self.sources: dict[str, str] = {}
        self.documents: dict[str, dict[str, Any]] = {}
        self.articles = 0

    def add(self, article: Article) -> None:
        self.articles += 1
        document = article.document
        if document is None or document.row is None:
            self.sources[article.source] = article.fingerprint
            self.documents.update(save_texts([article], self.index_dir))
        elif document.file not in self.documents:
            kept = self._documents_of(document.file)
            if len(kept) != 1 or "rows" not in kept[0]:  # read without a cache: kept as the build reads it
                raise RuntimeError(f"no stored text of the collection {document.file}")
            self.sources[document.file] = article.fingerprint
            self.documents[document.file] = kept[0]

    def stored_files(self) -> set[str]:
        return stored_files(self.documents)
