"""Peak memory (RSS) of citebot's commands, each run as its own process with the real model.

    python benchmarks/memory.py              # the model alone, a seeds build, one `ask`
    python benchmarks/memory.py --big bbc    # also a build of the 2,092 BBC articles (minutes on 2 cores)
    python benchmarks/memory.py --big DIR    # also a build of any folder of *.txt

Each command is the real `python -m bot.cli ...` in a child process; its peak is the kernel's ru_maxrss
from wait4(), so it counts everything the process ever held (torch, the model, FAISS, the corpus).
Indexes go to a temporary folder. Prints a table and writes benchmarks/results/memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "memory.json"
QUESTION = "What did Theresa May say about racial hatred?"
MODEL_ONLY = ("from citebot.index.embedding import make_embedder; from citebot.config.settings import load_settings; "
              "make_embedder(load_settings().embedding).encode(['warm up'])")


def peak_rss(argv: list[str]) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one child process; exits on failure, showing its stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CITEBOT_CONFIG": str(ROOT / "config" / "default.toml")}
    began = time.perf_counter()
    child = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    err = child.stderr.read()  # drained while it runs, so a full pipe never blocks it
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({child.returncode}):\n{err.decode(errors='replace')[-2000:]}")
    return usage.ru_maxrss / 1024, time.perf_counter() - began  # ru_maxrss is in KiB on Linux


def count_txt(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.txt"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", metavar="DIR|bbc", help="also build this folder of *.txt (or the BBC articles)")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "citebot.bot.cli"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="citebot-memory-") as tmp:
        index = Path(tmp) / "index"
        runs = [
            ("model only", "python -c \"make_embedder(...).encode(['warm up'])\"", [sys.executable, "-c", MODEL_ONLY],
             None),
            ("seeds build", f"citebot index build --sources seeds --index {index}",
             [*cli, "index", "build", "--sources", "seeds", "--index", str(index)], count_txt(ROOT / "seeds")),
            ("one ask", f'citebot ask "{QUESTION}" --json --index {index}',
             [*cli, "ask", QUESTION, "--json", "--index", str(index)], count_txt(ROOT / "seeds")),
        ]
        if args.big:
            big = Path(args.big)
            if args.big == "bbc":
                sys.path.insert(0, str(ROOT / "benchmarks"))
                from speed import write_bbc

                big = Path(tmp) / "bbc"
                big.mkdir()
                write_bbc(big, None)
            runs.append((f"{big.name} build", f"citebot index build --sources {big} --index {index}-big",
                         [*cli, "index", "build", "--sources", str(big), "--index", f"{index}-big"], count_txt(big)))
        for name, command, argv, articles in runs:
            mb, seconds = peak_rss(argv)
            command = command.replace(tmp, "$TMP")
            rows.append({"run": name, "articles": articles, "peak_rss_mb": round(mb, 1),
                         "seconds": round(seconds, 1), "command": command})
            print(f"{name:<14} {articles if articles is not None else '-':>6} articles  "
                  f"peak RSS {mb:8.1f} MB  {seconds:6.1f} s   {command}", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores",
        "how": "ru_maxrss of each command run as its own process (python benchmarks/memory.py)",
        "rows": rows,
    }, indent=2) + "\n", encoding="utf-8")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
