"""A rebuild reads only what changed: files of other formats are taken from the last build by size and time (then
sha256), every pass of a build reads a file once, stored texts no build uses go, and eval extracts nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from citebot.config.settings import Settings
from citebot.index.build import build_index
from citebot.index.embedding.hashed import HashEmbedder
from citebot.index.ingest import corpus
from citebot.index.ingest.texts import stored_files
from tests.test_formats_index import _write_folder
from tests.test_incremental import data_files


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files of other formats than .txt that a reader extracts, by name, as the build reads them."""
    seen: list[str] = []
    extract = corpus.read_document

    def counting(path: Path, raw: bytes, *settings):  # noqa: ANN202
        seen.append(path.name)
        return extract(path, raw, *settings)

    monkeypatch.setattr(corpus, "read_document", counting)
    return seen


def _build(folder: Path, settings: Settings):  # noqa: ANN202
    return build_index(folder, settings.paths.index, settings, embedder=HashEmbedder())


def _texts(settings: Settings) -> set[str]:
    return {p.name for p in (settings.paths.index / "texts").iterdir()}


def _kept_texts(manifest: dict) -> set[str]:
    return {Path(name).name for name in stored_files(manifest["documents"])}


def test_an_unchanged_file_is_not_read_again_and_a_changed_one_once(tmp_path: Path, hash_settings: Settings,
                                                                    reads: list[str]) -> None:
    folder = tmp_path / "articles"
    _write_folder(folder)
    first = _build(folder, hash_settings)
    # The scan, the boilerplate count and the articles pass: each file extracted once in all.
    assert sorted(reads) == ["archive.jsonl", "ferry.html", "log.pdf", "more.csv", "quarry.md"]
    before, documents = data_files(first.path), json.loads((first.path / "manifest.json").read_text())["documents"]

    reads.clear()
    again = _build(folder, hash_settings)
    assert reads == [] and again.embedded == 0
    assert data_files(again.path) == before
    manifest = json.loads((again.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["documents"] == documents
    assert manifest["skipped"] == [{"path": "archive.jsonl#row 3", "reason": "is not JSON (Expecting value: line 1 "
                                                                             "column 1 (char 0))"}]
    assert set(manifest["source_files"]["files"]) >= {"ferry.html", "log.pdf", "archive.jsonl"}

    # Touched (time moved, bytes the same): hashed, not read; edited: read once; removed: its text goes.
    os.utime(folder / "log.pdf", ns=(10**18, 10**18))
    quarry = folder / "quarry.md"
    quarry.write_text(quarry.read_text(encoding="utf-8") + "\nThe quarry will employ two apprentices.\n",
                      encoding="utf-8")
    (folder / "ferry.html").unlink()
    reads.clear()
    edited = _build(folder, hash_settings)
    assert reads == ["quarry.md"] and edited.embedded > 0
    manifest = json.loads((edited.path / "manifest.json").read_text(encoding="utf-8"))
    assert _texts(hash_settings) == _kept_texts(manifest)  # the old quarry.md and ferry.html texts are gone
    assert manifest["source_files"]["files"]["log.pdf"]["mtime_ns"] == 10**18

    reads.clear()
    _build(folder, hash_settings)
    assert reads == []


def test_a_stored_text_that_was_damaged_is_read_from_its_file_again(tmp_path: Path, hash_settings: Settings,
                                                                     reads: list[str]) -> None:
    folder = tmp_path / "articles"
    _write_folder(folder)
    first = _build(folder, hash_settings)
    before = data_files(first.path)
    manifest = json.loads((first.path / "manifest.json").read_text(encoding="utf-8"))
    text = next(d["text"] for d in manifest["documents"].values() if d["file"] == "quarry.md")
    (hash_settings.paths.index / text).write_text("not what was read\n", encoding="utf-8")
    reads.clear()
    again = _build(folder, hash_settings)
    assert reads == ["quarry.md"]
    assert data_files(again.path) == before
    assert (hash_settings.paths.index / text).read_text(encoding="utf-8").startswith("Quarry reopens")


def test_only_texts_citebot_wrote_are_removed(tmp_path: Path, hash_settings: Settings) -> None:
    folder = tmp_path / "articles"
    _write_folder(folder)
    _build(folder, hash_settings)
    mine = hash_settings.paths.index / "texts" / "notes.txt"
    mine.write_text("the user's own file\n", encoding="utf-8")
    (folder / "quarry.md").unlink()
    _build(folder, hash_settings)
    assert mine.read_text(encoding="utf-8") == "the user's own file\n"


def test_eval_cleans_the_articles_without_extracting_a_file(tmp_path: Path, hash_settings: Settings,
                                                            reads: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from citebot.retrieval.engine import Engine
    from citebot.retrieval.evaluation.golden import dropped_lines, name_of

    folder = tmp_path / "articles"
    _write_folder(folder)
    _build(folder, hash_settings)
    reads.clear()
    engine = Engine(hash_settings)
    found = dropped_lines(engine)
    assert reads == []
    articles = corpus.read_corpus(folder, hash_settings.ingest).articles
    expected = [(name_of(a.source, a.document), p.start, p.end) for a in articles for p in a.paragraphs if p.dropped]
    assert found == expected and reads  # what reading every file again finds
