"""benchmarks/news/paraphrases_unseen.jsonl, the news paraphrases no setting was chosen on: it reads as a
question file, every plain question has its paraphrase twin, a follow-up has two turns, every quote is in its
article (when the BBC folder is on this machine), and the summary by kind counts what it says."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks.news import unseen_eval
from benchmarks.news.unseen_eval import QUESTIONS, kind_figures
from citebot.config.settings import PROJECT_ROOT
from citebot.retrieval.evaluation.golden import load_golden

BBC = PROJECT_ROOT.parent / "var" / "bbc"


def test_the_unseen_set_is_a_question_file_of_paraphrases_their_plain_twins_and_follow_ups() -> None:
    items = load_golden(QUESTIONS)
    kinds = Counter(item["category"] for item in items)
    assert len({item["id"] for item in items}) == len(items)
    assert set(kinds) == {"paraphrase", "plain", "followup"}
    assert kinds["paraphrase"] >= 40 and kinds["plain"] >= 20 and kinds["followup"] >= 20
    evidence = {item["id"]: item["evidence"] for item in items}
    for item in items:
        assert len(item["turns"]) == (2 if item["category"] == "followup" else 1) and item["evidence"]
        if item["category"] == "plain":
            assert evidence[item["id"][:-1] + "p"] == item["evidence"]
    assert len({ev["source"].split("-")[0] for item in items for ev in item["evidence"]}) == 5


@pytest.mark.skipif(not BBC.is_dir(), reason="the BBC folder (../var/bbc) is not on this machine")
def test_every_unseen_quote_is_in_its_article_body_and_no_article_is_a_news_dev_one() -> None:
    news_dev = PROJECT_ROOT.parent / "shared" / "eval" / "news_dev.jsonl"
    dev_sources = {ev["source"] for item in load_golden(news_dev) for ev in item["evidence"]}
    for item in load_golden(QUESTIONS):
        for ev in item["evidence"]:
            body = Path(BBC / f"{ev['source']}.txt").read_text(encoding="utf-8").split("\n", 2)[2]
            assert ev["quote"] in body, item["id"]
            assert ev["source"] not in dev_sources


def test_kind_figures_counts_hits_answers_and_refusals_of_one_kind() -> None:
    def row(qid: str, kind: str, hit1: float, hit3: float, right: bool, refused: bool, answer: str = "") -> dict:
        return {"id": qid, "category": kind, "hit@1": hit1, "hit@3": hit3, "answer_right": right,
                "abstained": refused, "answer": answer}

    details = [row("a", "paraphrase", 1.0, 1.0, True, False),
               row("b", "paraphrase", 1.0, 1.0, False, False, "It took\n$28.5m (£15.2m), a record."),
               row("c", "paraphrase", 0.0, 1.0, False, True, "took $28.5m (£15.2m)"),
               row("d", "paraphrase", 0.0, 0.0, True, False),
               row("e", "plain", 1.0, 1.0, True, False)]
    quotes = {"b": ["took $28.5m  (£15.2m)"], "c": ["took $28.5m (£15.2m)"]}
    figures = kind_figures(details, "paraphrase", quotes)
    # b's answer holds its evidence word for word (another article's copy): counted "also in", not right; c was
    # refused, so its shown text does not count.
    assert figures == {"n": 4, "hit@1": 0.5, "hit@3": 0.75, "answer quote": 0.5, "answer quote where hit@1": 0.5,
                       "answer quote, also in": 0.75, "refused": 1}
    assert kind_figures(details, "followup")["hit@1"] is None


def test_a_missing_citebot_is_one_line_naming_the_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere" / "citebot"
    monkeypatch.setattr("sys.argv", ["unseen_eval", "--label", "x", "--citebot", str(missing)])
    with pytest.raises(SystemExit) as exit_:
        unseen_eval.main()
    assert str(exit_.value) == f"no citebot at {missing}: pass --citebot CHECKOUT/.venv/bin/citebot"
