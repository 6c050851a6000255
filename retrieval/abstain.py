"""When to say the articles do not answer: too little similarity, names no article uses, or specifics the
top articles lack ("the 2010 New York Marathon" when the articles cover 2004, "Homebrew 8.0.0" when they stop at
4.x)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from citebot.retrieval.question import YEAR, Question


@dataclass(frozen=True)
class Evidence:
    """What the abstention decision looks at for one question."""

    best_similarity: float
    unknown_names: tuple[str, ...]
    """Names in the question most of whose words no article uses."""
    missing: tuple[str, ...]
    """The question's names and numbers that none of the top articles holds."""
    specifics: int
    """How many names and numbers the question has."""
    missing_years: tuple[str, ...] = ()
    """Years the question names ("the 2010 New York Marathon") that none of the top articles mentions."""
    names_shown: bool = False
    """The question asks about nothing but names, and the top passage holds every one of them."""
    key_cover: float = 1.0
    """The share of the question's key words (idf-weighted) that the top passage or its title holds."""
    unknown_share: float = 0.0
    """The share of the question's key words that no passage uses ("sourdough" in a folder of code)."""
    top_cover: float = 1.0
    """The share of the question's key words (idf-weighted) that any of the top passages (`abstain_articles`
    of them) or their titles holds."""
    missing_weight: float = 0.0
    """The idf, as a share of the highest idf possible, of the rarest key word no top passage holds (0: none
    missing): "CEO" in "Who is the CEO of GitHub?" asked of docs that mention GitHub but no CEO."""
    answer_cover: float = 1.0
    """The share of the question's key words (idf-weighted) that the answer quote holds."""
    kind_held: bool | None = None
    """Whether the answer quote holds the kind of fact asked for (a number for "how many", a date for "when",
    a new name for "who"); None when the question's wording asks for no kind."""
    missing_numbers: tuple[str, ...] = ()
    """Numbers the question gives as they stand ("2008", "8.0.0") that none of the top articles holds."""
    money_unquoted: bool = False
    """The question asks what something cost ("How much did the audit cost?") and the answer quote names no sum of
    money."""
    attribute_unmentioned: str | None = None
    """The attribute the question asks for ("capital" in "What is the capital of Australia?") when none of the top
    passages (`abstain_articles` of them) or their titles uses it in any form; None when it asks for none or one
    of them does."""


def _variants(word: str) -> set[str]:
    base = re.sub(r"(?:'s|s|es)$", "", word)
    return {word, base, base + "s", base + "es"}


def missing_specifics(question: Question, article_words: list[set[str]]) -> tuple[tuple[str, ...], int]:
    """The question's names and numbers that no top article holds (plural or possessive forms count),
    and how many it has."""
    specifics = question.names_and_numbers
    missing = tuple(s for s in specifics if not any(_variants(s) & words for words in article_words))
    return missing, len(specifics)


def missing_years(question: Question, article_words: list[set[str]]) -> tuple[str, ...]:
    """The years the question names that no top article mentions ("2010", also in "2010-11" or "mid-2010"),
    when those articles mention some year: articles that give no year cannot say the question's is wrong."""
    mentioned = {year for words in article_words for word in words for year in YEAR.findall(word)}
    if not mentioned:
        return ()
    return tuple(y for y in question.years if y not in mentioned)


NUMBER = re.compile(r"\d+(?:\.\d+)*")
"""A number as it stands: "2008", "300", "8.0.0" (a version), "2.5"."""


def missing_numbers(question: Question, article_words: list[set[str]]) -> tuple[str, ...]:
    """The numbers the question gives on their own ("in 2008", "Homebrew 8.0.0", "$300") that no top article holds,
    even inside a word ("v8.0.0", "mid-2008"). A number joined to letters or another number in the question
    ("1940s", "37-31", "T20") is left out: the articles may write it another way. Unlike the year rule, articles
    that give no number do not excuse one: "the price of oil at the end of 2008" asked of articles of 2004."""
    asked = [s for s in question.names_and_numbers if NUMBER.fullmatch(s)]
    if not asked:
        return ()
    held = {number for words in article_words for word in words for number in NUMBER.findall(word)}
    return tuple(n for n in asked if n not in held)


MONEY_QUESTION = re.compile(
    r"\bhow much\b[^?]*\b(?:cost|costs|costing|pay|pays|paid|spend|spends|spent|fee|fees|charge|charges|charged|"
    r"earn|earns|earned|worth)\b|\bwhat (?:is|was|are|were) the (?:price|cost|fee)s?\b", re.IGNORECASE)
"""A question about what something costs, pays or earns: "How much did the audit cost?", "What is the price of ..."."""
MONEY = re.compile(r"[$\u00a3\u20ac\u00a5\u20b9]|\b(?:dollars?|pounds?|euros?|yen|rupees?|francs?|usd|eur|gbp|rs|"
                   r"crores?|lakhs?|cents?|pence)\b", re.IGNORECASE)
"""A sum of money in a text: a currency sign or a currency's name."""


def money_unquoted(question: str, quote: str | None) -> bool:
    """Whether the question asks what something cost and the answer quote (None: no quote) names no sum of money:
    "How much did the Trail of Bits audit cost?" answered with who funded the audit."""
    return bool(MONEY_QUESTION.search(question)) and not (quote and MONEY.search(quote))


def names_shown(question: Question, passage_words: set[str]) -> bool:
    """Whether the question asks about nothing but names ("Who is Ian Lavery?") and the passage holds every
    word of them."""
    names = question.only_names
    return bool(names) and all(_variants(w) & passage_words for name in names for w in name.split())


def key_cover(key_terms: list[str], passage_terms: set[str], weight: Callable[[str], float]) -> float:
    """The idf-weighted share of the question's key terms that a passage holds (1 when it has none)."""
    total = sum(weight(t) for t in key_terms)
    return sum(weight(t) for t in key_terms if t in passage_terms) / total if total else 1.0


def abstain_reason(evidence: Evidence, threshold: float, missing_limit: int, *, year_rule: bool = False,
                   min_cover: float = 0.0, max_unknown: float = 1.0, number_rule: bool = False,
                   money_rule: bool = False, attribute_rule: bool = False) -> str | None:
    """Why to abstain, or None to answer: below the similarity threshold, unknown names, or at least `missing_limit`
    of the question's numbers and names (0: never) in none of the top articles, or (year_rule) a year the question
    names in none of them, or (number_rule) a number it gives in none of them, or (money_rule) a question about a
    cost answered without a sum of money, or (attribute_rule) the attribute a "What is the X of Y?" question asks
    for in none of the top passages. A question about nothing but names is answered, whatever its similarity,
    by a top passage that holds them all."""
    if evidence.unknown_names:
        return f"no article mentions {', '.join(evidence.unknown_names)}"
    # "Who is Ian Lavery?": the model knows too little of a name to find it similar, but a passage naming
    # him answers who he is.
    if evidence.best_similarity < threshold and not evidence.names_shown:
        return "no passage is close enough to the question"
    if missing_limit > 0 and len(evidence.missing) >= missing_limit:
        return f"the closest articles do not mention {', '.join(evidence.missing)}"
    if year_rule and evidence.missing_years:
        return f"the closest articles do not mention {', '.join(evidence.missing_years)}"
    if number_rule and evidence.missing_numbers:
        return f"the closest articles do not mention {', '.join(evidence.missing_numbers)}"
    if money_rule and evidence.money_unquoted:
        return "the closest passages name no sum of money"
    if attribute_rule and evidence.attribute_unmentioned:
        return f"the closest passages do not speak of a {evidence.attribute_unmentioned}"
    if evidence.unknown_share > max_unknown:
        return "most of the question's words are in no article"
    if evidence.key_cover < min_cover and not evidence.names_shown:
        return "the closest passage holds too few of the question's words"
    return None
