"""Incremental builds and build memory: `citebot index build` run as a user runs it, timed, with peak RSS.

    python -m benchmarks.performance.incremental --sources DIR        # full, unchanged, one article added
    python -m benchmarks.performance.incremental --sources DIR --only full --python ../other/.venv/bin/python \
        --label before
    python -m benchmarks.performance.incremental --sources var/bbc --from-index var/bbc-index --label bbc
    python -m benchmarks.performance.incremental --sources var/bbc --mixed 400 --config hash.toml --label mixed

Copies DIR to a temporary folder holding back its last article, then runs in fresh processes under
/usr/bin/time -v: a full build, a rebuild of the unchanged folder, and a rebuild with the held-back article
added. With --from-index, a copy of that index of DIR stands in for the full build: it is rebuilt unchanged
(twice: the first may chunk everything, if the index predates chunk reuse), then with the last article
removed, then with it added back (no full build). Prints wall seconds, peak RSS and texts embedded/reused for each;
appends them to benchmarks/results/incremental.json. --python runs the citebot another checkout's environment
installed (for before/after figures).

With --mixed N, the folder built is not DIR but N files of every format written from DIR's articles
(benchmarks/performance/mixed_folder.py): a full build, a rebuild of the unchanged folder, then one with a web page
edited and a Markdown post removed; after each, the files in the index's texts/ and the texts its build uses.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, parser, result_file

RESULTS = result_file("incremental")


def run_build(python: str, sources: Path, index: Path, config: str | None, *extra: str) -> dict:
    """One `citebot index build` in a fresh process under /usr/bin/time -v: seconds, peak RSS, texts embedded."""
    command = [python, "-m", "citebot.bot.cli", "index", "build", "--sources", str(sources), "--index", str(index),
               *(["--config", config] if config else []), *extra]
    began = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *command], cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"build failed:\n{done.stderr[-2000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", done.stderr))
    final = next(line for line in done.stderr.splitlines() if line.startswith("Indexed "))
    counts = re.search(r"(\d+) texts embedded, (\d+) reused", final)
    chunked = re.search(r"(\d+) article\(s\) chunked", final)
    return {"chunked": int(chunked.group(1)) if chunked else None,
            "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
            "peak_rss_mb": round(int(rss.group(1)) / 1024) if rss else None,
            "embedded": int(counts.group(1)) if counts else None, "reused": int(counts.group(2)) if counts else None,
            "final_line": final}


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--sources", type=Path, default=ROOT / "seeds", help="folder of articles (default: seeds)")
    cli.add_argument("--config", help="settings file (default: config/default.toml of the citebot run)")
    cli.add_argument("--python", default=sys.executable,
                     help="the Python whose installed citebot is run (default: this one)")
    cli.add_argument("--only", choices=["full"], help="only the full build")
    cli.add_argument("--label", default="after", help="the label of this run in the results")
    cli.add_argument("--from-index", type=Path, help="an index of --sources to copy instead of a full build")
    cli.add_argument("--mixed", type=int, metavar="N", help="build N files of every format written from --sources")
    args = cli.parse_args()
    if args.mixed:
        return mixed(args)
    files = sorted(args.sources.rglob("*.txt"))
    with tempfile.TemporaryDirectory(prefix="citebot-incremental-") as tmp:
        sources, index = Path(tmp) / "sources", Path(tmp) / "index"
        shutil.copytree(args.sources, sources)
        held_back = sources / files[-1].relative_to(args.sources)
        text = held_back.read_bytes()
        if args.from_index:
            shutil.copytree(args.from_index, index, symlinks=True)
            runs = {"unchanged_first": run_build(args.python, sources, index, args.config),
                    "unchanged": run_build(args.python, sources, index, args.config)}
            held_back.unlink()
            runs["one_removed"] = run_build(args.python, sources, index, args.config)
            held_back.write_bytes(text)
            runs["one_added"] = run_build(args.python, sources, index, args.config)
        else:
            held_back.unlink()
            runs = {"full": run_build(args.python, sources, index, args.config)}
        if args.only != "full" and not args.from_index:
            runs["unchanged"] = run_build(args.python, sources, index, args.config)
            held_back.write_bytes(text)
            runs["one_added"] = run_build(args.python, sources, index, args.config)
    result = {"label": args.label, "sources": str(args.sources), "articles": len(files),
              "config": args.config or "config/default.toml", "cpus": os.cpu_count(),
              "load_average_after": round(os.getloadavg()[0], 1),
              "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **runs}
    for name, run in runs.items():
        print(f"{args.label:8} {name:10} {run['seconds']:7.1f} s  peak RSS {run['peak_rss_mb']} MB  "
              f"embedded {run['embedded']}  reused {run['reused']}  articles chunked {run['chunked']}")
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    RESULTS.write_text(json.dumps(previous + [result], indent=2) + "\n")


def _texts(index: Path) -> dict[str, int]:
    """Files in the index's texts/ folder, and the texts its current build names."""
    manifest = json.loads((index / "current" / "manifest.json").read_text(encoding="utf-8"))
    folder = index / "texts"
    return {"texts_files": sum(1 for _ in folder.iterdir()) if folder.is_dir() else 0,
            "texts_used": len({d["text"] for d in manifest.get("documents", {}).values()})}


def mixed(args) -> None:  # noqa: ANN001
    from benchmarks.performance.mixed_folder import write_mixed_folder

    with tempfile.TemporaryDirectory(prefix="citebot-incremental-") as tmp:
        sources, index = Path(tmp) / "sources", Path(tmp) / "index"
        articles = write_mixed_folder(args.sources, sources, args.mixed)
        runs = {"full": run_build(args.python, sources, index, args.config)}
        runs["full"].update(_texts(index))
        runs["unchanged"] = run_build(args.python, sources, index, args.config)
        runs["unchanged"].update(_texts(index))
        page = sorted((sources / "html").iterdir())[0]
        page.write_text(page.read_text(encoding="utf-8").replace("</article>", "<p>An added paragraph.</p></article>",
                                                                 1), encoding="utf-8")
        sorted((sources / "md").iterdir())[0].unlink()
        runs["one_edited_one_removed"] = run_build(args.python, sources, index, args.config)
        runs["one_edited_one_removed"].update(_texts(index))
        files = {suffix: sum(1 for p in sources.rglob(f"*.{suffix}")) for suffix in ("html", "md", "pdf", "txt",
                                                                                     "csv", "jsonl")}
    result = {"label": args.label, "sources": f"--mixed {args.mixed} from {args.sources}", "files": files,
              "articles": articles, "config": args.config or "config/default.toml", "cpus": os.cpu_count(),
              "load_average_after": round(os.getloadavg()[0], 1),
              "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **runs}
    for name, run in runs.items():
        print(f"{args.label:8} {name:24} {run['seconds']:7.1f} s ({run['cpu_seconds']} s CPU)  "
              f"peak RSS {run['peak_rss_mb']} MB  "
              f"embedded {run['embedded']}  reused {run['reused']}  texts/ {run['texts_files']} files, "
              f"{run['texts_used']} used")
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    RESULTS.write_text(json.dumps(previous + [result], indent=2) + "\n")


if __name__ == "__main__":
    main()
