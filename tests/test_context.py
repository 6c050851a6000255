"""Ranking context ([context], [lexical] context/title): what ranks a passage changes, what is quoted does not."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from index.build import build_index
from index.chunking import Chunk
from index.lexical import passage_text
from index.settings import ContextSettings, LexicalSettings, Settings
from index.store import SentenceRef
from retrieval import context as ctx
from retrieval.citations import quote_matches_source
from retrieval.engine import Engine
from tests.conftest import SEEDS

TEXT = "Title\n\nAcme Corp makes rockets. She said the shares fell. Profits rose 5%.\n\nThe firm hired Jo Bloggs."


def _chunks() -> tuple[list[Chunk], list[SentenceRef]]:
    """Two overlapping chunks of one article and one chunk of another; sentences as the index stores them."""
    def span(sentence: str) -> tuple[int, int]:
        start = TEXT.index(sentence)
        return start, start + len(sentence)

    s = [span(x) for x in ("Acme Corp makes rockets.", "She said the shares fell.", "Profits rose 5%.",
                           "The firm hired Jo Bloggs.")]
    a = Chunk("a1", "a.txt", "Title", s[0][0], s[2][1], TEXT[s[0][0]:s[2][1]], 1)
    b = Chunk("a2", "a.txt", "Title", s[1][0], s[3][1], TEXT[s[1][0]:s[3][1]], 1)
    c = Chunk("b1", "b.txt", "Other", 0, 5, "Hello", 1)
    refs = [SentenceRef(0, *s[0]), SentenceRef(0, *s[1]), SentenceRef(0, *s[2]),
            SentenceRef(1, *s[1]), SentenceRef(1, *s[2]), SentenceRef(1, *s[3]), SentenceRef(2, 0, 5)]
    return [a, b, c], refs


def test_article_order_joins_the_sentences_overlapping_chunks_repeat() -> None:
    chunks, refs = _chunks()
    order = ctx.article_sentences(chunks, refs)
    assert len(order.spans) == 5  # four distinct sentences of a.txt, one of b.txt
    # refs 1 and 3 are the same sentence ("She said ..."), in both chunks
    assert order.position[1] == order.position[3]
    second = order.position[1]
    assert order.previous[second] == order.position[0] and order.following[second] == order.position[2]
    assert order.previous[order.position[6]] == -1 and order.following[order.position[5]] == -1  # article ends
    assert list(ctx.previous_chunks(chunks)) == [-1, 0, -1]


def test_context_mixing_with_no_share_keeps_the_vectors() -> None:
    chunks, refs = _chunks()
    order = ctx.article_sentences(chunks, refs)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(refs), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[3] = vectors[1]  # a repeated sentence has one vector
    vectors[4] = vectors[2]
    assert np.allclose(ctx.sentence_context_vectors(vectors, order, 0.0), vectors, atol=1e-6)
    mixed = ctx.sentence_context_vectors(vectors, order, 0.5)
    expected = vectors[1] + 0.5 * (vectors[0] + vectors[2])
    assert np.allclose(mixed[1], expected / np.linalg.norm(expected), atol=1e-6)
    assert np.allclose(mixed[1], mixed[3]) and np.allclose(np.linalg.norm(mixed, axis=1), 1.0, atol=1e-5)
    passages = vectors[:3]
    assert np.allclose(ctx.passage_context_vectors(passages, ctx.previous_chunks(chunks), 0.0), passages, atol=1e-6)


def test_bm25_text_ends_with_the_verbatim_passage() -> None:
    chunks, _ = _chunks()
    text = passage_text(chunks[1], True, LexicalSettings(title_repeat=2), "Acme Corp makes rockets.")
    assert text == "Title\nTitle\nAcme Corp makes rockets.\n" + chunks[1].text
    assert passage_text(chunks[1], False, LexicalSettings(), "") == chunks[1].text


def test_context_changes_ranking_never_what_is_quoted(hash_settings: Settings) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    plain = Engine(hash_settings)
    mixed_settings = replace(
        hash_settings, context=ContextSettings(0.5, 0.25, 0.5, 0.25),
        lexical=replace(hash_settings.lexical, context="previous", title_repeat=2))
    mixed = Engine(mixed_settings)
    assert mixed.stored.chunks == plain.stored.chunks and mixed.stored.sentences == plain.stored.sentences
    question = "What did the chancellor say about the budget?"
    found = mixed.first_stage(question)
    vector = mixed.searcher.embed_query(question)
    # The ranking signals are the mixed ones; hits still carry each passage's own cosine.
    assert not np.allclose(found.signals.dense, plain.first_stage(question).signals.dense)
    own = mixed.searcher.dense_scores(vector)
    assert all(h.dense_score == pytest.approx(float(own[h.row]), abs=1e-5) for h in found.hits[:20])
    result = mixed.ask(question)
    for passage in result.passages:
        c = passage.citation
        assert quote_matches_source(passage.text, c.source, c.start, c.end)
    if result.answer:
        a = result.answer
        assert quote_matches_source(a.text, a.source, a.start, a.end)


def test_lead_mixing_adds_the_articles_first_sentence() -> None:
    chunks, refs = _chunks()
    order = ctx.article_sentences(chunks, refs)
    lead = ctx.lead_refs(chunks, refs, order)
    assert list(lead) == [0, 0, 6]  # a.txt opens with ref 0's sentence, b.txt with ref 6's
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(len(refs), 8)).astype(np.float32)
    sentence_chunk = np.array([r.chunk for r in refs])
    mixed = ctx.sentence_context_vectors(vectors, order, 0.0, lead=0.5, lead_of_ref=lead[sentence_chunk])
    expected = vectors[5] + 0.5 * vectors[0]
    assert np.allclose(mixed[5], expected / np.linalg.norm(expected), atol=1e-6)
