"""The news benchmark: the BBC folder, its index (built once), and the news dev questions against it.

    python -m benchmarks.quality.news_eval                       # default config
    python -m benchmarks.quality.news_eval --config config/x.toml --misses var/news-misses.jsonl

Writes the 2,092 BBC articles with ../shared/eval/bbc_folder.py into var/bbc (once), builds their index
into var/bbc-index (once: it is reused while the folder and the index-time settings are unchanged; 6 to
40 minutes on 2 cores), runs ../shared/eval/news_dev.jsonl through `citebot eval --golden` and writes the
report, without the per-question details, to benchmarks/results/news_dev.json.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from benchmarks.common import (
    BBC_INDEX,
    NEWS,
    ROOT,
    add_config,
    command,
    ensure_folder,
    ensure_index,
    parser,
    settings_from,
    write_result,
)
from citebot.retrieval.engine import Engine
from citebot.retrieval.evaluation.golden import evaluate_golden, render_report


def main() -> int:
    cli = parser(__doc__)
    add_config(cli)
    cli.add_argument("--misses", type=Path, metavar="FILE", help="write the missed questions here (JSONL)")
    cli.add_argument("--questions", type=Path, default=NEWS, help="question set (JSONL; default: news dev)")
    cli.add_argument("--index", type=Path, default=BBC_INDEX,
                     help=f"index folder of the BBC folder (default: {BBC_INDEX.relative_to(ROOT)})")
    cli.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/news_dev.json")
    args = cli.parse_args()
    logging.basicConfig(level=logging.ERROR)
    os.chdir(ROOT)  # sources are cited relative to the working directory
    settings = settings_from(args).with_index(args.index)
    ensure_folder()
    ensure_index(settings, args.index)
    report = evaluate_golden(Engine(settings), args.questions, misses=args.misses)
    print(render_report(report))
    if not args.no_save:
        write_result("news_dev", {k: v for k, v in report.items() if k != "details"} | {"command": command()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
