from __future__ import annotations

from dataclasses import replace

from citebot.config.settings import Settings
from citebot.index.chunking import Chunker, sentence_spans
from citebot.index.ingest.corpus import clean_article, read_corpus
from citebot.index.tokens import count_tokens
from tests.conftest import SEEDS


def _article(text: str, settings: Settings):
    return clean_article("t.txt", text, "f" * 64, settings.ingest)


def test_sentence_spans_respect_abbreviations_and_quotes() -> None:
    text = 'Mr Smith met Dr. Jones at 3.30pm. "It went well," he said. Then U.S. officials left! Done'
    sentences = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
    assert sentences == ['Mr Smith met Dr. Jones at 3.30pm.', '"It went well," he said.',
                         "Then U.S. officials left!", "Done"]


def test_every_seed_chunk_is_a_verbatim_span_within_budget(hash_settings: Settings) -> None:
    chunker = Chunker(hash_settings.chunking, count_tokens)
    corpus = read_corpus(SEEDS, hash_settings.ingest)
    for article in corpus.articles:
        chunks = chunker.chunk_article(article)
        assert chunks
        with open(SEEDS / article.source, encoding="utf-8") as handle:
            file_text = handle.read()
        kept = [p for p in article.paragraphs if not p.dropped]
        for chunk in chunks:
            assert file_text[chunk.start:chunk.end] == chunk.text
            assert count_tokens(chunk.text) <= hash_settings.chunking.max_tokens
            assert chunk.text == chunk.text.strip()
            # No chunk spans a dropped line, and every kept paragraph is covered.
            for p in article.paragraphs:
                if p.dropped:
                    assert p.end <= chunk.start or p.start >= chunk.end
        for p in kept:
            assert any(c.start <= p.start and p.end <= c.end or c.start < p.end and p.start < c.end for c in chunks)


def test_consecutive_chunks_overlap_by_whole_sentences(hash_settings: Settings) -> None:
    sentences = [f"Sentence number {i} says something about topic {i}." for i in range(40)]
    article = _article("Title line\n\n" + " ".join(sentences) + "\n", hash_settings)
    chunks = Chunker(hash_settings.chunking, count_tokens).chunk_article(article)
    assert len(chunks) > 2
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.start < before.end, "expected overlap"
        assert after.text.startswith("Sentence number")  # starts on a sentence boundary
        assert count_tokens(article.text[after.start:before.end]) <= hash_settings.chunking.overlap_tokens


def test_a_sentence_longer_than_the_budget_is_cut_at_words(hash_settings: Settings) -> None:
    long_sentence = " ".join(f"word{i}" for i in range(600)) + "."
    article = _article("Title line\n\n" + long_sentence + "\n", hash_settings)
    chunks = Chunker(hash_settings.chunking, count_tokens).chunk_article(article)
    assert len(chunks) > 3
    for chunk in chunks:
        assert count_tokens(chunk.text) <= hash_settings.chunking.max_tokens
        assert article.text[chunk.start:chunk.end] == chunk.text
        assert not article.text[chunk.end:chunk.end + 1].isalnum()  # never mid-word


def test_the_model_limit_splits_further(hash_settings: Settings) -> None:
    # A model that counts one token per character: its limit binds long before tiktoken's budget.
    settings = replace(hash_settings.chunking, max_tokens=500, model_max_tokens=120)
    chunker = Chunker(settings, count_tokens, count_model_tokens=len)
    text = "Intro title\n\n" + " ".join(f"Fact {i} is stated plainly here." for i in range(30)) + "\n"
    chunks = chunker.chunk_article(_article(text, hash_settings))
    assert len(chunks) > 5 and all(len(c.text) <= 120 for c in chunks)
