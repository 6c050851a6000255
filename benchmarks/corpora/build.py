"""Rebuild the folders of our own non-BBC corpora from pinned snapshots of public GitHub repositories, so that
the question sets beside this script (questions_KIND.jsonl) can be run on them. The documents are never
committed; this script is the only record of what each folder holds.

    python -m benchmarks.corpora.build                       # every kind, under var/corpora/KIND
    python -m benchmarks.corpora.build --kinds docs --out /tmp/corpora
    citebot index build --sources var/corpora/docs --index var/corpora/docs-index
    citebot eval --index var/corpora/docs-index --golden benchmarks/corpora/questions_docs.jsonl

A snapshot is read from a bare git directory (`--mirrors`, default /work/.mirror/OWNER+NAME/repo), at the
commit pinned below. When it is missing, the script says how to get it (`git clone --bare`).
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MIRRORS = Path("/work/.mirror")


@dataclass(frozen=True)
class Source:
    """Files taken from one repository at one commit: `select(path) -> name in the folder, or None`, each file's
    bytes passed through `convert` (a collection reduced to the rows and columns citebot reads)."""
    repo: str
    commit: str
    select: Callable[[str], str | None]
    convert: Callable[[bytes], bytes] = bytes


@dataclass(frozen=True)
class Kind:
    description: str
    sources: tuple[Source, ...]


HOMEBREW_DOCS_LEFT_OUT = {
    "docs/AGENTS.md",  # instructions to coding agents, not documentation
    "docs/Manpage.md",  # 300 KB of generated command reference
    "docs/README.md",  # a list of links
    "docs/Kickstarter-Supporters.md",  # a list of names
}


def homebrew_doc(path: str) -> str | None:
    """The user and maintainer documentation of Homebrew (docs/*.md, governance minutes and membership)."""
    if not path.startswith("docs/") or not path.endswith(".md") or path in HOMEBREW_DOCS_LEFT_OUT:
        return None
    if path.startswith("docs/vale-styles/"):
        return None
    return "docs/" + path.removeprefix("docs/").replace("/", "-")


def homebrew_post(path: str) -> str | None:
    """The Homebrew blog's posts (release notes, security disclosures, maintainer news)."""
    if path.startswith("_posts/") and path.endswith(".md"):
        return "blog/" + path.removeprefix("_posts/")
    return None


FUZZING_PAPERS = (
    "CCS16_aflfast", "CCS17_aflgo", "CCS17_DIFUZE", "CCS17_SlowFuzz", "CCS18_Evaluating", "ICSE19_RESTler",
    "ICST20_AFLNet", "NDSS16_Driller", "NDSS17_Vuzzer", "NDSS19_Nautilus", "NDSS19_REDQUEEN", "NDSS20_HotFuzz",
    "SOSP19_Hydra", "SP17_Skyfire", "SP18_Angora", "SP18_T-Fuzz", "SP19_NEUZZ", "SP20_IJON", "USENIX18_Kafl",
    "USENIX18_MoonShine", "USENIX18_QSYM", "USENIX19_Antifuzz",
)


def fuzzing_paper(path: str) -> str | None:
    """22 well-known fuzzing papers (greybox, hybrid, grammar, kernel and network fuzzers) of the collection."""
    name = path.removeprefix("Paper/").removesuffix(".pdf")
    return f"{name}.pdf" if path == f"Paper/{name}.pdf" and name in FUZZING_PAPERS else None


NEWS_ROWS = 200


def ndtv_export(path: str) -> str | None:
    """NDTV's articles of 1 January 2024 with their text, as scraped into one CSV."""
    return "ndtv-2024-01-01.csv" if path == "ndtv_articles_with_text.csv" else None


def is_english(text: str) -> bool:
    return sum(c.isascii() for c in text) > 0.95 * len(text)


def english_news_rows(data: bytes) -> bytes:
    """The first NEWS_ROWS English articles of at least 800 characters (the export mixes in Hindi ones), with the
    columns renamed to what citebot reads: title, text, date, url."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["title", "text", "date", "url"], lineterminator="\n")
    writer.writeheader()
    kept = 0
    for row in csv.DictReader(io.StringIO(data.decode("utf-8"))):
        text = row["article_text"] or ""
        if kept < NEWS_ROWS and len(text) >= 800 and is_english(text) and is_english(row["headline"]):
            writer.writerow({"title": row["headline"], "text": text, "date": "2024-01-01", "url": row["url"]})
            kept += 1
    return out.getvalue().encode("utf-8")


KINDS: dict[str, Kind] = {
    "docs": Kind(
        "Homebrew's documentation and blog in Markdown",
        (Source("Homebrew/brew", "aad366ffaf6a8c94c66d35e4b990d42ac4195305", homebrew_doc),
         Source("Homebrew/brew.sh", "3f895e1c01953701499fdcca5b816268c3eecddf", homebrew_post)),
    ),
    "papers": Kind(
        "research papers on fuzzing as PDF",
        (Source("wcventure/FuzzingPaper", "0b6a622f2fed1b3ebaa4bb247561271a019710e9", fuzzing_paper),),
    ),
    "news": Kind(
        "200 English NDTV articles of 1 January 2024 in one CSV",
        (Source("Nostradamus2x/perspective", "de8f738072f98656fc6d6b44a04d2335122a4a20", ndtv_export,
                english_news_rows),),
    ),
}


def git(git_dir: Path, *args: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(git_dir), *args], check=True, capture_output=True).stdout


def snapshot(mirrors: Path, source: Source) -> Path:
    """The bare git directory holding the source's pinned commit, or exit saying how to get it."""
    git_dir = mirrors / source.repo.replace("/", "+") / "repo"
    try:
        git(git_dir, "cat-file", "-e", f"{source.commit}^{{commit}}")
    except (subprocess.CalledProcessError, FileNotFoundError):
        sys.exit(f"no snapshot of {source.repo} at {source.commit[:12]} in {git_dir}: fetch it with the `fetch` "
                 f"tool (github:{source.repo}) or run: git clone --bare https://github.com/{source.repo} {git_dir}")
    return git_dir


def write_kind(kind: Kind, folder: Path, mirrors: Path) -> dict[str, int]:
    """Write the kind's folder afresh; the number of files and bytes taken from each repository."""
    git_dirs = [snapshot(mirrors, source) for source in kind.sources]  # all found before the old folder goes
    if folder.exists():
        shutil.rmtree(folder)
    counts = {}
    for source, git_dir in zip(kind.sources, git_dirs, strict=True):
        paths = git(git_dir, "ls-tree", "-r", "--name-only", "-z", source.commit).decode().split("\0")
        files = size = 0
        for path in sorted(p for p in paths if p):
            name = source.select(path)
            if name is None:
                continue
            data = source.convert(git(git_dir, "show", f"{source.commit}:{path}"))
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            files += 1
            size += len(data)
        counts[source.repo] = files
        print(f"{folder.name}: {files} files, {size / 1e6:.1f} MB from {source.repo}@{source.commit[:12]}")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.corpora.build", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("var/corpora"), help="where each KIND folder is written")
    parser.add_argument("--kinds", nargs="+", choices=sorted(KINDS), default=sorted(KINDS))
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS,
                        help="folder of bare snapshots OWNER+NAME/repo (default: %(default)s)")
    args = parser.parse_args(argv)
    for name in args.kinds:
        counts = write_kind(KINDS[name], args.out / name, args.mirrors)
        print(f"{name} ({KINDS[name].description}): {sum(counts.values())} files in {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
