"""The news benchmark: the BBC folder, its index (built once), and the news dev questions against it.

    python benchmarks/news_eval.py                       # default config
    python benchmarks/news_eval.py --config config/x.toml --misses var/news-misses.jsonl

Writes the 2,092 BBC articles with ../shared/eval/bbc_folder.py into var/bbc (once), builds their index
into var/bbc-index (once: it is reused while the folder and the index-time settings are unchanged; 6 to
40 minutes on 2 cores), runs ../shared/eval/news_dev.jsonl through `citebot eval --golden` and writes the
report, without the per-question details, to benchmarks/results/news_dev.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from citebot.config.errors import CitebotError  # noqa: E402
from citebot.config.settings import load_settings, with_overrides  # noqa: E402
from citebot.index.build import build_index, changed_settings, stale_sources  # noqa: E402
from citebot.index.store.faiss.manifest import read_manifest  # noqa: E402
from citebot.retrieval.engine import Engine  # noqa: E402
from citebot.retrieval.evaluation.golden import evaluate_golden, render_report  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
FOLDER = Path("var/bbc")
INDEX = Path("var/bbc-index")
RESULT = ROOT / "benchmarks" / "results" / "news_dev.json"


def ensure_folder() -> None:
    if not FOLDER.is_dir() or sum(1 for _ in FOLDER.glob("*.txt")) != 2092:
        subprocess.run([sys.executable, str(SHARED / "bbc_folder.py"), str(FOLDER)], check=True)


def ensure_index(settings, index: Path) -> None:
    try:
        manifest = read_manifest(index)
        stale = stale_sources(index, settings.ingest) + changed_settings(manifest, settings)
    except CitebotError as exc:
        stale = [str(exc).split(";")[0]]  # no index yet, or one this citebot cannot read
    if stale:
        print(f"Building {index} ({stale[0]}{' ...' if len(stale) > 1 else ''})", file=sys.stderr)
        build_index(FOLDER, index, settings, progress=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="settings file (default: config/default.toml)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one setting (TOML value), e.g. --set lexical.stem=false; repeatable")
    parser.add_argument("--misses", metavar="FILE", help="write the missed questions here (JSONL)")
    parser.add_argument("--questions", default=str(SHARED / "news_dev.jsonl"), help="question set (JSONL)")
    parser.add_argument("--index", type=Path, default=INDEX, help=f"index folder of {FOLDER} (default: {INDEX})")
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/news_dev.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    os.chdir(ROOT)  # sources are cited relative to the folder the index was built in
    settings = with_overrides(load_settings(args.config), args.set).with_index(args.index)
    ensure_folder()
    ensure_index(settings, args.index)
    report = evaluate_golden(Engine(settings), Path(args.questions),
                             misses=Path(args.misses) if args.misses else None)
    print(render_report(report))
    if not args.no_save:
        summary = {k: v for k, v in report.items() if k != "details"}
        summary["command"] = "python benchmarks/news_eval.py " + " ".join(sys.argv[1:])
        RESULT.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
