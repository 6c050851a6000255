"""A build killed at any point is resumed by the next: the vectors it computed are in the folder's journal
(index/vector_journal.py), used by key, and the index made is the uninterrupted build's, file for file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from citebot.bot.cli.status import gather_status, render_status
from citebot.config.settings import PROJECT_ROOT, Settings, load_settings
from citebot.index.build import build_index
from citebot.index.embedding import make_embedder
from citebot.index.embedding.protocol import Embedder
from citebot.index.incremental import key_prefix
from citebot.index.store.faiss import lock
from citebot.index.store.faiss.layout import LOCK
from citebot.index.vector_journal import HEADER_BYTES, VectorJournal, journal_path
from tests.conftest import killed_after, write_config
from tests.test_incremental import CountingEmbedder, data_files

CLI = [sys.executable, "-m", "citebot.bot.cli"]
ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}


def generated_folder(folder: Path, articles: int) -> Path:
    """articles generated news-like articles (benchmarks/performance/build_memory.py's, seeded): distinct texts."""
    from benchmarks.performance.build_memory import Generator

    folder.mkdir()
    generator = Generator()
    for number in range(articles):
        (folder / f"{number:04d}.txt").write_text(generator.article(number), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def articles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 generated articles (about 600 distinct texts), shared: a build only reads them."""
    return generated_folder(tmp_path_factory.mktemp("generated") / "articles", 30)


def the_journal(settings: Settings, index: Path, embedder: Embedder | None = None) -> Path:
    """The journal of builds by embedder (default: the configured one, as the command line makes it)."""
    embedder = embedder or make_embedder(settings.embedding)
    return journal_path(index, key_prefix(embedder, settings.embedding))


def records(settings: Settings, index: Path, embedder: Embedder | None = None) -> int:
    path = the_journal(settings, index, embedder)
    record = 32 + 4 + 4 * (embedder or make_embedder(settings.embedding)).dimension + 8
    return max(0, path.stat().st_size - HEADER_BYTES) // record if path.exists() else 0


def test_a_build_killed_with_sigkill_is_resumed_and_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    sources = generated_folder(tmp_path / "articles", 150)
    config = write_config(tmp_path, sources=str(sources))
    settings = load_settings(config)
    index = settings.paths.index
    build = subprocess.Popen([*CLI, "index", "build", "--config", str(config)], env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while records(settings, index) < 300:  # well into the embedding: the journal holds a few batches
        assert build.poll() is None, build.stderr.read().decode()[-2000:] if build.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.005)
    build.send_signal(signal.SIGKILL)
    build.wait()
    assert not (index / "current").exists() and not lock.build_running(index)
    kept = records(settings, index)
    again = subprocess.run([*CLI, "index", "build", "--config", str(config)], env=ENV, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"resuming: {kept:,} texts embedded by an interrupted build are reused" in again.stderr
    said = re.search(r"; (\d+) texts embedded, 0 reused, (\d+) resumed from an interrupted build", again.stderr)
    assert said, again.stderr
    embedded, resumed = int(said[1]), int(said[2])
    assert 300 <= resumed <= kept  # a batch written as the kill came may hold a text the build no longer needs
    uninterrupted = build_index(sources, tmp_path / "whole", settings)  # the CLI's embedder: the same keys
    assert embedded + resumed == uninterrupted.embedded  # only the rest was embedded
    built = (index / "current").resolve()
    assert data_files(built) == data_files(uninterrupted.path)
    assert not the_journal(settings, index).exists()  # the build is in: the journal went with it


def _killed_build(settings: Settings, sources: Path, after: int) -> None:
    """A build that fails after the model has embedded `after` texts (as a kill would stop it)."""
    with pytest.raises(OSError, match="killed"):
        build_index(sources, settings.paths.index, settings, embedder=CountingEmbedder(fail_after=after))


def test_a_torn_journal_is_cut_at_its_last_whole_record(hash_settings: Settings, articles: Path,
                                                        tmp_path: Path) -> None:
    _killed_build(hash_settings, articles, 200)
    path = the_journal(hash_settings, hash_settings.paths.index, CountingEmbedder())
    written = records(hash_settings, hash_settings.paths.index, CountingEmbedder())
    record = (path.stat().st_size - HEADER_BYTES) // written
    assert written >= 150 and (path.stat().st_size - HEADER_BYTES) % record == 0
    with path.open("r+b") as handle:  # record 100 damaged (a lost page), then a record torn in the middle
        handle.seek(HEADER_BYTES + 100 * record + 50)
        handle.write(b"\xff\xfe")
        handle.seek(0, os.SEEK_END)
        handle.write(b"\x01" * (record // 2))
    embedder = CountingEmbedder()
    report = build_index(articles, hash_settings.paths.index, hash_settings, embedder=embedder)
    assert report.resumed == 100  # the records before the damaged one; the rest embedded again
    full = build_index(articles, tmp_path / "full", hash_settings, embedder=CountingEmbedder(), full=True)
    assert report.embedded + report.resumed == full.embedded == len(embedder.texts) + 100
    assert data_files(report.path) == data_files(full.path)


def test_a_journal_is_reopened_cut_and_appended_to(tmp_path: Path) -> None:
    prefix, rng = b"\x01" * 32, np.random.default_rng(1)
    vectors = rng.standard_normal((5, 8)).astype(np.float32)
    keys = [f"{i:064x}" for i in range(5)]
    journal = VectorJournal.open(tmp_path, prefix, 8)
    assert not journal.path.exists()  # made with its first record, not before
    journal.append(keys[:3], vectors[:3], 7)
    journal.close()
    with journal.path.open("ab") as handle:
        handle.write(b"torn")
    again = VectorJournal.open(tmp_path, prefix, 8)
    assert (again.found, again.found_tokens) == (3, 21)
    assert np.array_equal(again.vector(keys[2]), vectors[2]) and again.vector(keys[3]) is None
    again.append(keys[3:], vectors[3:], 9)
    again.close()
    third = VectorJournal.open(tmp_path, prefix, 8)
    assert third.found == 5 and all(np.array_equal(third.vector(k), v) for k, v in zip(keys, vectors, strict=True))
    third.close()
    other = VectorJournal.open(tmp_path, prefix, 16)  # the same name, another dimension: never read or written
    assert not other.usable and other.found == 0
    other.append(keys[:1], rng.standard_normal((1, 16)).astype(np.float32), 3)
    other.close()
    assert VectorJournal.open(tmp_path, prefix, 8).found == 5


def test_a_journal_of_other_settings_is_not_used_and_a_commit_removes_it(hash_settings: Settings,
                                                                         articles: Path, tmp_path: Path) -> None:
    _killed_build(hash_settings, articles, 200)
    index = hash_settings.paths.index
    first = the_journal(hash_settings, index, CountingEmbedder())
    other = load_settings(write_config(tmp_path, batch_size=16))  # another key prefix
    assert the_journal(other, index, CountingEmbedder()) != first and first.exists()
    report = build_index(articles, index, other, embedder=CountingEmbedder())
    assert report.resumed == 0 and report.reused == 0
    assert not first.exists() and sorted(p.name for p in index.iterdir()) == sorted([LOCK, "current",
                                                                                      report.path.name])


def test_the_journal_survives_the_leftover_cleanup_and_a_look_alike_is_left_alone(
        hash_settings: Settings, articles: Path) -> None:
    _killed_build(hash_settings, articles, 200)
    index = hash_settings.paths.index
    path = the_journal(hash_settings, index, CountingEmbedder())
    size = path.stat().st_size
    lock.remove_leftovers(index)
    assert path.stat().st_size == size and path not in [left.path for left in lock.leftovers(index)]
    look_alike = index / ".vectors-0123456789abcdef.journal"
    look_alike.write_text("the user's own file\n", encoding="utf-8")
    report = build_index(articles, index, hash_settings, embedder=CountingEmbedder())
    assert report.resumed > 0 and not path.exists()
    assert look_alike.read_text(encoding="utf-8") == "the user's own file\n"


def test_a_full_build_still_resumes_an_interrupted_build(hash_settings: Settings, articles: Path) -> None:
    build_index(articles, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder())
    with pytest.raises(OSError, match="killed"):
        build_index(articles, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder(fail_after=100),
                    full=True)
    status = gather_status(hash_settings)  # the leftover cleanup it runs keeps the journal, and shows it
    journal = the_journal(hash_settings, hash_settings.paths.index, CountingEmbedder())
    assert [j["path"] for j in status.to_json()["journals"]] == [journal.name]
    assert f"journal    {journal.name} (" in render_status(status) and journal.exists()
    report = build_index(articles, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder(),
                         full=True)
    assert report.reused == 0 and report.resumed >= 64  # the previous build ignored, the journal not
    assert "journals" not in gather_status(hash_settings).to_json()


@pytest.mark.model
def test_a_real_model_build_resumed_is_byte_identical(real_settings: Settings, tmp_path: Path) -> None:
    from citebot.index.embedding.onnx_runtime import OnnxEmbedder

    failing = OnnxEmbedder(real_settings.embedding)  # its own class: the same key prefix as the real build's
    killed_after(failing, 40)
    sources = tmp_path / "bbc"
    sources.mkdir()
    for path in sorted((PROJECT_ROOT / "seeds").glob("*.txt")):
        (sources / path.name).write_bytes(path.read_bytes())
    index = tmp_path / "index"
    with pytest.raises(OSError, match="killed"):
        build_index(sources, index, real_settings, embedder=failing)
    resumed = build_index(sources, index, real_settings)
    whole = build_index(sources, tmp_path / "whole", real_settings)
    assert resumed.resumed > 0 and resumed.embedded + resumed.resumed == whole.embedded
    assert data_files(resumed.path) == data_files(whole.path)


def test_a_milvus_build_resumes_from_its_staging_folder(tmp_path: Path, articles: Path,
                                                         milvus_available: bool) -> None:
    if not milvus_available:
        pytest.skip('MILVUS TESTS SKIPPED: pymilvus / milvus-lite are not installed (pip install -e ".[milvus]")')
    from citebot.index.build import build_store
    from citebot.index.store.milvus.location import MilvusLocation
    from tests.test_store_conformance import store_settings

    settings = store_settings(tmp_path, "milvus", articles)
    with pytest.raises(OSError, match="killed"):
        build_store(articles, settings, embedder=CountingEmbedder(fail_after=200))
    staging = MilvusLocation(settings).folder
    journal = the_journal(settings, staging, CountingEmbedder())
    kept = records(settings, staging, CountingEmbedder())
    assert journal.exists() and kept > 0
    report = build_store(articles, settings, embedder=CountingEmbedder())
    assert report.resumed == kept and report.reused == 0
    assert not journal.exists() and MilvusLocation(settings).current_name() is not None
