"""Issue 26 item 14: the rollback of docs/operations.md, run as written (less `sudo -u citebot`), cannot race with
`index status` or a build, and a `current` that points at nothing ends in a rebuild command that works when
pasted. Real folders, real `flock` and `sh`, the CLI in subprocesses and in-process."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from citebot.bot.cli.main import main
from citebot.config.settings import PROJECT_ROOT
from tests.conftest import SEEDS, write_config

OPERATIONS = PROJECT_ROOT / "docs" / "operations.md"
CLI = [sys.executable, "-m", "citebot.bot.cli"]
ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}

pytestmark = pytest.mark.skipif(shutil.which("flock") is None, reason="no flock(1) here (util-linux)")


def documented_commands() -> tuple[str, str]:
    """The snapshot and the rollback command of the Rollback section, without `sudo -u citebot`."""
    section = OPERATIONS.read_text(encoding="utf-8").split("## Rollback", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    lines = [line.strip().removeprefix("sudo -u citebot ") for line in block.strip().splitlines()]
    flocks = [line for line in lines if line.startswith("flock ")]
    assert lines[0] == "cd /opt/citebot/var/index" and len(flocks) == 2
    snapshot = flocks[0].split("  #", 1)[0]
    return snapshot, flocks[1]


@pytest.fixture
def deployed(tmp_path: Path) -> Path:
    """var/index built from the seeds, var/index-snapshots beside it (the layout the section assumes)."""
    shutil.copytree(SEEDS, tmp_path / "articles")
    write_config(tmp_path)
    (tmp_path / "index-snapshots").mkdir()
    assert citebot(tmp_path, "index", "build", "--sources", "articles").returncode == 0
    return tmp_path


def citebot(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args, "--config", "config/test.toml"], cwd=project, env=ENV, capture_output=True,
                          text=True, timeout=300)


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_documented_rollback_goes_back_to_the_snapshot(deployed: Path) -> None:
    index = deployed / "index"
    snapshot, rollback = documented_commands()
    old = os.readlink(index / "current")
    assert shell(snapshot, index).returncode == 0 and (deployed / "index-snapshots" / old).is_dir()
    (deployed / "articles" / "zz_new.txt").write_text("Otters are back\n\nOtters returned to the river.\n")
    assert citebot(deployed, "index", "build").returncode == 0
    assert os.readlink(index / "current") != old
    done = shell(rollback.replace("build-<time>-<id>", old), index)
    assert done.returncode == 0, done.stderr
    assert os.readlink(index / "current") == old
    status = citebot(deployed, "index", "status", "--json")
    report = json.loads(status.stdout)
    assert status.returncode == 0 and report["build"] == old and report["articles"] == 3
    assert report["changes"] == ["added: zz_new.txt"]  # the articles were not rolled back: status says so
    assert sorted(p.name for p in index.iterdir()) == [".lock", old, "current"]  # the newer build is gone
    ask = citebot(deployed, "ask", "What did Theresa May say about racial hatred?", "--json")
    assert ask.returncode == 0 and json.loads(ask.stdout)["passages"]


def test_a_status_during_the_rollback_does_not_remove_the_copied_build(deployed: Path) -> None:
    """The documented command, paused between the copy and the switch until the test says go: an `index status`
    run in that pause must neither remove the copied build (it is not `current` yet) nor wait for it."""
    index = deployed / "index"
    snapshot, rollback = documented_commands()
    old = os.readlink(index / "current")
    assert shell(snapshot, index).returncode == 0
    assert citebot(deployed, "index", "build", "--full").returncode == 0
    wait = "while [ ! -e ../go ]; do sleep 0.05; done"
    paused = rollback.replace("build-<time>-<id>", old).replace(" . && ln", f" . && {wait} && ln")
    assert paused != rollback
    running = subprocess.Popen(["sh", "-c", paused], cwd=index, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (index / old).is_dir() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (index / old).is_dir()
        status = citebot(deployed, "index", "status")
        assert status.returncode == 0 and "a build is running now" in status.stdout
        assert (index / old).is_dir()
        assert "another build is writing" in citebot(deployed, "index", "build").stderr
    finally:
        (deployed / "go").touch()
        assert running.wait(timeout=60) == 0, running.stderr.read() if running.stderr else ""
    assert os.readlink(index / "current") == old and citebot(deployed, "index", "status").returncode == 0


def test_a_current_that_points_at_nothing_ends_in_a_command_that_works(deployed: Path, capsys,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """What the race left before: the copied build removed as a leftover, then `current` switched to it, the build
    it replaced still there. The error's rebuild command names the sources folder (read from that build)."""
    index = deployed / "index"
    gone = os.readlink(index / "current")
    assert citebot(deployed, "index", "build", "--full").returncode == 0
    kept = os.readlink(index / "current")
    (index / ".current.x").symlink_to(gone)
    os.replace(index / ".current.x", index / "current")
    assert not (index / gone).exists()  # the rebuild removed it
    monkeypatch.chdir(deployed)
    for command in (["ask", "What did Theresa May say?"], ["index", "status"]):
        assert main([*command, "--config", "config/test.toml"]) == 1
        err = capsys.readouterr().err
        assert f"points at {gone}, which is missing ({kept} is still there, untouched)" in err
        hint = re.search(r"rebuild it with: (citebot index build .*)$", err.strip()).group(1)
        assert shlex.split(hint)[1:] == ["index", "build", "--index", str(index), "--sources", "articles",
                                         "--config", "config/test.toml"]  # the command's own config, repeated
    assert main(shlex.split(hint)[1:]) == 0
    assert main(["index", "status", "--config", "config/test.toml"]) == 0
    assert sorted(p.name for p in index.iterdir()) == [".lock", os.readlink(index / "current"), "current"]
