"""`citebot chat --json` memory with one huge line among its questions: the line is read in bounded pieces and
refused with at most 200 characters echoed, so the peak RSS is that of the same chat without it.

    nice python -m benchmarks.performance.chat_long_line                 # a 200 MB line, the real model, seeds
    nice python -m benchmarks.performance.chat_long_line --megabytes 50

Runs in a temporary folder: a seeds index is built there first (the real model, untimed), then chat reads two
questions with and without a line of `--megabytes` MB between them. Peak RSS of each chat process from
getrusage(RUSAGE_CHILDREN), measured in a child of its own so the build does not count.
Writes benchmarks/results/chat_long_line.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, command, parser, write_result

QUESTIONS = ("Who is Ian Lavery?", "What did he do at the meeting?")


def peak_of_chat(folder: Path, stdin: Path) -> tuple[float, float, list[dict]]:
    """(peak RSS in MB, seconds, the JSON lines printed) of one `citebot chat --json` reading stdin."""
    probe = ("import resource, subprocess, sys, time\n"
             "start = time.perf_counter()\n"
             "with open(sys.argv[1], 'rb') as handle:\n"
             "    run = subprocess.run([sys.executable, '-m', 'citebot.bot.cli', 'chat', '--json', '--index', 'idx'],"
             " stdin=handle, capture_output=True)\n"
             "seconds = time.perf_counter() - start\n"
             "sys.stdout.buffer.write(run.stdout)\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, seconds, file=sys.stderr)\n")
    run = subprocess.run([sys.executable, "-c", probe, str(stdin)], cwd=folder, capture_output=True, check=True)
    peak, seconds = (float(x) for x in run.stderr.decode().split()[-2:])
    return peak, seconds, [json.loads(line) for line in run.stdout.decode().splitlines()]


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--megabytes", type=int, default=200, help="size of the long line (default 200)")
    args = cli.parse_args()
    with tempfile.TemporaryDirectory(prefix="chat-long-line-") as temp:
        folder = Path(temp)
        subprocess.run([sys.executable, "-m", "citebot.bot.cli", "index", "build", "--sources",
                        str(ROOT / "seeds"), "--index", "idx"], cwd=folder, check=True, capture_output=True)
        plain, huge = folder / "plain.txt", folder / "huge.txt"
        plain.write_text("\n".join(QUESTIONS) + "\n", encoding="utf-8")
        with huge.open("w", encoding="utf-8") as handle:
            handle.write(QUESTIONS[0] + "\n")
            for _ in range(args.megabytes):
                handle.write("x" * 1_000_000)
            handle.write("\n" + QUESTIONS[1] + "\n")
        plain_peak, plain_seconds, _ = peak_of_chat(folder, plain)
        huge_peak, huge_seconds, lines = peak_of_chat(folder, huge)
    report = {
        "command": command(),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "line_megabytes": args.megabytes,
        "peak_rss_mb": {"without_the_line": round(plain_peak, 1), "with_the_line": round(huge_peak, 1)},
        "seconds": {"without_the_line": round(plain_seconds, 2), "with_the_line": round(huge_seconds, 2)},
        "refused_echo_chars": len(lines[1]["question"]),
        "refusal": lines[1]["error"],
        "answered_after_it": bool(lines[2].get("passages")),
    }
    print(json.dumps(report, indent=2))
    write_result("chat_long_line", report)


if __name__ == "__main__":
    main()
