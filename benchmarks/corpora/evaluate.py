"""Run `citebot eval` on each of our own corpora (folders written by benchmarks.corpora.build, indexes built
with `citebot index build`) and write the figures issue 27 asks for, per corpus, to
benchmarks/results/corpora.json:

- answerable: hit@1 and the answer-quote accuracy, overall and per category;
- answer quote when the evidence is in the top 5 (the issue's measure of choosing the sentence that answers);
- refused: answerable questions refused; declined: off-corpus questions declined.

Kinds not run keep their previous figures in the file.

    python -m benchmarks.corpora.evaluate                      # every kind whose index exists under var/corpora
    python -m benchmarks.corpora.evaluate --kinds docs --corpora /work/var/corpora --misses /tmp/misses
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import result_file, write_result
from citebot.config.settings import load_settings
from citebot.retrieval.engine import Engine
from citebot.retrieval.evaluation.golden import UNANSWERABLE, evaluate_golden

HERE = Path(__file__).resolve().parent
KINDS = ("docs", "papers", "news")


def questions(kind: str) -> Path:
    return HERE / f"questions_{kind}.jsonl"


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The per-corpus figures, from a golden report's scores and its per-question details."""
    details = report["details"]
    answerable = [d for d in details if d["category"] != UNANSWERABLE]
    off = [d for d in details if d["category"] == UNANSWERABLE]
    in_top5 = [d for d in answerable if d.get("evidence_rank") is not None and d["evidence_rank"] <= 5]
    a = report["abstention"]
    return {
        "questions": report["questions"],
        "answerable": len(answerable),
        "off_corpus": len(off),
        "hit@1": report["answerable"]["hit@1"],
        "hit@3": report["answerable"]["hit@3"],
        "answer_quote": round(report["answer_accuracy"], 4),
        "answer_quote_when_top5": round(sum(d["answer_right"] for d in in_top5) / len(in_top5), 4) if in_top5 else None,
        "evidence_in_top5": len(in_top5),
        "refused": a["answerable_refused"],
        "declined": a["unanswerable"] - a["unanswerable_answered"],
        "declined_rate": round(1 - a["unanswerable_answered"] / a["unanswerable"], 4) if a["unanswerable"] else None,
        "categories": {name: {"n": m["n"], "hit@1": m["hit@1"]} for name, m in report["categories"].items()},
        "non_verbatim_citations": report["non_verbatim_citations"],
        "threshold": a["threshold"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.corpora.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=Path("var/corpora"),
                        help="folder holding KIND and KIND-index (default: %(default)s)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--misses", type=Path, help="write KIND-misses.jsonl files into this folder")
    args = parser.parse_args(argv)
    previous = result_file("corpora")
    results = json.loads(previous.read_text(encoding="utf-8"))["corpora"] if previous.exists() else {}
    for kind in args.kinds:
        index = (args.corpora / f"{kind}-index").resolve()
        if not index.is_dir():
            print(f"{kind}: no index at {index}; build it with: citebot index build "
                  f"--sources {args.corpora / kind} --index {args.corpora / kind}-index", file=sys.stderr)
            continue
        engine = Engine(load_settings(None).with_index(index))
        misses = args.misses / f"{kind}-misses.jsonl" if args.misses else None
        results[kind] = summary(evaluate_golden(engine, questions(kind), misses=misses))
        print(f"{kind}: {json.dumps(results[kind])}")
    write_result("corpora", {"command": "python -m benchmarks.corpora.evaluate", "corpora": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
