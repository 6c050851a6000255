"""A collection of many tiny rows: the rows too short to be an article are left out with a count, the index stays
small (few stored texts, a manifest of bounded size), and the real rows are cited verbatim."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from citebot.config.settings import Settings
from citebot.index.build import build_index
from citebot.index.embedding.hashed import HashEmbedder
from citebot.retrieval.engine import Engine

REAL = [("Harbour wall repaired after storm", "Masons finished repairing the harbour wall at Porthmellin on Friday, "
         "six weeks after the February storm tore a gap in it."),
        ("Ferry timetable changes in May", "The tidal ferry will run every twenty minutes from the first of May, "
         "the harbour board said, with a last crossing at nine in the evening.")]


def test_fifty_thousand_tiny_rows_leave_a_small_index_and_real_rows_cited_verbatim(
        tmp_path: Path, hash_settings: Settings) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    with (folder / "export.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "text"])
        for i in range(50_000):
            writer.writerow([f"t{i}", f"x{i}"])
            if i in (10, 40_000):
                writer.writerow(REAL[i > 10])
    report = build_index(folder, hash_settings.paths.index, hash_settings, embedder=HashEmbedder())
    assert report.articles == 2
    counted = [s for s in report.skipped if "more rows of this file" in s.reason]
    assert len(report.skipped) == 4 and counted == [report.skipped[-1]]
    assert counted[0].reason \
        == "is too short to be an article (under 8 words); so are 49,996 more rows of this file (50,000 in all)"
    index = hash_settings.paths.index
    assert len(list((index / "texts").iterdir())) == 2  # the collection's text and its row table
    assert (report.path / "manifest.json").stat().st_size < 20_000

    engine = Engine(hash_settings)
    result = engine.ask("When will the tidal ferry run every twenty minutes?")
    cited = [p.citation for p in result.passages]
    assert any(c.document is not None and c.document.row == "row 40004" for c in cited)
    for passage in result.passages:
        c = passage.citation
        assert open(c.source, encoding="utf-8").read()[c.start:c.end] == passage.text  # noqa: SIM115
    manifest = json.loads((report.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sources"].keys() == {"export.csv"} and manifest["articles"] == 2
    assert len(manifest["skipped"]) == 4
