"""What a load costs when a source turned hostile after the build: `citebot ask` and `citebot index status` over
the seeds and one HTML page, a source replaced by a FIFO, a link to /dev/zero or a 2 GiB sparse file (the page
too).

    python -m benchmarks.performance.hostile_sources
    python -m benchmarks.performance.hostile_sources --news-index ../var/bbc-index   # and the check of every source

Builds the seeds into a temporary folder with the hash test embedder (not timed; the model does not change what
is read), then for each case runs each command once in a fresh process and records its wall time, peak RSS
(wait4's ru_maxrss) and exit code. With --news-index, also times the check of every source a load makes
(SourceWatcher.check_all: stat, link check, bounded read and sha256 of each) over that index, median of 3.
Writes benchmarks/results/hostile_sources.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, parser, require_index, write_result

CLI = [sys.executable, "-m", "citebot.bot.cli"]
VICTIM = "000_f9b0dd51ebe33c92.txt"
PAGE = "page.html"
ARTICLE = ("<html><head><title>Harbour wall repaired</title></head><body><article><h1>Harbour wall repaired</h1>"
           "<p>The harbour wall at Porthmellin was repaired over the winter, the harbour board said on Monday, "
           "after storms in the autumn broke a section of the old granite.</p></article></body></html>")
TIMEOUT = 120


def run(command: list[str], cwd: Path) -> dict[str, object]:
    """Wall seconds, peak RSS in MB and exit code of one command (killed after TIMEOUT seconds)."""
    with tempfile.TemporaryFile() as out:
        began = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=out)
        deadline = began + TIMEOUT
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.02)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        return {"seconds": round(time.perf_counter() - began, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024),
                "exit": child.returncode}


def make_case(name: str, victim: Path) -> None:
    victim.unlink()
    if name == "fifo":
        os.mkfifo(victim)
    elif name == "dev_zero_link":
        victim.symlink_to("/dev/zero")
    elif name == "sparse_2gib":
        for path in (victim, victim.with_name(PAGE)):  # a .txt source and one of another format
            path.write_bytes(b"")
            os.truncate(path, 2 * 2**30)


def check_all_seconds(index: Path) -> dict[str, object]:
    """Median seconds of 3 checks of every source of the index (as a load makes them), and how many are fresh."""
    from citebot.config.settings import load_settings
    from citebot.index.store.checks import named_sources
    from citebot.index.store.faiss.manifest import current_build, read_manifest
    from citebot.retrieval.freshness import CheckBounds, SourceWatcher

    manifest = read_manifest(index, current_build(index))
    root, _, sources = named_sources(manifest, index, [])
    bounds = CheckBounds.of(load_settings().ingest, root)
    runs, fresh = [], 0
    for _ in range(3):
        watcher = SourceWatcher(sources, bounds)
        began = time.perf_counter()
        fresh = len(watcher.check_all())
        runs.append(time.perf_counter() - began)
    return {"index": str(index), "sources": len(sources), "fresh": fresh,
            "median_seconds": round(statistics.median(runs), 3)}


def main() -> None:
    args = parser_with_index().parse_args()
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "hash.toml").write_text('[embedding]\nmodel = "hash"\n[ingest]\nallow_links_outside = true\n',
                                        encoding="utf-8")
        for case in ("as_built", "fifo", "dev_zero_link", "sparse_2gib"):
            articles = work / "articles"
            shutil.rmtree(articles, ignore_errors=True)
            shutil.copytree(ROOT / "seeds", articles)
            (articles / PAGE).write_text(ARTICLE, encoding="utf-8")
            built = subprocess.run([*CLI, "index", "build", "--sources", "articles", "--index", "idx", "--replace",
                                    "--config", "hash.toml"], cwd=work, capture_output=True, text=True)
            if built.returncode != 0:
                sys.exit(f"hostile_sources: the build failed: {built.stderr.strip()[-500:]}")
            if case != "as_built":
                make_case(case, articles / VICTIM)
            common = ["--index", "idx", "--config", "hash.toml"]
            results[case] = {"ask": run([*CLI, "ask", "Who is Ian Lavery?", "--json", *common], work),
                             "status": run([*CLI, "index", "status", *common], work)}
            print(case, results[case])
    report: dict[str, object] = {"command": "python -m benchmarks.performance.hostile_sources", "embedder": "hash",
                                 "allow_links_outside": True, "timeout_s": TIMEOUT, "cases": results}
    if args.news_index is not None:
        report["check_all"] = check_all_seconds(require_index(args.news_index))
        print("check_all", report["check_all"])
    write_result("hostile_sources", report)


def parser_with_index() -> argparse.ArgumentParser:
    found = parser(__doc__)
    found.add_argument("--news-index", type=Path, default=None,
                       help="also time the check of every source of this index (e.g. ../var/bbc-index)")
    return found


if __name__ == "__main__":
    main()
