"""Plain-text rendering of a result for people at a terminal. Every piece of an article (title, date, file name,
text, link) goes through printable() or shown_url() (bot/display.py): an article's control sequences never reach
the terminal."""

from __future__ import annotations

import textwrap

from citebot.bot.display import printable, shown_url
from citebot.retrieval.citations import Citation, Result


def describe_citation(citation: Citation) -> str:
    """Title (and date), the article's file (its page or row), paragraph and characters; for an article of another
    format, the text file the characters count in, and its link."""
    document = citation.document
    title = f"“{printable(citation.title)}”" if citation.title else ""
    if document is not None and document.date:
        title = f"{title} ({printable(document.date)})".strip()
    title = f"{title} — " if title else ""
    where = printable(document.file if document is not None else citation.source)
    if citation.page is not None:
        where += f", page {citation.page}"
    elif citation.row is not None:
        where += f", row {citation.row}"
    line = f"{title}{where}, paragraph {citation.paragraph} (chars {citation.start}–{citation.end}"
    return line + (f" of {printable(citation.source)})" if document is not None else ")")


def render_result(result: Result, width: int = 100) -> str:
    lines: list[str] = []
    if result.searched != result.question:
        lines.append(f"(searched: {printable(result.searched)})")
    if result.abstained or result.answer is None:
        why = f" ({printable(result.abstain_reason)})" if result.abstain_reason else ""
        lines.append(f"The articles do not answer this{why}. The nearest passages are:")
    else:
        answer = result.answer
        lines.append(textwrap.fill(f"Answer: “{printable(answer.text)}”", width, subsequent_indent="  "))
        cited = next((p.citation for p in result.passages if p.rank == answer.passage), None)
        if cited is not None and cited.document is not None:  # the article's own file, then the text counted in
            lines.append(f"  — from [{answer.passage}], {printable(cited.document.file)} (chars {answer.start}–"
                         f"{answer.end} of {printable(answer.source)})")
        else:
            lines.append(f"  — from [{answer.passage}], {printable(answer.source)} chars {answer.start}–{answer.end}")
    for passage in result.passages:
        lines.append("")
        lines.append(f"[{passage.rank}] {describe_citation(passage.citation)}  score {passage.score:.4f}")
        link = shown_url(passage.citation.link)
        if link:
            lines.append(f"    {link}")
        for paragraph in passage.text.split("\n"):
            if paragraph.strip():
                lines.append(textwrap.fill(printable(paragraph), width, initial_indent="    ",
                                           subsequent_indent="    "))
        for other in passage.also_in:
            lines.append(f"    also in: {describe_citation(other.citation)}")
    for left in result.left_out:
        lines.append(f"\nLeft out: {printable(left.source)} {printable(left.reason)}")
    return "\n".join(lines)
