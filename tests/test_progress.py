"""The build's one progress bar: texts run through the model, texts per second, time left, article i/N."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from citebot.config.settings import Settings
from citebot.index import build
from citebot.index.build import build_index, build_store
from citebot.index.embedding.hashed import HashEmbedder
from citebot.index.progress import EmbeddingProgress, prior_texts_per_character
from tests.conftest import SEEDS
from tests.test_incremental import NEW_ARTICLE, CountingEmbedder


def _build(sources: Path, settings: Settings, embedder: HashEmbedder | None = None, **options: bool):
    return build_index(sources, settings.paths.index, settings, embedder=embedder or HashEmbedder(), progress=True,
                       **options)


def test_one_bar_counts_the_texts_embedded_to_their_total(hash_settings: Settings, seeds_copy: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    report = _build(seeds_copy, hash_settings)
    err = capsys.readouterr().err
    assert err.count("Embedding: 100%") >= 1 and f"{report.embedded}/{report.embedded}" in err
    assert "text/s" in err and "article 3/3" in err
    assert "articles" not in err and "waiting" not in err  # no bar over articles, no second bar

    again = _build(seeds_copy, hash_settings)  # unchanged: nothing to embed, the bar shows 0
    err = capsys.readouterr().err
    assert again.embedded == 0 and "Embedding: 0text" in err and "article 3/3" in err

    (seeds_copy / "zz_otters.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    added = _build(seeds_copy, hash_settings)  # only the new article's texts are work
    err = capsys.readouterr().err
    assert 0 < added.embedded < report.embedded and f"{added.embedded}/{added.embedded}" in err
    assert "article 4/4" in err

    _build(seeds_copy, hash_settings, full=True)
    assert f"{report.embedded + added.embedded}/{report.embedded + added.embedded}" in capsys.readouterr().err


def test_no_progress_prints_nothing(hash_settings: Settings, seeds_copy: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=HashEmbedder(), progress=False)
    assert capsys.readouterr().err == ""


class RecordingProgress(EmbeddingProgress):
    """The bar, keeping its total after each article and the texts embedded then."""

    made: list[RecordingProgress] = []

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.first_total = self.total
        self.after_articles: list[tuple[int, int]] = []
        RecordingProgress.made.append(self)

    def article_done(self, queued: int) -> None:
        super().article_done(queued)
        self.after_articles.append((self.total, self.texts))


def test_the_total_is_estimated_as_articles_are_chunked_and_exact_at_the_end(
        hash_settings: Settings, seeds_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = replace(hash_settings, embedding=replace(hash_settings.embedding, batch_size=1))  # embeds at once
    monkeypatch.setattr(build, "EmbeddingProgress", RecordingProgress)
    RecordingProgress.made.clear()
    embedder = CountingEmbedder()
    report = build_index(seeds_copy, settings.paths.index, settings, embedder=embedder)  # progress=False too
    bar, = RecordingProgress.made
    size = sum(path.stat().st_size for path in seeds_copy.iterdir())
    assert bar.first_total == round(prior_texts_per_character(settings.chunking) * size)
    totals = [total for total, _ in bar.after_articles]
    assert len(totals) == 3 and totals[-1] == report.embedded  # exact once the last article is queued
    assert totals[0] != bar.first_total  # the first article's texts replaced the prior
    assert 0 < bar.after_articles[0][1] < report.embedded  # texts run through the model before the end
    assert bar.total == bar.texts == report.embedded == len(embedder.texts)

    manifest = json.loads((report.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vectors"]["tokens"] == sum(embedder.count_tokens(text) for text in embedder.texts) > 0

    RecordingProgress.made.clear()
    (seeds_copy / "zz_otters.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    added = build_index(seeds_copy, settings.paths.index, settings, embedder=CountingEmbedder())
    bar, = RecordingProgress.made
    # the reused articles queue nothing, so the estimate falls to 0 until the new one's texts are queued
    assert [total for total, _ in bar.after_articles] == [0, 0, 0, added.embedded]
    manifest = json.loads((added.path / "manifest.json").read_text(encoding="utf-8"))
    assert 0 < manifest["vectors"]["tokens"] < sum(embedder.count_tokens(text) for text in embedder.texts)


def test_the_estimate_uses_the_texts_per_article_so_far(capsys: pytest.CaptureFixture[str]) -> None:
    bar = EmbeddingProgress(4, prior_per_article=10.0, enabled=True)
    assert bar.total == 40
    bar.article_done(50)  # 50 texts of the first article: 150 expected of the other 3
    assert bar.total == 50 + 150
    bar.embedded(32)
    bar.article_done(50)  # chunks of the last build: nothing queued, the rate halves
    assert bar.total == 50 + 50
    bar.article_done(80)
    assert bar.total == 80 + 27
    bar.article_done(80)
    assert bar.total == 80
    bar.embedded(48)
    bar.close()
    bar.close()  # a build's finally closes it again: nothing more
    err = capsys.readouterr().err
    assert "80/80" in err and "article 4/4" in err


def test_the_milvus_store_shows_the_same_bar(tmp_path: Path, milvus_available: bool,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    if not milvus_available:
        pytest.skip("MILVUS TESTS SKIPPED: pymilvus / milvus-lite are not installed (pip install -e \".[milvus]\")")
    from tests.test_store_conformance import store_settings

    settings = store_settings(tmp_path, "milvus")
    report = build_store(SEEDS, settings, embedder=HashEmbedder(), progress=True)
    assert f"{report.embedded}/{report.embedded}" in capsys.readouterr().err
    again = build_store(SEEDS, settings, embedder=HashEmbedder(), progress=True)
    assert again.embedded == 0 and "Embedding: 0text" in capsys.readouterr().err
