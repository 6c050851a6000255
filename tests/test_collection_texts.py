"""A collection (CSV, JSON Lines) is kept in the index as one text and one row table per file, never a file or a
manifest entry per row; its rows are still cited one by one (file, row, verbatim quote, link), checked against the
stored text and the source file, reused row by row on a rebuild, and an index of the older layout (a text per row)
still loads and is brought to the new one by a rebuild."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from citebot.config.settings import Settings
from citebot.index.build import build_index, stale_sources
from citebot.index.embedding.hashed import HashEmbedder
from citebot.index.ingest.corpus import Document
from citebot.index.ingest.texts import RowTable, read_rows, save_text
from citebot.retrieval.engine import Engine
from citebot.retrieval.freshness import CheckBounds, corrupt_passages

CLI = [sys.executable, "-m", "citebot.bot.cli"]
TOWNS = ("Porthmellin", "Carn Du", "Polwenna", "St Keyne", "Trevose", "Gweek", "Lanreath", "Mousehole")
THINGS = ("harbour wall", "library roof", "lifeboat station", "chapel bell", "footbridge", "market hall")


def row_text(i: int) -> str:
    """A short news item, different for every i (two sentences, well over the eight words a row needs)."""
    town, thing = TOWNS[i % len(TOWNS)], THINGS[i // len(TOWNS) % len(THINGS)]
    return (f"Volunteers in {town} finished repairing the {thing} on day {i} of the appeal. "
            f"The council said the work on item {i} cost {100 + i} pounds in all.")


def write_csv(path: Path, rows: int, edited: dict[int, str] | None = None) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "text", "url"])
        for i in range(rows):
            text = (edited or {}).get(i, row_text(i))
            writer.writerow([f"Item {i}", text, f"https://news.example.org/items/{i}"])


def write_jsonl(path: Path, rows: list[str]) -> None:
    path.write_text("".join(json.dumps({"title": f"Note {i}", "text": text, "date": f"2024-03-{i + 1:02d}"}) + "\n"
                            for i, text in enumerate(rows)), encoding="utf-8")


def csv_row(path: Path, number: int) -> dict[str, str]:
    """The data row a citation numbers `number` (1 for the first row under the header)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))[number - 1]


def _items_csv(tmp_path: Path, rows: int) -> Path:
    """A folder of one CSV, items.csv, of `rows` rows."""
    folder = tmp_path / "articles"
    folder.mkdir()
    write_csv(folder / "items.csv", rows)
    return folder


def _build(folder: Path, settings: Settings):  # noqa: ANN202
    return build_index(folder, settings.paths.index, settings, embedder=HashEmbedder())


def _manifest(report) -> dict:  # noqa: ANN001
    return json.loads((report.path / "manifest.json").read_text(encoding="utf-8"))


def _texts(settings: Settings) -> list[str]:
    return sorted(p.name for p in (settings.paths.index / "texts").iterdir())


def test_a_500_row_csv_keeps_one_text_and_one_row_table_and_no_row_in_the_manifest(
        tmp_path: Path, hash_settings: Settings) -> None:
    folder = _items_csv(tmp_path, 500)
    report = _build(folder, hash_settings)
    assert report.articles == 500
    texts = _texts(hash_settings)
    assert len(texts) == 2 and texts[0].startswith("items.csv.") and texts[1].endswith(".rows.jsonl")
    manifest = _manifest(report)
    assert manifest["sources"].keys() == {"items.csv"} and manifest["documents"].keys() == {"items.csv"}
    assert manifest["articles"] == 500 and "#row" not in json.dumps(manifest["documents"])
    entry = manifest["documents"]["items.csv"]
    rows = read_rows(hash_settings.paths.index, entry)
    text = (hash_settings.paths.index / entry["text"]).read_text(encoding="utf-8")
    assert rows is not None and len(rows) == 500
    assert [text[start:end] for _, start, end, *_ in rows] == [f"Item {i}\n\n{row_text(i)}\n" for i in range(500)]
    assert rows[0][0] == "row 2" and rows[0][3:5] == ("Item 0", "https://news.example.org/items/0")


def test_rows_of_a_csv_and_a_jsonl_are_cited_by_file_and_row_verbatim(tmp_path: Path) -> None:
    folder = _items_csv(tmp_path, 40)
    notes = [row_text(100 + i) for i in range(6)]
    write_jsonl(folder / "notes.jsonl", notes)
    (tmp_path / "hash.toml").write_text('[embedding]\nmodel = "hash"\n', encoding="utf-8")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args, "--config", "hash.toml"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)

    assert cli("index", "build", "--sources", "articles", "--index", "idx").returncode == 0
    seen_rows = set()
    for question in ("Which volunteers repaired the chapel bell on day 17?",
                     "How much did the work on item 103 cost?"):
        done = cli("ask", question, "--index", "idx", "--json", "--top-k", "8")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        for passage in result["passages"]:
            c = passage["citation"]
            assert (tmp_path / c["source"]).read_text(encoding="utf-8")[c["start"]:c["end"]] == passage["text"]
            assert c["text_file"] == c["source"] and c["source"].startswith("idx/texts/")
            if c["document"] == "articles/items.csv":
                row = csv_row(folder / "items.csv", c["row"])
                assert passage["text"] in row["text"] and c["url"] == row["url"]
                assert c["link"].startswith(row["url"] + "#:~:text=")
            else:
                assert c["document"] == "articles/notes.jsonl" and passage["text"] in notes[c["row"] - 1]
                assert c["date"] == f"2024-03-{c['row']:02d}"
            seen_rows.add((c["document"], c["row"]))
        answer = result["answer"]
        assert answer is not None
        assert (tmp_path / answer["source"]).read_text(encoding="utf-8")[answer["start"]:answer["end"]] \
            == answer["text"]
    assert ("articles/items.csv", 18) in seen_rows and ("articles/notes.jsonl", 4) in seen_rows
    plain = cli("ask", "How much did the work on item 103 cost?", "--index", "idx")
    assert "articles/notes.jsonl, row 4, paragraph 1 (chars" in plain.stdout


def test_editing_one_row_reuses_the_others_and_removing_the_file_removes_its_text(
        tmp_path: Path, hash_settings: Settings) -> None:
    folder = _items_csv(tmp_path, 60)
    write_jsonl(folder / "notes.jsonl", [row_text(200 + i) for i in range(3)])
    first = _build(folder, hash_settings)
    before = _texts(hash_settings)

    write_csv(folder / "items.csv", 60, {7: "Volunteers in Gweek rebuilt the old pier in three weeks, the "
                                            "harbour master said on Monday."})
    assert stale_sources(hash_settings.paths.index, hash_settings.ingest) == ["changed: items.csv"]
    edited = _build(folder, hash_settings)
    assert edited.articles == first.articles == 63
    assert edited.rechunked == 1 and 0 < edited.embedded < edited.reused  # only the edited row is new
    after = _texts(hash_settings)
    assert len(after) == 4 and [n for n in after if n.startswith("notes")] == [n for n in before
                                                                                if n.startswith("notes")]
    engine = Engine(hash_settings)
    result = engine.ask("Who rebuilt the old pier in Gweek?")
    top = result.passages[0].citation
    assert top.row == 8 and top.document.file.endswith("items.csv")
    assert open(top.source, encoding="utf-8").read()[top.start:top.end] == result.passages[0].text  # noqa: SIM115

    (folder / "items.csv").unlink()
    _build(folder, hash_settings)
    assert [n for n in _texts(hash_settings) if n.startswith("items")] == []


def test_a_changed_collection_is_left_out_once_by_its_file_until_rebuilt(tmp_path: Path,
                                                                          hash_settings: Settings) -> None:
    folder = _items_csv(tmp_path, 30)
    write_jsonl(folder / "notes.jsonl", [row_text(300 + i) for i in range(3)])
    _build(folder, hash_settings)
    write_csv(folder / "items.csv", 30, {3: row_text(3) + " A late correction."})
    result = Engine(hash_settings).ask("Which volunteers repaired the lifeboat station?", top_k=5)
    assert [left.source for left in result.left_out] == [str(folder / "items.csv")]
    assert all(p.citation.document.file.endswith("notes.jsonl") for p in result.passages)


def _as_text_per_row(report, settings: Settings) -> None:  # noqa: ANN001
    """Rewrite a build's manifest as a citebot before collections were kept whole wrote it: a text file and a
    manifest entry per row."""
    index = settings.paths.index
    manifest = _manifest(report)
    for file, entry in list(manifest["documents"].items()):
        text = (index / entry["text"]).read_text(encoding="utf-8")
        digest = manifest["sources"].pop(file)
        del manifest["documents"][file]
        for key, start, end, title, url, date, author in read_rows(index, entry):
            document = Document(file, key, url, date, author)
            name = f"{file}#{key}"
            manifest["sources"][name] = digest
            manifest["documents"][name] = {**document.to_json(), "text": save_text(text[start:end], document, index),
                                           "title": title}
        (index / entry["text"]).unlink()
        (index / entry["rows"]).unlink()
    del manifest["articles"]
    (report.path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_an_index_with_a_text_per_row_still_loads_and_a_rebuild_keeps_it_whole(
        tmp_path: Path, hash_settings: Settings) -> None:
    folder = _items_csv(tmp_path, 12)
    first = _build(folder, hash_settings)
    _as_text_per_row(first, hash_settings)
    assert len(_texts(hash_settings)) == 12

    engine = Engine(hash_settings)
    result = engine.ask("Which volunteers repaired the harbour wall on day 5?")
    c = result.passages[0].citation
    assert c.row == 6 and c.source.endswith(".txt") and "items.csv-row-7." in c.source
    assert open(c.source, encoding="utf-8").read()[c.start:c.end] == result.passages[0].text  # noqa: SIM115
    assert stale_sources(hash_settings.paths.index, hash_settings.ingest) == []

    again = _build(folder, hash_settings)
    assert again.embedded == 0 and again.rechunked == 0
    assert len(_texts(hash_settings)) == 2 and _manifest(again)["sources"].keys() == {"items.csv"}


def test_a_row_is_found_by_its_number_across_rows_left_out_and_a_damaged_table_finds_none(
        tmp_path: Path, hash_settings: Settings) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    texts = [row_text(i) if i % 3 else "too short" for i in range(30)]  # every third row is left out
    write_jsonl(folder / "notes.jsonl", texts)
    report = _build(folder, hash_settings)
    assert report.articles == 20
    entry = _manifest(report)["documents"]["notes.jsonl"]
    table = RowTable.open(hash_settings.paths.index, entry["rows"])
    assert table is not None and len(table) == 20
    assert table.find("row 1") is None and table.find("row 31") is None and table.find("row 4") is None
    stored = (hash_settings.paths.index / entry["text"]).read_text(encoding="utf-8")
    for number in (2, 3, 5, 29, 30):
        found = table.find(f"row {number}")
        assert found is not None and found[0] == f"row {number}" and found[5] == f"2024-03-{number:02d}"
        assert stored[found[1]:found[2]] == f"Note {number - 1}\n\n{row_text(number - 1)}\n"

    engine = Engine(hash_settings)
    bounds = CheckBounds.of(hash_settings.ingest, engine.stored.sources_root)
    assert corrupt_passages(engine.stored.chunks, engine.stored.sources, bounds) == []
    # The stored text altered in place (same length): every passage of the collection is reported corrupt.
    (hash_settings.paths.index / entry["text"]).write_text(stored.replace("Volunteers", "Volunteerz"),
                                                           encoding="utf-8")
    assert len(corrupt_passages(engine.stored.chunks, engine.stored.sources, bounds)) == len(engine.stored.chunks)
    # A row table that is not whole names no row: its rows' passages are not cited.
    rows = hash_settings.paths.index / entry["rows"]
    rows.write_bytes(rows.read_bytes()[:-5])
    assert RowTable.open(hash_settings.paths.index, entry["rows"]) is None
    assert Engine(hash_settings).ask("Which volunteers repaired the harbour wall?").passages == ()
