"""Incremental builds: only new texts are embedded, and the result is the full build's, file for file."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from citebot.config.settings import Settings
from citebot.index.build import build_index
from citebot.index.embedding import make_embedder
from citebot.index.embedding.hashed import HashEmbedder
from citebot.index.lexical import ARTICLE_TERMS, LEXICAL_FILES
from citebot.index.store.faiss import layout, writer
from citebot.index.store.faiss.load import load_index
from citebot.index.store.faiss.ownership import mark_build
from tests.conftest import SEEDS

NEW_ARTICLE = ("Otters return to the River Thames\n\n"
               "Otters have been seen breeding in the River Thames near Oxford for the first time in forty years.\n"
               "Volunteers from the Thames Otter Survey counted eleven cubs along a stretch of the river in June.\n")


class CountingEmbedder(HashEmbedder):
    """The hash embedder, remembering every text it was asked to embed."""

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.fail_after = fail_after

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        if self.fail_after is not None and len(self.texts) + len(texts) > self.fail_after:
            raise OSError("killed mid-build")
        self.texts.extend(texts)
        return super().encode(texts)


def data_files(build: Path, root: Path | None = None) -> dict[str, bytes]:
    """Every data file of a build; with root, chunk sources made relative to it so two folders compare."""
    files = {name: (build / name).read_bytes() for name in layout.DATA_FILES + LEXICAL_FILES + (ARTICLE_TERMS,)}
    if root is not None:
        chunks = [json.loads(line) for line in files[layout.CHUNKS].decode().splitlines()]
        for chunk in chunks:  # sources stored absolute or already relative to the root: compare relative
            if Path(chunk["source"]).is_absolute():
                chunk["source"] = str(Path(chunk["source"]).relative_to(root))
        files[layout.CHUNKS] = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in chunks).encode()
    return files


def test_an_unchanged_folder_embeds_nothing_and_writes_the_same_files(hash_settings: Settings,
                                                                       seeds_copy: Path) -> None:
    first = build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder())
    assert first.reused == 0 and first.embedded > first.chunks
    before = data_files(first.path)
    embedder = CountingEmbedder()
    again = build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=embedder)
    assert embedder.texts == [] and again.embedded == 0 and again.reused == first.embedded
    assert again.path != first.path and not first.path.exists()
    assert data_files(again.path) == before
    manifest = json.loads((again.path / layout.MANIFEST).read_text())
    assert manifest["vectors"]["embedded"] == 0 and manifest["vectors"]["reused"] == first.embedded


def test_added_edited_and_deleted_articles_equal_a_full_build(hash_settings: Settings, seeds_copy: Path,
                                                               tmp_path: Path) -> None:
    build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder())
    first, second, third = sorted(seeds_copy.glob("*.txt"))[:3]
    (seeds_copy / "zz_otters.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    edited = "Councillors were told of the plan on Monday evening.\n" + first.read_text(encoding="utf-8")
    first.write_text(edited, encoding="utf-8")
    second.unlink()
    embedder = CountingEmbedder()
    report = build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=embedder)
    assert report.reused > 0 and report.embedded == len(embedder.texts) > 0
    assert all(text in NEW_ARTICLE or text in edited for text in embedder.texts)  # only what changed
    assert any("Councillors" in text for text in embedder.texts)
    assert sum(text in third.read_text(encoding="utf-8") and text not in edited
               for text in embedder.texts) == 0

    full_dir = tmp_path / "full-index"
    full = build_index(seeds_copy, full_dir, hash_settings, embedder=CountingEmbedder(), full=True)
    assert full.reused == 0 and full.chunks == report.chunks
    assert data_files(report.path) == data_files(full.path)
    stored = load_index(hash_settings.paths.index, model_name="hash", weights_sha256="none", dimension=1024)
    assert all(c.source != str(second) for c in stored.chunks)
    assert any("Otters" in c.text for c in stored.chunks)


def test_full_embeds_everything_and_gives_the_same_files(hash_settings: Settings, seeds_copy: Path) -> None:
    first = build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder())
    before = data_files(first.path)
    embedder = CountingEmbedder()
    full = build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=embedder, full=True)
    assert full.reused == 0 and len(embedder.texts) == full.embedded == first.embedded
    assert data_files(full.path) == before


def test_a_build_killed_while_embedding_leaves_the_old_index_and_the_next_one_succeeds(
        hash_settings: Settings, seeds_copy: Path) -> None:
    first = build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder())
    (seeds_copy / "zz_otters.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    with pytest.raises(OSError, match="killed"):
        build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder(fail_after=0))
    assert (hash_settings.paths.index / "current").resolve() == first.path
    assert load_index(hash_settings.paths.index, model_name="hash", weights_sha256="none", dimension=1024)
    # A partial folder left by a SIGKILL is no obstacle either.
    (hash_settings.paths.index / ".build-killed.partial").mkdir()
    mark_build(hash_settings.paths.index / ".build-killed.partial", "killed")  # what a killed build's holds
    embedder = CountingEmbedder()
    report = build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=embedder)
    assert report.reused == first.embedded and all(text in NEW_ARTICLE for text in embedder.texts)
    # What stays: the new build, the link and the build lock's file.
    assert sorted(p.name for p in hash_settings.paths.index.iterdir()) == sorted([".lock", "current",
                                                                                   report.path.name])


def test_a_damaged_current_build_is_not_reused(hash_settings: Settings, seeds_copy: Path, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    first = build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder())
    with open(first.path / layout.SENTENCE_VECTORS, "r+b") as handle:
        handle.seek(200)
        handle.write(b"\x7f" * 16)
    with caplog.at_level(logging.WARNING):
        report = build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder())
    assert report.reused == 0 and "not reusing" in caplog.text
    full = build_index(seeds_copy, tmp_path / "full", hash_settings, embedder=CountingEmbedder(), full=True)
    assert data_files(report.path) == data_files(full.path)


def test_damaged_saved_terms_are_made_again_and_the_build_equals_a_full_one(
        hash_settings: Settings, seeds_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder())
    path = first.path / ARTICLE_TERMS
    # Still valid JSON with a key: only the manifest's hash tells that a term was slipped in.
    path.write_text(path.read_text(encoding="utf-8").replace('"terms": [["', '"terms": [["zzmark", "', 1),
                    encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        report = build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder())
    assert "not reusing the current build's BM25 terms" in caplog.text and report.embedded == 0
    full = build_index(seeds_copy, tmp_path / "full", hash_settings, embedder=CountingEmbedder(), full=True)
    assert data_files(report.path) == data_files(full.path)


def test_other_embedding_settings_are_not_reused(hash_settings: Settings, seeds_copy: Path) -> None:
    from dataclasses import replace

    build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder())
    other = replace(hash_settings, embedding=replace(hash_settings.embedding, title_in_vectors=True))
    embedder = CountingEmbedder()
    report = build_index(seeds_copy, other.paths.index, other, embedder=embedder)
    # Passages carry their title now and are embedded again; sentences (one line each) are reused.
    assert report.embedded > 0 and report.reused > 0
    assert all("\n" in text for text in embedder.texts)


@pytest.fixture
def chunked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources of the articles the chunker is asked to cut, in order."""
    from citebot.index.chunking import Chunker

    seen: list[str] = []
    original = Chunker.chunk_article

    def recording(self: Chunker, article):  # type: ignore[no-untyped-def]
        seen.append(article.source)
        return original(self, article)

    monkeypatch.setattr(Chunker, "chunk_article", recording)
    return seen


def test_only_new_and_edited_articles_are_chunked_again(hash_settings: Settings, seeds_copy: Path,
                                                         chunked: list[str], tmp_path: Path) -> None:
    first = build_index(seeds_copy, hash_settings.paths.index, hash_settings)
    assert first.rechunked == len(chunked) == 3
    chunked.clear()
    again = build_index(seeds_copy, hash_settings.paths.index, hash_settings)
    assert chunked == [] and again.rechunked == 0 and again.chunks == first.chunks
    edited = sorted(seeds_copy.glob("*.txt"))[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "\nA closing line added on Tuesday.\n", encoding="utf-8")
    (seeds_copy / "zz_otters.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    report = build_index(seeds_copy, hash_settings.paths.index, hash_settings)
    assert sorted(chunked) == sorted([edited.name, "zz_otters.txt"]) and report.rechunked == 2
    full = build_index(seeds_copy, tmp_path / "full", hash_settings, full=True)
    assert data_files(report.path) == data_files(full.path)
    assert (report.path / layout.ARTICLES).read_bytes() == (full.path / layout.ARTICLES).read_bytes()


def test_other_chunk_settings_or_a_damaged_article_list_chunk_everything(
        hash_settings: Settings, seeds_copy: Path, chunked: list[str], caplog: pytest.LogCaptureFixture) -> None:
    from dataclasses import replace

    first = build_index(seeds_copy, hash_settings.paths.index, hash_settings)
    smaller = replace(hash_settings, chunking=replace(hash_settings.chunking, max_tokens=64))
    chunked.clear()
    report = build_index(seeds_copy, hash_settings.paths.index, smaller)
    assert report.rechunked == 3 and report.chunks > first.chunks
    before = data_files(report.path)
    with open(report.path / layout.ARTICLES, "a", encoding="utf-8") as handle:
        handle.write('{"source": "x.txt", "key": "0", "chunks": 1}\n')
    with caplog.at_level(logging.WARNING):
        again = build_index(seeds_copy, hash_settings.paths.index, smaller)
    assert again.rechunked == 3 and "not reusing the current build's chunks" in caplog.text
    assert data_files(again.path) == before


def test_the_vector_files_are_what_faiss_writes(tmp_path: Path) -> None:
    import faiss

    vectors = np.random.default_rng(0).standard_normal((7, 12)).astype(np.float32)
    out = writer.VectorFile(tmp_path / "v.faiss", 12)
    for row in (3, 0, 6, 1, 5, 2, 4):
        out.write(row, vectors[row])
    out.finish(7)
    flat = faiss.IndexFlatIP(12)
    flat.add(vectors)
    faiss.write_index(flat, str(tmp_path / "ref.faiss"))
    assert (tmp_path / "v.faiss").read_bytes() == (tmp_path / "ref.faiss").read_bytes()


@pytest.mark.model
def test_real_model_incremental_equals_full_bit_for_bit(real_engine, real_settings: Settings,
                                                        tmp_path: Path) -> None:
    """Seeds minus one article built in full, then the article added: every file as the full build of the seeds."""
    sources = tmp_path / "seeds"
    shutil.copytree(SEEDS, sources)
    held_back = sorted(sources.glob("*.txt"))[1]
    text = held_back.read_text(encoding="utf-8")
    held_back.unlink()
    index_dir = tmp_path / "index"
    embedder = make_embedder(real_settings.embedding)
    build_index(sources, index_dir, real_settings, embedder=embedder, full=True)
    held_back.write_text(text, encoding="utf-8")
    report = build_index(sources, index_dir, real_settings, embedder=embedder)
    assert report.reused > 0 and report.embedded > 0
    full = real_engine.stored.path  # the seeds built in full, once per session
    assert data_files(report.path, sources) == data_files(full, SEEDS)


def test_the_command_line_says_what_was_reused_and_full_embeds_all(capsys, hash_config: Path,
                                                                    seeds_copy: Path) -> None:
    from tests.test_cli import run

    def build(*flags: str) -> str:
        code, _, err = run(capsys, "index", "build", "--config", str(hash_config), "--sources", str(seeds_copy),
                           *flags)
        assert code == 0, err
        return err.strip().splitlines()[-1]

    first = build()
    embedded = int(first.split(" texts embedded")[0].rsplit(" ", 1)[1])
    assert embedded > 0 and ", 0 reused" in first
    assert f"; 0 texts embedded, {embedded} reused" in build()
    assert f"; {embedded} texts embedded, 0 reused" in build("--full")
    code, out, _ = run(capsys, "index", "status", "--config", str(hash_config))
    assert code == 0 and f"vectors    {embedded} texts embedded, 0 reused" in out
    tokens = int(out.split(" tokens through the model")[0].rsplit(" ", 1)[1])
    assert tokens > embedded  # every text is at least one token, special tokens included
