"""What a collection of many real rows costs: one CSV of --rows rows (100,000 by default), each two real sentences
from the BBC folder, built and then asked in fresh processes.

    python -m benchmarks.performance.collection_rows                                    # this tree ("after")
    python -m benchmarks.performance.collection_rows --label before --citebot-src DIR   # another tree

DIR holds a `citebot/` package folder of another citebot tree (e.g. main before collections were kept whole:
`git archive main | tar -x -C SRC`, then DIR/citebot/{bot,index,retrieval,config} linked to SRC's folders); it is
put first on PYTHONPATH of every command. Builds use the deterministic test embedder ([embedding] model = "hash":
the model does not change what is stored or read, only how long embedding takes) and [ingest] max_file_bytes raised
above the CSV's size. Records the build's seconds and
peak RSS, the files and bytes under the index's texts/, the manifest's bytes, and `citebot ask` (a fresh process
loading the index and answering one question) wall and CPU seconds and peak RSS, median of --runs (CPU seconds
are the steadier figure on a shared machine). Results are kept by
label in benchmarks/results/collection_rows.json (a run replaces only its own label).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import BBC_FOLDER, ROOT, command, parser, result_file, write_result

CLI = [sys.executable, "-m", "citebot.bot.cli"]
QUESTION = "How much did Time Warner's quarterly profits rise?"
CONFIG = '[embedding]\nmodel = "hash"\n\n[ingest]\nmax_file_bytes = 200_000_000\n'
"""The test embedder, and a file limit above the CSV's size (100,000 rows are about 32 MB; the default is 5 MB)."""


def sentences(folder: Path) -> list[str]:
    """The sentences of the BBC articles (body lines split at full stops), in file order, at least 6 words each."""
    found = []
    for path in sorted(folder.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            found += [s.strip() for s in re.split(r"(?<=[.!?])\s+", line) if len(s.split()) >= 6]
    return found


def write_rows(path: Path, rows: int, pool: list[str]) -> None:
    """A CSV of rows rows, each a title and two sentences of the pool (no two rows the same pair)."""
    n = len(pool)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "text", "url"])
        for i in range(rows):
            first, second = pool[i % n], pool[(i // n * 7919 + i * 31 + 1) % n]
            writer.writerow([" ".join(first.split()[:6]), f"{first} {second}", f"https://news.example.org/{i}"])


def run(command_line: list[str], cwd: Path, env: dict[str, str]) -> dict[str, object]:
    """Wall seconds, CPU seconds (user and system), peak RSS in MB and exit code of one command."""
    with tempfile.TemporaryFile() as out:
        began = time.perf_counter()
        child = subprocess.Popen(command_line, cwd=cwd, stdout=out, stderr=out, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        seconds = time.perf_counter() - began
        out.seek(0)
        tail = out.read().decode("utf-8", "replace").strip().splitlines()[-1:]
    return {"seconds": round(seconds, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "exit": child.returncode,
            "last_line": tail[0][:200] if tail else ""}


def measure(rows: int, runs: int, work: Path, env: dict[str, str], bbc: Path) -> dict[str, object]:
    (work / "hash.toml").write_text(CONFIG, encoding="utf-8")
    (work / "articles").mkdir()
    csv_path = work / "articles" / "rows.csv"
    pool = sentences(bbc)
    if not pool:
        raise SystemExit(f"no BBC articles in {bbc} (give the folder with --bbc)")
    write_rows(csv_path, rows, pool)
    build = run([*CLI, "index", "build", "--sources", "articles", "--index", "idx", "--config", "hash.toml"], work,
                env)
    texts = [p for p in (work / "idx" / "texts").iterdir()] if (work / "idx" / "texts").is_dir() else []
    manifest = (work / "idx" / "current" / "manifest.json")
    asks = [run([*CLI, "ask", QUESTION, "--index", "idx", "--config", "hash.toml", "--json"], work, env)
            for _ in range(runs)]
    return {"csv_bytes": csv_path.stat().st_size, "build": build,
            "texts_files": len(texts), "texts_bytes": sum(p.stat().st_size for p in texts),
            "manifest_bytes": manifest.stat().st_size if manifest.exists() else None,
            "manifest_sources": len(json.loads(manifest.read_text(encoding="utf-8"))["sources"])
            if manifest.exists() else None,
            "ask_seconds": statistics.median(a["seconds"] for a in asks),  # type: ignore[misc]
            "ask_cpu_seconds": statistics.median(a["cpu_seconds"] for a in asks),  # type: ignore[misc]
            "ask_peak_rss_mb": statistics.median(a["peak_rss_mb"] for a in asks),  # type: ignore[misc]
            "ask_exit": [a["exit"] for a in asks]}


def main() -> None:
    args = parser(__doc__)
    args.add_argument("--rows", type=int, default=100_000)
    args.add_argument("--runs", type=int, default=3, help="asks per measurement (the median is kept)")
    args.add_argument("--label", default="after", help="the name this run's figures are kept under")
    args.add_argument("--citebot-src", type=Path, help="a folder holding another tree's citebot/ package")
    args.add_argument("--bbc", type=Path, default=BBC_FOLDER if BBC_FOLDER.is_dir() else ROOT.parent / "var" / "bbc",
                      help="the BBC folder of .txt articles the sentences come from")
    args.add_argument("--keep", type=Path, help="build in this (new) folder and keep it, instead of a temporary one")
    options = args.parse_args()
    env = dict(os.environ)
    if options.citebot_src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(options.citebot_src.resolve()),
                                                          env.get("PYTHONPATH")]))
    work = options.keep or Path(tempfile.mkdtemp(prefix="collection-rows-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        figures = measure(options.rows, options.runs, work, env, options.bbc)
    finally:
        if options.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    path = result_file("collection_rows")
    report = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    report.update({"embedder": "hash (the deterministic test embedder: what is stored and read, not model time)",
                   "question": QUESTION})
    report.setdefault("runs", {})[options.label] = {"rows": options.rows, "command": command(), **figures}
    print(json.dumps(report["runs"][options.label], indent=2))
    write_result("collection_rows", report)


if __name__ == "__main__":
    main()
