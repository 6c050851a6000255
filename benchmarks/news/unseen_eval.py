"""The unseen news paraphrases: benchmarks/news/paraphrases_unseen.jsonl (92 paraphrased and 48 plain questions
and 24 two-turn follow-ups about 45 BBC articles that the news dev set does not use, written before any setting
saw them) run through `citebot eval --json` of any checkout, summarised by kind and saved under a label.

    python -m benchmarks.news.unseen_eval --label main --index /work/var/bbc-index
    python -m benchmarks.news.unseen_eval --label 30f3499 --citebot ../wt-base/.venv/bin/citebot --index ...

--citebot names another checkout's citebot (its own settings and code answer: that is how an older commit is
scored on the same questions). Writes benchmarks/results/paraphrases_unseen.json, one entry per label: for
paraphrase, plain and follow-up, hit@1, hit@3, the answer quote right (over all questions, and where the first passage
is right, and counting an answer that holds the evidence word for word from an article repeating it, as
hit@k counts such a passage) and how many were refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import BBC_INDEX, ROOT, command, parser, result_file, shown_path, write_result
from citebot.retrieval.evaluation.golden import load_golden

QUESTIONS = ROOT / "benchmarks" / "news" / "paraphrases_unseen.jsonl"
NAME = "paraphrases_unseen"
KINDS = ("paraphrase", "plain", "followup")


def _flat(text: str) -> str:
    return " ".join(text.split())


def repeats_evidence(row: dict[str, Any], quotes: list[str]) -> bool:
    """Whether an answer quote holds an evidence quote word for word (from whichever article: hit@k counts a
    passage of another article that repeats the evidence, "also in", but `answer_right` only the named one)."""
    answer = _flat(row.get("answer") or "")
    return not row["abstained"] and any(_flat(quote) in answer for quote in quotes)


def kind_figures(details: list[dict[str, Any]], kind: str,
                 quotes: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """hit@1, hit@3, the answer quote right, the same where the first passage is right, the answer quote right
    or holding the evidence word for word from another article (quotes: the evidence quotes by question id),
    and refusals of one kind."""
    rows = [row for row in details if row["category"] == kind]
    first = [row for row in rows if row["hit@1"] == 1.0]
    quotes = quotes or {}

    def share(part: list[dict[str, Any]], test: Any) -> float | None:
        return round(sum(1 for row in part if test(row)) / len(part), 3) if part else None

    return {"n": len(rows), "hit@1": share(rows, lambda r: r["hit@1"] == 1.0),
            "hit@3": share(rows, lambda r: r["hit@3"] == 1.0),
            "answer quote": share(rows, lambda r: bool(r.get("answer_right"))),
            "answer quote where hit@1": share(first, lambda r: bool(r.get("answer_right"))),
            "answer quote, also in": share(rows, lambda r: bool(r.get("answer_right"))
                                           or repeats_evidence(r, quotes.get(r["id"], []))),
            "refused": sum(1 for row in rows if row["abstained"])}


def checkout_of(citebot: Path) -> Path:
    """The checkout a venv's citebot belongs to (CHECKOUT/.venv/bin/citebot), else the project root."""
    root = Path(citebot).absolute().parents[2] if len(Path(citebot).absolute().parents) > 2 else ROOT
    return root if (root / "config" / "default.toml").is_file() else ROOT


def run_eval(citebot: Path, index: Path, config: str | None) -> dict[str, Any]:
    """`citebot eval --json` on the unseen questions, in the checkout citebot belongs to."""
    args = [str(citebot), "eval", "--index", str(Path(index).absolute()), "--golden", str(QUESTIONS), "--json"]
    if config:
        args += ["--config", str(Path(config).absolute())]
    done = subprocess.run(args, cwd=checkout_of(citebot), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"citebot eval failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)


def commit_of(checkout: Path) -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main() -> int:
    cli = parser(__doc__)
    cli.add_argument("--label", required=True, help="name this run is saved under (e.g. main, a commit)")
    cli.add_argument("--citebot", type=Path, default=Path(sys.executable).with_name("citebot"),
                     help="the citebot executable to run (default: this venv's)")
    cli.add_argument("--index", type=Path, default=BBC_INDEX, help="index of the BBC folder")
    cli.add_argument("--config", help="settings file passed to citebot eval")
    args = cli.parse_args()
    if not args.citebot.is_file():
        sys.exit(f"no citebot at {args.citebot}: pass --citebot CHECKOUT/.venv/bin/citebot")
    report = run_eval(args.citebot, args.index, args.config)
    quotes = {item["id"]: [ev["quote"] for ev in item["evidence"]] for item in load_golden(QUESTIONS)}
    run = {kind: kind_figures(report["details"], kind, quotes) for kind in KINDS}
    run |= {"commit": commit_of(checkout_of(args.citebot)), "abstention threshold": report["abstention"]["threshold"],
            "command": command()}
    saved = json.loads(result_file(NAME).read_text(encoding="utf-8")) if result_file(NAME).is_file() else {}
    saved = {"questions": shown_path(QUESTIONS), "runs": saved.get("runs", {}) | {args.label: run}}
    write_result(NAME, saved)
    print(json.dumps(run, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
