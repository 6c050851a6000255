"""Score a question set through `citebot chat --json`, as a checker outside the project would.

    python benchmarks/chat_check.py --index var/bbc-index-l            # the news dev set
    python benchmarks/chat_check.py --questions tests/data/golden.jsonl --index var/index

Every item's turns are piped into one `citebot chat --json` process, with `/reset` between items; only the
last turn of an item is scored. hit@1: the first passage covers at least half of an evidence quote
(`citebot eval` also counts the passages of other articles listed under it as "also in"; here both are
reported). Answer quote: it overlaps an evidence quote (also reported among the questions whose first passage
is right). Unanswerable: abstained. Results go to
benchmarks/results/chat_check.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from citebot.retrieval.evaluation.golden import evidence_spans  # noqa: E402

NEWS = ROOT.parent / "shared" / "eval" / "news_dev.jsonl"
RESULT = ROOT / "benchmarks" / "results" / "chat_check.json"


def answers(items: list[dict], index: str) -> list[dict]:
    """The JSON answer to the last turn of every item."""
    lines = [line for item in items for line in (*item["turns"], "/reset")]
    run = subprocess.run([sys.executable, "-m", "citebot.bot.cli", "chat", "--json", "--index", index], cwd=ROOT,
                         input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    out = [o for o in map(json.loads, run.stdout.splitlines()) if "reset" not in o]
    last, at = [], 0
    for item in items:
        at += len(item["turns"])
        last.append(out[at - 1])
    return last


@cache
def _text(path: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8")}


def covers(item: dict, citation: dict, share: float) -> bool:
    """Whether a cited span holds `share` of an evidence quote (share 0: overlaps it at all)."""
    path = Path(citation["source"])
    path = path if path.is_absolute() else ROOT / path
    for span in evidence_spans(item["evidence"], _text(path)):
        held = span.overlap(path.name, citation["start"], citation["end"])
        if held > 0 and held >= share * (span.end - span.start):
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", default=str(NEWS), help="golden-format question file (default: news dev)")
    parser.add_argument("--index", default="var/bbc-index", help="index folder to ask")
    args = parser.parse_args()
    items = [json.loads(line) for line in Path(args.questions).read_text(encoding="utf-8").splitlines() if line]
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    both = [0, 0]  # answerable questions whose first passage is right; of those, answer quote right too
    for item, result in zip(items, answers(items, args.index), strict=True):
        c = counts[item["category"]]
        c["n"] += 1
        if item["category"] == "unanswerable":
            c["abstained"] += result["abstained"]
            continue
        top = result["passages"][0] if result["passages"] else None
        first_right = bool(top) and covers(item, top["citation"], 0.5)
        c["hit@1"] += first_right
        c["hit@1 with also_in"] += bool(top) and any(
            covers(item, p["citation"], 0.5) for p in (top, *top.get("also_in", ())))
        answer_right = bool(result["answer"]) and covers(item, result["answer"], 0.0)
        c["answer"] += answer_right
        both[0] += first_right
        both[1] += first_right and answer_right
    report = {"command": "python benchmarks/chat_check.py " + " ".join(sys.argv[1:]),
              "categories": {k: {m: round(v / c["n"], 3) if m != "n" else v for m, v in c.items()}
                             for k, c in sorted(counts.items())}}
    answerable = [c for k, c in counts.items() if k != "unanswerable"]
    total = sum(c["n"] for c in answerable)
    report["answer_quote"] = round(sum(c["answer"] for c in answerable) / total, 3) if total else None
    report["answer_quote_when_first_passage_right"] = round(both[1] / both[0], 3) if both[0] else None
    print(json.dumps(report, indent=2))
    RESULT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
