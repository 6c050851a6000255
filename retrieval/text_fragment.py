"""Links that scroll a browser to a quote: URL text fragments (`#:~:text=`, WICG Scroll To Text Fragment).

A short quote on one line is given whole (`text=start`); a longer one, or one that runs over paragraphs (a text
term matches within one block of the page), by its first and last few words (`text=start,end`: the first
`start`, then the first `end` after it). Each term is percent-encoded as the spec's TextDirectiveString: every
character but ASCII letters, digits and ``!$'()*+./:;=?@_~`` as its UTF-8 bytes, so the syntax characters
"-", "&" and "," are encoded too.
"""

from __future__ import annotations

EXACT_MAX_WORDS = 10
"""A one-line quote of at most this many words is matched whole."""
EDGE_WORDS = 5
"""Words of a longer quote's start and end terms (at most half of EXACT_MAX_WORDS + 1, so they never overlap)."""

_EXPLICIT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$'()*+./:;=?@_~")


def encode_term(term: str) -> str:
    """term percent-encoded as a text directive string (UTF-8; only TextDirectiveExplicitChar left as is)."""
    return "".join(c if c in _EXPLICIT else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in term)


def fragment_link(url: str, quote: str) -> str:
    """url (its own fragment removed) with a text fragment that scrolls to and highlights quote.

    Whitespace in the quote is matched as single spaces; a quote with no words gives url unchanged.
    """
    lines = [line.split() for line in quote.splitlines()]
    lines = [words for words in lines if words]
    if not lines:
        return url
    base = url.split("#", 1)[0]
    words = [word for line in lines for word in line]
    if len(lines) == 1 and len(words) <= EXACT_MAX_WORDS:
        terms = [" ".join(words)]
    else:  # the start term from the first line, the end term from the last (one line: they cannot overlap)
        terms = [" ".join(lines[0][:EDGE_WORDS]), " ".join(lines[-1][-EDGE_WORDS:])]
    return f"{base}#:~:text={','.join(encode_term(term) for term in terms)}"
