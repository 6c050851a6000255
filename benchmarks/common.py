"""What the benchmark scripts share: where the data and results are, the BBC folder and its index, the
arguments every script spells the same way.

Run a script from the project root as a module, e.g. `python -m benchmarks.quality.news_eval --help`; citebot is
imported as the installed package (pip install -e .). Results go to benchmarks/results/NAME.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from citebot.config.errors import CitebotError
from citebot.config.settings import PROJECT_ROOT, Settings, load_settings, with_overrides

ROOT = PROJECT_ROOT
"""The project root: the folder holding config/, seeds/ and benchmarks/."""
SHARED = ROOT.parent / "shared"
NEWS = SHARED / "eval" / "news_dev.jsonl"
"""The news dev set: 270 questions about 50 BBC articles, in the golden-set format."""
SCIFACT = SHARED / "data" / "scifact"
BBC_ARTICLES = SHARED / "data" / "bbc_news" / "articles.jsonl.gz"
BBC_FOLDER = ROOT / "var" / "bbc"
"""The BBC corpus as 2,092 .txt articles (written by ../shared/eval/bbc_folder.py)."""
BBC_ARTICLE_COUNT = 2092
BBC_INDEX = ROOT / "var" / "bbc-index"
RESULTS = ROOT / "benchmarks" / "results"


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser named as the script is run (python -m benchmarks.GROUP.NAME), its docstring as help."""
    return argparse.ArgumentParser(prog=f"python -m {_module()}", description=doc,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_news_index(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--news-index", type=Path, default=BBC_INDEX,
                        help=f"index of the BBC folder (default: {BBC_INDEX.relative_to(ROOT)}; "
                             "python -m benchmarks.quality.news_eval builds it)")


def add_config(parser: argparse.ArgumentParser, overrides: bool = True) -> None:
    parser.add_argument("--config", help="settings file (default: config/default.toml)")
    if overrides:
        parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                            help="override one setting (TOML value), e.g. --set lexical.stem=false; repeatable")


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings of --config with every --set applied."""
    return with_overrides(load_settings(getattr(args, "config", None)), getattr(args, "set", []))


def require_index(index: Path) -> Path:
    """The index folder, or exit saying how to build it."""
    if not (index / "current").exists():
        sys.exit(f"no index in {index}; build the BBC one with: python -m benchmarks.quality.news_eval")
    return index


def ensure_folder(folder: Path = BBC_FOLDER) -> Path:
    """The BBC folder, written once from ../shared/data/bbc_news."""
    if not folder.is_dir() or sum(1 for _ in folder.glob("*.txt")) != BBC_ARTICLE_COUNT:
        subprocess.run([sys.executable, str(SHARED / "eval" / "bbc_folder.py"), str(folder)], check=True)
    return folder


def ensure_index(settings: Settings, index: Path = BBC_INDEX, folder: Path = BBC_FOLDER) -> Path:
    """The index of the folder, built when it is missing, unreadable or stale (changed sources or index-time
    settings; 6 to 40 minutes on 2 cores for the BBC folder)."""
    from citebot.index.build import build_index, changed_settings, stale_sources
    from citebot.index.store.faiss.manifest import read_manifest

    try:
        manifest = read_manifest(index)
        stale = stale_sources(index, settings.ingest) + changed_settings(manifest, settings)
    except CitebotError as exc:
        stale = [str(exc).split(";")[0]]  # no index yet, or one this citebot cannot read
    if stale:
        print(f"Building {index} ({stale[0]}{' ...' if len(stale) > 1 else ''})", file=sys.stderr)
        build_index(folder, index, settings, progress=True)
    return index


def write_bbc(folder: Path, limit: int | None = None) -> int:
    """The BBC articles as .txt files (title line, blank line, body), duplicates of a body dropped; how many."""
    seen: set[str] = set()
    count = 0
    with gzip.open(BBC_ARTICLES, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["text"] in seen:
                continue
            seen.add(row["text"])
            (folder / f"{row['_id']}.txt").write_text(f"{row['title']}\n\n{row['text']}\n", encoding="utf-8")
            count += 1
            if limit and count >= limit:
                break
    return count


def shown_path(path: Path) -> str:
    """A path as a recorded command shows it: relative to the project root when inside it."""
    resolved = Path(path).absolute()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def _module() -> str:
    script = Path(sys.argv[0]).resolve()
    return ".".join(script.relative_to(ROOT).with_suffix("").parts) if script.is_relative_to(ROOT) else str(script)


def command() -> str:
    """This run's command line, as results record it: python -m benchmarks.GROUP.NAME ARGS."""
    return " ".join(["python -m", _module(), *sys.argv[1:]])


def result_file(name: str) -> Path:
    return RESULTS / f"{name}.json"


def write_result(name: str, report: Any) -> Path:
    """Write a report to benchmarks/results/NAME.json; its path."""
    path = result_file(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return path
