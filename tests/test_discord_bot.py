"""The bot with the real discord.py client and the real model, against tests/fake_discord.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from dataclasses import replace
from pathlib import Path

import discord
import pytest
import yarl

from citebot.bot.discord.client import CitebotClient
from tests.fake_discord import APP_ID, CHANNEL_ID, GUILD_ID, FakeDiscord, sigterm_while_served

pytestmark = pytest.mark.model


class Harness:
    def __init__(self, server: FakeDiscord, settings, engine) -> None:
        self.server = server
        self.settings = settings
        self.engine = engine
        self.client: CitebotClient | None = None
        self.task: asyncio.Task | None = None

    async def start(self) -> CitebotClient:
        self.client = CitebotClient(settings=self.settings, engine_factory=lambda: self.engine,
                                    guild_ready_timeout=0.05)
        self.task = asyncio.create_task(self.client.start("fake-token"))
        await asyncio.wait_for(self.client.wait_until_ready(), 60)
        return self.client

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)


@contextlib.asynccontextmanager
async def running_bot(real_engine, data: Path):
    """The bot against a fresh fake Discord, its data folder at data."""
    server = FakeDiscord()
    await server.start()
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = server.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)
    settings = real_engine.settings
    settings = replace(settings, paths=replace(settings.paths, data=data),
                       bot=replace(settings.bot, dev_guild=int(GUILD_ID)))
    h = Harness(server, settings, real_engine)
    await h.start()
    try:
        yield h
    finally:
        await h.stop()
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
        await server.stop()


@pytest.fixture
async def harness(real_engine, tmp_path: Path):
    async with running_bot(real_engine, tmp_path / "data") as h:
        yield h


def callback_of(interaction_id: str):
    return lambda r: r.method == "POST" and r.path.startswith(f"/interactions/{interaction_id}/")


def followup_of(interaction_id: str):
    return lambda r: r.method == "POST" and r.path == f"/webhooks/{APP_ID}/token{interaction_id}"


def custom_ids(body: dict) -> list[str]:
    return [c["custom_id"] for row in body.get("components", []) for c in row.get("components", [])]


def assert_no_pings(body: dict) -> None:
    mentions = (body.get("data") or body).get("allowed_mentions")
    assert mentions is not None and mentions.get("parse") == [], body
    assert not mentions.get("users") and not mentions.get("roles") and not mentions.get("replied_user")


def assert_citations_verbatim(body: dict) -> None:
    """Every cited span named in the embed is a real span of its file, and the quote shown is from it."""
    for embed in body["embeds"]:
        for field in embed.get("fields", []):
            found = re.match(r"(\S+), paragraph (\d+), chars (\d+)–(\d+)", field["value"])
            assert found, field
            name, _, start, end = found.groups()
            name = name.replace("\\", "")  # shown with Markdown escaped
            text = (Path(__file__).resolve().parent.parent / "seeds" / name).read_text(encoding="utf-8")
            span = text[int(start):int(end)]
            first_quoted = field["value"].split("\n")[1].removeprefix("> ").rstrip(" …").replace("\\", "")
            assert first_quoted[:40] in span, (first_quoted, span[:200])


async def test_slash_ask_defers_then_answers_with_citations(harness: Harness) -> None:
    server = harness.server
    interaction = await server.slash("ask", {"question": "What did Theresa May say about racial hatred?"})
    (callback,) = await server.wait_for(callback_of(interaction))
    assert callback.body["type"] == 5  # deferred, "thinking"
    (followup,) = await server.wait_for(followup_of(interaction), timeout=60)
    body = followup.body
    assert_no_pings(body)
    embed = body["embeds"][0]
    assert embed["title"] == "Answer" and "racial hatred" in embed["description"]
    assert embed["fields"][0]["name"].startswith("[1] ")
    assert_citations_verbatim(body)
    ids = custom_ids(body)
    assert any(i.startswith("citebot:more:") for i in ids) and any(i.startswith("citebot:show:") for i in ids)


async def test_mention_opens_a_thread_and_follow_ups_use_the_conversation(harness: Harness) -> None:
    server = harness.server
    message_id = await server.say("What did Theresa May tell MPs?", mention_bot=True)
    await server.wait_for(lambda r: r.path == f"/channels/{CHANNEL_ID}/messages/{message_id}/threads")
    thread_posts = await server.wait_for(lambda r: r.method == "POST" and r.path.endswith("/messages")
                                         and r.path != f"/channels/{CHANNEL_ID}/messages", timeout=60)
    thread_id = thread_posts[0].path.split("/")[2]
    assert_no_pings(thread_posts[0].body)
    await server.say("Which kinds of hatred did she name?", channel_id=thread_id)  # no mention needed
    posts = await server.wait_for(lambda r: r.method == "POST" and r.path == f"/channels/{thread_id}/messages",
                                  count=2, timeout=60)
    description = posts[1].body["embeds"][0]["description"]
    assert "Searched:* Which kinds of hatred did she name? (Theresa May" in description  # as test_cli on main
    assert "hatred" in description.split("\n")[0]


async def test_reset_forgets_the_channel_conversation(harness: Harness) -> None:
    server = harness.server
    first = await server.slash("ask", {"question": "Who is Ian Lavery?"})
    await server.wait_for(followup_of(first), timeout=60)
    reset = await server.slash("reset", {})
    (callback,) = await server.wait_for(callback_of(reset))
    assert callback.body["type"] == 4 and callback.body["data"]["flags"] & 64  # ephemeral
    after = await server.slash("ask", {"question": "What did he do at the meeting?"})
    (followup,) = await server.wait_for(followup_of(after), timeout=60)
    assert "Searched:" not in followup.body["embeds"][0]["description"]


async def test_buttons_answer_ephemerally_record_feedback_and_survive_a_restart(harness: Harness) -> None:
    server = harness.server
    interaction = await server.slash("ask", {"question": "Who signed the letter calling for a second referendum?"})
    (followup,) = await server.wait_for(followup_of(interaction), timeout=60)
    ids = custom_ids(followup.body)
    more = next(i for i in ids if i.startswith("citebot:more:"))
    show = next(i for i in ids if i.endswith(":1") and i.startswith("citebot:show:"))
    up = next(i for i in ids if i.endswith(":up"))

    await harness.stop()  # a restart: the buttons must carry what they need
    await harness.start()

    for custom_id, expect in ((more, "More sources"), (show, "Passage [1] in full")):
        click = await server.click(custom_id)
        (callback,) = await server.wait_for(callback_of(click))
        data = callback.body["data"]
        assert callback.body["type"] == 4 and data["flags"] & 64 and data["embeds"][0]["title"] == expect
        assert_no_pings(callback.body)
    click = await server.click(up)
    await server.wait_for(callback_of(click))
    rows = [json.loads(line) for line in (harness.settings.paths.data / "feedback.jsonl").read_text().splitlines()]
    assert rows[-1]["vote"] == "up" and rows[-1]["question"].startswith("Who signed")
    assert set(rows[-1]) == {"time", "answer", "question", "searched", "chunk_ids", "vote"}  # no user names


async def test_a_conversation_carries_on_after_a_restart(harness: Harness) -> None:
    server = harness.server
    first = await server.slash("ask", {"question": "What did Theresa May tell MPs?"}, user_id=4300)
    await server.wait_for(followup_of(first), timeout=60)

    await harness.stop()  # a restart: the conversation is read back from the data folder
    await harness.start()

    follow_up = await server.slash("ask", {"question": "Which kinds of hatred did she name?"}, user_id=4300)
    (followup,) = await server.wait_for(followup_of(follow_up), timeout=60)
    assert "Searched:* Which kinds of hatred did she name? (Theresa May" in followup.body["embeds"][0]["description"]
    assert (harness.settings.paths.data / "conversations.json").is_file()


async def test_rate_limit_is_polite_and_per_user(harness: Harness) -> None:
    server = harness.server
    limit = harness.settings.bot.rate_limit_per_minute
    interactions = [await server.slash("ask", {"question": "Who is Sadiq Khan?"}, user_id=4500)
                    for _ in range(limit + 1)]
    callbacks = [(await server.wait_for(callback_of(i)))[0] for i in interactions]
    assert [c.body["type"] for c in callbacks[:limit]] == [5] * limit
    refused = callbacks[-1].body
    assert refused["type"] == 4 and refused["data"]["flags"] & 64 and "wait" in refused["data"]["content"]
    other = await server.slash("ask", {"question": "Who is Sadiq Khan?"}, user_id=4501)
    assert (await server.wait_for(callback_of(other)))[0].body["type"] == 5


async def test_hostile_and_oversized_questions(harness: Harness) -> None:
    server = harness.server
    everyone = await server.slash("ask", {"question": "@everyone <@&123> what did Theresa May say?"})
    (followup,) = await server.wait_for(followup_of(everyone), timeout=60)
    assert_no_pings(followup.body)
    long = await server.slash("ask", {"question": "why " * 1250})
    (callback,) = await server.wait_for(callback_of(long))
    assert callback.body["type"] == 4 and callback.body["data"]["flags"] & 64
    assert "limit is" in callback.body["data"]["content"]
    await server.say("<@1000> hello from another bot", author_is_bot=True, mention_bot=True)
    await asyncio.sleep(0.5)
    assert not server.find(lambda r: r.path.endswith("/threads"))


async def test_thirty_concurrent_asks_are_all_deferred_in_time_and_answered(harness: Harness) -> None:
    server = harness.server
    loop = asyncio.get_running_loop()
    began = loop.time()
    interactions = await asyncio.gather(*[
        server.slash("ask", {"question": f"What did the Board of Deputies say? ({n})"}, user_id=6000 + n)
        for n in range(30)])
    await server.wait_for(lambda r: any(callback_of(i)(r) for i in interactions), count=30, timeout=3)
    assert loop.time() - began < 3
    await server.wait_for(lambda r: any(followup_of(i)(r) for i in interactions), count=30, timeout=120)


async def test_a_missing_permission_is_logged_once_and_answered_in_the_channel(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    server = harness.server
    server.forbidden.add("/threads")
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            await server.say("Who is Ian Lavery?", mention_bot=True, user_id=4700)
        await server.wait_for(lambda r: r.method == "POST" and r.path == f"/channels/{CHANNEL_ID}/messages",
                              count=2, timeout=60)
    assert caplog.text.count("cannot create threads") == 1


async def test_a_429_is_retried(harness: Harness) -> None:
    server = harness.server
    server.rate_limit_once.add(f"POST /channels/{CHANNEL_ID}/messages")
    server.forbidden.add("/threads")
    await server.say("Who is Sadiq Khan?", mention_bot=True, user_id=4800)
    posts = await server.wait_for(lambda r: r.method == "POST" and r.path == f"/channels/{CHANNEL_ID}/messages",
                                  count=2, timeout=60)
    assert posts[-1].body["embeds"]




async def test_only_allowed_channels_are_answered(harness: Harness) -> None:
    server, client = harness.server, harness.client
    assert client is not None
    client.settings = replace(client.settings, bot=replace(client.settings.bot, allowed_channels=[999]))
    await server.say("Who is Ian Lavery?", mention_bot=True, user_id=4900)
    refused = await server.slash("ask", {"question": "Who is Ian Lavery?"}, user_id=4900)
    (callback,) = await server.wait_for(callback_of(refused))
    assert callback.body["type"] == 4 and callback.body["data"]["flags"] & 64
    assert "only answer" in callback.body["data"]["content"]
    assert not server.find(lambda r: r.path.endswith("/threads") or r.path.endswith("/messages"))


async def test_sigterm_closes_the_bot_cleanly(real_engine, tmp_path: Path) -> None:

    from citebot.bot.discord.service import serve

    server = FakeDiscord()
    await server.start()
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = server.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)
    settings = replace(real_engine.settings, paths=replace(real_engine.settings.paths, data=tmp_path / "data"))
    try:
        task = asyncio.create_task(serve(settings, "fake-token", lambda: real_engine))
        await server.wait_for(lambda r: r.path.endswith("/commands"))  # logged in, commands synced
        for _ in range(100):
            if server.sockets:
                break
            await asyncio.sleep(0.05)
        sigterm_while_served(task)
        await asyncio.wait_for(task, 10)  # returns instead of dying
        assert not server.sockets or all(ws.closed for ws in server.sockets)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
        await server.stop()


async def test_an_empty_mention_gets_a_short_explanation_and_no_thread(harness: Harness) -> None:
    server = harness.server
    await server.say("   ", mention_bot=True, user_id=5100)
    (reply,) = await server.wait_for(lambda r: r.method == "POST" and r.path == f"/channels/{CHANNEL_ID}/messages")
    assert "empty" in reply.body["content"] and reply.body["message_reference"]
    assert_no_pings(reply.body)
    assert not server.find(lambda r: r.path.endswith("/threads"))


def _unwritable_data_folder(tmp_path: Path, kind: str) -> Path:
    """A data folder that cannot be written even by root: one under a file, or one whose records go to /dev/full."""
    if kind == "read-only":
        (tmp_path / "a-file").write_text("")
        return tmp_path / "a-file" / "data"
    data = tmp_path / "data"
    data.mkdir()
    for name in ("answers.jsonl", "feedback.jsonl", "conversations.json"):
        (data / name).symlink_to("/dev/full")
    return data


@pytest.mark.parametrize("kind", ["read-only", "disk full"])
async def test_an_unwritable_data_folder_still_answers_with_one_warning(
        real_engine, tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    async with running_bot(real_engine, _unwritable_data_folder(tmp_path, kind)) as harness:
        server = harness.server
        with caplog.at_level(logging.WARNING):
            first = await server.slash("ask", {"question": "What did Theresa May say about racial hatred?"})
            second = await server.slash("ask", {"question": "Who signed the letter calling for a second referendum?"})
            followups = [(await server.wait_for(followup_of(i), timeout=60))[0] for i in (first, second)]
        for followup in followups:
            assert followup.body["embeds"][0]["fields"], followup.body
            assert_citations_verbatim(followup.body)
        warnings = [r.getMessage() for r in caplog.records if "cannot write the answers" in r.getMessage()]
        assert len(warnings) == 1, caplog.text
        # the buttons of an answer that could not be written still work while the bot runs
        ids = custom_ids(followups[1].body)
        click = await server.click(next(i for i in ids if i.startswith("citebot:more:")))
        (callback,) = await server.wait_for(callback_of(click))
        assert callback.body["data"]["embeds"][0]["title"] == "More sources"
        click = await server.click(next(i for i in ids if i.endswith(":up")))
        (callback,) = await server.wait_for(callback_of(click))
        assert "could not be saved" in callback.body["data"]["content"]
