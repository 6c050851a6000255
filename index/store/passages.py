"""A build's passages as arrays, each passage's id and text read from its record when it is asked for.

A loaded index used to hold every chunk as a Python object (its text a str, its fields boxed): some 800 bytes a
passage on news articles, the largest part of a loaded index's heap. ChunkTable keeps what is read of every
passage at once (its source, title, span and paragraph) as integer arrays, about 30 bytes a passage, and reads a
passage's id and text from its JSON record when it is asked for: from the build's chunks.jsonl by offset (pread,
so the file's pages are not mapped into the process), or from records kept in memory (a Milvus collection's).
A few hundred recently read passages are kept decoded, since a question reads its candidates several times.
"""

from __future__ import annotations

import json
import os
import threading
from array import array
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from citebot.index.chunking import Chunk

Record = Callable[[int], tuple[str, str]]
"""A chunk's id and text by row."""

KEPT_DECODED = 512
"""Passages kept decoded (the candidates of the last question or two); the rest are read again when asked."""


def compact_ints(values: np.ndarray | array) -> np.ndarray:
    """Integers as int32 when they all fit (offsets into files under 2 GB, rows), else int64."""
    found = np.asarray(values, dtype=np.int64)
    fits = not len(found) or (int(found.min()) >= -2**31 and int(found.max()) < 2**31)
    return found.astype(np.int32) if fits else found


class FileRecords:
    """Records (one JSON object a line) read from a file by offset, through a descriptor held open: a build
    swapped out and removed while it is served stays readable."""

    def __init__(self, path: Path, offsets: np.ndarray) -> None:
        self.path = path
        self._file = path.open("rb", buffering=0)
        self._offsets = offsets

    def __call__(self, row: int) -> tuple[str, str]:
        start, end = int(self._offsets[row]), int(self._offsets[row + 1])
        data = json.loads(os.pread(self._file.fileno(), end - start, start))
        return data["id"], data["text"]

    def close(self) -> None:
        self._file.close()


class ChunkTable(Sequence[Chunk]):
    """A build's chunks in row order: sources, titles, spans and paragraphs as arrays (sources and titles as
    numbers into lists of the distinct ones), each chunk's id and text read from its record when asked."""

    def __init__(self, names: list[str], source: np.ndarray, titles: list[str | None], title: np.ndarray,
                 start: np.ndarray, end: np.ndarray, paragraph: np.ndarray, record: Record) -> None:
        self.names = names
        """The distinct sources, as the chunks name them."""
        self.source_ids = source
        self.titles = titles
        self.title_ids = title
        self.start = start
        self.end = end
        self.paragraph = paragraph
        self._record = record
        self._decoded: dict[int, Chunk] = {}
        self._lock = threading.Lock()
        self._rows_by_source: tuple[np.ndarray, np.ndarray, dict[str, int]] | None = None

    @classmethod
    def read(cls, path: Path, parse: Callable[[str], Chunk]) -> ChunkTable:
        """A chunks file (one JSON record a line), every record parsed and checked by parse as it is read, its
        text then dropped: only the offsets and fields stay in memory."""
        offsets = [0]
        builder = _Columns()
        with path.open("rb") as handle:
            for line in handle:
                builder.add(parse(line.decode("utf-8")))
                offsets.append(offsets[-1] + len(line))
        return builder.table(FileRecords(path, np.asarray(offsets, dtype=np.int64)))

    @classmethod
    def of(cls, chunks: Sequence[Chunk]) -> ChunkTable:
        """A table of chunks held in memory (a Milvus collection's, a test's)."""
        if isinstance(chunks, ChunkTable):
            return chunks
        builder = _Columns()
        records = []
        for chunk in chunks:
            builder.add(chunk)
            records.append((chunk.id, chunk.text))
        return builder.table(records.__getitem__)

    def renamed(self, shown: Callable[[str], str]) -> ChunkTable:
        """The same chunks with their sources renamed (as citations show them); the records are shared."""
        return ChunkTable([shown(name) for name in self.names], self.source_ids, self.titles, self.title_ids,
                          self.start, self.end, self.paragraph, self._record)

    def __len__(self) -> int:
        return len(self.start)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    @overload
    def __getitem__(self, row: int) -> Chunk: ...

    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...

    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        row = int(row)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(f"chunk row {row} out of range (the build holds {len(self)})")
        found = self._decoded.get(row)
        if found is None:
            found = self._decode(row)
        return found

    def __iter__(self) -> Iterator[Chunk]:
        for row in range(len(self)):
            yield self._decode(row, keep=False)

    def _decode(self, row: int, keep: bool = True) -> Chunk:
        chunk_id, text = self._record(row)
        chunk = Chunk(chunk_id, self.source(row), self.titles[self.title_ids[row]], int(self.start[row]),
                      int(self.end[row]), text, int(self.paragraph[row]))
        if keep:
            with self._lock:
                if len(self._decoded) >= KEPT_DECODED:
                    self._decoded.clear()
                self._decoded[row] = chunk
        return chunk

    def source(self, row: int) -> str:
        """The source of a chunk, without reading its record."""
        return self.names[self.source_ids[row]]

    def sources(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        return [self.names[i] for i in self.source_ids[np.asarray(rows, dtype=np.int64)]]

    def rows_of(self, source: str) -> list[int]:
        """The rows of one source's chunks, in row order ([] for a source with none)."""
        if self._rows_by_source is None:
            order = np.argsort(self.source_ids, kind="stable").astype(self.source_ids.dtype)
            bounds = np.searchsorted(self.source_ids[order], np.arange(len(self.names) + 1))
            self._rows_by_source = order, bounds, {name: i for i, name in enumerate(self.names)}
        order, bounds, ids = self._rows_by_source
        i = ids.get(source)
        return [] if i is None else order[bounds[i]:bounds[i + 1]].tolist()

    def row_of_id(self, chunk_id: str) -> int | None:
        """The row of the chunk with this id (ids end with the chunk's span: "<article>:<start>-<end>")."""
        span = chunk_id.rpartition(":")[2].split("-")
        if len(span) != 2 or not all(part.isdigit() for part in span):
            return None
        rows = np.flatnonzero((self.start == int(span[0])) & (self.end == int(span[1])))
        return next((int(r) for r in rows if self[int(r)].id == chunk_id), None)


class _Columns:
    """The arrays of a ChunkTable, filled a chunk at a time."""

    def __init__(self) -> None:
        self.names: dict[str, int] = {}
        self.titles: dict[str | None, int] = {}
        self.source, self.title, self.start, self.end, self.paragraph = (array("q") for _ in range(5))

    def add(self, chunk: Chunk) -> None:
        self.source.append(self.names.setdefault(chunk.source, len(self.names)))
        self.title.append(self.titles.setdefault(chunk.title, len(self.titles)))
        self.start.append(chunk.start)
        self.end.append(chunk.end)
        self.paragraph.append(chunk.paragraph)

    def table(self, record: Record) -> ChunkTable:
        return ChunkTable(list(self.names), compact_ints(self.source), list(self.titles), compact_ints(self.title),
                          compact_ints(self.start), compact_ints(self.end), compact_ints(self.paragraph), record)
