"""How far one ordering by the second stage's features can go: the best weights found on the scored questions.

    python benchmarks/rerank_ceiling.py --news-index var/bbc-index-l

For the news dev set's paraphrased, plain and all answerable questions, coordinate ascent with random
restarts searches the weights of [rerank.weights] (the one ordering over all candidates, without the
within-article stage) for the best hit@1 on those very questions. In-sample, so an upper bound for a linear
ordering by these features, not a figure to expect. Also printed: the share of questions whose evidence is
among the candidates at all. Results go to benchmarks/results/rerank_ceiling.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.tune_rerank import NEWS, Question, collect_questions  # noqa: E402
from citebot.config.settings import load_settings  # noqa: E402
from citebot.index.embedding import make_embedder  # noqa: E402
from citebot.retrieval.engine import Engine  # noqa: E402
from citebot.retrieval.rerank import as_vector  # noqa: E402

RESULT = ROOT / "benchmarks" / "results" / "rerank_ceiling.json"
STEPS = (-1.0, -0.5, -0.2, -0.1, 0.1, 0.2, 0.5, 1.0)


def hit(questions: list[Question], weights: np.ndarray) -> float:
    return float(np.mean([q.relevant[np.argmax(q.features @ weights)] > 0 for q in questions]))


def best_weights(questions: list[Question], start: np.ndarray, restarts: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    best, best_w = hit(questions, start), start
    for restart in range(restarts):
        w = best_w + rng.normal(0, 0.5, len(start)) if restart else start.copy()
        value = hit(questions, w)
        for _ in range(4):
            improved = False
            for i in range(len(w)):
                for step in STEPS:
                    trial = w.copy()
                    trial[i] += step
                    if (v := hit(questions, trial)) > value:
                        w, value, improved = trial, v, True
            if not improved:
                break
        if value > best:
            best, best_w = value, w
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--news-index", default=str(ROOT / "var" / "bbc-index"))
    parser.add_argument("--restarts", type=int, default=40)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    settings = load_settings(None)
    engine = Engine(settings.with_index(Path(args.news_index)), embedder=make_embedder(settings.embedding))
    questions = collect_questions(engine, NEWS, settings.rerank.depth)
    configured = as_vector(settings.rerank.weights)
    report: dict = {"command": "python benchmarks/rerank_ceiling.py " + " ".join(sys.argv[1:])}
    for category in ("paraphrase", "plain", "followup", None):
        chosen = [q for q in questions if category is None or q.category == category]
        row = {"questions": len(chosen), "configured": round(hit(chosen, configured), 3),
               "in_sample_best": round(best_weights(chosen, configured, args.restarts), 3),
               "evidence_in_candidates": round(float(np.mean([q.relevant.any() for q in chosen])), 3)}
        report[category or "all answerable"] = row
        print(category or "all answerable", row, flush=True)
    RESULT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
