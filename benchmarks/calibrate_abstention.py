"""Choose the abstention threshold from the golden set's score distributions.

    python benchmarks/calibrate_abstention.py

For every golden question, the best cosine similarity of any shown passage or sentence is recorded, split
into answerable and unanswerable. The threshold that makes the fewest errors (answerable refused plus
unanswerable answered) is printed, at the middle of the widest gap that reaches that minimum. Put it in
config/default.toml as [retrieval] abstain_below. (Questions naming people or things no article mentions
abstain by a separate rule and are counted as caught here.)
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.settings import load_settings  # noqa: E402
from retrieval.engine import Engine  # noqa: E402
from retrieval.evaluate import evaluate_golden  # noqa: E402


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings()
    engine = Engine(replace(settings, retrieval=replace(settings.retrieval, abstain_below=-1.0)))
    report = evaluate_golden(engine, settings.paths.golden)
    rows = [(d["best_similarity"], d["category"] != "unanswerable", d["abstained"]) for d in report["details"]]
    answerable = sorted(s for s, a, _ in rows if a)
    unanswerable = sorted(s for s, a, by_name in rows if not a and not by_name)
    caught_by_name = sum(1 for _, a, by_name in rows if not a and by_name)
    candidates = sorted({0.0, *answerable, *unanswerable, 1.0})
    best = None
    for low, high in zip(candidates, candidates[1:], strict=False):
        threshold = (low + high) / 2
        errors = sum(s < threshold for s in answerable) + sum(s >= threshold for s in unanswerable)
        key = (errors, -(high - low))
        if best is None or key < best[0]:
            best = (key, threshold, errors)
    assert best is not None
    print(f"answerable   ({len(answerable)}): lowest {answerable[:5]}")
    print(f"unanswerable ({len(unanswerable)} by score, {caught_by_name} by unknown names): {unanswerable}")
    print(f"threshold {best[1]:.3f} makes {best[2]} error(s) on the golden set")
    out = ROOT / "benchmarks" / "results" / "abstention.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"threshold": round(best[1], 3), "errors": best[2], "answerable": answerable,
                               "unanswerable_by_score": unanswerable, "unanswerable_by_name": caught_by_name},
                              indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
