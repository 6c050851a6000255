"""A running bot (real discord.py client, fake Discord, real model) picks up a new build without a restart."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path

import discord
import pytest
import yarl

from citebot.bot.discord.client import CitebotClient
from citebot.index.build import build_index
from citebot.index.store.faiss.layout import CURRENT, VECTORS
from citebot.retrieval.engine import Engine
from tests.conftest import SEEDS
from tests.fake_discord import CHANNEL_ID, GUILD_ID, FakeDiscord
from tests.test_incremental import NEW_ARTICLE

pytestmark = pytest.mark.model


def _unescaped(embed: dict) -> str:
    """An embed as JSON text, file names' markdown escapes (zz\\_otters.txt) taken off."""
    return json.dumps(embed).replace("\\\\_", "_")


async def wait_until(condition, timeout: float = 60) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_a_new_build_is_served_without_a_restart_in_the_same_thread(
        real_engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sources, index_dir = tmp_path / "sources", tmp_path / "index"
    shutil.copytree(SEEDS, sources)
    shutil.copytree(real_engine.settings.paths.index, index_dir, symlinks=True)  # its vectors are reused
    s = real_engine.settings
    settings = replace(s, paths=replace(s.paths, index=index_dir, data=tmp_path / "data"),
                       bot=replace(s.bot, dev_guild=int(GUILD_ID), reload_seconds=0.1))
    assert build_index(sources, index_dir, settings).embedded == 0

    server = FakeDiscord()
    await server.start()
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = server.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)
    loads: list[Engine] = []
    calls: list[int] = []

    def factory() -> Engine:
        calls.append(1)
        loads.append(Engine(settings))
        return loads[-1]

    client = CitebotClient(settings=settings, engine_factory=factory, guild_ready_timeout=0.05)
    task = asyncio.create_task(client.start("fake-token"))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 60)
        await server.say("What did Theresa May tell MPs?", mention_bot=True)
        first = await server.wait_for(lambda r: r.method == "POST" and r.path.endswith("/messages")
                                      and r.path != f"/channels/{CHANNEL_ID}/messages", timeout=60)
        thread_id = first[0].path.split("/")[2]
        in_thread = lambda r: r.method == "POST" and r.path == f"/channels/{thread_id}/messages"  # noqa: E731

        (sources / "zz_otters.txt").write_text(NEW_ARTICLE, encoding="utf-8")
        with caplog.at_level(logging.INFO, logger="citebot.bot.discord.reload"):
            report = await asyncio.to_thread(build_index, sources, index_dir, settings)
            assert 0 < report.embedded < 20 and report.reused > 0
            await wait_until(lambda: client.engine is not None and client.engine.stored.path == report.path)
        assert len(loads) == 2 and loads[0] is not loads[1]
        reloaded = [r.getMessage() for r in caplog.records if "index reloaded" in r.getMessage()]
        assert len(reloaded) == 1 and f"{report.chunks} passages" in reloaded[0] and "4 articles" in reloaded[0]

        await server.say("Where have otters been seen breeding?", channel_id=thread_id)
        posts = await server.wait_for(in_thread, count=2, timeout=60)
        answer = posts[1].body["embeds"][0]
        assert "Thames" in answer["description"] and "zz_otters.txt" in _unescaped(answer)

        # A build that cannot be loaded: one line, and the last good engine keeps answering.
        broken = index_dir / "build-broken"
        shutil.copytree(report.path, broken)
        with open(broken / VECTORS, "r+b") as handle:
            handle.seek(100)
            handle.write(b"garbage!")
        (index_dir / ".current.broken").symlink_to(broken.name)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="citebot.bot.discord.reload"):
            os.replace(index_dir / ".current.broken", index_dir / CURRENT)
            await wait_until(lambda: any("could not be loaded" in r.getMessage() for r in caplog.records))
            await asyncio.sleep(0.5)  # several more checks: the broken build is not tried again
        assert len(calls) == 3 and len(loads) == 2 and client.engine.stored.path == report.path
        warnings = [r.getMessage() for r in caplog.records]
        assert len(warnings) == 1 and "build-broken" in warnings[0] and "\n" not in warnings[0]
        await server.say("How many otter cubs were counted?", channel_id=thread_id)
        posts = await server.wait_for(in_thread, count=3, timeout=60)
        assert "zz_otters.txt" in _unescaped(posts[2].body["embeds"][0])
    finally:
        await client.close()
        await asyncio.wait_for(task, 10)
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
        await server.stop()
