"""URL text fragments (`#:~:text=`): encoding by the spec's grammar, the start,end form, and the URL kept intact."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from citebot.retrieval.text_fragment import EDGE_WORDS, EXACT_MAX_WORDS, encode_term, fragment_link

URL = "https://news.example.org/coast/tidal-ferry-trial"
# TextDirectiveString: TextDirectiveExplicitChar or a percent-encoded byte, one or more.
TERM = re.compile(r"(?:[a-zA-Z0-9!$'()*+./:;=?@_~]|%[0-9A-F]{2})+")


def terms(link: str) -> list[str]:
    """The decoded terms of a link's text directive, parsed as the spec does (strict split on ",")."""
    base, directive = link.split("#:~:text=")
    assert "#" not in directive and "&" not in directive
    raw = directive.split(",")
    assert all(TERM.fullmatch(term) for term in raw), raw
    assert not raw[0].endswith("-") and not raw[-1].startswith("-")  # never read as a prefix or suffix
    return [unquote(term, encoding="utf-8", errors="strict") for term in raw]


def test_a_short_quote_is_matched_whole() -> None:
    link = fragment_link(URL, "The boat crosses the channel in six minutes.")
    assert link == f"{URL}#:~:text=The%20boat%20crosses%20the%20channel%20in%20six%20minutes."
    assert terms(link) == ["The boat crosses the channel in six minutes."]


@pytest.mark.parametrize("quote, encoded", [
    ("adults, children", "adults%2C%20children"),
    ("400-metre channel", "400%2Dmetre%20channel"),
    ("fish & chips", "fish%20%26%20chips"),
    ("-5 degrees", "%2D5%20degrees"),
    ("the #1 ferry at 100%", "the%20%231%20ferry%20at%20100%25"),
    ("a \"quoted\" <word>", "a%20%22quoted%22%20%3Cword%3E"),
    ("keep !$'()*+./:;=?@_~ as they are", "keep%20!$'()*+./:;=?@_~%20as%20they%20are"),
])
def test_syntax_characters_are_percent_encoded(quote: str, encoded: str) -> None:
    link = fragment_link(URL, quote)
    assert link == f"{URL}#:~:text={encoded}"
    assert terms(link) == [quote]


@pytest.mark.parametrize("quote, encoded", [
    ("\u00a32 fare", "%C2%A32%20fare"),
    ("caf\u00e9 cr\u00e8me", "caf%C3%A9%20cr%C3%A8me"),
    ("\u201cquieter\u201d \u2014 he said", "%E2%80%9Cquieter%E2%80%9D%20%E2%80%94%20he%20said"),
    ("\u6e2f\u53e3", "%E6%B8%AF%E5%8F%A3"),
    ("gulls \U0001f426", "gulls%20%F0%9F%90%A6"),
])
def test_unicode_is_encoded_as_utf8_bytes(quote: str, encoded: str) -> None:
    assert encode_term(quote) == encoded
    assert terms(fragment_link(URL, quote)) == [quote]


def test_a_long_quote_gives_its_first_and_last_words() -> None:
    quote = ("Engineers from the builder, Kernow Marine, said the hull had been tested in swells of up to two "
             "metres, and that the diesel launch would be kept in reserve.")
    link = fragment_link(URL, quote)
    start, end = terms(link)
    words = quote.split()
    assert start == " ".join(words[:EDGE_WORDS]) == "Engineers from the builder, Kernow"
    assert end == " ".join(words[-EDGE_WORDS:]) == "would be kept in reserve."
    assert link.count(",") == 1  # the separator; the quote's own commas are encoded


def test_the_exact_form_ends_at_the_word_limit() -> None:
    words = [f"w{i}" for i in range(EXACT_MAX_WORDS + 1)]
    assert terms(fragment_link(URL, " ".join(words[:-1]))) == [" ".join(words[:-1])]
    assert len(terms(fragment_link(URL, " ".join(words)))) == 2
    assert 2 * EDGE_WORDS <= EXACT_MAX_WORDS + 1  # so start and end never overlap


def test_a_quote_over_paragraphs_takes_its_terms_from_the_first_and_last_lines() -> None:
    """A term matches within one block of the page, so none may cross a newline, even in a short quote."""
    quote = "Fares will stay at \u00a32.\n\nBicycles travel free\nduring the trial."
    assert terms(fragment_link(URL, quote)) == ["Fares will stay at \u00a32.", "during the trial."]
    long_lines = ("The boat, named Gwynn, stores energy from the incoming tide\n"
                  "and crosses the 400-metre channel in a little under six minutes.")
    assert terms(fragment_link(URL, long_lines)) == ["The boat, named Gwynn, stores", "a little under six minutes."]


def test_whitespace_is_matched_as_single_spaces() -> None:
    assert terms(fragment_link(URL, "  the\tharbour \u00a0 board  ")) == ["the harbour board"]


@pytest.mark.parametrize("url, base", [
    (f"{URL}#comments", URL),
    (f"{URL}#:~:text=old%20quote", URL),
    (f"{URL}?page=2&lang=en#top", f"{URL}?page=2&lang=en"),
    (f"{URL}#", URL),
    (URL, URL),
])
def test_the_urls_own_fragment_is_replaced(url: str, base: str) -> None:
    assert fragment_link(url, "the tide") == f"{base}#:~:text=the%20tide"


@pytest.mark.parametrize("quote", ["", "   ", "\n\n"])
def test_a_quote_without_words_leaves_the_url_alone(quote: str) -> None:
    assert fragment_link(f"{URL}#top", quote) == f"{URL}#top"
