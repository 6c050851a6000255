from __future__ import annotations

import logging
from pathlib import Path

import pytest

from citebot.config.errors import QuestionError
from citebot.config.settings import load_settings
from citebot.index.build import build_index
from citebot.retrieval.citations import quote_matches_source
from citebot.retrieval.engine import Engine
from citebot.retrieval.question import Question
from citebot.retrieval.search import reciprocal_rank_fusion
from tests.conftest import write_config

ARTICLES = {
    "otters.txt": "Otters return to the river\n\nOtters have returned to the river Wensum after forty years. "
                  "Volunteers counted twelve otters in March.\n\nThe council plans a new nature reserve.\n",
    "budget.txt": "Council budget approved\n\nThe council approved a budget of four million pounds. "
                  "Libraries will stay open on Sundays.\n",
    "match.txt": "City win the derby\n\nCity beat United three goals to one in the derby. "
                 "The striker scored twice before half time.\n",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def engine(tmp_path: Path, corpus: Path) -> Engine:
    settings = load_settings(write_config(tmp_path, sources=str(corpus), abstain_below=0.2))
    build_index(corpus, settings.paths.index, settings)
    return Engine(settings)


def test_reciprocal_rank_fusion_by_hand() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], [1.0, 0.5], k=60)
    assert fused[1] == pytest.approx(1 / 61 + 0.5 / 62)
    assert fused[2] == pytest.approx(1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 0.5 / 61)
    assert sorted(fused, key=fused.get, reverse=True) == [1, 3, 2]


def test_hybrid_search_ranks_the_matching_article_first(engine: Engine) -> None:
    result = engine.ask("How many otters did volunteers count?")
    assert not result.abstained
    top = result.passages[0]
    assert Path(top.citation.source).name == "otters.txt" and "otters" in top.text.lower()
    assert [p.rank for p in result.passages] == list(range(1, len(result.passages) + 1))
    assert all(a.score >= b.score for a, b in zip(result.passages, result.passages[1:], strict=False))
    assert result.answer is not None and "twelve otters" in result.answer.text
    assert quote_matches_source(result.answer.text, result.answer.source, result.answer.start, result.answer.end)
    for p in result.passages:
        assert quote_matches_source(p.text, p.citation.source, p.citation.start, p.citation.end)


def test_no_match_abstains_but_lists_the_nearest(engine: Engine) -> None:
    result = engine.ask("quantum zebra xylophone?")
    assert result.abstained and result.answer is None
    assert result.passages  # the nearest ones, still cited
    assert result.to_json()["answer"] is None


def test_top_k_and_json_contract(engine: Engine) -> None:
    result = engine.ask("council budget", top_k=2)
    data = result.to_json()
    assert set(data) == {"question", "searched", "abstained", "answer", "passages"}
    assert len(data["passages"]) == 2
    passage = data["passages"][0]
    assert set(passage) >= {"rank", "score", "text", "citation"}
    assert set(passage["citation"]) == {"source", "title", "start", "end", "paragraph", "text_file"}
    assert set(data["answer"]) == {"text", "source", "start", "end", "passage"}


@pytest.mark.parametrize("question", ["", "   \n\t", "x" * 501])
def test_bad_questions_are_refused(engine: Engine, question: str) -> None:
    with pytest.raises(QuestionError):
        engine.ask(question)


def test_changed_sources_are_never_cited(engine: Engine, corpus: Path, caplog: pytest.LogCaptureFixture) -> None:
    (corpus / "otters.txt").write_text("Otters moved.\n\nDifferent text now about otters.\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        fresh = Engine(engine.settings)
    assert "otters.txt changed" in caplog.text
    result = fresh.ask("How many otters did volunteers count?")
    assert all(Path(p.citation.source).name != "otters.txt" for p in result.passages)


def test_a_question_about_someone_no_article_names_abstains(engine: Engine) -> None:
    assert not engine.ask("How many otters did the volunteers in March count?").abstained
    result = engine.ask("How many otters did Zebulon Quartermaine count?")
    assert result.abstained and result.answer is None and result.passages
    assert engine.unknown_names(Question.read("What did Zebulon Quartermaine say?")) == ["Zebulon Quartermaine"]
    assert engine.unknown_names(Question.read("What did the City striker do in March?")) == []


def test_a_possessive_inside_a_name_is_no_word_of_it(tmp_path: Path) -> None:
    engine = _engine_over(tmp_path, {"azure.md": "# Fuzzing at scale\n\nMicrosoft's Azure team runs AFL and "
                                                 "libFuzzer on every build.\n"}, abstain_below=0.0)
    assert engine.unknown_names(Question.read("Which fuzzers does Microsoft's Azure team run?")) == []
    # "Microsoft's OneFuzz" is Microsoft and OneFuzz, half unknown; not "microsoft", "s" and "onefuzz".
    result = engine.ask("Which fuzzers are included in Microsoft's OneFuzz service?")
    assert result.abstained and "OneFuzz" in result.abstain_reason


def test_convex_fusion_by_hand() -> None:
    import numpy as np

    from citebot.retrieval.search import convex_fusion

    dense = np.array([0.9, 0.5, 0.1, 0.0], dtype=np.float32)
    lexical = np.array([0.0, 4.0, 2.0, 0.0], dtype=np.float32)
    fused = convex_fusion([dense, lexical], [[0, 1, 2], [1, 2]], [0.5, 0.5])
    assert set(fused) == {0, 1, 2}  # only candidates of some ranking
    # min-max over candidates: dense (1, 0.5, 0), lexical (0, 1, 0.5)
    assert fused[0] == pytest.approx(0.5) and fused[1] == pytest.approx(0.75) and fused[2] == pytest.approx(0.25)


def test_pseudo_relevance_feedback_moves_the_query_toward_its_neighbours(tmp_path: Path, corpus: Path) -> None:
    import numpy as np

    settings = load_settings(write_config(tmp_path, sources=str(corpus), prf_weight=0.5, prf_depth=1))
    build_index(corpus, settings.paths.index, settings)
    engine = Engine(settings)
    plain = engine.embedder.encode(["otters river"])[0]
    expanded = engine.searcher.embed_query("otters river")
    assert np.linalg.norm(expanded) == pytest.approx(1.0, abs=1e-5)
    nearest = engine.searcher.store.passage_vectors([int(engine.searcher.store.search_passages(plain, 1).rows[0])])[0]
    assert float(expanded @ nearest) > float(plain @ nearest)


def _engine_over(tmp_path: Path, files: dict[str, str], **overrides: object) -> Engine:
    """An engine over a folder of the given files (name: text), built with the hash embedder."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = load_settings(write_config(tmp_path, sources=str(folder), **overrides))
    build_index(folder, settings.paths.index, settings)
    return Engine(settings)


def test_a_year_the_closest_articles_do_not_mention_abstains(tmp_path: Path) -> None:
    engine = _engine_over(tmp_path, {"marathon.txt": (
        "Radcliffe wins in New York\n\nPaula Radcliffe won the New York Marathon in November 2004, her first race "
        "since Athens. She beat Susan Chepkemei by four seconds.\n")}, abstain_below=0.0)
    assert not engine.ask("Who did Paula Radcliffe beat in the 2004 New York Marathon?").abstained
    result = engine.ask("Who won the New York Marathon in 2010?")
    assert result.abstained and "2010" in result.abstain_reason and result.passages
    assert result.evidence.missing_years == ("2010",)


def test_a_version_or_year_the_closest_articles_do_not_hold_abstains(tmp_path: Path) -> None:
    engine = _engine_over(tmp_path, {"release.md": (
        "# Homebrew 4.0.0\n\nHomebrew 4.0.0 was released on 16 February 2023. The last release before it, "
        "v3.6.21, still fetched the formulae with git.\n")}, abstain_below=0.0, abstain_bank_quantile=0.0)
    assert engine.settings.retrieval.abstain_missing_number  # on by default
    assert not engine.ask("When was Homebrew 4.0.0 released?").abstained
    assert not engine.ask("What did Homebrew 3.6.21 fetch with git?").abstained  # written "v3.6.21"
    result = engine.ask("When was Homebrew 8.0.0 released?")
    assert result.abstained and "8.0.0" in result.abstain_reason and result.passages
    assert result.evidence.missing_numbers == ("8.0.0",)


def test_an_attribute_the_closest_passages_never_speak_of_abstains(tmp_path: Path) -> None:
    engine = _engine_over(tmp_path, {
        "sydney.txt": "Australia win in Sydney\n\nAustralia beat Pakistan by eight wickets in the Sydney Test. The "
                      "captain of Australia, Pat Cummins, took five wickets on the last day.\n",
        "canberra.txt": "Snow in the mountains\n\nSnow closed the roads into the Snowy Mountains south of Canberra "
                        "on Tuesday, and ski resorts opened early.\n",
    }, abstain_below=0.0, abstain_bank_quantile=0.0)
    assert engine.settings.retrieval.abstain_attribute_unmentioned  # on by default
    assert not engine.ask("Who is the captain of Australia?").abstained
    assert not engine.ask("What was the margin of Australia's win in Sydney?").abstained  # a quantity: no word
    result = engine.ask("What is the capital of Australia?")
    assert result.abstained and "capital" in result.abstain_reason and result.passages
    assert result.evidence.attribute_unmentioned == "capital"
    # Any form of the word: "captains" speaks of a captain.
    assert not engine.ask("Who were the captains of Australia in the Sydney Test?").abstained


def test_a_cost_answered_without_a_sum_of_money_abstains(tmp_path: Path) -> None:
    engine = _engine_over(tmp_path, {
        "audit.md": "# Security audit\n\nThe security audit was funded by the Open Technology Fund and carried out "
                    "by Trail of Bits.\n",
        "grant.md": "# Hardware grant\n\nThe hardware grant pays a maintainer up to $4,000 towards a new computer.\n",
    }, abstain_below=0.0, abstain_bank_quantile=0.0, abstain_money_unquoted=True)  # off by default
    assert not engine.ask("How much does the hardware grant pay a maintainer?").abstained
    assert not engine.ask("Who funded the security audit?").abstained
    result = engine.ask("How much did the security audit cost?")
    assert result.abstained and "money" in result.abstain_reason and result.passages
    assert result.evidence.money_unquoted
