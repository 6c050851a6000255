from __future__ import annotations

import logging
from pathlib import Path

import pytest

from citebot.config.errors import SourcesError
from citebot.config.settings import Settings
from citebot.index.ingest.corpus import clean_article, learn_corpus_boilerplate, read_corpus
from tests.conftest import SEEDS


def _dropped(article) -> list[str]:
    return [article.text[p.start:p.end] for p in article.paragraphs if p.dropped]


def _kept(article) -> list[str]:
    return [article.text[p.start:p.end] for p in article.paragraphs if not p.dropped]


def test_seeds_titles_and_boilerplate(hash_settings: Settings) -> None:
    corpus = read_corpus(SEEDS, hash_settings.ingest)
    by_name = {Path(a.source).name[:3]: a for a in corpus.articles}
    assert by_name["000"].title is None  # its first line is a sentence, not a headline
    assert by_name["001"].title == "Jeremy Corbyn faces a no confidence motion from Jewish Labour Movement"
    assert by_name["002"].title == "Labour leader Jeremy Corbyn told to disown anti-Semitic supporters"

    dropped_002 = _dropped(by_name["002"])
    assert len(dropped_002) == 4 and all("privacy settings" in d or "click here" in d for d in dropped_002)
    assert not any("privacy settings" in k or "click here" in k for k in _kept(by_name["002"]))

    kept_001 = _kept(by_name["001"])
    assert "Read more at DailyMail.co.uk" in _dropped(by_name["001"])
    # Each doubled caption survives exactly once, whatever its quote marks.
    for caption in ("national secretary Peter Mason said he would be voting against",
                    "Jewish MP Luciana Berger received death threats",
                    "People with placards and Union flags"):
        assert sum(caption in k for k in kept_001) == 1, caption
    # Real reporting is never dropped.
    assert any("Margaret Hodge, the Labour MP for Barking" in k for k in kept_001)
    assert not _dropped(by_name["000"])


def test_rules_generalise_beyond_the_seed_strings(hash_settings: Settings) -> None:
    text = ("Ministers met on Tuesday.\n\nSubscribe to our daily newsletter\n\nThey agreed a plan.\n"
            "Follow us on Twitter for updates\n\nThey agreed a plan.\n\nFind out more: www.example.org/news\n")
    article = clean_article("x.txt", text, "0" * 64, hash_settings.ingest)
    # The repeated line is kept once: the first time it is news, the second time it is noise.
    assert _kept(article) == ["Ministers met on Tuesday.", "They agreed a plan."]


def test_lines_repeated_across_many_files_are_learned(hash_settings: Settings) -> None:
    footer = "All rights reserved by the Gazette group"
    texts = [f"Story number {i} happened today.\n\n{footer}\n" for i in range(6)]
    learned = learn_corpus_boilerplate(texts, hash_settings.ingest)
    article = clean_article("a.txt", texts[0], "0" * 64, hash_settings.ingest, learned)
    assert _kept(article) == ["Story number 0 happened today."]
    # A quote shared by two of six files is reporting, not furniture.
    assert not learn_corpus_boilerplate(["Same quote here.\n", "Same quote here.\n", "a\n", "b\n", "c\n", "d\n"],
                                        hash_settings.ingest)


def test_unreadable_files_are_skipped_with_a_warning(tmp_path: Path, hash_settings: Settings,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "good.txt").write_text("Headline here\n\nA body sentence.\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\x00\x01\x02")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 society".encode("latin-1"))
    with caplog.at_level(logging.INFO):  # INFO: a command lists the skipped files once, at its end
        corpus = read_corpus(tmp_path, hash_settings.ingest)
    assert [Path(a.source).name for a in corpus.articles] == ["good.txt"]
    reasons = {Path(s.path).name: s.reason for s in corpus.skipped}
    assert set(reasons) == {"empty.txt", "binary.txt", "latin1.txt"}
    assert "not UTF-8" in reasons["latin1.txt"] and "binary" in reasons["binary.txt"]
    assert all(name in caplog.text for name in reasons)


def test_no_readable_article_is_a_clear_error(tmp_path: Path, hash_settings: Settings) -> None:
    with pytest.raises(SourcesError, match="nothing to index"):
        read_corpus(tmp_path, hash_settings.ingest)
    with pytest.raises(SourcesError, match="not found"):
        read_corpus(tmp_path / "missing", hash_settings.ingest)


def test_crlf_files_keep_reader_offsets(tmp_path: Path, hash_settings: Settings) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"A headline\r\n\r\nFirst paragraph here.\r\n\r\nSecond one.\r\n")
    article = read_corpus(tmp_path, hash_settings.ingest).articles[0]
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == article.text
    assert _kept(article) == ["First paragraph here.", "Second one."]
