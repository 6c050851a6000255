"""sentences.jsonl is read at C speed when every line is as a build writes it (index/store/faiss/load.py), to the
same table as reading it line by line with json; any other line takes the json path, with its one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from citebot.index.store.faiss.load import _parsed_sentences, _written_columns, read_sentences


def _table(path: Path) -> list[list[int]]:
    table = read_sentences(path)
    return np.stack((table.chunk, table.start, table.end), axis=1).tolist()


def test_lines_as_a_build_writes_them_read_fast_to_the_json_readers_table(tmp_path: Path) -> None:
    rows = [[row // 3, 10 * row, 10 * row + 7 + row % 5] for row in range(2_000)] + [[123_456_789, 0, 10**17]]
    data = "".join(f"[{a:d}, {b:d}, {c:d}]\n" for a, b, c in rows).encode()
    path = tmp_path / "sentences.jsonl"
    path.write_bytes(data)
    assert _written_columns(data) is not None
    assert _table(path) == rows
    parsed = _parsed_sentences(path)
    assert np.stack((parsed.chunk, parsed.start, parsed.end), axis=1).tolist() == rows


@pytest.mark.parametrize("lines", [
    "[1, 2, 3]\n[4, 5]\n",              # two values
    "[1, 2, 3]\n[4, 5, 6.5]\n",         # not an integer
    "[1, 2, 3]\n[4 5, 6, ]\n",          # three numbers, not three values
    "[1, 2, 3]\n[4, 5, 6, 7]\n",        # four
    "[1, 2, 3]\n[4, 5, true]\n",        # a boolean
])
def test_any_other_line_is_the_json_readers_one_line_error(tmp_path: Path, lines: str) -> None:
    path = tmp_path / "sentences.jsonl"
    path.write_text(lines, encoding="utf-8")
    assert _written_columns(lines.encode()) is None
    with pytest.raises(ValueError) as error:
        read_sentences(path)
    assert "\n" not in str(error.value)


def test_other_spacing_is_read_by_json_all_the_same(tmp_path: Path) -> None:
    rows = [[0, 0, 5], [0, 6, 12], [1, 0, 9]]
    path = tmp_path / "sentences.jsonl"
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows), encoding="utf-8")
    assert _written_columns(path.read_bytes()) is None
    assert _table(path) == rows
