"""Choose the abstention settings on the dev sets' answerable and unanswerable questions together.

    python benchmarks/calibrate_abstention.py --news-index var/bbc-index

Every question of the golden set (over the seeds) and of the news dev set (over the BBC folder) is
asked with abstention off, except the unknown-names rule, which always holds. Recorded per question:
the best cosine similarity of any passage or sentence, how many of its names and numbers none of
the top articles holds, whether it names a year none of them mentions, and whether it asks about nothing
but names that the top passage holds (answered at any similarity). Every combination (threshold, missing
limit, year rule on or off) is scored on each set: answerable questions refused and unanswerable questions
answered. Chosen: the one that refuses at most 2% of the answerable questions of every set and, within
that, answers the fewest unanswerable ones (mean share over the sets). Put it in config as [retrieval]
abstain_below, abstain_missing and abstain_missing_year.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from citebot.config.settings import load_settings  # noqa: E402
from citebot.index.embedding import make_embedder  # noqa: E402
from citebot.retrieval.engine import Engine  # noqa: E402
from citebot.retrieval.evaluation.golden import evaluate_golden  # noqa: E402

NEWS = ROOT.parent / "shared" / "eval" / "news_dev.jsonl"
MAX_REFUSED = 0.02


Row = tuple[float, int, bool, bool, bool, bool]


def rows(engine: Engine, path: Path) -> list[Row]:
    """(best similarity, names/numbers missing, answerable, abstained by unknown names, names shown, a year
    missing) per question."""
    report = evaluate_golden(engine, path)
    return [(d["best_similarity"], len(d["missing"]), d["category"] != "unanswerable", d["abstained"],
             d["names_shown"], bool(d["missing_years"])) for d in report["details"]]


def score(data: list[Row], threshold: float, limit: int, year_rule: bool = False) -> tuple[float, float]:
    """(share of answerable refused, share of unanswerable answered)."""
    refused = answered = answerable = unanswerable = 0
    for best, missing, is_answerable, by_name, shown, year_missing in data:
        abstains = (by_name or (best < threshold and not shown) or (limit > 0 and missing >= limit)
                    or (year_rule and year_missing))
        if is_answerable:
            answerable += 1
            refused += abstains
        else:
            unanswerable += 1
            answered += not abstains
    return refused / max(1, answerable), answered / max(1, unanswerable)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--news-index", default=str(ROOT / "var" / "bbc-index"))
    parser.add_argument("--config", help="settings file (default: config/default.toml)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    settings = load_settings(args.config)
    settings = replace(settings, retrieval=replace(settings.retrieval, abstain_below=-1.0, abstain_missing=0,
                                                   abstain_missing_year=False))
    embedder = make_embedder(settings.embedding)
    sets = {"golden": rows(Engine(settings, embedder=embedder), settings.paths.golden),
            "news": rows(Engine(settings.with_index(Path(args.news_index)), embedder=embedder), NEWS)}
    grid = []
    for threshold in np.round(np.arange(0.0, 0.61, 0.01), 2):
        for limit, year_rule in itertools.product((0, 1, 2, 3), (False, True)):
            scores = {name: score(data, float(threshold), limit, year_rule) for name, data in sets.items()}
            feasible = all(refused <= MAX_REFUSED for refused, _ in scores.values())
            answered = float(np.mean([a for _, a in scores.values()]))
            # Ties go to the lower threshold and to the rules switched off: what does not help is left out.
            grid.append((feasible, -answered, -float(threshold), -limit, not year_rule, float(threshold), limit,
                         year_rule, scores))
    best = max(g for g in grid if g[0]) if any(g[0] for g in grid) else max(grid)
    *_, threshold, limit, year_rule, scores = best
    result = {
        "command": "python benchmarks/calibrate_abstention.py " + " ".join(sys.argv[1:]),
        "abstain_below": threshold, "abstain_missing": limit, "abstain_missing_year": year_rule,
        "per_set": {name: {"answerable_refused": round(r, 4), "unanswerable_answered": round(a, 4)}
                    for name, (r, a) in scores.items()},
        "similarity_only": {name: {"answerable_refused": round(r, 4), "unanswerable_answered": round(a, 4)}
                            for name, (r, a) in {n: score(d, threshold, 0) for n, d in sets.items()}.items()},
        "without_the_year_rule": {name: {"answerable_refused": round(r, 4), "unanswerable_answered": round(a, 4)}
                                  for name, (r, a) in {n: score(d, threshold, limit) for n, d in sets.items()}.items()},
    }
    result["table"] = {f"{t:.2f}": {name: score(d, t, 0) for name, d in sets.items()}
                       for t in np.round(np.arange(0.26, 0.50, 0.02), 2)}
    result["table_with_the_year_rule"] = {f"{t:.2f}": {name: score(d, t, 0, True) for name, d in sets.items()}
                                          for t in np.round(np.arange(0.26, 0.50, 0.02), 2)}
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / "abstention.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
