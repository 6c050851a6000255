"""A build's memory does not grow with the corpus: articles are read one at a time, BM25 is made out of memory,
the text -> row map is compact. Each gives what the in-memory way gave (figures: docs/performance.md)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from citebot.config.settings import Settings
from citebot.index.build import chunk_corpus
from citebot.index.chunking import chunk_sentences
from citebot.index.embedding.hashed import HashEmbedder
from citebot.index.incremental import RowMap
from citebot.index.ingest.corpus import read_corpus, scan_corpus
from citebot.index.lexical import BM25_FILES, WORDS, LexicalBuilder, LexicalRecipe, SpooledLexical, _SpooledTerms
from tests.conftest import SEEDS


def _article(number: int, extra: str = "") -> str:
    return f"Story {number}\n\nThe council met on Tuesday about item {number}.{extra}\n\nFiled by the night desk\n"


def test_a_build_reads_each_article_when_it_comes_to_it(tmp_path: Path, hash_settings: Settings) -> None:
    for number in range(4):
        (tmp_path / f"{number}.txt").write_text(_article(number), encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe")
    scan = scan_corpus(tmp_path, hash_settings.ingest)
    assert len(scan.articles) == 4 and [s.path for s in scan.skipped] == ["bad.txt"]
    assert scan.boilerplate == frozenset({"filed by the night desk"})  # in every file: counted across the corpus
    articles = iter(scan.articles)
    first = next(articles)
    assert first.source == "0.txt"
    (tmp_path / "3.txt").write_text(_article(3, " It was adjourned."), encoding="utf-8")  # not read yet
    rest = list(articles)
    assert rest[-1].text == _article(3, " It was adjourned.")
    assert rest[-1].fingerprint == hashlib.sha256(rest[-1].text.encode()).hexdigest()
    eager = read_corpus(tmp_path, hash_settings.ingest)  # read_corpus is the same articles, held
    assert [a.source for a in eager.articles] == ["0.txt", "1.txt", "2.txt", "3.txt"]
    assert eager.articles[0] == first and eager.skipped == scan.skipped


def test_bm25_made_out_of_memory_is_bm25s_to_the_byte(tmp_path: Path, hash_settings: Settings,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SpooledLexical, "BUCKET", 200)  # many buckets, many blocks
    monkeypatch.setattr(SpooledLexical, "BLOCK", 64)
    monkeypatch.setattr(_SpooledTerms, "BLOCK", 97)
    chunks, _, _ = chunk_corpus(SEEDS, hash_settings, HashEmbedder())
    recipe = LexicalRecipe.of(hash_settings.retrieval, False, hash_settings.lexical)
    builder = LexicalBuilder(recipe)
    for chunk in chunks:
        builder.add(chunk, chunk_sentences(chunk))
    builder.finish().save(tmp_path / "memory")
    spooled = builder.finish_on_disk()
    assert spooled.size == len(chunks)
    spooled.save(tmp_path / "disk")
    for name in (*BM25_FILES, WORDS):
        assert (tmp_path / "disk" / name).read_bytes() == (tmp_path / "memory" / name).read_bytes(), name


def test_the_row_map_finds_every_text_it_was_given(tmp_path: Path) -> None:
    rows = RowMap(capacity=8)
    outs = [tmp_path / "passages", tmp_path / "sentences"]  # any objects: the map only names them back
    keys = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(5000)]
    for i, key in enumerate(keys):
        rows.put(key, outs[i % 2], i)
        rows.put(key, outs[0], 10**9)  # a key already held keeps its first place
    assert len(rows) == 5000
    assert all(rows.get(key) == (outs[i % 2], i) for i, key in enumerate(keys))
    assert rows.get(hashlib.sha256(b"unseen").hexdigest()) is None
