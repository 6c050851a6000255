"""Would "no top passage holds the kind of fact asked for" catch unanswerable questions? (issue #9, point 9)

    python benchmarks/kind_abstention.py --news-index var/bbc-index-l

Runs the golden and news dev sets through the default engine; for every question it answers whose wording
asks for a kind of fact (retrieval/query.py answer_kind: a name, a date, an amount, a reason, a place), counts
those whose top 1, 3 or 5 passages hold no fact of that kind (QuestionKind.present_in, strict), separately for
answerable and unanswerable questions. Such a rule earns its place only if it catches unanswerable questions
the similarity threshold lets through without refusing answerable ones. Writes
benchmarks/results/kind_abstention.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.tune_rerank import NEWS  # noqa: E402
from citebot.config.settings import load_settings  # noqa: E402
from citebot.index.embedding import make_embedder  # noqa: E402
from citebot.retrieval.engine import Engine  # noqa: E402
from citebot.retrieval.evaluation.golden import UNANSWERABLE, load_golden, replay_earlier_turns  # noqa: E402
from citebot.retrieval.question import answer_kind, word_set  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "kind_abstention.json"
DEPTHS = (1, 3, 5)


def count(engine: Engine, path: Path) -> dict:
    counts: dict[str, int] = {}
    caught: list[str] = []
    for item in load_golden(path):
        question = item["turns"][-1]
        result = engine.ask(question, replay_earlier_turns(engine, item))
        group = "unanswerable" if item["category"] == UNANSWERABLE else "answerable"
        key = f"{group} {'abstained' if result.abstained else 'answered'}"
        counts[key] = counts.get(key, 0) + 1
        kind = answer_kind(question)
        if result.abstained or kind.name == "other":
            continue
        known = frozenset(word_set(result.searched))
        for depth in DEPTHS:
            if not any(kind.present_in(p.text, known, strict=True) for p in result.passages[:depth]):
                key = f"{group} answered, no {kind.name} in the top {depth}"
                counts[key] = counts.get(key, 0) + 1
                if depth == 3:
                    caught.append(f"{group}: {question}")
    return {"counts": dict(sorted(counts.items())), "would_abstain_at_depth_3": caught}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--news-index", default=str(ROOT / "var" / "bbc-index"), help="index of the BBC folder")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    settings = load_settings()
    embedder = make_embedder(settings.embedding)
    report = {"command": "python benchmarks/kind_abstention.py " + " ".join(sys.argv[1:]),
              "golden": count(Engine(settings, embedder=embedder), settings.paths.golden),
              "news": count(Engine(settings.with_index(Path(args.news_index)), embedder=embedder), NEWS)}
    print(json.dumps(report, indent=2))
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
