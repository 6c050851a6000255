"""A result as a Discord message: the answer quote, then numbered citations, always within Discord's limits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import discord

from citebot.bot.display import shown_url
from citebot.retrieval.citations import Passage, Result

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
MESSAGE_TOTAL_LIMIT = 6000
EMBEDS_LIMIT = 10
ANSWER_QUOTE_LIMIT = 1500
ELLIPSIS = "…"

NO_MENTIONS = discord.AllowedMentions.none()

_SENTENCE_END = re.compile(r"""[.!?]["'\u2019\u201d)\]]*(?=\s)""")


def trim(text: str, limit: int) -> str:
    """text cut to at most limit characters: at a sentence end if one is near, else at a space, with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    room = text[:max(0, limit - len(ELLIPSIS) - 1)]
    ends = [m.end() for m in _SENTENCE_END.finditer(room)]
    if ends and ends[-1] >= len(room) // 2:
        cut = room[:ends[-1]]
    else:
        space = room.rfind(" ")
        cut = room[:space] if space > 0 else room
    return (cut.rstrip() + " " + ELLIPSIS)[:limit]


def quote_block(text: str, limit: int) -> str:
    """Verbatim text as a Discord block quote, markdown escaped so quoted ** or _ render as written."""
    lines = [discord.utils.escape_markdown(line) for line in text.split("\n") if line.strip()]
    body = "\n".join(f"> {line}" for line in lines)
    return trim(body, limit)


def cite(passage: Passage) -> str:
    """Where a passage is: its file (its page or row), paragraph and characters; a link that opens the page at the
    passage when the article's URL is known."""
    c = passage.citation
    where = Path(c.document.file if c.document else c.source).name
    if c.page is not None:
        where += f", page {c.page}"
    elif c.row is not None:
        where += f", row {c.row}"
    text = f"{plain(where)}, paragraph {c.paragraph}, chars {c.start}–{c.end}"
    link = shown_url(c.link)  # None for a URL that is not plain http(s) or could end the masked link early
    if link and len(link) <= 512:
        return f"[{text}](<{link}>)"  # <...>: no preview card
    return text


def plain(name: str) -> str:
    """A file name shown as written: Markdown escaped, and "]" too (discord.py leaves it), so a file named
    `x](https://evil.example)` can neither end a masked link's text nor start a link of its own."""
    return discord.utils.escape_markdown(name).replace("]", "\\]")


def passage_field(passage: Passage, limit: int = FIELD_VALUE_LIMIT) -> tuple[str, str]:
    c = passage.citation
    title = c.title or Path(c.document.file if c.document else c.source).name
    if c.document is not None and c.document.date:
        title = f"{title} ({c.document.date})"
    name = trim(f"[{passage.rank}] {discord.utils.escape_markdown(title)}", FIELD_NAME_LIMIT)
    also = "".join(f"\nalso in: {cite(other)}" for other in passage.also_in)
    header = f"{cite(passage)}\n"
    budget = limit - len(header) - len(also)
    return name, header + quote_block(passage.text, max(40, budget)) + also[:max(0, limit - len(header) - 40)]


@dataclass(frozen=True)
class Rendered:
    content: str
    embeds: list[discord.Embed]


def render_passages(title: str, passages: list[Passage], note: str = "") -> Rendered:
    """Passages alone, e.g. for "More sources"."""
    embed = discord.Embed(title=trim(title, TITLE_LIMIT), description=trim(note, DESCRIPTION_LIMIT) or None)
    for passage in passages[:25]:
        name, value = passage_field(passage)
        embed.add_field(name=name, value=value, inline=False)
    return _fit(Rendered("", [embed]))


def render_result(result: Result, shown: int) -> Rendered:
    """The answer message: quote first, then the top passages as numbered citations."""
    lines = []
    if result.searched != result.question:
        lines.append(f"*Searched:* {discord.utils.escape_markdown(trim(result.searched, 300))}")
    if result.abstained or result.answer is None:
        title = "The articles do not answer this"
        why = f" ({discord.utils.escape_markdown(trim(result.abstain_reason, 200))})" if result.abstain_reason else ""
        lines.append(f"The nearest passages are below, in case they help{why}.")
    else:
        answer = result.answer
        title = "Answer"
        lines.insert(0, quote_block(answer.text, ANSWER_QUOTE_LIMIT))
        lines.insert(1, f"— from [{answer.passage}], {plain(Path(answer.source).name)}, chars {answer.start}–"
                        f"{answer.end}")
    if result.left_out:
        names = ", ".join(Path(left.source).name for left in result.left_out[:3])
        more = f" and {len(result.left_out) - 3} more" if len(result.left_out) > 3 else ""
        lines.append(f"*Left out:* {discord.utils.escape_markdown(names)}{more}, changed since the index was built.")
    embed = discord.Embed(title=title, description=trim("\n".join(lines), DESCRIPTION_LIMIT))
    for passage in result.passages[:shown]:
        name, value = passage_field(passage)
        embed.add_field(name=name, value=value, inline=False)
    content = f"**Q:** {discord.utils.escape_markdown(trim(result.question, 300))}"
    return _fit(Rendered(trim(content, CONTENT_LIMIT), [embed]))


def _fit(rendered: Rendered) -> Rendered:
    """Shorten fields, longest first, until the whole message is within the 6,000-character limit."""
    embeds = rendered.embeds[:EMBEDS_LIMIT]
    # len(Embed) is Discord's own count of an embed's characters.
    while len(rendered.content) + sum(len(e) for e in embeds) > MESSAGE_TOTAL_LIMIT:
        embed, index, field = max(((e, i, f) for e in embeds for i, f in enumerate(e.fields)),
                                  key=lambda t: len(t[2].value or ""), default=(None, -1, None))
        if embed is None or len(field.value or "") <= 80:
            embeds[0].description = trim(embeds[0].description or "", 1000)
            break
        embed.set_field_at(index, name=field.name, value=trim(field.value or "", len(field.value) // 2),
                           inline=False)
    return Rendered(rendered.content, embeds)
