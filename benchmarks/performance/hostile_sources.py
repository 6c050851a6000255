"""What a load costs when a source turned hostile after the build: `citebot ask` and `citebot index status` over
the seeds and one HTML page, a source replaced by a FIFO, a link to /dev/zero or a 2 GiB sparse file (the page
too).

    python -m benchmarks.performance.hostile_sources

Builds the seeds into a temporary folder with the hash test embedder (not timed; the model does not change what
is read), then for each case runs each command once in a fresh process and records its wall time, peak RSS
(wait4's ru_maxrss) and exit code. Writes benchmarks/results/hostile_sources.json.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, parser, write_result

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


def main() -> None:
    parser(__doc__).parse_args()
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
    write_result("hostile_sources", {"command": "python -m benchmarks.performance.hostile_sources",
                                     "embedder": "hash", "allow_links_outside": True, "timeout_s": TIMEOUT,
                                     "cases": results})


if __name__ == "__main__":
    main()
