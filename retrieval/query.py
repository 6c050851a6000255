"""What a question asks: its names and numbers, and the kind of fact that would answer it."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\u2019.-]*")
# Words that open a question rather than name something ("What", "According to ...").
OPENERS = frozenset(
    "what who whom whose which when where why how did does do is are was were has have had can could would should "
    "will tell give list name and but so or the a an in on at of for to i please also any according after before "
    "apart besides since".split()
)
STOPWORDS = frozenset(
    "a an the of in on at to for from by with and or but is are was were be been being do does did has have had "
    "what which who whom whose when where why how that this these those it its he she they them his her their "
    "there about into than then so if as not no i you we our me my your us any also such can could would should "
    "will may might must shall according much many did one".split()
)
_MONTHS = ("january february march april may june july august september october november december "
           "jan feb mar apr jun jul aug sep sept oct nov dec").split()
_DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand "
    "million billion trillion dozen half quarter third".split()
)
_DATE = re.compile(
    r"\b(?:1[89]\d\d|20\d\d|\d{1,2}(?:st|nd|rd|th)|" + "|".join(_MONTHS + _DAYS)
    + r"|yesterday|today|tomorrow|last\s+(?:week|month|year|night)|next\s+(?:week|month|year)|ago|decade|century"
    r"|christmas|easter|spring|summer|autumn|winter)\b",
    re.IGNORECASE,
)
_AMOUNT = re.compile(r"\d|[£$€%]|\b(?:" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_REASON = re.compile(r"\b(?:because|due to|as a result|after|since|so that|in order to|reason|blamed|caused|"
                     r"led to|thanks to|following|amid|over concerns?|fears?|said it was|as it)\b", re.IGNORECASE)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b(?:Mr|Mrs|Ms|Dr|Sir|Lord|Lady|Dame|Prof)\b\.?\s+[A-Z]|"
                   r"\b[A-Z][a-z'\u2019-]+\s+(?:[A-Z]\.\s+)?[A-Z][a-z'\u2019-]+")
_HONORIFICS = frozenset({"mr", "mrs", "ms", "dr", "sir", "lord", "lady", "dame", "prof"})
_PLACE_CUE = re.compile(r"\b(?:in|at|from|to|near)\s+(?:the\s+)?[A-Z][a-z]+")


@dataclass(frozen=True)
class QuestionKind:
    """The kind of fact a question wants; "other" when its wording does not say."""

    name: str

    def present_in(self, text: str, known: frozenset[str] = frozenset()) -> bool:
        """Whether text holds a fact of this kind (a name for "who", a number for "how many", ...) other than
        the words in `known` (the question's own, folded)."""
        if self.name == "person":
            return any(not set(m.group().casefold().replace(".", "").split()) - _HONORIFICS <= known
                       for m in _NAME.finditer(text))
        if self.name == "date":
            return bool(_DATE.search(text))
        if self.name == "amount":
            return bool(_AMOUNT.search(text))
        if self.name == "reason":
            return bool(_REASON.search(text))
        if self.name == "place":
            return any(m.group().split()[-1].casefold() not in known for m in _PLACE_CUE.finditer(text))
        return True


ANY_KIND = QuestionKind("other")

_LEAD = r"^\W*(?:[\w'\u2019]+[\s,]+){0,4}?"
"""Up to four words before the question word: "According to the report, who ..."."""
_KINDS = [
    (re.compile(_LEAD + r"(?:how\s+(?:many|much|long|old|far|big|large|high|often)|what\s+(?:percentage|proportion|"
                r"share|amount|number|price|sum|figure|fine|cost|value|rate|age|score|margin|total)|by\s+how)\b",
                re.IGNORECASE), "amount"),
    (re.compile(_LEAD + r"(?:when|what\s+(?:year|date|day|month|time)|which\s+(?:year|day|month|date))\b",
                re.IGNORECASE), "date"),
    (re.compile(_LEAD + r"(?:who|whom|whose)\b", re.IGNORECASE), "person"),
    (re.compile(_LEAD + r"(?:why|what\s+(?:reason|caused|prompted|led))\b", re.IGNORECASE), "reason"),
    (re.compile(_LEAD + r"(?:where|which\s+(?:country|city|town|venue|stadium))\b", re.IGNORECASE), "place"),
]


def question_kind(question: str) -> QuestionKind:
    """The kind of fact the question's wording asks for."""
    for pattern, name in _KINDS:
        if pattern.search(question):
            return QuestionKind(name)
    return ANY_KIND


def names_and_numbers(question: str) -> list[str]:
    """Capitalised words that are not the opening word or a question word, and every number, folded."""
    found = []
    words = _WORD.findall(question)
    for i, word in enumerate(words):
        bare = re.sub(r"['\u2019]s$", "", word).strip(".'\u2019-")
        if not bare:
            continue
        folded = bare.casefold()
        number = any(c.isdigit() for c in bare)
        name = bare[0].isupper() and (i > 0 or (folded not in OPENERS and folded not in STOPWORDS))
        if number or name:
            found.append(folded)
    return list(dict.fromkeys(found))


_FOLDED_WORD = re.compile(r"[a-z0-9][a-z0-9'.-]*[a-z0-9]|[a-z0-9]")


def word_set(text: str) -> set[str]:
    """Case-folded words of text, possessive 's taken off, for name and number matching."""
    words = _FOLDED_WORD.findall(text.casefold().replace("\u2019", "'"))
    return {w[:-2] if w.endswith("'s") else w for w in words}
