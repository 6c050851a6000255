"""Sources that turned hostile after a build (issue 26, items 2, 3, 10 and 13; issue 28, the "left out" messages):
a FIFO, a link to /dev/zero, a huge sparse file, folders that cannot be read, links to nothing, symlink loops and
folders nested deeper than Python's recursion limit. Each command runs in a subprocess with a timeout and a memory
limit: before the fix these hung, read gigabytes or ended in a traceback."""

from __future__ import annotations

import csv
import ctypes
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from citebot.index.ingest.corpus import walk_sources
from tests.conftest import SEEDS
from tests.format_samples import FERRY, heavy_page

CLI = [sys.executable, "-m", "citebot.bot.cli"]
MEMORY = 1536 * 2**20
"""Address space a command may use: a load of this small index needs about 700 MB of it (one thread each), a
source read whole could not fit."""
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
VICTIM = "000_f9b0dd51ebe33c92.txt"
HINT = "citebot index build --index idx --config hash.toml"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _cli(folder: Path, *args: str, config: str = "hash.toml") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args, "--config", config], cwd=folder, capture_output=True, text=True, timeout=90,
                          env=ENV, preexec_fn=_limit_memory)


def _ask(folder: Path, config: str = "hash.toml") -> tuple[dict, str]:
    """The JSON answer to a question every article matches a little, and what the command wrote to stderr."""
    done = _cli(folder, "ask", "How long does the tidal ferry take? Who is Ian Lavery?", "--index", "idx", "--json",
                "--top-k", "10", config=config)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout), done.stderr


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A working folder: articles (the seeds, a saved page, a collection of two rows) indexed into idx."""
    (tmp_path / "hash.toml").write_text('[embedding]\nmodel = "hash"\n', encoding="utf-8")
    (tmp_path / "links.toml").write_text('[embedding]\nmodel = "hash"\n[ingest]\nallow_links_outside = true\n',
                                         encoding="utf-8")
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    (articles / "ferry.html").write_text(heavy_page(FERRY), encoding="utf-8")
    with (articles / "rows.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "text"])
        writer.writerow(["Ferry fares frozen", "Fares on the tidal ferry will stay the same this year, the board."])
        writer.writerow(["Ferry timetable", "The tidal ferry will run every twenty minutes from Easter, they said."])
    assert _cli(tmp_path, "index", "build", "--sources", "articles", "--index", "idx").returncode == 0
    return tmp_path


def _left_out(result: dict) -> dict[str, str]:
    return {left["source"]: left["reason"] for left in result.get("left_out", [])}


# -- a source that became a FIFO, a device or a huge file: left out at once, with a reason ---------------------

def test_a_source_that_became_a_fifo_is_left_out_without_hanging(built: Path) -> None:
    victim = built / "articles" / VICTIM
    victim.unlink()
    os.mkfifo(victim)
    result, err = _ask(built)
    reason = "is a FIFO (named pipe), not a regular file"
    assert f"articles/{VICTIM} {reason}; its passages are left out until you run: {HINT}" in err
    assert _left_out(result)[f"articles/{VICTIM}"] == f"{reason}; rebuild with: {HINT}"
    status = _cli(built, "index", "status", "--index", "idx")
    assert status.returncode == 0 and f"removed: {VICTIM}" in status.stdout, status.stderr
    again = _cli(built, "index", "build", "--index", "idx")
    assert again.returncode == 0 and f"skipped articles/{VICTIM}: {reason}" in again.stderr, again.stderr


def test_a_source_linked_to_dev_zero_is_not_read(built: Path) -> None:
    victim = built / "articles" / VICTIM
    victim.unlink()
    victim.symlink_to("/dev/zero")
    result, _ = _ask(built)
    assert _left_out(result)[f"articles/{VICTIM}"].startswith("links outside the sources folder (to /dev/zero)")
    allowed, err = _ask(built, config="links.toml")  # links out allowed: still a device, never read
    assert _left_out(allowed)[f"articles/{VICTIM}"].startswith("is a character device, not a regular file")
    assert "Traceback" not in err


def test_a_huge_sparse_source_is_refused_by_its_size(built: Path) -> None:
    for name in (VICTIM, "ferry.html"):
        os.truncate(built / "articles" / name, 2 * 2**30)  # 2 GiB of nothing, on no disk
    result, err = _ask(built)
    over = "is 2,147,483,648 bytes, over the limit of 5,000,000"
    assert all(_left_out(result)[f"articles/{name}"].startswith(over) for name in (VICTIM, "ferry.html"))
    assert f"articles/ferry.html {over}" in err
    status = _cli(built, "index", "status", "--index", "idx")  # a build would skip it: it is not hashed whole
    assert status.returncode == 0 and "removed: ferry.html" in status.stdout, status.stderr


# -- what is left out is named by the user's file, and the hint rebuilds it ----------------------------------

def test_a_removed_page_is_named_by_its_file_and_the_hint_works_when_pasted(built: Path) -> None:
    (built / "articles" / "ferry.html").unlink()
    with (built / "articles" / "rows.csv").open("a", encoding="utf-8") as handle:
        handle.write("Quay repairs,The quay will be repaired in May.\n")
    result, err = _ask(built)
    left = _left_out(result)
    assert left["articles/ferry.html"] == f"was removed since the index was built; rebuild with: {HINT}"
    assert left["articles/rows.csv"] == f"changed since the index was built; rebuild with: {HINT}"
    assert len(result["left_out"]) == len(left)  # both rows of rows.csv under one name
    assert "texts/" not in json.dumps(result["left_out"]) and "texts/" not in err
    assert f"articles/ferry.html was removed since the index was built; its passages are left out until you run: " \
           f"{HINT}" in err
    shown = _cli(built, "ask", "How long does the tidal ferry take?", "--index", "idx", "--top-k", "10").stdout
    assert f"Left out: articles/ferry.html was removed since the index was built; rebuild with: {HINT}" in shown
    pasted = shlex.split(left["articles/ferry.html"].split("rebuild with: ")[1])
    assert pasted[0] == "citebot"
    rebuilt = subprocess.run([*CLI, *pasted[1:]], cwd=built, capture_output=True, text=True, timeout=90, env=ENV)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "left_out" not in _ask(built)[0]


def test_when_the_whole_folder_moved_the_hint_names_the_folder_to_give(built: Path) -> None:
    (built / "articles").rename(built / "moved")
    result, err = _ask(built)
    assert err.count("WARNING") == 1 and "the sources folder" in err and "is not there (moved or deleted?)" in err
    hint = f"{HINT} --sources DIR --replace"
    assert set(_left_out(result).values()) == {f"was removed since the index was built; rebuild with: {hint}"}
    pasted = shlex.split(hint.replace("DIR", "moved"))
    rebuilt = subprocess.run([*CLI, *pasted[1:]], cwd=built, capture_output=True, text=True, timeout=90, env=ENV)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "left_out" not in _ask(built)[0]


# -- the folder walk: what it cannot read is skipped with a reason, at any depth --------------------------------

def _hostile_folder(root: Path, depth: int = 1100) -> Path:
    """A folder with one article 1,100 folders deep, beside a FIFO, a link to nothing, a symlink loop and a link
    to a folder, each with a name citebot would read."""
    shutil.copytree(SEEDS, root)
    deep = str(root)
    for _ in range(depth):  # one level at a time: Path.mkdir(parents=True) recurses, as rglob did
        deep += "/d"
        os.mkdir(deep)
    deep = Path(deep)
    (deep / "deep.txt").write_text("Deep headline\n\nThe deepest article tells of a mine shaft in Cornwall.\n",
                                   encoding="utf-8")
    os.mkfifo(root / "pipe.txt")
    (root / "dangling.txt").symlink_to("gone.txt")
    (root / "loop-a.txt").symlink_to("loop-b.txt")
    (root / "loop-b.txt").symlink_to("loop-a.txt")
    (root / "elsewhere").symlink_to(root / "d")
    return deep / "deep.txt"


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Path]:
    """_hostile_folder under tmp_path/src, its nested folders removed bottom up afterwards: shutil.rmtree (and so
    pytest's clean-up of old temporary folders) recurses once a level and fails 1,100 levels down."""
    yield _hostile_folder(tmp_path / "src")
    chain = []
    level = tmp_path / "src" / "d"
    while level.is_dir() and not level.is_symlink():
        chain.append(level)
        level = level / "d"
    for folder in reversed(chain):
        for entry in folder.iterdir():
            if not entry.is_dir() or entry.is_symlink():
                entry.unlink()
        folder.rmdir()


def test_the_walk_skips_what_is_not_a_file_and_goes_any_depth(tmp_path: Path, hostile: Path) -> None:
    deep = hostile
    walk = walk_sources(tmp_path / "src")
    assert deep in walk.files and len(walk.files) == 4
    assert {s.path: s.reason for s in walk.skipped} == {
        "pipe.txt": "is a FIFO (named pipe), not a regular file",
        "dangling.txt": "is a link to nothing (its target gone.txt does not exist)",
        "loop-a.txt": "is a symlink loop (following its links leads back to it)",
        "loop-b.txt": "is a symlink loop (following its links leads back to it)",
        "elsewhere": f"is a link to a folder ({tmp_path / 'src' / 'd'}); links to folders are not followed"}


def test_a_build_and_status_over_a_hostile_folder_end_well(tmp_path: Path, hostile: Path) -> None:
    (tmp_path / "hash.toml").write_text('[embedding]\nmodel = "hash"\n', encoding="utf-8")
    build = _cli(tmp_path, "index", "build", "--sources", "src", "--index", "idx")
    assert build.returncode == 0 and "Traceback" not in build.stderr, build.stderr[-2000:]
    assert "Indexed 4 article(s)" in build.stderr and build.stderr.count("src/pipe.txt: is a FIFO") == 1
    status = _cli(tmp_path, "index", "status", "--index", "idx", "--json")
    assert status.returncode == 0, status.stderr
    assert {s["path"] for s in json.loads(status.stdout)["skipped"]} >= {"pipe.txt", "dangling.txt", "elsewhere"}


LOCKED = {"locked/": "is a folder that cannot be read (Permission denied); the files in it are left out",
          "noexec/": "is a folder that cannot be searched (Permission denied); the files in it are left out"}


def _locked_folders(src: Path) -> None:
    """The seeds, beside a folder no one may read (mode 000) and one no one may search (mode 644)."""
    shutil.copytree(SEEDS, src)
    for name, mode in (("locked", 0o000), ("noexec", 0o644)):
        (src / name).mkdir()
        (src / name / "a.txt").write_text("A headline\n\nA body long enough to be read as an article.\n")
        (src / name).chmod(mode)


def _walk_without_root_powers(src: Path) -> dict[str, object]:
    """walk_sources(src) in a forked child that gave up root's power over files (a new user namespace, where it
    is nobody): its files' count and what it skipped, or why the namespace could not be made."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: single-threaded, as unshare(CLONE_NEWUSER) needs; everything it uses is loaded
        try:
            os.close(read)
            if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:
                found: dict[str, object] = {"error": os.strerror(ctypes.get_errno())}
            else:
                walk = walk_sources(src)
                found = {"files": len(walk.files), **{s.path: s.reason for s in walk.skipped}}
            os.write(write, json.dumps(found).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data or b'{"error": "the child said nothing"}')


def test_folders_without_read_or_search_permission_are_skipped_even_for_root() -> None:
    """As root (chmod denies root nothing) the walk runs where root's powers are gone; as anyone else, as is."""
    top = Path(tempfile.mkdtemp(prefix="citebot-perm-"))  # not under pytest's root-only folder: nobody must enter
    try:
        top.chmod(0o755)
        _locked_folders(top / "src")
        if os.geteuid() == 0:
            found = _walk_without_root_powers(top / "src")
            if "error" in found:
                pytest.skip(f"run as root, and no user namespace to give up root's powers in: {found['error']}")
        else:
            walk = walk_sources(top / "src")
            found = {"files": len(walk.files), **{s.path: s.reason for s in walk.skipped}}
    finally:
        for name in ("locked", "noexec"):
            (top / "src" / name).chmod(0o755)
        shutil.rmtree(top)
    assert found == {"files": 3, **LOCKED}


@pytest.mark.skipif(os.geteuid() == 0, reason="run as root: chmod denies root nothing (the walk itself is tested "
                                              "without root's powers above)")
def test_a_build_over_folders_without_read_or_search_permission_goes_on(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _locked_folders(src)
    (tmp_path / "hash.toml").write_text('[embedding]\nmodel = "hash"\n', encoding="utf-8")
    try:
        build = _cli(tmp_path, "index", "build", "--sources", "src", "--index", "idx")
        status = _cli(tmp_path, "index", "status", "--index", "idx")
    finally:
        for name in ("locked", "noexec"):
            (src / name).chmod(0o755)
    assert build.returncode == 0 and "Indexed 3 article(s)" in build.stderr, build.stderr
    assert ("skipping src/locked/: is a folder that cannot be read (Permission denied); the files in it are left out"
            in build.stderr)
    assert "skipping src/noexec/: is a folder that cannot be searched (Permission denied)" in build.stderr
    assert status.returncode == 0 and "up to date" in status.stdout


def test_eval_over_a_source_that_became_a_fifo_ends_in_one_line(built: Path) -> None:
    """The evidence lookup reads each indexed article within the build's bounds: a FIFO is refused, not read."""
    victim = built / "articles" / VICTIM
    victim.unlink()
    os.mkfifo(victim)
    golden = built / "golden.jsonl"
    golden.write_text(json.dumps({"id": "q1", "category": "plain", "turns": ["Who is Ian Lavery?"],
                                  "evidence": [{"source": "001", "quote": "Ian Lavery"}]}) + "\n", encoding="utf-8")
    done = _cli(built, "eval", "--index", "idx", "--golden", "golden.jsonl")
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "to find evidence in (not a regular file" in done.stderr and VICTIM in done.stderr
