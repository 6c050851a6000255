"""Issue 21, "faults found by a probe": each reproduction as it was run, on real files and real subprocesses.

A full disk and a run out of inodes are real when this process may mount a small tmpfs (root, as on the test
machine); otherwise the same faults are simulated in-process (a write or the link raising ENOSPC).
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from citebot.bot.cli.main import main
from citebot.config.errors import ConfigError
from citebot.config.settings import AT_LEAST_ONE, PROJECT_ROOT, load_settings
from citebot.index.build import build_index
from citebot.index.store.faiss import layout, lock
from citebot.index.store.faiss.ownership import mark_build
from tests.conftest import SEEDS, write_config

CLI = [sys.executable, "-m", "citebot.bot.cli"]
ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, env=ENV, timeout=timeout)


def one_line_error(err: bytes) -> bool:
    lines = [line for line in err.decode().strip().splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("citebot: error: ") and "Traceback" not in err.decode()


def build_error(err: bytes | str) -> bool:
    """A build's stderr (its progress, then) ending in one error line, no traceback."""
    text = err if isinstance(err, bytes) else err.encode()
    return b"Traceback" not in text and one_line_error(text.strip().splitlines()[-1])


# -- a file of only spaces, of any script, is empty -------------------------------------------------------------

def test_a_file_of_non_ascii_spaces_is_skipped_as_empty(tmp_path: Path, seeds_copy: Path) -> None:
    blank = {"ascii.txt": " \t\n\n", "nbsp.txt": "\u00a0\u2003\n", "zero-width.txt": "\ufeff\u200b\u3000\n"}
    for name, text in blank.items():
        (seeds_copy / name).write_text(text, encoding="utf-8")
    config = write_config(tmp_path, sources=str(seeds_copy))
    build = cli("index", "build", "--config", str(config), cwd=tmp_path)
    err = build.stderr.decode()
    assert build.returncode == 0 and "Indexed 3 article(s)" in err, err
    for name in blank:
        assert f"skipped sources/{name}: is empty" in err
    status = json.loads(cli("index", "status", "--json", "--config", str(config)).stdout)
    assert status["articles"] == 3 and status["up_to_date"]
    assert sorted(s["path"] for s in status["skipped"]) == sorted(blank)


# -- a file name that is not UTF-8 -------------------------------------------------------------------------------

def test_a_file_name_that_is_not_utf8_is_skipped_and_named_safely(tmp_path: Path, seeds_copy: Path) -> None:
    """Skipped, not indexed under an escaped name: `caf\\xe9.txt` could be another file's real name, and a citation
    must open the file it names."""
    article = b"Cafe headline\n\nThe cafe on the corner opened again this week after the floods.\n"
    folder = os.fsencode(seeds_copy)
    (Path(os.fsdecode(folder + b"/d\xe9j\xe0"))).mkdir()
    for name in (b"caf\xe9.txt", b"d\xe9j\xe0/inside.txt"):
        with open(folder + b"/" + name, "wb") as handle:
            handle.write(article)
    config = write_config(tmp_path, sources=str(seeds_copy))
    build = cli("index", "build", "--config", str(config), cwd=tmp_path)
    err = build.stderr.decode("utf-8")  # strict: every name printed is text
    assert build.returncode == 0 and "Traceback" not in err and "Indexed 3 article(s)" in err, err
    assert "skipped sources/caf\\xe9.txt: its name is not valid UTF-8 (rename the file to index it)" in err
    assert "skipped sources/d\\xe9j\\xe0/inside.txt: its name is not valid UTF-8" in err
    status = cli("index", "status", "--json", "--config", str(config))
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout.decode("utf-8"))
    assert sorted(s["path"] for s in report["skipped"]) == ["caf\\xe9.txt", "d\\xe9j\\xe0/inside.txt"]
    assert report["up_to_date"] and report["articles"] == 3
    text = cli("index", "status", "--config", str(config))
    assert text.returncode == 0 and "skipped    caf\\xe9.txt: its name is not valid UTF-8" in text.stdout.decode()


# -- a count of 0 that leaves nothing to do is refused --------------------------------------------------------

def test_zero_candidates_is_refused_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, candidates=0)
    ask = cli("ask", "What did Theresa May say?", "--config", str(config))
    assert ask.returncode == 1 and one_line_error(ask.stderr), ask.stderr
    assert b"config [retrieval] candidates must be at least 1" in ask.stderr and ask.stdout == b""


@pytest.mark.parametrize(("section", "key"), [(s, k) for s, keys in AT_LEAST_ONE.items() for k in keys])
def test_every_count_that_cannot_be_zero_is_checked(tmp_path: Path, section: str, key: str) -> None:
    config = tmp_path / "zero.toml"
    config.write_text(f"[{section}]\n{key} = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^config \[{section}\] {key} must be at least 1$"):
        load_settings(config)


# -- a full disk, inodes run out, a read-only index: real mounts where this process may mount --------------------

def _mount(*args: str) -> bool:
    """Run mount(8) with args; False when this process may not (not root, no mount, refused)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", *args], capture_output=True, timeout=30).returncode == 0


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    """Mount points a test made; unmounted after it, last first."""
    made: list[Path] = []
    yield made
    for point in reversed(made):
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)


def _tmpfs(folder: Path, mounts: list[Path], options: str) -> None:
    folder.mkdir()
    if not _mount("-t", "tmpfs", "-o", options, "tmpfs", str(folder)):
        pytest.skip("cannot mount a tmpfs here (the simulated test of the same fault still runs)")
    mounts.append(folder)


def _copies(tmp_path: Path, copies: int) -> Path:
    sources = tmp_path / "many"
    sources.mkdir()
    for i in range(copies):
        for seed in SEEDS.glob("*.txt"):
            shutil.copy(seed, sources / f"{i:03d}_{seed.name}")
    return sources


def _free_bytes(folder: Path) -> int:
    found = os.statvfs(folder)
    return found.f_bavail * found.f_frsize


def _entries(index: Path) -> list[str]:
    return sorted(p.name for p in index.iterdir())


def test_a_build_that_fills_the_disk_leaves_no_partial_build_and_names_the_path(tmp_path: Path,
                                                                                mounts: list[Path]) -> None:
    disk = tmp_path / "disk"
    _tmpfs(disk, mounts, "size=2m")
    index = disk / "index"
    config = write_config(tmp_path, index=str(index))
    assert cli("index", "build", "--config", str(config)).returncode == 0  # the seeds fit; four times them do not
    good, free = os.readlink(index / "current"), _free_bytes(disk)
    build = cli("index", "build", "--sources", str(_copies(tmp_path, 4)), "--replace", "--config", str(config))
    assert build.returncode == 1 and build_error(build.stderr), build.stderr
    assert f"No space left on device: {index}/.build-".encode() in build.stderr and b".partial/" in build.stderr
    assert _entries(index) == [".lock", good, "current"] and os.readlink(index / "current") == good
    assert _free_bytes(disk) >= free - 8192  # the space is given back (the .lock may take a block)
    ask = cli("ask", "What did Theresa May say?", "--json", "--config", str(config))
    assert ask.returncode == 0 and json.loads(ask.stdout)["passages"]


class _FullDisk(io.RawIOBase):
    """A file that takes what room is left (shared), then fails every write as a full disk does."""

    def __init__(self, path: Path, room: list[int]) -> None:
        self.file = io.FileIO(path, "w")
        self.room = room

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if len(data) > self.room[0]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room[0] -= len(data)
        return self.file.write(data)

    def fileno(self) -> int:
        return self.file.fileno()

    def close(self) -> None:
        self.file.close()
        super().close()


def test_a_full_disk_simulated_leaves_no_partial_build_and_no_open_file(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same fault in-process: the vectors' pwrite and the buffered JSONL files fail as on a full disk, and
    closing those files fails again."""
    settings = load_settings(write_config(tmp_path))
    index = settings.paths.index
    build_index(SEEDS, index, settings)
    before = _entries(index)
    room = [300_000]
    real_open, real_pwrite = Path.open, os.pwrite

    def full_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode == "w" and self.parent.name.endswith(".partial"):
            return io.TextIOWrapper(io.BufferedWriter(_FullDisk(self, room)), encoding="utf-8", newline="\n")
        return real_open(self, mode, *args, **kwargs)

    def full_pwrite(fd: int, data: bytes, offset: int) -> int:
        if len(data) > room[0]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        room[0] -= len(data)
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(Path, "open", full_open)
    monkeypatch.setattr(os, "pwrite", full_pwrite)
    descriptors = len(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError, match="No space left on device") as raised:
        build_index(_copies(tmp_path, 4), index, settings)
    assert raised.value.filename and ".partial/" in raised.value.filename
    assert Path(raised.value.filename).parent.parent == index
    assert _entries(index) == before and not lock.leftovers(index)
    assert len(os.listdir("/proc/self/fd")) == descriptors


def test_a_switch_that_runs_out_of_inodes_leaves_no_orphan_build(tmp_path: Path, mounts: list[Path]) -> None:
    disk = tmp_path / "disk"
    _tmpfs(disk, mounts, "size=20m")
    index = disk / "index"
    config = write_config(tmp_path, index=str(index))
    assert cli("index", "build", "--config", str(config)).returncode == 0
    good = os.readlink(index / "current")
    build_inodes = 1 + sum(1 for _ in (index / good).rglob("*"))
    found = os.statvfs(disk)
    used = found.f_files - found.f_ffree
    # Room for the next build's folder and files, not for the link that switches to it: that limit is found going
    # down from one that leaves room for both (tmpfs counts its root inode or not, by kernel), so the first build
    # to fail is the one that failed at the switch.
    for limit in range(used + build_inodes + 1, used + build_inodes - 3, -1):
        assert _mount("-o", f"remount,nr_inodes={limit}", str(disk))
        build = cli("index", "build", "--config", str(config))
        if build.returncode != 0:
            break
        good = os.readlink(index / "current")
    assert build.returncode == 1 and build_error(build.stderr), build.stderr
    assert f"cannot point {index}/current at the new build: No space left on device".encode() in build.stderr
    assert b"the new build was removed and `current` is unchanged" in build.stderr
    assert _entries(index) == [".lock", good, "current"] and os.readlink(index / "current") == good
    status = cli("index", "status", "--json", "--config", str(config))
    assert status.returncode == 0 and json.loads(status.stdout)["leftovers"] == []


def test_a_failed_switch_simulated_names_the_link_and_removes_the_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    index = load_settings(config).paths.index
    assert main(["index", "build", "--config", str(config)]) == 0
    before, good = _entries(index), os.readlink(index / "current")
    real = Path.symlink_to

    def no_inode(self: Path, target: Any, *args: Any) -> None:
        if self.name.startswith(".current."):  # as os.symlink says it: the target first, then the link
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target), None, str(self))
        real(self, target, *args)

    monkeypatch.setattr(Path, "symlink_to", no_inode)
    capsys.readouterr()
    assert main(["index", "build", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert build_error(err) and f"cannot point {index}/current at the new build" in err
    assert "No space left on device: build-" not in err and _entries(index) == before
    assert os.readlink(index / "current") == good


def test_status_lists_and_removes_a_complete_build_current_does_not_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A build killed between its rename and the switch leaves a complete build beside the current one."""
    config = write_config(tmp_path)
    index = load_settings(config).paths.index
    assert main(["index", "build", "--config", str(config)]) == 0
    good = os.readlink(index / "current")
    orphan = index / "build-20200101T000000-0rphan00"
    shutil.copytree(index / good, orphan)
    capsys.readouterr()
    assert main(["index", "status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"leftover   {orphan.name} (" in out and "from an interrupted build): removed" in out
    assert _entries(index) == [".lock", good, "current"]
    shutil.copytree(index / good, orphan)
    assert main(["index", "status", "--json", "--config", str(config)]) == 0
    left = json.loads(capsys.readouterr().out)["leftovers"]
    assert [(x["path"], x["removed"]) for x in left] == [(orphan.name, True)] and not orphan.exists()
    # With `current` gone the builds are what is left of the index: an error, and nothing is removed.
    shutil.copytree(index / good, orphan)
    (index / "current").unlink()
    assert main(["index", "status", "--config", str(config)]) == 1
    assert "its `current` link is missing" in capsys.readouterr().err
    assert _entries(index) == [".lock", orphan.name, good]


def _read_only(index: Path, mounts: list[Path]) -> None:
    """Make the index folder read-only: a read-only bind mount as root, else its modes (then nothing may be
    written in it by this user)."""
    if os.geteuid() != 0:
        (index / layout.LOCK).chmod(0o444)
        for folder in [index, *(p for p in index.rglob("*") if p.is_dir() and not p.is_symlink())]:
            folder.chmod(0o555)
        return
    if not _mount("--bind", str(index), str(index)):
        pytest.skip("cannot make a read-only bind mount here")
    mounts.append(index)
    assert _mount("-o", "remount,bind,ro", str(index))


def test_status_of_a_read_only_index_with_leftovers_reports_them(tmp_path: Path, mounts: list[Path]) -> None:
    config = write_config(tmp_path)
    index = load_settings(config).paths.index
    assert cli("index", "build", "--config", str(config)).returncode == 0
    good = os.readlink(index / "current")
    (index / ".build-killed.partial").mkdir()
    mark_build(index / ".build-killed.partial", "killed")  # what a killed build's holds
    (index / ".build-killed.partial" / layout.VECTORS).write_bytes(b"x" * 100_000)
    shutil.copytree(index / good, index / "build-20200101T000000-0rphan00")
    _read_only(index, mounts)
    try:
        status = cli("index", "status", "--config", str(config))
        assert status.returncode == 0, status.stderr
        out = status.stdout.decode()
        assert ".build-killed.partial (0.1 MB, from an interrupted build): kept: it cannot be removed here" in out
        assert "build-20200101T000000-0rphan00 (" in out and "status     up to date" in out
        assert "a build is running" not in out
        report = cli("index", "status", "--json", "--config", str(config))
        assert report.returncode == 0, report.stderr
        left = json.loads(report.stdout)["leftovers"]
        assert [(x["path"], x["removed"]) for x in left] == [(".build-killed.partial", False),
                                                              ("build-20200101T000000-0rphan00", False)]
        ask = cli("ask", "What did Theresa May say?", "--json", "--config", str(config))
        assert ask.returncode == 0 and json.loads(ask.stdout)["passages"]
    finally:
        if os.geteuid() != 0:
            for folder in [index, *(p for p in index.rglob("*") if p.is_dir() and not p.is_symlink())]:
                folder.chmod(0o755)
