"""A collection's row table: a line per row, in row order, with its name, its span in the collection's text (the
one text file the index keeps of the file), title, url, date and author. Stored as `<name>.<digest>.rows.jsonl`
beside that text; a row is found by bisection over the lines, only the lines looked at parsed, so looking up a row
costs the same however many rows the collection has."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

ROWS_SUFFIX = ".rows.jsonl"
"""A collection's row table is named as its text is, with this suffix instead of .txt."""

Row = tuple[str, int, int, "str | None", "str | None", "str | None", "str | None"]
"""A row table's line: the row's name ("row 12"), its span in the collection's text, title, url, date, author."""


def row_number(key: str | None) -> int:
    """N of a collection row's name "row N" (what its table is ordered by)."""
    found = re.fullmatch(r"row (\d+)", key or "")
    if found is None:
        raise ValueError(f"a collection row is named 'row N', not {key!r}")
    return int(found[1])


class RowTable:
    """A collection's row table, read as bytes and checked whole by its digest; a row is found by bisection over its
    lines, only the lines looked at parsed."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
        self._starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else ends
        self._ends = ends

    @classmethod
    def open(cls, index_dir: Path, name: str) -> RowTable | None:
        """The table stored as name (relative to the index folder), or None when it is missing or not whole."""
        try:
            data = (index_dir / name).read_bytes()
        except OSError:
            return None
        expected = Path(name).name.removesuffix(ROWS_SUFFIX).rsplit(".", 1)[-1]
        return cls(data) if hashlib.sha256(data).hexdigest()[:16] == expected else None

    def __len__(self) -> int:
        return len(self._ends)

    def line(self, i: int) -> Row | None:
        """The i-th row, or None when its line is not a row table's."""
        try:
            row = json.loads(self._data[self._starts[i]:self._ends[i]])
        except (ValueError, UnicodeDecodeError):
            return None
        return tuple(row) if _well_formed_row(row) else None  # type: ignore[return-value]

    def find(self, key: str) -> Row | None:
        """The row named key ("row 12"), or None when the table has no such row (or is malformed where looked)."""
        try:
            wanted = row_number(key)
        except ValueError:
            return None
        low, high = 0, len(self)
        while low < high:
            middle = (low + high) // 2
            row = self.line(middle)
            if row is None:
                return None
            number = row_number(row[0])
            if number == wanted:
                return row
            low, high = (middle + 1, high) if number < wanted else (low, middle)
        return None

    def rows(self) -> list[Row] | None:
        """Every row, or None when a line is not a row table's."""
        found = [self.line(i) for i in range(len(self))]
        return None if any(row is None for row in found) else found  # type: ignore[return-value]


def read_rows(index_dir: Path, entry: dict[str, Any]) -> list[Row] | None:
    """A collection's row table (entry: its manifest record), or None when it is missing, damaged or malformed."""
    table = RowTable.open(index_dir, entry["rows"])
    return table.rows() if table is not None else None


def _well_formed_row(row: Any) -> bool:
    return (isinstance(row, list) and len(row) == 7 and isinstance(row[0], str) and row[0].startswith("row ")
            and all(type(v) is int for v in row[1:3]) and 0 <= row[1] <= row[2]  # noqa: E721
            and all(v is None or isinstance(v, str) for v in row[3:]))
