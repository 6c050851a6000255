"""The build's one progress bar: tokens run through the model against a total fixed from the scan, time left."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from citebot.config.settings import Settings
from citebot.index import build
from citebot.index.build import build_index, build_store
from citebot.index.embedding.hashed import HashEmbedder
from citebot.index.ingest.corpus import read_corpus
from citebot.index.progress import EmbeddingProgress, expected_tokens
from tests.conftest import SEEDS
from tests.test_formats_index import _write_folder
from tests.test_incremental import NEW_ARTICLE, CountingEmbedder


def _build(sources: Path, settings: Settings, embedder: HashEmbedder | None = None, **options: bool):
    return build_index(sources, settings.paths.index, settings, embedder=embedder or HashEmbedder(), progress=True,
                       **options)


def test_one_bar_counts_the_tokens_embedded_to_their_total(hash_settings: Settings, seeds_copy: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    _build(seeds_copy, hash_settings)
    err = capsys.readouterr().err
    assert err.count("Embedding: 100%") >= 1 and "token/s" in err and "article 3/3" in err
    assert "articles" not in err and "waiting" not in err  # no bar over articles, no second bar

    again = _build(seeds_copy, hash_settings)  # unchanged: nothing to embed, the bar's total is 0
    err = capsys.readouterr().err
    assert again.embedded == 0 and "0.00/0.00" in err and "0:00 left, article 3/3" in err


def test_no_progress_prints_nothing(hash_settings: Settings, seeds_copy: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=HashEmbedder(), progress=False)
    assert capsys.readouterr().err == ""


class RecordingProgress(EmbeddingProgress):
    """The bar, keeping its total whenever texts are embedded or an article is queued."""

    made: list[RecordingProgress] = []

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.totals = [self.total]
        RecordingProgress.made.append(self)

    def embedded(self, texts: int, tokens: int, seconds: float = 0.0) -> None:
        super().embedded(texts, tokens, seconds)
        self.totals.append(self.bar.total)

    def article_done(self, characters: int = 0) -> None:
        super().article_done(characters)
        self.totals.append(self.bar.total)


def _characters(folder: Path, settings: Settings) -> int:
    return sum(len(article.text) for article in read_corpus(folder, settings.ingest).articles)


def test_the_total_is_fixed_from_the_scan_on_a_mixed_folder(hash_settings: Settings, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    settings = replace(hash_settings, embedding=replace(hash_settings.embedding, batch_size=1))  # embeds at once
    monkeypatch.setattr(build, "EmbeddingProgress", RecordingProgress)
    folder = tmp_path / "articles"
    _write_folder(folder)
    RecordingProgress.made.clear()
    embedder = CountingEmbedder()
    report = build_index(folder, settings.paths.index, settings, embedder=embedder)  # progress=False too
    bar, = RecordingProgress.made
    total = expected_tokens(_characters(folder, settings), settings.chunking)
    assert total > 0 and set(bar.totals) == {total}  # known before the first article, never changed
    assert bar.chunked == bar.characters == _characters(folder, settings) and bar.model_seconds > 0
    assert bar.texts == report.embedded == len(embedder.texts)
    manifest = json.loads((report.path / "manifest.json").read_text(encoding="utf-8"))
    assert bar.tokens == manifest["vectors"]["tokens"] == sum(embedder.count_tokens(t) for t in embedder.texts)

    # Only the new file's characters are work; an unchanged folder's total is 0.
    (folder / "zz_otters.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    RecordingProgress.made.clear()
    build_index(folder, settings.paths.index, settings, embedder=CountingEmbedder())
    assert set(RecordingProgress.made[0].totals) == {expected_tokens(len(NEW_ARTICLE), settings.chunking)}
    RecordingProgress.made.clear()
    build_index(folder, settings.paths.index, settings, embedder=CountingEmbedder())
    assert set(RecordingProgress.made[0].totals) == {0}


def test_the_time_left_adds_the_chunking_and_the_model_each_at_its_own_rate() -> None:
    bar = EmbeddingProgress(1000, 100, 2, enabled=False)
    assert bar.seconds_left() is None  # the model has not run yet
    began = bar._began
    bar.article_done(50)  # half the new characters chunked ...
    bar.embedded(31, 200, seconds=10.0)  # ... a fifth of the tokens embedded, in 10 s of the model
    # 30 s in: 20 s outside the model for half the characters (20 s more), 10 s per 200 tokens (40 s for 800)
    assert bar.seconds_left(began + 30.0) == pytest.approx(20.0 + 40.0)
    bar.article_done(50)
    assert bar.seconds_left(began + 30.0) == pytest.approx(40.0)  # all chunked: only the model's part is left


def test_the_bar_stops_short_of_a_low_estimate_and_ends_full(capsys: pytest.CaptureFixture[str]) -> None:
    bar = EmbeddingProgress(1000, 10, 2, enabled=True)
    bar.embedded(32, 600, 1.0)
    bar.article_done(5)
    bar.embedded(32, 600, 1.0)  # more than the estimate: held at 999
    assert bar.bar.n == 999 and bar.tokens == 1200 and bar.total == 1000
    bar.article_done(5)
    bar.close()
    bar.close()  # a build's finally closes it again: nothing more
    err = capsys.readouterr().err
    assert "1.00k/1.00k" in err and "article 2/2" in err


def test_the_milvus_store_shows_the_same_bar(tmp_path: Path, milvus_available: bool,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    if not milvus_available:
        pytest.skip("MILVUS TESTS SKIPPED: pymilvus / milvus-lite are not installed (pip install -e \".[milvus]\")")
    from tests.test_store_conformance import store_settings

    settings = store_settings(tmp_path, "milvus")
    build_store(SEEDS, settings, embedder=HashEmbedder(), progress=True)
    assert "Embedding: 100%" in capsys.readouterr().err
    again = build_store(SEEDS, settings, embedder=HashEmbedder(), progress=True)
    assert again.embedded == 0 and "0.00/0.00" in capsys.readouterr().err
