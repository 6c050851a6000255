"""deploy/citebot.service: verified by systemd-analyze where it is installed, and parsed and checked always."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.bot.cli.main import _parser
from citebot.bot.discord.service import STOP_SECONDS
from citebot.config.settings import PROJECT_ROOT

UNIT = PROJECT_ROOT / "deploy" / "citebot.service"
CITEBOT = "/opt/citebot/.venv/bin/citebot"


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections of a unit file, each key with its values in order (systemd allows a key more than once)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            current = sections.setdefault(header[1], {})
            continue
        assert current is not None and "=" in line, f"line {number} is neither a section nor key=value: {raw!r}"
        key, value = (part.strip() for part in line.split("=", 1))
        current.setdefault(key, []).append(value)
    return sections


def seconds(value: str) -> float:
    """A systemd time span such as 30, 30s, 1min 30s."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value))


def test_the_unit_has_what_an_operator_needs() -> None:
    unit = parse_unit(UNIT.read_text(encoding="utf-8"))
    service = {key: values[-1] for key, values in unit["Service"].items()}
    assert unit["Unit"]["Description"] and "network-online.target" in unit["Unit"]["After"][0]
    assert service["ExecStart"] == f"{CITEBOT} serve"
    assert service["ExecStartPre"] == f"{CITEBOT} serve --check"
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"].startswith("/") and "Environment" not in service  # the token: not inline
    assert service["KillSignal"] == "SIGTERM"
    assert seconds(service["TimeoutStopSec"]) > STOP_SECONDS + 5  # room to close after the answers in flight
    assert service["User"] != "root"
    assert service["ReadWritePaths"] == f"{service['WorkingDirectory']}/var"
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    for command in (service["ExecStartPre"], service["ExecStart"]):
        args = _parser().parse_args(command.split()[1:])  # what citebot makes of the unit's command lines
        assert args.command == "serve"


def test_the_unit_parser_reads_repeated_keys_and_time_spans() -> None:
    unit = parse_unit("[Service]\nExecStartPre=/bin/a\nExecStartPre=/bin/b\n# c\n")
    assert unit["Service"]["ExecStartPre"] == ["/bin/a", "/bin/b"]
    assert seconds("1min 30s") == 90 and seconds("30") == 30


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    """With the citebot executable at an existing path (verify checks it), systemd finds no problem at all."""
    executable = shutil.which("citebot") or sys.executable
    unit = tmp_path / "citebot.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(CITEBOT, executable), encoding="utf-8")
    run = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "citebot.service" not in run.stderr, run.stderr  # warnings (an unknown key, a bad value) count too


def test_the_operations_page_names_the_unit_and_the_check() -> None:
    page = (PROJECT_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for needed in ("deploy/citebot.service", "citebot serve --check", "journalctl -u citebot", "index build",
                   "feedback.jsonl", "conversations.json", "Rollback", "Upgrad"):
        assert needed in page, needed
