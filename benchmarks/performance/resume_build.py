"""A build killed halfway and resumed, against the same build run through: the seconds the kill cost, and the
texts embedded twice.

    nice python -m benchmarks.performance.resume_build                       # 100 generated articles, real model
    python -m benchmarks.performance.resume_build --articles 2000 --config hash.toml --no-write

The folder is benchmarks/performance/build_memory.py's generated corpus (var/build-memory/articles-N). Three
`citebot index build` runs, each in a fresh process: one through, into its own folder; one into another folder,
killed with SIGKILL once its journal holds half the texts the first embedded (--at); then the same command again,
which resumes. Seconds lost = killed run + resumed run - the run through (without the journal it would be the
killed run's seconds, all of it); texts re-embedded = texts the resumed run embedded - the texts the journal did
not hold (the run through's texts - the journal's at the kill): a journal record not used would count here. The
batch the model was running at the kill (at most batch_size texts) and the texts waiting for their batch to fill are
not in the journal; their time is in the seconds lost. The resumed index's files are compared with the run
through's. Prints the figures; writes benchmarks/results/resume_build.json.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, command, parser, write_result
from benchmarks.performance.build_memory import ensure_folder
from citebot.index.store.faiss.layout import DATA_FILES
from citebot.index.vector_journal import HEADER_BYTES

SAID = re.compile(r"; (\d+) texts embedded, (\d+) reused(?:, (\d+) resumed from an interrupted build)?")


def build(sources: Path, index: Path, config: str | None) -> list[str]:
    return [sys.executable, "-m", "citebot.bot.cli", "index", "build", "--sources", str(sources), "--index",
            str(index), *(["--config", config] if config else [])]


def run_through(cmd: list[str]) -> tuple[float, int, int, str]:
    """(seconds, texts embedded, texts resumed, stderr) of a build run to its end."""
    began = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    said = SAID.search(done.stderr)
    if done.returncode != 0 or said is None:
        raise SystemExit(f"build failed:\n{done.stderr[-2000:]}")
    return seconds, int(said[1]), int(said[3] or 0), done.stderr


def journal_records(index: Path, dimension: int) -> int:
    found = list(index.glob(".vectors-*.journal"))
    if not found:
        return 0
    return max(0, found[0].stat().st_size - HEADER_BYTES) // (32 + 4 + 4 * dimension + 8)


def main() -> None:
    args = parser(__doc__)
    args.add_argument("--articles", type=int, default=100)
    args.add_argument("--config", help="a config file (e.g. one naming the hash test embedder)")
    args.add_argument("--at", type=float, default=0.5, help="kill when the journal holds this share of the texts")
    args.add_argument("--no-write", action="store_true")
    options = args.parse_args()

    from citebot.config.settings import load_settings
    from citebot.index.embedding import make_embedder

    dimension = make_embedder(load_settings(Path(options.config) if options.config else None).embedding).dimension
    sources = ensure_folder(options.articles)
    work = Path(tempfile.mkdtemp(prefix="resume-build-"))
    try:
        through_seconds, embedded, _, _ = run_through(build(sources, work / "through", options.config))
        print(f"run through: {through_seconds:.1f} s, {embedded:,} texts embedded")
        index = work / "killed"
        began = time.perf_counter()
        killed = subprocess.Popen(build(sources, index, options.config), cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        while journal_records(index, dimension) < options.at * embedded:
            if killed.poll() is not None:
                raise SystemExit("the build ended before it could be killed; try a larger --articles")
            time.sleep(0.01)
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        killed_seconds = time.perf_counter() - began
        kept = journal_records(index, dimension)
        print(f"killed after {killed_seconds:.1f} s with {kept:,} texts in the journal")
        resumed_seconds, again, resumed, _ = run_through(build(sources, index, options.config))
        print(f"resumed: {resumed_seconds:.1f} s, {again:,} texts embedded, {resumed:,} taken from the journal")
        current = (index / "current").resolve()
        equal = all((current / name).read_bytes() == ((work / "through" / "current").resolve() / name).read_bytes()
                    for name in DATA_FILES)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {
        "command": command(), "articles": options.articles, "config": options.config or "config/default.toml",
        "run_through_seconds": round(through_seconds, 1), "texts": embedded,
        "killed_after_seconds": round(killed_seconds, 1), "journal_texts_at_kill": kept,
        "resumed_seconds": round(resumed_seconds, 1), "resumed_texts_embedded": again, "texts_from_journal": resumed,
        "seconds_lost": round(killed_seconds + resumed_seconds - through_seconds, 1),
        "seconds_lost_without_journal": round(killed_seconds, 1),
        "texts_re_embedded": again - (embedded - kept), "files_equal_run_through": equal,
        "machine": platform.machine(), "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(report, indent=2))
    if not options.no_write:
        print(f"wrote {write_result('resume_build', report)}")


if __name__ == "__main__":
    main()
