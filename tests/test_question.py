"""The question read once (Question), abstention rules and the second stage, on plain data and the hash embedder."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest

from citebot.config.settings import Settings
from citebot.index.build import build_index
from citebot.retrieval.abstain import (
    Evidence,
    abstain_reason,
    missing_numbers,
    missing_specifics,
    missing_years,
    money_unquoted,
    names_shown,
)
from citebot.retrieval.engine import Engine
from citebot.retrieval.features import FEATURES, residual_scores
from citebot.retrieval.question import Question, QuestionKind, asked_attribute, word_set
from citebot.retrieval.rerank import candidate_order
from tests.conftest import SEEDS


def test_a_question_is_read_once_into_everything_retrieval_needs() -> None:
    q = Question.read("What did Theresa May's office say about the 2010 cuts?")
    assert q.text == "What did Theresa May's office say about the 2010 cuts?"
    assert q.words == {"what", "did", "theresa", "may", "office", "say", "about", "the", "2010", "cuts"}
    assert q.tokens == {"what", "did", "theresa", "may", "s", "office", "say", "about", "the", "2010", "cuts"}
    # Content words cut to six letters, no "say"; the answer quote's own reading keeps the possessive's "s".
    assert q.content_stems == {"theres", "may", "s", "office", "2010", "cuts"}
    assert q.names_and_numbers == ("theresa", "may", "2010")
    assert q.years == ("2010",)
    assert q.entities == ("Theresa May's",)  # "What" is an opener, not a name
    assert q.only_names == ()  # it asks about the office and the cuts too
    assert (q.kind, q.answer_kind) == (QuestionKind("other"), QuestionKind("other"))
    assert not q.leans_on_earlier
    with pytest.raises(FrozenInstanceError):
        q.text = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(("question", "kind"), [
    ("How many complaints were there?", "amount"),
    ("What percentage of members voted?", "amount"),
    ("When did the meeting take place?", "date"),
    ("In what year was it founded?", "date"),
    ("Who wrote the letter?", "person"),
    ("According to the report, who signed it?", "person"),
    ("Why did the firm pull out?", "reason"),
    ("Where did the protest happen?", "place"),
    ("What did Theresa May tell MPs?", "other"),
])
def test_question_kind(question: str, kind: str) -> None:
    assert Question.read(question).kind.name == kind


@pytest.mark.parametrize(("question", "kind"), [
    ("Which DJ will host the Tuesday 2300 slot?", "person"),
    ("Which News Corp executive told the FT about it?", "person"),
    ("Which Hopman Cup doctor assessed the injury?", "person"),
    ("What annual budget will the commissioner oversee?", "amount"),
    ("What was the value of the Iraq transport contract?", "amount"),
    ("What was Paula Radcliffe's winning time in New York?", "amount"),
    ("What time does the show start?", "date"),
    ("Where did he speak when the scheme was launched?", "place"),
    ("What does the sprinter who lost his crown say he was doing?", "other"),
    ("Which story did the princess read?", "other"),
    ("What did Theresa May tell MPs?", "other"),
])
def test_answer_kind(question: str, kind: str) -> None:
    assert Question.read(question).answer_kind.name == kind


def test_the_second_stage_kind_stays_as_its_weights_were_learned() -> None:
    # The reranker's features were fitted with Question.kind: the broader reading is the answer quote's alone.
    assert Question.read("Which DJ will host the Tuesday 2300 slot?").kind.name == "other"
    assert Question.read("Where did he speak when the scheme was launched?").kind.name == "date"
    assert Question.read("How much did it take?").kind.present_in("It opened in 2004.")


def test_a_strict_amount_is_a_number_the_question_does_not_give() -> None:
    question = Question.read("What price did US crude close at as it passed $50 in 2005?")
    amount, known = question.answer_kind, question.words
    assert known == {"what", "price", "did", "us", "crude", "close", "at", "as", "it", "passed", "50", "in", "2005"}
    assert not amount.present_in("Crude passed $50 a barrel in 2005.", known, strict=True)
    assert amount.present_in("Crude closed at $51.15 on Tuesday.", known, strict=True)
    assert amount.present_in("It took two months.", known, strict=True)


def test_kind_presence_ignores_what_the_question_already_says() -> None:
    who = Question.read("Who criticised Jeremy Corbyn?")
    assert not who.kind.present_in("Jeremy Corbyn was criticised on Tuesday.", who.words)
    assert who.kind.present_in("Margaret Hodge criticised Jeremy Corbyn.", who.words)
    how_much = Question.read("How much did it take?").kind
    assert how_much.present_in("It took $33.1m at the box office.")
    assert not how_much.present_in("It took a lot at the box office.")
    assert Question.read("When did he resign?").kind.present_in("He resigned last week.")


def test_names_and_numbers_skip_the_opening_word() -> None:
    assert Question.read("Who won the 2010 New York Marathon?").names_and_numbers == ("2010", "new", "york",
                                                                                      "marathon")
    assert Question.read("What did Theresa May's office say?").names_and_numbers == ("theresa", "may")
    assert Question.read("Did Sky News report it?").names_and_numbers == ("sky", "news")


def test_years_are_years_standing_alone() -> None:
    assert Question.read("Did the 2010 race beat the record set in 2004, or the 2010 one?").years == ("2010", "2004")
    assert Question.read("What was the 1990s record, $2010m or 2,010 runners?").years == ()
    assert Question.read("What happened in mid-2005?").years == ("2005",)


def test_only_names_when_the_question_asks_about_nothing_else() -> None:
    assert Question.read("Who is Ian Lavery?").only_names == ("ian", "lavery")
    assert Question.read("What did Peter Mason tell Sky News?").only_names == ("peter", "mason", "sky", "news")
    assert Question.read("When was the Labour Party founded?").only_names == ()  # asks beyond the names
    assert Question.read("Who is he?").only_names == ()


def test_specifics_missing_from_the_top_articles() -> None:
    articles = [{"radcliffe", "won", "the", "new", "york", "marathon", "2004"}]
    missing, count = missing_specifics(Question.read("Who won the 2010 New York Marathon?"), articles)
    assert missing == ("2010",) and count == 4
    # Plural and possessive forms count as present.
    assert missing_specifics(Question.read("What did the Oscars show?"), [{"oscar"}])[0] == ()


def test_abstain_reasons() -> None:
    fine = Evidence(0.6, (), (), 2)
    assert abstain_reason(fine, 0.3, 1) is None
    assert "close enough" in abstain_reason(replace(fine, best_similarity=0.2), 0.3, 1)
    assert "Keir Starmer" in abstain_reason(replace(fine, unknown_names=("Keir Starmer",)), 0.3, 1)
    assert "2010" in abstain_reason(replace(fine, missing=("2010",)), 0.3, 1)
    assert abstain_reason(replace(fine, missing=("2010",)), 0.3, 0) is None  # the rule switched off
    assert abstain_reason(replace(fine, missing=("2010",)), 0.3, 2) is None
    # Low similarity does not refuse a question about nothing but names that the top passage names.
    assert abstain_reason(replace(fine, best_similarity=0.2, names_shown=True), 0.3, 1) is None
    assert "Keir Starmer" in abstain_reason(replace(fine, unknown_names=("Keir Starmer",), names_shown=True), 0.3, 1)


def test_a_year_the_top_articles_do_not_mention() -> None:
    articles = [{"radcliffe", "new", "york", "marathon", "2004"}, {"mid-2005"}]

    def missing(question: str, words: list[set[str]] = articles) -> tuple[str, ...]:
        return missing_years(Question.read(question), words)

    assert missing("Who won the 2010 New York Marathon?") == ("2010",)
    assert missing("Who won the 2004 New York Marathon?") == ()
    assert missing("What happened in mid-2005?") == ()
    # Decades, amounts and counts are not years; articles that give no year cannot contradict one.
    assert missing("What was the 1990s record, $2010m or 2,010 runners?") == ()
    assert missing("Who won the 2010 New York Marathon?", [{"radcliffe", "marathon"}]) == ()
    evidence = Evidence(0.6, (), (), 2, missing_years=("2010",))
    assert abstain_reason(evidence, 0.3, 0) is None  # the rule switched off
    assert "2010" in abstain_reason(evidence, 0.3, 0, year_rule=True)


def test_a_number_the_top_articles_do_not_hold() -> None:
    articles = [{"homebrew", "v4.1.2", "mid-2008", "300", "1", "000", "released"}]

    def missing(question: str, words: list[set[str]] = articles) -> tuple[str, ...]:
        return missing_numbers(Question.read(question), words)

    assert missing("When was Homebrew 8.0.0 released?") == ("8.0.0",)
    assert missing("When was Homebrew 4.1.2 released?") == ()  # inside "v4.1.2"
    assert missing("What happened in 2008 when 1,000 users paid $300?") == ()
    # A number joined to letters or another number may be written otherwise in the articles.
    assert missing("Who won the 37-31 game of the 1940s T20 league?") == ()
    # Articles that give no number do not excuse one (the year rule would).
    assert missing("What did oil cost in 2009?", [{"oil", "price"}]) == ("2009",)
    evidence = Evidence(0.6, (), (), 1, missing_numbers=("8.0.0",))
    assert abstain_reason(evidence, 0.3, 0) is None  # the rule switched off
    assert "8.0.0" in abstain_reason(evidence, 0.3, 0, number_rule=True)


def test_a_question_about_a_cost_needs_a_sum_of_money_in_the_quote() -> None:
    funded = "This audit was funded by the Open Technology Fund and conducted by Trail of Bits."
    assert money_unquoted("How much did the Trail of Bits audit cost?", funded)
    assert money_unquoted("What is the price of bitcoin?", None)
    assert not money_unquoted("How much did Homebrew spend on the meeting?", "Homebrew spent $11,965.85 in total.")
    assert not money_unquoted("How much bug bounty money did the bugs earn?", "a sum of 2,600 USD")
    assert not money_unquoted("How much rain fell in May?", funded)  # not about money
    assert not money_unquoted("Who paid for the audit?", funded)
    evidence = Evidence(0.6, (), (), 0, money_unquoted=True)
    assert abstain_reason(evidence, 0.3, 0) is None  # the rule switched off
    assert "money" in abstain_reason(evidence, 0.3, 0, money_rule=True)


def test_the_attribute_a_what_is_the_x_of_y_question_asks_for() -> None:
    assert asked_attribute("What is the capital of Australia?") == "capital"
    assert asked_attribute("What was the final death toll of the Noto earthquake?") == "toll"
    assert asked_attribute("What is libFuzzer's default memory limit?") == "limit"
    assert asked_attribute("Who is India's captain for the 2024 T20 World Cup?") == "captain"
    assert asked_attribute("Who is the CEO of GitHub?") == "CEO"
    assert Question.read("What is the capital of Australia?").attribute == "capital"
    # A name, a date or a quantity is given without its word; a verb's -ing form is no attribute.
    assert asked_attribute("What is the name of the new ship?") is None
    assert asked_attribute("What was the value of the Iraq transport contract?") is None
    assert asked_attribute("What was the score?") is None
    assert asked_attribute("What was the result of the Sydney Test?") is None  # "Australia won by 8 wickets"
    assert asked_attribute("What is the purpose of the Raft paper?") is None
    assert asked_attribute("What were MCI's shares trading at after the bid?") is None
    # Not "What is the X of Y?": an action, a definition, a clause after the noun.
    assert asked_attribute("What did Ian Lavery warn Corbyn about?") is None
    assert asked_attribute("What is Homebrew?") is None
    assert asked_attribute("What is the song made with it called?") is None
    assert asked_attribute("Which team won the final?") is None
    evidence = Evidence(0.6, (), (), 0, attribute_unmentioned="capital")
    assert abstain_reason(evidence, 0.3, 0) is None  # the rule switched off
    assert "capital" in abstain_reason(evidence, 0.3, 0, attribute_rule=True)


def test_a_question_about_nothing_but_names_shown_by_a_passage() -> None:
    chairman = word_set("But the party chairman, Ian Lavery, warned Corbyn")
    assert names_shown(Question.read("Who is Ian Lavery?"), chairman)
    assert names_shown(Question.read("What did Ian Lavery tell Corbyn?"), chairman)
    assert not names_shown(Question.read("Who is Ian Lavery?"), word_set("Lavery warned Corbyn"))  # not all of it
    assert not names_shown(Question.read("What did Ian Lavery warn Corbyn about?"), chairman)


def test_the_engine_reads_each_question_once(hash_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Engine.ask reads the question as asked, and a rewritten follow-up's searched text, once each."""
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    engine = Engine(hash_settings)
    read: list[str] = []
    original = Question.read.__func__

    def counted(cls: type[Question], text: str) -> Question:
        read.append(text)
        return original(cls, text)

    monkeypatch.setattr(Question, "read", classmethod(counted))
    conversation = engine.new_conversation()
    first = engine.ask("How many complaints involved Jeremy Corbyn's office?", conversation)
    assert read == [first.question]
    read.clear()
    follow_up = engine.ask("What did he say about them?", conversation)
    assert follow_up.searched != follow_up.question
    assert read == [follow_up.question, follow_up.searched]


def _engine(settings: Settings, weights: dict[str, float], depth: int = 30,
            within_article: dict[str, float] | None = None) -> Engine:
    rerank = replace(settings.rerank, depth=depth, weights=weights, within_article=within_article or {})
    return Engine(replace(settings, rerank=rerank))


def test_second_stage_orders_the_top_candidates_by_its_weights(hash_settings: Settings) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    question = "How many complaints involved Jeremy Corbyn's office?"
    first = _engine(hash_settings, {"fused": 1.0})
    by_lexical = _engine(hash_settings, {"lexical": 1.0})
    found = first.first_stage(Question.read(question))
    head = found.hits[:30]
    features = first.reranker.features(found.context, head, found.signals, found.sentence_scores)
    assert features.shape == (len(head), len(FEATURES))
    lexical = features[:, FEATURES.index("lexical")]
    assert lexical.max() == pytest.approx(1.0) and np.all((lexical >= 0) & (lexical <= 1))
    reranked = by_lexical.reranker.rerank(found.context, found.hits, found.signals, found.sentence_scores)
    expected = [head[i].row for i in np.argsort(-lexical, kind="stable")]
    assert [h.row for h in reranked[:30]] == expected
    assert [h.row for h in reranked[30:]] == [h.row for h in found.hits[30:]]  # below the head: unchanged
    # depth 0 switches the stage off: the first stage's order.
    off = _engine(hash_settings, {"lexical": 1.0}, depth=0)
    assert off.reranker.rerank(found.context, found.hits, found.signals, found.sentence_scores) == found.hits


def test_candidate_order_reorders_each_article_among_its_own_places() -> None:
    scores = np.array([3.0, 2.0, 1.0, 0.0, -1.0])
    articles = ["a", "b", "a", "b", "c"]
    assert candidate_order(scores, None, articles) == [0, 1, 2, 3, 4]
    # a holds places 1 and 3, b places 2 and 4: each keeps them, filled by its own within-article order.
    assert candidate_order(scores, np.array([0.0, 1.0, 5.0, 0.0, 9.0]), articles) == [2, 1, 0, 3, 4]
    assert candidate_order(scores, np.array([0.0, 0.0, 5.0, 7.0, 9.0]), articles) == [2, 3, 0, 1, 4]


def test_within_article_weights_order_passages_but_not_articles(hash_settings: Settings) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    question = "How many complaints involved Jeremy Corbyn's office?"
    first = _engine(hash_settings, {"fused": 1.0})
    two = _engine(hash_settings, {"fused": 1.0}, within_article={"lexical": 1.0})
    found = first.first_stage(Question.read(question))
    plain = first.reranker.rerank(found.context, found.hits, found.signals, found.sentence_scores)[:30]
    within = two.reranker.rerank(found.context, found.hits, found.signals, found.sentence_scores)[:30]
    source = [first.stored.chunks[h.row].source for h in plain]
    assert [first.stored.chunks[h.row].source for h in within] == source  # every article keeps its places
    assert within != plain
    assert [h.score for h in within] == [h.score for h in plain]  # each place keeps its score
    lexical = np.asarray(found.signals.lexical)
    for article in set(source):
        rows = [h.row for h in within if first.stored.chunks[h.row].source == article]
        assert rows == sorted(rows, key=lambda r: -lexical[r]) or len(set(lexical[rows])) < len(rows)


def test_residual_ignores_the_articles_topic(hash_settings: Settings) -> None:
    """What the question shares with its article's centroid does not move a passage's residual."""
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    engine = _engine(hash_settings, {"fused": 1.0}, within_article={"residual": 1.0})
    vector = engine.searcher.embed_query("How many complaints involved Jeremy Corbyn's office?").astype(np.float64)
    reranker, view = engine.reranker, engine.reranker.view
    source = view.chunks[0].source
    rows = view.rows_by_source[source]
    centroid = reranker.centroid(source)
    store = engine.searcher.store
    scores = [residual_scores(v / np.linalg.norm(v), rows, view, reranker.centroid, store.sentence_vectors,
                              engine.searcher.sentences_by_chunk) for v in (vector, vector + 3 * centroid)]
    assert scores[0].keys() == scores[1].keys() == set(rows)
    assert np.allclose([scores[0][r] for r in rows], [scores[1][r] for r in rows], atol=1e-5)
    cosine = {r: float((store.sentence_vectors(engine.searcher.sentences_by_chunk[r]) @ vector).max()) for r in rows}
    assert not np.allclose([scores[0][r] for r in rows], list(cosine.values()), atol=1e-3)  # not plain cosine


def test_previous_article_feature_marks_the_last_answer_article(hash_settings: Settings) -> None:
    build_index(SEEDS, hash_settings.paths.index, hash_settings)
    engine = _engine(hash_settings, {"fused": 1.0})
    conversation = engine.new_conversation()
    result = engine.ask("How many complaints involved Jeremy Corbyn's office?", conversation)
    assert result.answer is not None
    found = engine.first_stage(Question.read("What did he say about them?"), conversation)
    features = engine.reranker.features(found.context, found.hits[:30], found.signals, found.sentence_scores)
    same = [engine.stored.chunks[h.row].source == result.answer.source for h in found.hits[:30]]
    assert list(features[:, FEATURES.index("previous_article")]) == [float(s) for s in same]


def test_fast_terms_equal_bm25s_tokens() -> None:
    import bm25s
    import Stemmer

    from citebot.index.lexical import Tokenizer

    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    texts += ["What did Theresa May's office say about the 2010 cuts?", "", "a I x", "Ünïcode façade naïve 3.5%"]
    expected = bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=False,
                              show_progress=False)
    assert [Tokenizer().terms(t) for t in texts] == expected
