"""Discord rendering against every limit, with long and odd passages."""

from __future__ import annotations

import pytest

from citebot.bot.discord.render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBEDS_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    MESSAGE_TOTAL_LIMIT,
    TITLE_LIMIT,
    passage_field,
    render_passages,
    render_result,
    trim,
)
from citebot.retrieval.citations import Answer, Citation, Passage, Result

ODD = [
    "word " * 2000,                                                     # long, no sentence end
    "A sentence. " * 600,                                               # many sentences
    "x" * 9000,                                                         # one enormous word
    "**bold** _under_ `code` > quote ~~strike~~ @everyone <@&42> " * 80,  # markdown and mentions
    "Emoji 👍🏽 and accents café naïve — “quotes” ‘single’. " * 150,     # wide characters
    "Line one.\n\n\nLine two.\n" * 300,                                 # many lines
]


def _passage(rank: int, text: str, title: str | None = "A title", also: int = 0) -> Passage:
    citation = Citation("seeds/001_x.txt", title, 10, 10 + len(text), 3)
    twins = tuple(_passage(rank, text[:50], title) for _ in range(also))
    return Passage(rank, 0.03, text, citation, f"c{rank}", 0.5, twins)


def _result(text: str, question: str = "What happened?", abstained: bool = False) -> Result:
    passages = tuple(_passage(i, text, title="T" * 400 if i == 2 else "Title", also=i) for i in range(1, 4))
    answer = None if abstained else Answer(text, "seeds/001_x.txt", 10, 10 + len(text), 1)
    return Result(question, question + " (rewritten)", abstained, answer, passages)


def _check(rendered) -> None:
    assert len(rendered.content) <= CONTENT_LIMIT
    assert 1 <= len(rendered.embeds) <= EMBEDS_LIMIT
    total = len(rendered.content)
    for embed in rendered.embeds:
        assert len(embed.title or "") <= TITLE_LIMIT
        assert len(embed.description or "") <= DESCRIPTION_LIMIT
        for field in embed.fields:
            assert len(field.name) <= FIELD_NAME_LIMIT and len(field.value) <= FIELD_VALUE_LIMIT
        total += len(embed)
    assert total <= MESSAGE_TOTAL_LIMIT


@pytest.mark.parametrize("text", ODD)
@pytest.mark.parametrize("abstained", [False, True])
def test_answers_stay_within_every_limit(text: str, abstained: bool) -> None:
    _check(render_result(_result(text, question="Q " * 3000, abstained=abstained), shown=3))


@pytest.mark.parametrize("text", ODD)
def test_more_sources_stay_within_every_limit(text: str) -> None:
    _check(render_passages("More sources", [_passage(i, text) for i in range(1, 26)], "For: " + text))


def test_trim_cuts_at_a_sentence_or_a_word_never_mid_word() -> None:
    text = "The first sentence is here. The second one is rather longer than the first one was."
    assert trim(text, 40) == "The first sentence is here. …"
    cut = trim("alpha beta gamma delta epsilon", 20)
    assert cut == "alpha beta gamma …" and len(cut) <= 20
    assert trim("short", 10) == "short"
    assert len(trim("y" * 50, 10)) <= 10


def test_mentions_are_shown_as_text_and_markdown_escaped() -> None:
    rendered = render_result(_result("He wrote **sh**-stirring and @everyone."), shown=1)
    description = rendered.embeds[0].description or ""
    assert "\\*\\*sh\\*\\*" in description and "@everyone" in description


def test_a_citation_with_a_known_url_is_a_link_that_opens_the_page_at_the_passage() -> None:
    from citebot.index.ingest.corpus import Document
    from citebot.retrieval.citations import cite

    text = "Fares & fees, the board said - for now."
    document = Document("pages/ferry.html", url="https://news.example.org/ferry?id=7#top", date="2024-03-14")
    citation = cite("var/index/texts/ferry.html.0123.txt", "Tidal ferry trial", 10, 10 + len(text), 2, document, text)
    name, value = passage_field(Passage(1, 1.0, text, citation, "c1", 0.5))
    assert name == "[1] Tidal ferry trial (2024-03-14)"
    link = value.split("](<", 1)[1].split(">)", 1)[0]
    assert link.startswith("https://news.example.org/ferry?id=7#:~:text=")
    fragment = link.split("#:~:text=", 1)[1]
    assert fragment == "Fares%20%26%20fees%2C%20the%20board%20said%20%2D%20for%20now."  # & , - are syntax: encoded
    assert value.startswith("[ferry.html, paragraph 2, chars")


def test_the_terminal_names_an_articles_own_file_and_the_text_its_characters_count_in() -> None:
    from citebot.bot.cli.terminal import render_result
    from citebot.index.ingest.corpus import Document
    from citebot.retrieval.citations import cite

    text = "The Tamar footbridge closed on Friday."
    document = Document("articles/archive.jsonl", row="row 1", url="https://news.example.org/bridge", date="2024-02-01")
    citation = cite("idx/texts/archive.jsonl-row-1.0bc1.txt", "Bridge closed", 27, 27 + len(text), 1, document, text)
    answer = Answer(text, citation.source, 27, 27 + len(text), 1)
    shown = render_result(Result("Which bridge closed?", "Which bridge closed?", False, answer,
                                 (Passage(1, 2.0, text, citation, "c1", 0.6),)))
    assert "— from [1], articles/archive.jsonl (chars 27–65 of idx/texts/archive.jsonl-row-1.0bc1.txt)" in shown
    assert "“Bridge closed” (2024-02-01) — articles/archive.jsonl, row 1, paragraph 1" in shown
    assert "    https://news.example.org/bridge#:~:text=" in shown
