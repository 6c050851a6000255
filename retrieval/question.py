"""What a question asks, read once into a Question: its words, names and numbers, years, the kind of fact that
would answer it, and whether it leans on an earlier turn.

The engine reads each question here once, at the door, and passes the Question on; the functions below are
the reading's steps (word_set, content_stems, entities and QuestionKind.present_in also read passages).
"""

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
YEAR = re.compile(r"(?<![\d.,$£€])\b(?:1[89]|20)\d\d\b(?![.,]\d)")
"""A year standing alone: 1800-2099, not part of an amount or count ("$2010m", "2,010")."""
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b(?:Mr|Mrs|Ms|Dr|Sir|Lord|Lady|Dame|Prof)\b\.?\s+[A-Z]|"
                   r"\b[A-Z][a-z'\u2019-]+\s+(?:[A-Z]\.\s+)?[A-Z][a-z'\u2019-]+")
_HONORIFICS = frozenset({"mr", "mrs", "ms", "dr", "sir", "lord", "lady", "dame", "prof"})
_PLACE_CUE = re.compile(r"\b(?:in|at|from|to|near)\s+(?:the\s+)?[A-Z][a-z]+")


@dataclass(frozen=True)
class QuestionKind:
    """The kind of fact a question wants; "other" when its wording does not say."""

    name: str

    def present_in(self, text: str, known: frozenset[str] = frozenset(), strict: bool = False) -> bool:
        """Whether text holds a fact of this kind (a name for "who", a number for "how many", ...) other than
        the words in `known` (the question's own, folded). strict: an amount must be a number the question does
        not give, and a bare year is none (what the answer quote looks for; the second stage learned the loose
        test)."""
        if self.name == "person":
            return any(not set(m.group().casefold().replace(".", "").split()) - _HONORIFICS <= known
                       for m in _NAME.finditer(text))
        if self.name == "date":
            return bool(_DATE.search(text))
        if self.name == "amount" and strict:
            return any((any(c.isdigit() for c in w) or w in _NUMBER_WORDS) and not YEAR.fullmatch(w)
                       for w in word_set(text) - known)
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
_FIRST = r"^\W*(?:(?!(?:what|which|who|whom|whose|when|where|why|how)\b)[\w'\u2019]+[\s,]+){0,4}?"
"""The same, but none of them a question word: "Where did he speak when ..." asks where."""
_MODIFIER = (r"(?:(?!(?:is|are|was|were|do|does|did|has|have|had|will|would|can|could|should|the|a|an)\b)"
             r"[\w'\u2019.-]+\s+)")
"""A word between "which" and its noun ("Which Hopman Cup doctor"): not an article or a verb of the question."""
_ROLES = ("president minister secretary chancellor leader chairman chairwoman chief executive boss director editor "
          "journalist reporter writer author critic analyst economist spokesman spokeswoman spokesperson doctor "
          "coach manager player captain striker forward prop lock flanker winger sprinter athlete runner presenter "
          "dj host singer actor actress star model supermodel musician frontman songwriter producer specialist "
          "expert official officer mp mep judge lawyer founder member deputy deputies professor commissioner "
          "campaigner politician rival figure").split()
"""People named by what they do: "Which DJ ...", "Which News Corp executive ..." ask for a name."""
_MEASURES = ("budget value price cost fee salary stake deficit peak compensation worth valuation profit loss revenue "
             "sales capitalisation capitalization debt bill fine sum total figure score margin rate distance height "
             "weight speed").split()
"""Quantities: "What annual budget ...", "What was the value of ..." ask for an amount."""
_ROLE = (r"|(?:which|what)\s+" + _MODIFIER + r"{0,4}(?:"
         + "|".join(r if r.endswith("s") else r + "s?" for r in _ROLES) + ")")
_MEASURE = (r"|what\s+(?:(?:is|was|were|are|will\s+be)\s+)?(?:(?:the|its|his|her|their)\s+)?" + _MODIFIER
            + r"{0,3}(?:" + "|".join(_MEASURES) + r"|(?:winning|record|finishing|running)\s+time)")


_ATTRIBUTE = re.compile(
    r"^\W*(?:[Aa]nd\s+)?(?:[Ww]hat|[Ww]ho)\s+(?:is|are|was|were)\s+"
    r"(?:(?:the|its|his|her|their)\s+|[\w.+-]+['\u2019]s\s+)+"  # "the", "libFuzzer's"
    r"(?:(?!(?:of|for|in|at|on|between|during|is|are|was|were|the|a|an)\b)[\w'\u2019-]+\s+){0,3}?"  # modifiers
    r"([a-z][\w-]*|[A-Z]{2,}s?)"  # the attribute: a common noun or an acronym ("CEO")
    r"(?=\s+(?:of|for|in|at|on|between|during)\b|\s*\?*\s*$)")
"""What X is, asked of Y: "What is the capital of Australia?", "What was the final death toll of ...?", "Who is
India's captain for ...?", "What is libFuzzer's default memory limit?"."""
_NOT_ATTRIBUTE = frozenset(("name names kind kinds type types sort number amount percentage proportion share year "
                            "date day month time reason way result results outcome purpose aim goal point meaning "
                            "difference differences cause effect effects impact role significance").split()
                           ) | frozenset(_MEASURES)
"""Attributes a text gives without naming them: a name, a date, a reason or cause, a quantity (_MEASURES: "What was
the value of ...?" is answered by a sum), or what came of something or what it is for ("What was the result of the
match?" is answered by "Chelsea beat Arsenal 2-1": 62 of the BBC folder's 494 sport articles say "result")."""


def asked_attribute(question: str) -> str | None:
    """The attribute a "What is the X of Y?" question asks for (X, as written), or None: none asked, a quantity
    or name (_NOT_ATTRIBUTE), or a verb's -ing form ("What were MCI's shares trading at ...?")."""
    found = _ATTRIBUTE.match(question)
    if found is None:
        return None
    word = found.group(1)
    return None if word.casefold() in _NOT_ATTRIBUTE or word.endswith("ing") else word


def _kind_patterns(lead: str, amount: str = "", person: str = "") -> list[tuple[re.Pattern[str], str]]:
    """Question-word patterns, in order, for each kind; `amount` and `person` add alternatives."""
    return [
        (re.compile(lead + r"(?:how\s+(?:many|much|long|old|far|big|large|high|often)|what\s+(?:percentage|"
                    r"proportion|share|amount|number|price|sum|figure|fine|cost|value|rate|age|score|margin|total)"
                    r"|by\s+how" + amount + r")\b", re.IGNORECASE), "amount"),
        (re.compile(lead + r"(?:when|what\s+(?:year|date|day|month|time)|which\s+(?:year|day|month|date))\b",
                    re.IGNORECASE), "date"),
        (re.compile(lead + r"(?:who|whom|whose" + person + r")\b", re.IGNORECASE), "person"),
        (re.compile(lead + r"(?:why|what\s+(?:reason|caused|prompted|led))\b", re.IGNORECASE), "reason"),
        (re.compile(lead + r"(?:where|which\s+(?:country|city|town|venue|stadium))\b", re.IGNORECASE), "place"),
    ]


_KINDS = _kind_patterns(_LEAD)
_ANSWER_KINDS = _kind_patterns(_FIRST, _MEASURE, _ROLE)


def _first_kind(question: str, patterns: list[tuple[re.Pattern[str], str]]) -> QuestionKind:
    for pattern, name in patterns:
        if pattern.search(question):
            return QuestionKind(name)
    return ANY_KIND


def question_kind(question: str) -> QuestionKind:
    """The kind of fact the question's wording asks for, as the second stage's features were learned with."""
    return _first_kind(question, _KINDS)


def answer_kind(question: str) -> QuestionKind:
    """The kind of fact the answer quote should hold: question_kind's, but also read from a role or quantity
    noun ("Which DJ ...", "What annual budget ...") and only from the first question word."""
    return _first_kind(question, _ANSWER_KINDS)


def _names_and_numbers(question: str) -> list[str]:
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


def _only_names(question: str, names: list[str]) -> list[str]:
    """The question's names and numbers (`names`) when it asks about nothing else ("Who is Ian Lavery?",
    "What did Peter Mason tell Sky News?"); otherwise none."""
    name_words = {w for name in names for w in name.split()}
    for word in _WORD.findall(question):
        folded = re.sub(r"['\u2019]s$", "", word.casefold()).strip(".'\u2019-")
        if folded and folded not in OPENERS and folded not in STOPWORDS and folded not in name_words:
            return []
    return names


_FOLDED_WORD = re.compile(r"[a-z0-9][a-z0-9'.-]*[a-z0-9]|[a-z0-9]")


def folded(text: str) -> str:
    """text as word_set reads it: case-folded, a typographic apostrophe as a plain one (every word of word_set's
    is a substring of it)."""
    return text.casefold().replace("\u2019", "'")


def word_set(text: str) -> set[str]:
    """Case-folded words of text, possessive 's taken off, for name and number matching."""
    words = _FOLDED_WORD.findall(folded(text))
    return {w[:-2] if w.endswith("'s") else w for w in words}


_CONTENT_WORD = re.compile(r"[a-z0-9]+")
_NOT_CONTENT = frozenset(
    [
        "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or", "but", "is",
        "are", "was", "were", "be", "been", "being", "do", "does", "did", "has", "have", "had", "what", "which",
        "who", "whom", "whose", "when", "where", "why", "how", "that", "this", "these", "those", "it", "its",
        "he", "she", "they", "them", "his", "her", "their", "there", "about", "did", "said", "say", "says",
        "tell", "told", "me", "you", "your", "we", "our", "i", "not", "no", "as", "into", "than", "then", "so",
        "if"
    ]
)


def content_stems(text: str) -> set[str]:
    """Content words of text (no function words, "said" or "told"), folded and cut to six letters: what the
    answer quote matches a question and a sentence on."""
    return {w[:6] for w in _CONTENT_WORD.findall(text.casefold()) if w not in _NOT_CONTENT}


def key_words(text: str) -> list[str]:
    """The words of text that say what it is about, each once: no question word, function word or number."""
    words = (re.sub(r"['\u2019]s$", "", w) for w in re.findall(r"[A-Za-z][\w'\u2019-]*", text))
    return list(dict.fromkeys(w for w in words if w.casefold() not in STOPWORDS and w.casefold() not in OPENERS
                              and w.casefold() not in _NOT_CONTENT))


_ENTITY = re.compile(r"[A-Z][\w'\u2019.-]*(?:\s+(?:of\s+the\s+|of\s+|de\s+|van\s+der\s+)?[A-Z][\w'\u2019.-]*)*")


def entities(text: str) -> list[str]:
    """Capitalised names in text, question openers ("What", "Did") taken off."""
    found = []
    for match in _ENTITY.finditer(text):
        words = match.group().split()
        while words and words[0].casefold() in OPENERS:
            words = words[1:]
        name = " ".join(words).rstrip(".'\u2019")
        if name:
            found.append(name)
    return found


_ASKED_ABOUT = re.compile(r"\s*who\s+\w+\s+(?:he|she|they)\b", re.IGNORECASE)
_POSSESSIVE = frozenset({"his", "her", "hers", "their", "theirs"})
_PRONOUN = re.compile(r"\b(he|him|his|she|her|hers|they|them|their|theirs)\b", re.IGNORECASE)
_DEPENDENT = re.compile(
    r"\b(?:he|him|his|she|her|hers|they|them|their|theirs|it|its|this|that|these|those|there|then)\b"
    r"|^\s*(?:and|but|so|also|what about|how about)\b|\b(?:the (?:same|latter|former|firm|company|film|group|"
    r"party|minister|government|deal|plan|bill|report|club|team|band|album|show|case|court|move|side)|"
    r"afterwards|instead|else|other)\b",
    re.IGNORECASE,
)


_DEFINITION = re.compile(r"^\W*(?:what|who)\s+(?:is|are|was|were)\s+(?!(?:the|a|an)\b)[a-z]", re.IGNORECASE)
""""What is nginx?", "What is redis used for?": a short question that names its own topic, in any case."""


def _leans_on_earlier(question: str, names: list[str]) -> bool:
    """Whether a question needs an earlier turn to make sense: a pronoun or "that film" whose referent it
    does not name itself (`names`: its entities), an opening "And ...", or too few words of its own (unless it
    asks what something is)."""
    asked = _ASKED_ABOUT.match(question)
    rest = question[asked.end():] if asked else question  # "Who claims he gave ...": he is the one asked about
    pronoun = _PRONOUN.search(rest)
    # A possessive may come before its name ("After her Olympic ordeal, did Paula Radcliffe ..."); "he" or
    # "she" before any name ("What post had he held at the Department of Health?") is someone said earlier.
    before = 0 if not pronoun else len(rest) if pronoun.group().casefold() in _POSSESSIVE else pronoun.start()
    people = [n for n in names if len(n.split()) > 1 and not n.isupper() and -1 < rest.find(n) < before]
    if pronoun and people and not re.search(r"\b(it|its|they|them|their)\b", rest, re.IGNORECASE):
        return False  # "What did Margaret Hodge say about her party?": the pronoun is hers
    if _DEPENDENT.search(rest):
        return True
    content = [w for w in re.findall(r"[A-Za-z0-9']+", question) if w.casefold() not in OPENERS]
    return not names and len(content) <= 2 and not _DEFINITION.match(question)


@dataclass(frozen=True)
class Question:
    """A question read once, at the door (Engine.ask; a follow-up's searched text too), and passed on to the
    search, the second stage, abstention, the answer quote and the conversation. Make one with Question.read."""

    text: str
    words: frozenset[str]
    """Its words folded, possessive 's taken off (word_set): a name or number it gives is no answer."""
    tokens: frozenset[str]
    """Every run of letters and digits in it, folded: the names a follow-up already says."""
    content_stems: frozenset[str]
    """Its content words cut to six letters (content_stems): what the answer quote matches sentences on."""
    names_and_numbers: tuple[str, ...]
    """Capitalised words other than the opening word or a question word, and every number, folded, in order."""
    only_names: tuple[str, ...]
    """Its names when it asks about nothing else ("Who is Ian Lavery?"), folded; otherwise empty."""
    years: tuple[str, ...]
    """The years it names (YEAR: not "$2010m" or "2,010"), each once."""
    entities: tuple[str, ...]
    """Capitalised names as written ("Theresa May", "MPs"), question openers taken off."""
    kind: QuestionKind
    """The kind of fact its wording asks for, as the second stage's features were learned with."""
    answer_kind: QuestionKind
    """The kind of fact the answer quote should hold (also read from a role or quantity noun)."""
    leans_on_earlier: bool
    """It needs an earlier turn to make sense ("How old is she?", "Who signed it?")."""
    key_words: tuple[str, ...] = ()
    """Its words that say what it is about, as written: not question words, function words or numbers."""
    attribute: str | None = None
    """The attribute it asks for ("capital" in "What is the capital of Australia?"; asked_attribute)."""

    @classmethod
    def read(cls, text: str) -> Question:
        """Read a question's text (already cleaned: see engine.check_question) once."""
        specifics = _names_and_numbers(text)
        names = entities(text)
        return cls(
            text=text,
            words=frozenset(word_set(text)),
            tokens=frozenset(w.casefold() for w in re.findall(r"\w+", text)),
            content_stems=frozenset(content_stems(text)),
            names_and_numbers=tuple(specifics),
            only_names=tuple(_only_names(text, specifics)),
            years=tuple(dict.fromkeys(YEAR.findall(text))),
            entities=tuple(names),
            kind=question_kind(text),
            answer_kind=answer_kind(text),
            leans_on_earlier=_leans_on_earlier(text, names),
            key_words=tuple(key_words(text)),
            attribute=asked_attribute(text),
        )
