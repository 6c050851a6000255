"""A folder of real PDF papers, rebuilt from two public repositories' snapshots (never committed).

    python -m benchmarks.corpora.pdfs [--per-repo 20] [--out var/corpora/pdfs]

The snapshots are bare git directories brought by the session's `fetch` tool (github:papers-we-love/papers-we-love
and github:dterei/Research-Papers, under /work/.mirror); --mirror names another folder holding them. From each, the
PDFs up to [ingest] max_file_bytes are listed by path and every k-th is taken (k spreads --per-repo over the list),
so the same snapshot gives the same folder. The folder is wiped and written again.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from benchmarks.common import ROOT, parser
from citebot.config.settings import load_settings

REPOSITORIES = ("papers-we-love/papers-we-love", "dterei/Research-Papers")
MIRROR = Path("/work/.mirror")


def pdfs_in(git_dir: Path, max_bytes: int) -> list[tuple[str, str]]:
    """(path, blob id) of every PDF of the snapshot's HEAD up to max_bytes, by path."""
    listing = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-l", "-z", "HEAD"],
                             check=True, capture_output=True).stdout.decode("utf-8", "surrogateescape")
    found = []
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        _, kind, blob, size = meta.split()
        if kind == "blob" and path.casefold().endswith(".pdf") and size.isdigit() and int(size) <= max_bytes:
            found.append((path, blob))
    return sorted(found)


def rebuild(out: Path, per_repo: int, mirror: Path) -> list[Path]:
    """Write the chosen PDFs to out/<owner+name>/<path with / as __>; the files written."""
    max_bytes = load_settings().ingest.max_file_bytes
    if out.exists():
        shutil.rmtree(out)
    written = []
    for repo in REPOSITORIES:
        git_dir = mirror / repo.replace("/", "+") / "repo"
        if not git_dir.is_dir():
            raise SystemExit(f"no snapshot of {repo} in {git_dir}: fetch github:{repo} first")
        listed = pdfs_in(git_dir, max_bytes)
        step = max(1, len(listed) // per_repo)
        folder = out / repo.replace("/", "+")
        folder.mkdir(parents=True)
        for path, blob in listed[::step][:per_repo]:
            target = folder / path.replace("/", "__")
            target.write_bytes(subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "blob", blob],
                                              check=True, capture_output=True).stdout)
            written.append(target)
    return written


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--per-repo", type=int, default=20, help="PDFs taken from each repository (default 20)")
    cli.add_argument("--out", type=Path, default=ROOT / "var" / "corpora" / "pdfs", help="folder written")
    cli.add_argument("--mirror", type=Path, default=MIRROR, help="folder holding the snapshots")
    args = cli.parse_args()
    written = rebuild(args.out, args.per_repo, args.mirror)
    print(f"wrote {len(written)} PDF(s) to {args.out}")


if __name__ == "__main__":
    main()
