"""Did a change keep every answer? Run a question set through `citebot chat --json` (one process, `/reset`
between items) and compare two such runs: the top 5 passages (source, span, score), the answer quote, the
abstention and the searched text of every turn.

    python -m benchmarks.quality.same_answers capture tests/data/golden.jsonl var/index var/golden.before.jsonl
    ... change the code ...
    python -m benchmarks.quality.same_answers capture tests/data/golden.jsonl var/index var/golden.after.jsonl
    python -m benchmarks.quality.same_answers compare var/golden.before.jsonl var/golden.after.jsonl

Runs of another checkout: add `--cli "python -m bot.cli"` and run from that checkout. Paths under the working
directory are compared relative to it. Runs hold article text: keep them under var/ (never committed).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path


def capture(questions: Path, index: str, out: Path, cli: list[str]) -> int:
    lines = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        if line.strip():
            lines += [*json.loads(line)["turns"], "/reset"]
    run = subprocess.run([*cli, "chat", "--json", "--index", index], input="\n".join(lines) + "\n",
                         capture_output=True, text=True)
    if run.returncode:
        print(run.stderr[-2000:], file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(run.stdout, encoding="utf-8")
    print(f"{len(run.stdout.splitlines())} answers written to {out}")
    return 0


def _key(answer: dict) -> tuple:
    top = [(p["citation"]["source"], p["citation"]["start"], p["citation"]["end"], round(p["score"], 4))
           for p in answer.get("passages", [])[:5]]
    return top, answer.get("answer"), answer.get("abstained"), answer.get("searched")


def compare(before: Path, after: Path) -> int:
    prefix = os.getcwd() + os.sep
    runs = [[json.loads(line.replace(prefix, "")) for line in path.read_text(encoding="utf-8").splitlines()]
            for path in (before, after)]
    if len(runs[0]) != len(runs[1]):
        print(f"{len(runs[0])} answers before, {len(runs[1])} after")
        return 1
    differ = [a.get("question") for a, b in zip(*runs, strict=True) if _key(a) != _key(b)]
    for question in differ:
        print(f"differs: {question}")
    print(f"{len(runs[0])} answers, {len(differ)} differ in top 5, answer, abstention or searched text")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("capture", help="answer every question of a set")
    run.add_argument("questions", type=Path)
    run.add_argument("index")
    run.add_argument("out", type=Path)
    run.add_argument("--cli", default=f"{sys.executable} -m citebot.bot.cli", help="the citebot to run")
    check = commands.add_parser("compare", help="compare two captures")
    check.add_argument("before", type=Path)
    check.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "capture":
        return capture(args.questions, args.index, args.out, shlex.split(args.cli))
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
