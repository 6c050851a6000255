"""What the last build read of each source file of another format than .txt, taken again instead of reading a file
that did not change.

Extracting a web page or a PDF is most of an unchanged rebuild's time; its result is already in the index (the
text file under `<index>/texts/`, the document in the manifest; for a collection, one text and its row table). The
manifest's `source_files` keeps, per file, its size, modification time and sha256 when it was read, why it was
skipped, and the rows left out. A file whose
size and modification time are the recorded ones is not opened; one whose stamp moved is hashed, and read again
only when its bytes changed. A stamp taken less than RACY_SECONDS after the file was written is not kept (the file
may change again within the same clock tick), nor one that moved while the file was read: such a file is hashed
next time. The cache holds only while the readers and the [ingest] settings are the build's (`reader` below).

A file read during a build is added to the cache at once (its texts saved), so the build's later passes over the
folder (the boilerplate count, then the articles) take it from the cache instead of extracting it again.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from citebot.config.settings import IngestSettings
from citebot.index.hashing import file_sha256
from citebot.index.ingest import formats
from citebot.index.ingest.corpus import Document, Skipped, file_stamp
from citebot.index.ingest.texts import RowRead, is_collection, read_collection, read_stored, save_collection, save_text

RACY_SECONDS = 2

DocumentRead = tuple[list[RowRead], list[Skipped], str]
"""read_document_under's result: (text, document, title) of each article, the rows left out, the file's sha256."""


def reader_version() -> str:
    """sha256 of the readers' source (index/ingest/formats/): another citebot reads the files anew."""
    digest = hashlib.sha256()
    for path in sorted(Path(formats.__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def trusted_stamp(before: tuple[int, int] | None, after: tuple[int, int] | None) -> tuple[int, int] | None:
    """The stamp to keep of a file read between two stats: none when it moved or is too recent to trust."""
    if before is None or before != after or time.time_ns() - before[1] < RACY_SECONDS * 1_000_000_000:
        return None
    return before


def _well_formed(record: Any) -> bool:
    """Whether a manifest's record of a file has the shape put() writes (a record that has not is not used)."""
    def count(value: Any) -> bool:
        return value is None or (isinstance(value, int) and not isinstance(value, bool))

    rows = record.get("rows_skipped", []) if isinstance(record, dict) else None
    return (isinstance(record, dict) and isinstance(record.get("sha256"), str) and count(record.get("size"))
            and count(record.get("mtime_ns")) and isinstance(record.get("skipped") or "", str)
            and isinstance(rows, list) and all(isinstance(r, list) and len(r) == 2
                                               and all(isinstance(x, str) for x in r) for r in rows))


class ReadCache:
    """Per file (named relative to the sources folder): what was read of it, by its stamp and sha256."""

    def __init__(self, index_dir: Path, settings: IngestSettings, records: dict[str, dict[str, Any]] | None = None,
                 articles: dict[str, list[dict[str, Any]]] | None = None, *, keep_new: bool = True) -> None:
        self.index_dir = index_dir
        self.keep_new = keep_new
        """Whether files read are recorded and their texts saved (a build); False: only taken (a reader)."""
        self.settings = settings
        self.version = reader_version()
        self._records = records or {}
        self._articles = articles or {}
        """File name -> the manifest's document of each of its articles (with its text file and title)."""
        self.seen: dict[str, dict[str, Any]] = {}
        """What this build read of each file (the last reading wins): the next manifest's `source_files`."""

    @classmethod
    def of_build(cls, manifest: dict[str, Any] | None, index_dir: Path, settings: IngestSettings, *,
                 keep_new: bool = True) -> ReadCache:
        """The cache of the build whose manifest is given, its texts in index_dir (an empty one when None, or when
        it was read by other readers or [ingest] settings)."""
        cache = cls(index_dir, settings, keep_new=keep_new)
        kept = (manifest or {}).get("source_files")
        if not isinstance(kept, dict) or kept.get("reader") != cache.version \
                or manifest.get("ingest") != asdict(settings) or not isinstance(kept.get("files"), dict):
            return cache
        articles: dict[str, list[dict[str, Any]]] = {}
        for document in (manifest.get("documents") or {}).values():
            articles.setdefault(document["file"], []).append(document)
        records = {name: record for name, record in kept["files"].items() if _well_formed(record)}
        return cls(index_dir, settings, records, articles, keep_new=keep_new)

    def manifest_entry(self) -> dict[str, Any]:
        return {"reader": self.version, "files": self.seen}

    def take(self, path: Path, name: str) -> DocumentRead | Skipped | None:
        """What the last reading of path found, when path still holds those bytes; None when it must be read."""
        record = self._records.get(name)
        if record is None:
            return None
        stamp = file_stamp(path)
        if stamp is None:
            return None
        if [record.get("size"), record.get("mtime_ns")] != list(stamp):
            try:
                if file_sha256(path) != record["sha256"]:  # the content hash, only when the stamp moved
                    return None
            except OSError:
                return None
            stamp = trusted_stamp(stamp, file_stamp(path))
        if record.get("skipped"):
            self._see(name, stamp, record)
            return Skipped(str(path), record["skipped"])
        found = self._stored_articles(name)
        if not found:
            return None
        self._see(name, stamp, record)
        return found, [Skipped(p, r) for p, r in record.get("rows_skipped", [])], record["sha256"]

    def _stored_articles(self, name: str) -> list[RowRead] | None:
        """The articles the last build read of a file, from the texts it kept (None when one is not whole). A
        collection kept a text per row by an older citebot is kept again as one text and a row table."""
        documents = self._articles.get(name, [])
        if len(documents) == 1 and "rows" in documents[0]:
            return read_collection(self.index_dir, documents[0])
        found = []
        for document in documents:
            text = read_stored(self.index_dir, document["text"])
            if text is None:
                return None
            found.append((text, Document.from_json(document), document.get("title")))
        if self.keep_new and is_collection(found):
            self._articles[name] = [save_collection(name, found, self.index_dir)]
        return found

    def documents_of(self, name: str) -> list[dict[str, Any]]:
        """What the manifest records of the articles read from the file name (a collection: one record)."""
        return self._articles.get(name, [])

    def _see(self, name: str, stamp: tuple[int, int] | None, record: dict[str, Any]) -> None:
        size, mtime = stamp if stamp is not None else (None, None)
        self.seen[name] = {**record, "size": size, "mtime_ns": mtime}

    def put(self, path: Path, name: str, stamp: tuple[int, int] | None, found: DocumentRead | Skipped,
            digest: str | None) -> None:
        """Record what reading path found (its stamp taken before the reading; digest: sha256 of the bytes read,
        None when the file could not be read, which is never cached); its texts are saved to the index."""

        if not self.keep_new:
            return
        stamp = trusted_stamp(stamp, file_stamp(path))
        if digest is None:
            self.seen.pop(name, None)
            self._records.pop(name, None)
            return
        record: dict[str, Any] = {"sha256": digest}
        if isinstance(found, Skipped):
            record["skipped"] = found.reason
            self._articles.pop(name, None)
        else:
            articles, rows, _ = found
            if rows:
                record["rows_skipped"] = [[row.path, row.reason] for row in rows]
            record["characters"] = sum(len(text) for text, _, _ in articles)
            self._articles[name] = [save_collection(name, articles, self.index_dir, check=True)] \
                if is_collection(articles) else [
                {**document.to_json(), "text": save_text(text, document, self.index_dir, check=True), "title": title}
                for text, document, title in articles]
        self._records[name] = record
        self._see(name, stamp, record)

    def note_text_file(self, path: Path, name: str, stamp: tuple[int, int] | None, digest: str,
                       characters: int) -> None:
        """Record a .txt file read (its stamp and sha256, for `index status`; .txt files are always read)."""
        self._see(name, trusted_stamp(stamp, file_stamp(path)), {"sha256": digest, "characters": characters})

