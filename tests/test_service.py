"""`citebot serve` as an operator runs it: the real command in a subprocess against tests/fake_discord.py (the real
discord.py client), real files: one-line start-up errors, service logs, SIGTERM, `serve --check`."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.bot.cli.main import main
from citebot.bot.discord.service import (
    REDACTED,
    OneLineFormatter,
    RedactSecrets,
    bot_id,
    configure_logging,
    token_problem,
)
from citebot.config.settings import PROJECT_ROOT
from tests.fake_discord import CHANNEL_ID, FakeDiscord, sigterm_while_served
from tests.test_discord_bot import callback_of, followup_of

SHAPED = "MTAwMA.GabcDe.abcdefghijklmnopqrstuvwxyz0123456"
"""Shaped as a bot token (user id 1000, the fake's application), and no real one."""
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")
VOICE = ("PyNaCl", "davey", "voice will NOT")


# ---- the token and the logs ----------------------------------------------------------------------------------

def test_the_token_shape() -> None:
    assert token_problem(SHAPED) is None and bot_id(SHAPED) == 1000
    assert "not set" in (token_problem("") or "")
    assert '"Bot "' in (token_problem("Bot " + SHAPED) or "")
    assert "quoted" in (token_problem(f'"{SHAPED}"') or "")
    assert "2 dot-separated" in (token_problem("MTAwMA.abcdefghijklmnopqrstuvwxyz") or "")
    assert "characters" in (token_problem("MTAwMA.Gab cDe.abcdefghijklmnopqrstuvwxyz0123") or "")
    assert "user id" in (token_problem("bm90IGFuIGlk.GabcDe.abcdefghijklmnopqrstuvwxyz0123") or "")
    assert "too short" in (token_problem("MTAwMA.GabcDe.abc") or "")
    for token in ("Bot " + SHAPED, "MTAwMA.GabcDe.abc", f'"{SHAPED}"'):
        assert SHAPED.split(".")[-1] not in (token_problem(token) or "")


def test_the_token_never_reaches_the_log() -> None:
    stream = io.StringIO()
    handler = configure_logging(SHAPED, stream=stream)
    try:
        logger = logging.getLogger("discord.http")
        logger.info("Authorization: Bot %s", SHAPED)
        logger.warning("signature %s alone", SHAPED.split(".")[-1])
        logger.info("in the message itself: " + SHAPED)
        try:
            raise RuntimeError(f"login failed with {SHAPED}")
        except RuntimeError:
            logger.exception("request failed")
    finally:
        logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    assert SHAPED not in text and SHAPED.split(".")[-1] not in text
    lines = text.splitlines()
    assert len(lines) == 4 and all(LOG_LINE.match(line) for line in lines), lines
    assert all(REDACTED in line for line in lines)
    assert "Traceback" in lines[3] and "\\n" in lines[3]  # the traceback folded into its event's line


def test_the_filter_leaves_other_records_alone() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d passages from %s", (5, "var/index"), None)
    assert RedactSecrets(SHAPED).filter(record) and record.getMessage() == "5 passages from var/index"
    assert OneLineFormatter().format(record).endswith("INFO x: 5 passages from var/index")


# ---- the command, in a subprocess ------------------------------------------------------------------------------

@pytest.fixture
def hash_index(hash_config: Path) -> Path:
    """A built index (the hash embedder: the service's behaviour, not the model, is under test); its config."""
    assert main(["index", "build", "--config", str(hash_config)]) == 0
    return hash_config


class Served:
    """`citebot serve` in a subprocess (tests/fake_serve.py), its stderr read as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode().rstrip("\n"))

    async def wait_for_line(self, part: str, timeout: float = 60) -> None:
        async def seen() -> None:
            while not any(part in line for line in self.lines):
                if self.process.returncode is not None:
                    raise AssertionError(f"exited {self.process.returncode} before {part!r}: {self.lines}")
                await asyncio.sleep(0.05)
        await asyncio.wait_for(seen(), timeout)

    async def exit_code(self, timeout: float = 60) -> int:
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await self.reader
        return code


async def serve(api: str, gateway: str, config: Path, token: str, *flags: str) -> Served:
    env = {**os.environ, "DISCORD_TOKEN": token}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fake_serve", api, gateway, *flags, "serve", "--config", str(config),
        cwd=PROJECT_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    return Served(process)


@pytest.fixture
async def server():
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.stop()


async def test_serve_logs_one_event_a_line_answers_and_exits_0_on_sigterm(server: FakeDiscord,
                                                                         hash_index: Path) -> None:
    served = await serve(server.api_base, server.gateway_url, hash_index, SHAPED, "-v")  # -v: discord's debug too
    try:
        await served.wait_for_line("answering")
        interaction = await server.slash("ask", {"question": "What did Theresa May say about racial hatred?"})
        await server.wait_for(followup_of(interaction), timeout=60)
        served.process.send_signal(signal.SIGTERM)
        assert await served.exit_code(30) == 0
    finally:
        if served.process.returncode is None:
            served.process.kill()
    lines = served.lines
    assert all(LOG_LINE.match(line) for line in lines), [line for line in lines if not LOG_LINE.match(line)][:3]
    text = "\n".join(lines)
    assert SHAPED not in text and SHAPED.split(".")[-1] not in text
    assert not any(word in line for line in lines for word in VOICE), [line for line in lines if "voice will" in line]
    assert "stopping: 0 answer(s) in flight" in text and lines[-1].endswith("citebot.bot.discord.service: stopped")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def one_error_line(served: Served) -> str:
    """The error line; everything before it is a service log line (no traceback, no voice warning)."""
    *logs, last = served.lines
    assert last.startswith("citebot: error: ") and "Traceback" not in "\n".join(served.lines), served.lines
    assert all(LOG_LINE.match(line) for line in logs), logs
    assert not any(word in line for line in served.lines for word in VOICE), served.lines
    assert SHAPED not in "\n".join(served.lines)
    return last


async def test_a_refused_token_is_one_line(server: FakeDiscord, hash_index: Path) -> None:
    server.refused_tokens.add(SHAPED)
    served = await serve(server.api_base, server.gateway_url, hash_index, SHAPED)
    assert await served.exit_code() == 1
    line = one_error_line(served)
    assert "Discord refused the token in DISCORD_TOKEN" in line and "Reset Token" in line


async def test_discord_out_of_reach_is_one_line_saying_what_to_check(hash_index: Path) -> None:
    port = closed_port()
    served = await serve(f"http://127.0.0.1:{port}/api/v10", f"ws://127.0.0.1:{port}/gateway", hash_index, SHAPED)
    assert await served.exit_code() == 1
    line = one_error_line(served)
    assert "cannot reach Discord at 127.0.0.1 (Connection refused)" in line
    assert f"curl -sS http://127.0.0.1:{port}/api/v10/gateway" in line


async def test_a_name_that_does_not_resolve_is_one_line(hash_index: Path) -> None:
    served = await serve("http://citebot-test.invalid/api/v10", "ws://citebot-test.invalid/gateway", hash_index,
                         SHAPED)
    assert await served.exit_code() == 1
    line = one_error_line(served)
    assert "the name citebot-test.invalid does not resolve" in line and "getent hosts citebot-test.invalid" in line


@pytest.mark.parametrize(("token", "said"), [("", "DISCORD_TOKEN is not set"),
                                             ("Bot " + SHAPED, 'starts with "Bot "'),
                                             ("abc.def", "2 dot-separated")])
async def test_no_token_or_a_malformed_one_is_one_line_before_connecting(hash_index: Path, token: str,
                                                                        said: str) -> None:
    served = await serve("http://citebot-test.invalid/api/v10", "ws://citebot-test.invalid/gateway", hash_index,
                         token)
    assert await served.exit_code() == 1
    assert len(served.lines) == 1 and said in one_error_line(served)


# ---- serve --check --------------------------------------------------------------------------------------------

def check(config: Path, token: str = SHAPED) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "citebot.bot.cli", "serve", "--check", "--config", str(config)],
                          cwd=PROJECT_ROOT, env={**os.environ, "DISCORD_TOKEN": token}, capture_output=True,
                          text=True, timeout=120)


def test_check_passes_on_a_ready_setup_in_one_line(hash_index: Path) -> None:
    run = check(hash_index)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert run.stdout.count("\n") == 1 and "ok:" in run.stdout and "bot id 1000" in run.stdout
    assert SHAPED not in run.stdout


@pytest.mark.parametrize("problem", ["token", "no index", "data not writable", "config"])
def test_check_fails_in_one_line_with_the_fix(tmp_path: Path, hash_index: Path, problem: str) -> None:
    from tests.conftest import write_config

    config, token, said = hash_index, SHAPED, ""
    if problem == "token":
        token, said = SHAPED[:-20], "too short"
    elif problem == "no index":
        config, said = write_config(tmp_path / "other"), "citebot index build"
    elif problem == "data not writable":
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        config = write_config(tmp_path / "other", index=str(tmp_path / "index"), data=str(blocker / "data"))
        said = "[paths] data"
    else:
        config = tmp_path / "bad.toml"
        config.write_text("[paths\n")
        said = "bad.toml"
    run = check(config, token)
    assert run.returncode == 1 and run.stdout == "", run.stdout
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("citebot: error: ") and said in run.stderr, run.stderr


def test_check_lists_every_problem_it_finds(tmp_path: Path) -> None:
    from tests.conftest import write_config

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    config = write_config(tmp_path / "other", index=str(tmp_path / "index"), data=str(blocker / "data"))
    run = check(config, SHAPED[:-20])
    lines = run.stderr.splitlines()
    assert run.returncode == 1 and run.stdout == "" and len(lines) == 3, run.stderr
    assert all(line.startswith("citebot: error: ") for line in lines)
    assert "too short" in lines[0] and "citebot index build --sources" in lines[1] and "[paths] data" in lines[2]


def test_check_needs_no_network(hash_index: Path) -> None:
    """Checked with Discord unresolvable: nothing is sent anywhere."""
    run = subprocess.run([sys.executable, "-m", "tests.fake_serve", "http://citebot-test.invalid/api/v10",
                          "ws://citebot-test.invalid/gateway", "serve", "--check", "--config", str(hash_index)],
                         cwd=PROJECT_ROOT, env={**os.environ, "DISCORD_TOKEN": SHAPED}, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr


# ---- SIGTERM with answers in flight (in process, the real model) ----------------------------------------------

class SlowEngine:
    """The real engine, each search held until `release` is set (or `hold` seconds pass)."""

    def __init__(self, engine, hold: float) -> None:
        import threading

        self._engine, self.hold, self.release = engine, hold, threading.Event()

    def ask(self, *args, **kwargs):
        self.release.wait(self.hold)
        return self._engine.ask(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._engine, name)


@pytest.fixture
def fake_urls(server: FakeDiscord):
    import discord
    import yarl

    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = server.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)
    yield server
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def started(server: FakeDiscord, real_engine, tmp_path: Path, engine, stop_seconds: float) -> asyncio.Task:
    from dataclasses import replace

    from citebot.bot.discord.service import serve as serve_bot

    settings = replace(real_engine.settings, paths=replace(real_engine.settings.paths, data=tmp_path / "data"))
    task = asyncio.create_task(serve_bot(settings, "fake-token", lambda: engine, stop_seconds,
                                         guild_ready_timeout=0.05))
    await server.wait_for(lambda r: r.path.endswith("/commands"))
    for _ in range(200):
        if server.sockets:
            break
        await asyncio.sleep(0.05)
    return task


@pytest.mark.model
async def test_sigterm_lets_the_answer_in_flight_finish_and_refuses_new_ones(fake_urls: FakeDiscord, real_engine,
                                                                             tmp_path: Path) -> None:
    server = fake_urls
    engine = SlowEngine(real_engine, hold=2.0)
    task = await started(server, real_engine, tmp_path, engine, stop_seconds=10)
    first = await server.slash("ask", {"question": "What did Theresa May say about racial hatred?"})
    (deferred,) = await server.wait_for(callback_of(first))
    assert deferred.body["type"] == 5  # searching now, for 2 s
    sigterm_while_served(task)
    await asyncio.sleep(0.2)
    late = await server.slash("ask", {"question": "Who is Ian Lavery?"}, user_id=4002)
    (refused,) = await server.wait_for(callback_of(late))
    assert refused.body["type"] == 4 and refused.body["data"]["flags"] & 64
    assert "restarting" in refused.body["data"]["content"]
    await asyncio.wait_for(task, 20)  # returns: the process would exit 0
    (answer,) = server.find(followup_of(first))
    assert "racial hatred" in answer.body["embeds"][0]["description"]
    assert not server.sockets or all(ws.closed for ws in server.sockets)


@pytest.mark.model
async def test_sigterm_waits_no_longer_than_its_bound(fake_urls: FakeDiscord, real_engine, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    server = fake_urls
    engine = SlowEngine(real_engine, hold=60.0)
    task = await started(server, real_engine, tmp_path, engine, stop_seconds=0.5)
    try:
        await server.say("What did Theresa May tell MPs?", mention_bot=True, channel_id=CHANNEL_ID)
        await server.wait_for(lambda r: r.path.endswith("/threads"))
        await asyncio.sleep(0.2)
        began = asyncio.get_running_loop().time()
        with caplog.at_level(logging.INFO, logger="citebot.bot.discord.service"):
            sigterm_while_served(task)
            await asyncio.wait_for(task, 10)
        assert asyncio.get_running_loop().time() - began < 5
        assert "1 answer(s) not finished after 0.5 s" in caplog.text
    finally:
        engine.release.set()  # the worker thread ends too
