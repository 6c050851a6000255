"""Plain-text rendering of a result for people at a terminal."""

from __future__ import annotations

import textwrap

from citebot.retrieval.citations import Citation, Result


def describe_citation(citation: Citation) -> str:
    title = f"“{citation.title}” — " if citation.title else ""
    return f"{title}{citation.source}, paragraph {citation.paragraph} (chars {citation.start}–{citation.end})"


def render_result(result: Result, width: int = 100) -> str:
    lines: list[str] = []
    if result.searched != result.question:
        lines.append(f"(searched: {result.searched})")
    if result.abstained or result.answer is None:
        why = f" ({result.abstain_reason})" if result.abstain_reason else ""
        lines.append(f"The articles do not answer this{why}. The nearest passages are:")
    else:
        answer = result.answer
        lines.append(textwrap.fill(f"Answer: “{answer.text}”", width, subsequent_indent="  "))
        lines.append(f"  — from [{answer.passage}], {answer.source} chars {answer.start}–{answer.end}")
    for passage in result.passages:
        lines.append("")
        lines.append(f"[{passage.rank}] {describe_citation(passage.citation)}  score {passage.score:.4f}")
        for paragraph in passage.text.split("\n"):
            if paragraph.strip():
                lines.append(textwrap.fill(paragraph, width, initial_indent="    ", subsequent_indent="    "))
        for other in passage.also_in:
            lines.append(f"    also in: {describe_citation(other.citation)}")
    for left in result.left_out:
        lines.append(f"\nLeft out: {left.source} {left.reason}")
    return "\n".join(lines)
