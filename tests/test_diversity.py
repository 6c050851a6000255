from __future__ import annotations

from citebot.index.chunking import Chunk
from citebot.retrieval.diversity import arrange

STATEMENT = "The Labour Party takes all complaints of anti-Semitism extremely seriously and we are committed"


def _chunk(source: str, start: int, text: str) -> Chunk:
    return Chunk(f"{source}:{start}", source, None, start, start + len(text), text, 1)


def test_overlapping_chunks_of_one_file_are_listed_once() -> None:
    chunks = [_chunk("a.txt", 0, "x " * 50), _chunk("a.txt", 20, "y " * 50), _chunk("b.txt", 0, "other text here")]
    slots = arrange([0, 1, 2], chunks, wanted=5, max_per_article=3, duplicate_share=0.4)
    assert [s.row for s in slots] == [0, 2]


def test_the_same_quote_in_another_article_goes_under_also_in() -> None:
    chunks = [
        _chunk("a.txt", 0, f"A spokeswoman said: \u2018{STATEMENT} to rooting it out.\u2019"),
        _chunk("b.txt", 0, f'A party spokeswoman said: "{STATEMENT} to rooting it out of our party."'),
        _chunk("c.txt", 0, "An unrelated passage about the weather in the north of England today."),
    ]
    slots = arrange([0, 1, 2], chunks, wanted=5, max_per_article=3, duplicate_share=0.4)
    assert [(s.row, s.also_in) for s in slots] == [(0, [1]), (2, [])]


def test_also_in_names_each_other_article_once() -> None:
    """Two passages of one collection row (a long row, chunked with overlap) that both repeat a quote listed
    above: that row is "also in" once."""
    row = "news.csv#row 4"
    chunks = [
        _chunk("a.txt", 0, f"A spokeswoman said: \u2018{STATEMENT} to rooting it out.\u2019"),
        _chunk(row, 0, f'A party spokeswoman said: "{STATEMENT} to rooting it out of our party."'),
        _chunk(row, 900, f'Asked again, a spokeswoman said: "{STATEMENT} to rooting it out."'),
    ]
    slots = arrange([0, 1, 2], chunks, wanted=5, max_per_article=3, duplicate_share=0.4)
    assert [(s.row, s.also_in) for s in slots] == [(0, [1])]


def test_one_article_cannot_fill_the_list_unless_nothing_else_matches() -> None:
    chunks = [_chunk("a.txt", i * 100, f"Distinct passage number {i} of article a.") for i in range(5)]
    chunks.append(_chunk("b.txt", 0, "The only passage of article b."))
    slots = arrange([0, 1, 2, 3, 4, 5], chunks, wanted=4, max_per_article=2, duplicate_share=0.4)
    assert [s.row for s in slots] == [0, 1, 5, 2]  # b moves up; a fills the rest only because nothing else is left
