"""BM25 context ([lexical] context, title_repeat): what ranks a passage changes, what is quoted does not."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from citebot.config.settings import LexicalSettings, Settings
from citebot.index.build import build_index
from citebot.index.chunking import Chunk
from citebot.index.lexical import passage_text
from citebot.index.store.protocol import SentenceRef
from citebot.retrieval.citations import quote_matches_source
from citebot.retrieval.engine import Engine
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


def test_bm25_text_ends_with_the_verbatim_passage() -> None:
    chunks, _ = _chunks()
    text = passage_text(chunks[1], True, LexicalSettings(title_repeat=2), "Acme Corp makes rockets.")
    assert text == "Title\nTitle\nAcme Corp makes rockets.\n" + chunks[1].text
    assert passage_text(chunks[1], False, LexicalSettings(), "") == chunks[1].text


def test_bm25_context_changes_ranking_never_what_is_quoted(hash_settings: Settings) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    plain = Engine(hash_settings)
    other = replace(hash_settings, lexical=replace(hash_settings.lexical, context="previous", title_repeat=2))
    mixed = Engine(other)
    assert mixed.stored.chunks == plain.stored.chunks and mixed.stored.sentences == plain.stored.sentences
    question = "What did the chancellor say about the budget?"
    assert not np.allclose(mixed.searcher.lexical.scores(question), plain.searcher.lexical.scores(question))
    result = mixed.ask(question)
    for passage in result.passages:
        c = passage.citation
        assert quote_matches_source(passage.text, c.source, c.start, c.end)
    if result.answer:
        a = result.answer
        assert quote_matches_source(a.text, a.source, a.start, a.end)
