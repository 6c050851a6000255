"""Incremental builds and build memory: `citebot index build` run as a user runs it, timed, with peak RSS.

    python benchmarks/incremental.py --sources DIR                 # full, unchanged, one article added
    python benchmarks/incremental.py --sources DIR --only full --code OTHER_CHECKOUT --label before
    python benchmarks/incremental.py --sources var/bbc --from-index var/bbc-index --label bbc   # no full build

Copies DIR to a temporary folder holding back its last article, then runs in fresh processes under
/usr/bin/time -v: a full build, a rebuild of the unchanged folder, and a rebuild with the held-back article
added. With --from-index, a copy of that index of DIR stands in for the full build: it is rebuilt unchanged
(twice: the first may chunk everything, if the index predates chunk reuse), then with the last article
removed, then with it added back. Prints wall seconds, peak RSS and texts embedded/reused for each; appends them to
benchmarks/results/incremental.json. --code runs another checkout's citebot (for before/after figures).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "incremental.json"


def run_build(code: Path, sources: Path, index: Path, config: str | None, *extra: str) -> dict:
    command = [sys.executable, "-m", "citebot.bot.cli", "index", "build", "--sources", str(sources), "--index", str(index),
               *(["--config", config] if config else []), *extra]
    began = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *command], cwd=code, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(code)}, check=False)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"build failed:\n{done.stderr[-2000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    final = next(line for line in done.stderr.splitlines() if line.startswith("Indexed "))
    counts = re.search(r"(\d+) texts embedded, (\d+) reused", final)
    chunked = re.search(r"(\d+) article\(s\) chunked", final)
    return {"chunked": int(chunked.group(1)) if chunked else None,
            "seconds": round(seconds, 1), "peak_rss_mb": round(int(rss.group(1)) / 1024) if rss else None,
            "embedded": int(counts.group(1)) if counts else None, "reused": int(counts.group(2)) if counts else None,
            "final_line": final}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=Path, default=ROOT / "seeds")
    parser.add_argument("--config", help="settings file (default: config/default.toml of --code)")
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose citebot is run")
    parser.add_argument("--only", choices=["full"], help="only the full build")
    parser.add_argument("--label", default="after")
    parser.add_argument("--from-index", type=Path, help="an index of --sources to copy instead of a full build")
    args = parser.parse_args()
    files = sorted(args.sources.rglob("*.txt"))
    with tempfile.TemporaryDirectory(prefix="citebot-incremental-") as tmp:
        sources, index = Path(tmp) / "sources", Path(tmp) / "index"
        shutil.copytree(args.sources, sources)
        held_back = sources / files[-1].relative_to(args.sources)
        text = held_back.read_bytes()
        if args.from_index:
            shutil.copytree(args.from_index, index, symlinks=True)
            runs = {"unchanged_first": run_build(args.code, sources, index, args.config),
                    "unchanged": run_build(args.code, sources, index, args.config)}
            held_back.unlink()
            runs["one_removed"] = run_build(args.code, sources, index, args.config)
            held_back.write_bytes(text)
            runs["one_added"] = run_build(args.code, sources, index, args.config)
        else:
            held_back.unlink()
            runs = {"full": run_build(args.code, sources, index, args.config)}
        if args.only != "full" and not args.from_index:
            runs["unchanged"] = run_build(args.code, sources, index, args.config)
            held_back.write_bytes(text)
            runs["one_added"] = run_build(args.code, sources, index, args.config)
    result = {"label": args.label, "sources": str(args.sources), "articles": len(files),
              "config": args.config or "config/default.toml", "cpus": os.cpu_count(),
              "load_average_after": round(os.getloadavg()[0], 1),
              "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **runs}
    for name, run in runs.items():
        print(f"{args.label:8} {name:10} {run['seconds']:7.1f} s  peak RSS {run['peak_rss_mb']} MB  "
              f"embedded {run['embedded']}  reused {run['reused']}  articles chunked {run['chunked']}")
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    RESULTS.write_text(json.dumps(previous + [result], indent=2) + "\n")


if __name__ == "__main__":
    main()
