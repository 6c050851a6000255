"""Issue 26, items 1 and 8: a build removes only what citebot wrote and can prove it wrote; a folder holding the
user's own files is refused, and so is an index inside its sources (or the reverse). Real folders, the CLI
in-process, the hash embedder."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
from pathlib import Path

import pytest

from citebot.bot.cli.main import main
from citebot.config.errors import IndexInvalidError
from citebot.config.settings import load_settings
from citebot.index.build import build_index
from citebot.index.store.faiss import lock, ownership
from citebot.index.store.faiss.writer import BuildWriter
from tests.conftest import SEEDS, write_config


def _tree(folder: Path) -> dict[str, str]:
    """Every entry under folder (links not followed): its kind and, for a file, a digest of what it holds."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            found[name] = "-> " + os.readlink(path)
        elif path.is_dir():
            found[name] = "dir"
        else:
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("citebot: error: "), err
    return lines[0]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with `arts` (the seeds) and a config for the hash embedder; the commands run in it."""
    shutil.copytree(SEEDS, tmp_path / "arts")
    write_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def citebot(*args: str) -> int:
    return main([*args, "--config", "config/test.toml"])


def _users_home(project: Path) -> Path:
    """The issue's folder: `mkdir -p home/build-tools home/.build-cache`, a file in each."""
    home = project / "home"
    (home / "build-tools").mkdir(parents=True)
    (home / ".build-cache").mkdir()
    (home / "build-tools" / "make.sh").write_text("s\n")
    (home / ".build-cache" / "x").write_text("c\n")
    return home


def test_a_folder_of_the_users_is_refused_and_left_as_it_was(project: Path, capsys) -> None:
    home = _users_home(project)
    before = _tree(home)
    assert citebot("index", "build", "--sources", "arts", "--index", "home") == 1
    line = _one_line(capsys.readouterr().err)
    assert "--index home holds files citebot did not write (.build-cache, build-tools)" in line
    assert _tree(home) == before  # nothing removed, nothing written (no .lock, no build, no link)
    # The command the message gives works when pasted, and the user's files are still there after it.
    command = line.split("build into a new folder: ", 1)[1]
    assert command == "citebot index build --sources arts --index home/citebot-index"
    assert citebot(*shlex.split(command)[1:]) == 0
    assert all(_tree(home)[name] == digest for name, digest in before.items())
    assert (home / "citebot-index" / "current").is_symlink()


def test_status_and_ask_on_the_users_folder_take_nothing_from_it(project: Path, capsys) -> None:
    home = _users_home(project)
    before = _tree(home)
    assert citebot("index", "status", "--index", "home") == 1
    assert citebot("ask", "What did Theresa May say?", "--index", "home") == 1
    capsys.readouterr()
    assert _tree(home) == before


def _plant_lookalikes(index: Path) -> dict[str, str]:
    """Entries of the user's inside citebot's folder, named as citebot names its own."""
    (index / "build-tools").mkdir()
    (index / "build-tools" / "make.sh").write_text("s\n")
    (index / ".build-cache").mkdir()
    (index / ".build-cache" / "x").write_text("c\n")
    (index / ".build-notes.partial").mkdir()  # a partial build's name, but no proof inside
    (index / ".build-notes.partial" / "todo").write_text("t\n")
    (index / "build-20200101T000000-0000abcd").mkdir()  # a build's name, no marker, no manifest
    (index / "build-20200101T000000-0000abcd" / "manifest.json").write_text('{"mine": true}\n')
    (index / ".current.txt").write_text("the user's\n")  # a temporary link's name, but a file
    (index / ".current.elsewhere").symlink_to("/tmp")  # a link, but not to a build of its own name
    return {name: digest for name, digest in _tree(index).items()
            if name.split("/")[0] in {"build-tools", ".build-cache", ".build-notes.partial",
                                      "build-20200101T000000-0000abcd", ".current.txt", ".current.elsewhere"}}


def test_rebuilds_and_failed_builds_keep_the_users_lookalike_entries(project: Path, capsys) -> None:
    assert citebot("index", "build", "--sources", "arts", "--index", "idx") == 0
    index = project / "idx"
    planted = _plant_lookalikes(index)
    assert citebot("index", "build", "--sources", "arts", "--index", "idx") == 0  # the build before goes
    assert citebot("index", "status", "--index", "idx") == 0
    (project / "empty").mkdir()  # a build that fails after taking the lock: no article to read
    assert citebot("index", "build", "--sources", "empty", "--index", "idx", "--replace") == 1
    capsys.readouterr()
    after = _tree(index)
    assert {name: after.get(name) for name in planted} == planted
    builds = [p.name for p in index.iterdir() if p.name.startswith("build-2026") or p.name.startswith("build-20")]
    assert sorted(builds) == sorted(["build-20200101T000000-0000abcd", os.readlink(index / "current")])


def test_what_a_killed_build_left_is_removed_and_nothing_else(project: Path, capsys) -> None:
    assert citebot("index", "build", "--sources", "arts", "--index", "idx") == 0
    index = project / "idx"
    planted = _plant_lookalikes(index)
    killed = BuildWriter(index, 8)  # a build killed mid-write: its partial folder, never closed
    (killed.partial / "vectors.faiss").write_bytes(b"x" * 1000)
    link = index / f".current.{killed.build_id}"
    link.symlink_to(f"build-{killed.build_id}")
    found = {left.path.name for left in lock.leftovers(index)}
    assert found == {killed.partial.name, link.name}
    assert citebot("index", "status", "--index", "idx") == 0
    out = capsys.readouterr().out
    assert f"leftover   {killed.partial.name}" in out and "build-tools" not in out and ".build-notes" not in out
    assert not killed.partial.exists() and not os.path.lexists(link)
    after = _tree(index)
    assert {name: after.get(name) for name in planted} == planted


def test_a_build_from_before_the_marker_is_still_recognised_and_replaced(project: Path) -> None:
    """An index built before builds carried their marker (and copied without its .lock): its build is proven by
    its manifest, so the next build takes the folder and removes the old build."""
    assert citebot("index", "build", "--sources", "arts", "--index", "idx") == 0
    index = project / "idx"
    old = os.readlink(index / "current")
    (index / old / ownership.BUILD_MARKER).unlink()
    (index / ".lock").unlink()
    assert ownership.own_build(index / old) and not ownership.foreign_entries(index)
    assert citebot("index", "build", "--sources", "arts", "--index", "idx") == 0
    assert not (index / old).exists() and os.readlink(index / "current") != old


def test_a_current_that_is_not_a_link_is_not_written_over(project: Path, capsys) -> None:
    assert citebot("index", "build", "--sources", "arts", "--index", "idx") == 0
    index = project / "idx"
    (index / "current").unlink()
    (index / "current").write_text("my notes\n")
    capsys.readouterr()
    assert citebot("index", "build", "--sources", "arts", "--index", "idx") == 1
    assert "holds files citebot did not write (current)" in _one_line(capsys.readouterr().err)
    assert (index / "current").read_text() == "my notes\n"


def test_an_empty_folder_or_a_new_one_is_taken(project: Path) -> None:
    (project / "empty").mkdir()
    assert citebot("index", "build", "--sources", "arts", "--index", "empty") == 0
    assert citebot("index", "build", "--sources", "arts", "--index", "new/deeper") == 0
    for folder in (project / "empty", project / "new" / "deeper"):
        assert (folder / "current").is_symlink() and not ownership.foreign_entries(folder)


def test_the_builds_marker_names_its_build(project: Path) -> None:
    assert citebot("index", "build", "--sources", "arts", "--index", "idx") == 0
    build = project / "idx" / os.readlink(project / "idx" / "current")
    marker = (build / ownership.BUILD_MARKER).read_text()
    assert marker == f"citebot build {build.name.removeprefix('build-')}\n"
    assert ownership.BUILD_MARKER not in json.loads((build / "manifest.json").read_text())["files"]
    # A build folder whose marker names another build proves nothing by its marker (a copy, renamed).
    copy = project / "idx" / "build-20200101T000000-c0c0c0c0"
    shutil.copytree(build, copy)
    (copy / "manifest.json").unlink()
    assert not ownership.own_build(copy)


# -- item 8: an index inside its own sources folder, or the reverse ----------------------------------------

@pytest.mark.parametrize(("sources", "index", "says"), [
    ("arts", "arts/idx", "--index arts/idx is inside --sources arts"),
    ("arts", "arts", "--index arts is the --sources folder itself"),
    ("idx/arts", "idx", "--sources idx/arts is inside --index idx"),
])
def test_an_index_and_its_sources_inside_each_other_are_refused(project: Path, capsys, sources: str, index: str,
                                                                says: str) -> None:
    if sources == "idx/arts":
        (project / "idx").mkdir()
        shutil.move(project / "arts", project / "idx" / "arts")
    before = _tree(project)
    assert citebot("index", "build", "--sources", sources, "--index", index) == 1
    line = _one_line(capsys.readouterr().err)
    assert says in line and "would read its own files as articles" in line
    assert _tree(project) == before
    command = line.split("keep them apart: ", 1)[1]
    assert command == f"citebot index build --sources {sources} --index arts-index"
    assert citebot(*shlex.split(command)[1:]) == 0
    status_code = citebot("index", "status", "--json", "--index", "arts-index")
    status = json.loads(capsys.readouterr().out)
    assert status_code == 0 and status["articles"] == 3 and status["up_to_date"]


def test_the_library_call_refuses_an_index_inside_its_sources(tmp_path: Path, seeds_copy: Path) -> None:
    settings = load_settings(write_config(tmp_path))
    with pytest.raises(IndexInvalidError, match="is inside --sources"):
        build_index(seeds_copy, seeds_copy / "index", settings)
    assert not (seeds_copy / "index").exists()
    # Rebuilding does not grow the article count: a build beside them, twice.
    for _ in range(2):
        report = build_index(seeds_copy, tmp_path / "beside", settings)
        assert report.articles == 3


def test_a_damaged_index_hint_repeats_the_config_and_works_when_pasted(project: Path, capsys) -> None:
    """The index folder's own "rebuild it with" names --config too: without it the paste would build with the
    default model, not the one this index was made with."""
    assert citebot("index", "build", "--sources", "arts", "--index", "idx") == 0
    (Path("idx/current") / "vectors.keys").unlink()
    capsys.readouterr()
    assert citebot("ask", "Who is Ian Lavery?", "--index", "idx") == 1
    line = _one_line(capsys.readouterr().err)
    hint = line.split("rebuild it with: ", 1)[1]
    assert hint.endswith("--config config/test.toml"), line
    assert main(shlex.split(hint)[1:]) == 0
    assert citebot("ask", "Who is Ian Lavery?", "--index", "idx") == 0
