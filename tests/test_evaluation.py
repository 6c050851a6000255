"""The evaluation package: golden scoring from plain records, the refusal of a question file about other
articles, and its place above the question path (nothing that answers a question imports it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.bot.cli.main import main
from citebot.config.settings import PROJECT_ROOT
from citebot.retrieval.evaluation.golden import render_report, score_golden
from tests.conftest import SEEDS, write_config


def record(category: str, **fields: object) -> dict:
    base = {"id": category, "category": category, "turns": ["q?"], "evidence": [], "searched": "q?",
            "abstained": False, "abstain_reason": None, "best_similarity": 0.5, "missing": [],
            "names_shown": False, "missing_years": [], "missing_numbers": [], "key_cover": 1.0, "unknown_share": 0.0,
            "top_cover": 1.0, "missing_weight": 0.0, "answer_cover": 1.0, "kind_held": None, "money_unquoted": False,
            "attribute_unmentioned": None,
            "non_verbatim": 0, "boilerplate": 0, "passages": []}
    return base | fields


def test_golden_scores_come_from_plain_records() -> None:
    records = [
        record("plain", relevant=[False, True], novel=[False, True], reachable=1, answer_right=True, answer="a",
               evidence_rank=2),
        record("plain", relevant=[True, False], novel=[True, False], reachable=2, answer_right=False, answer=None,
               evidence_rank=1, non_verbatim=1),
        record("unanswerable", abstained=True),
        record("paraphrase", abstained=True, relevant=[False], novel=[False], reachable=1, answer_right=False,
               answer=None, evidence_rank=None),
        record("unanswerable"),
    ]
    report = score_golden(records, k=5, threshold=0.3)
    assert report["categories"]["plain"] == {"hit@1": 0.5, "hit@3": 1.0, "mrr@5": 0.75, "ndcg@5": 0.622, "n": 2}
    assert report["answer_accuracy_in_top"] == {"right": 1, "n": 2, "k": 5, "share": 0.5}
    assert report["answer_accuracy"] == 0.3333 and report["non_verbatim_citations"] == 1
    assert report["abstention"] == {
        "accuracy": 0.6, "answerable_refused": 1, "unanswerable_answered": 1, "answerable": 3, "unanswerable": 2,
        "threshold": 0.3, "declined": {"paraphrase": {"declined": 1, "n": 1}, "plain": {"declined": 0, "n": 2},
                                       "unanswerable": {"declined": 1, "n": 2}}}
    assert "declined (abstained) by category: paraphrase 1/1 refused, plain 0/2 refused, unanswerable 1/2" in (
        render_report({"golden": "q.jsonl", **report}))
    assert [d["id"] for d in report["details"]] == ["plain", "plain", "unanswerable", "paraphrase", "unanswerable"]
    json.dumps(report)  # plain data all the way down


def test_eval_refuses_a_question_file_about_other_articles(capsys, tmp_path: Path) -> None:
    other = tmp_path / "mine"
    other.mkdir()
    (other / "council-2024.txt").write_text("Council budget\n\nThe council approved its budget for libraries.\n",
                                            encoding="utf-8")
    config = write_config(tmp_path, sources=str(other))
    assert main(["index", "build", "--config", str(config)]) == 0
    capsys.readouterr()
    # The seeds' golden questions against an index of another folder: the user's own questions are the fix.
    assert main(["eval", "--config", str(config)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert "only 0 of the 3 articles" in err and f"citebot eval --config {config} --golden QUESTIONS.jsonl" in err
    # A question file naming the seeds' articles: the fix indexes the folder that holds them.
    questions = tmp_path / "questions.jsonl"
    questions.write_text((PROJECT_ROOT / "tests/data/golden.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    config = write_config(tmp_path, sources=str(SEEDS))
    assert main(["eval", "--config", str(config), "--golden", str(questions)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "only 0 of the 3 articles" in err
    seeds = os.path.relpath(SEEDS)  # as the command line shows paths
    assert f"citebot index build --sources {seeds} --index {seeds}-index --config {config} && citebot eval" in err


def test_eval_runs_a_question_file_whose_articles_are_mostly_indexed(capsys, hash_config: Path,
                                                                     tmp_path: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    item = {"id": "x", "category": "plain", "turns": ["Who is Theresa May?"],
            "evidence": [{"source": "002", "quote": "Theresa May"}, {"source": "not-indexed", "quote": "x"}]}
    questions.write_text(json.dumps(item) + "\n", encoding="utf-8")
    assert main(["eval", "--config", str(hash_config), "--golden", str(questions), "--json"]) == 0  # 1 of 2
    assert json.loads(capsys.readouterr().out)["questions"] == 1


def test_the_question_path_does_not_import_evaluation() -> None:
    script = ("import pkgutil, sys, importlib, citebot.retrieval as r\n"
              "for m in pkgutil.iter_modules(r.__path__):\n"
              "    importlib.import_module('citebot.retrieval.' + m.name) if m.name != 'evaluation' else None\n"
              "import citebot.bot.cli.main, citebot.bot.discord.client\n"
              "bad = [m for m in sys.modules if m.startswith('citebot.retrieval.evaluation') or m == 'pytrec_eval']\n"
              "assert not bad, bad; print('ok')")
    run = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         timeout=120, env=dict(os.environ))
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


@pytest.mark.parametrize("argv", [["eval", "--help"]])
def test_eval_help_documents_the_question_file(capsys, argv: list[str]) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    line = next(s.strip() for s in out.splitlines() if s.strip().startswith('{"id": "q1"'))
    assert set(json.loads(line)) == {"id", "category", "turns", "evidence"} and "docs/evaluation.md" in out


MARKDOWN_POST = """---
title: Harbour works
---

# Harbour works

The council said the **new** breakwater, described in [the engineers' report](https://example.org/r.pdf),
will be finished in `March 2025`, two months late.

Boats will use the _north_ quay until then.
"""


def test_your_own_questions_with_quotes_copied_from_the_original_files(capsys, tmp_path: Path) -> None:
    """A quote copied from a Markdown file (markup, a link, a line break) is found in the text read from it, and
    a CSV row is named as a citation names it: its file and its data row number."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "harbour.md").write_text(MARKDOWN_POST, encoding="utf-8")
    (folder / "news.csv").write_text(
        "title,text\nFerry fares,The chain ferry fares stay at two pounds this year.\n"
        "Bridge repairs,The Tamar footbridge closed on Friday for repairs to its deck.\n", encoding="utf-8")
    config = write_config(tmp_path, sources=str(folder))
    assert main(["index", "build", "--config", str(config)]) == 0
    copied = MARKDOWN_POST.split("\n\n")[2].split(", two")[0]  # "The council said the **new** ... `March 2025`"
    items = [
        {"id": "md", "category": "plain", "turns": ["When will the new breakwater be finished?"],
         "evidence": [{"source": "harbour.md", "quote": copied}]},
        {"id": "csv", "category": "plain", "turns": ["Which footbridge closed for repairs?"],
         "evidence": [{"source": "news.csv", "row": 2, "quote": "The Tamar footbridge closed on Friday"}]},
    ]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    capsys.readouterr()
    assert main(["eval", "--config", str(config), "--golden", str(questions), "--json"]) == 0, capsys.readouterr()
    details = {d["id"]: d for d in json.loads(capsys.readouterr().out)["details"]}
    assert details["md"]["evidence_rank"] == 1 and details["csv"]["evidence_rank"] == 1
    assert main(["ask", "Which footbridge closed for repairs?", "--config", str(config), "--json"]) == 0
    cited = json.loads(capsys.readouterr().out)["passages"][0]["citation"]
    assert cited["document"].endswith("news.csv") and cited["row"] == 2  # what the evidence above names


@pytest.mark.parametrize(("evidence", "message"), [
    ([{"source": "news.csv", "row": "two", "quote": "x"}], "evidence row must be a whole number"),
    ([{"quote": "x"}], "each evidence needs a source and a quote"),
    ("news.csv", "evidence must be a list"),
])
def test_a_malformed_evidence_is_one_line(capsys, hash_config: Path, tmp_path: Path, evidence: object,
                                          message: str) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"id": "x", "category": "plain", "turns": ["q?"], "evidence": evidence}) + "\n",
                         encoding="utf-8")
    assert main(["eval", "--config", str(hash_config), "--golden", str(questions)]) == 1
    err = capsys.readouterr().err
    assert f"questions.jsonl:1: {message}" in err and len(err.strip().splitlines()) == 1
