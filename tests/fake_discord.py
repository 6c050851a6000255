"""A small fake Discord (REST + gateway on 127.0.0.1) that the real discord.py client talks to.

It answers what the bot needs (login, application info, command sync, interaction callbacks,
webhook follow-ups, channel messages, threads), records every REST request, and lets a test push
gateway events (MESSAGE_CREATE, INTERACTION_CREATE) as if users acted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = "1000"
GUILD_ID = "2000"
CHANNEL_ID = "3000"
BOT_USER = {"id": APP_ID, "username": "citebot", "discriminator": "0", "global_name": "citebot", "avatar": None,
            "bot": True, "flags": 0}
TIMESTAMP = "2026-11-24T12:00:00.000000+00:00"


def user(user_id: int) -> dict[str, Any]:
    return {"id": str(user_id), "username": f"user{user_id}", "discriminator": "0", "global_name": None,
            "avatar": None}


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    query: dict[str, str]


@dataclass
class FakeDiscord:
    host: str = "127.0.0.1"
    requests: list[Recorded] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(50_000))
    rate_limit_once: set[str] = field(default_factory=set)
    """Paths (method and path) answered once with a 429 before succeeding."""
    forbidden: set[str] = field(default_factory=set)
    """Path suffixes answered with 403 (a missing permission)."""
    refused_tokens: set[str] = field(default_factory=set)
    """Bot tokens answered with 401, as Discord answers a reset or mistyped one."""
    sequence: int = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self.gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self.rest)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        await self.runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    def next_id(self) -> str:
        return str(next(self.ids))

    # -- REST ------------------------------------------------------------------------------------

    async def rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json":
                body = json.loads(raw)
            elif request.content_type.startswith("multipart/"):
                body = _payload_json(raw)
        self.requests.append(Recorded(request.method, path, body, dict(request.query)))
        if request.headers.get("Authorization", "").removeprefix("Bot ") in self.refused_tokens:
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        key = f"{request.method} {path}"
        if key in self.rate_limit_once:
            self.rate_limit_once.discard(key)
            return _json({"message": "You are being rate limited.", "retry_after": 0.05, "global": False},
                         status=429, headers={"Via": "1.1 google", "X-RateLimit-Scope": "user"})
        if any(path.endswith(suffix) for suffix in self.forbidden):
            return _json({"message": "Missing Permissions", "code": 50013}, status=403)
        return _json(await self.route(request.method, path, body or {}))

    async def route(self, method: str, path: str, body: dict[str, Any]) -> Any:
        parts = path.strip("/").split("/")
        if path == "/users/@me":
            return BOT_USER
        if path == "/oauth2/applications/@me":
            return {"id": APP_ID, "name": "citebot", "description": "", "icon": None, "bot_public": True,
                    "bot_require_code_grant": False, "owner": user(1), "verify_key": "0" * 64, "flags": 0}
        if parts[0] == "applications" and parts[-1] == "commands":
            return [{**command, "id": self.next_id(), "application_id": APP_ID, "version": "1",
                     "default_member_permissions": None, "type": command.get("type", 1)} for command in body]
        if parts[0] == "interactions":
            flags = (body.get("data") or {}).get("flags", 0) or 0
            return {"interaction": {"id": parts[1], "type": 2, "response_message_loading": body.get("type") == 5,
                                    "response_message_ephemeral": bool(flags & 64)}}
        if parts[0] == "webhooks":
            return self.message(CHANNEL_ID, body)
        if parts[0] == "channels" and parts[-1] == "threads":
            thread = {"id": self.next_id(), "type": 11, "guild_id": GUILD_ID, "parent_id": parts[1],
                      "owner_id": APP_ID, "name": body.get("name", "thread"), "last_message_id": None,
                      "rate_limit_per_user": 0, "message_count": 0, "member_count": 1,
                      "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                          "archive_timestamp": TIMESTAMP, "locked": False}}
            await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
            return thread
        if parts[0] == "channels" and parts[-1] == "messages" and method == "POST":
            return self.message(parts[1], body)
        return {}

    def message(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.next_id(), "channel_id": channel_id, "guild_id": GUILD_ID, "author": BOT_USER,
                "content": body.get("content") or "", "timestamp": TIMESTAMP, "edited_timestamp": None,
                "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
                "embeds": body.get("embeds") or [], "pinned": False, "type": 0, "flags": body.get("flags", 0),
                "components": []}

    # -- gateway -----------------------------------------------------------------------------------

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45_000}, "s": None, "t": None})
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            if payload["op"] == 1:
                await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
            elif payload["op"] == 2:
                await self.send(ws, "READY", {
                    "v": 10, "user": BOT_USER, "guilds": [{"id": GUILD_ID, "unavailable": True}],
                    "session_id": "fake-session", "resume_gateway_url": self.gateway_url,
                    "application": {"id": APP_ID, "flags": 0}, "shard": [0, 1]})
                await self.send(ws, "GUILD_CREATE", guild())
        self.sockets.remove(ws)
        return ws

    async def send(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        self.sequence += 1
        await ws.send_json({"op": 0, "t": event, "s": self.sequence, "d": data})

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        for ws in list(self.sockets):
            await self.send(ws, event, data)

    # -- what users do -------------------------------------------------------------------------------

    async def slash(self, name: str, options: dict[str, str], user_id: int = 4001,
                    channel_id: str = CHANNEL_ID) -> str:
        interaction_id = self.next_id()
        await self.dispatch("INTERACTION_CREATE", {
            **self._interaction_base(interaction_id, user_id, channel_id), "type": 2,
            "data": {"id": "9001", "name": name, "type": 1,
                     "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()]}})
        return interaction_id

    async def click(self, custom_id: str, user_id: int = 4001, channel_id: str = CHANNEL_ID) -> str:
        interaction_id = self.next_id()
        await self.dispatch("INTERACTION_CREATE", {
            **self._interaction_base(interaction_id, user_id, channel_id), "type": 3,
            "data": {"custom_id": custom_id, "component_type": 2},
            # As Discord does, the clicked message comes with its components (discord.py looks the button up there).
            "message": {**self.message(channel_id, {"content": "an answer"}),
                        "components": [{"type": 1, "id": 1, "components": [
                            {"type": 2, "id": 2, "style": 2, "label": "button", "custom_id": custom_id}]}]}})
        return interaction_id

    async def say(self, content: str, user_id: int = 4001, channel_id: str = CHANNEL_ID,
                  mention_bot: bool = False, author_is_bot: bool = False) -> str:
        message_id = self.next_id()
        author = {**user(user_id), "bot": author_is_bot}
        await self.dispatch("MESSAGE_CREATE", {
            "id": message_id, "channel_id": channel_id, "guild_id": GUILD_ID, "author": author,
            "member": {"roles": [], "joined_at": TIMESTAMP, "deaf": False, "mute": False, "flags": 0},
            "content": (f"<@{APP_ID}> " if mention_bot else "") + content, "timestamp": TIMESTAMP,
            "edited_timestamp": None, "tts": False, "mention_everyone": False,
            "mentions": [BOT_USER] if mention_bot else [], "mention_roles": [], "attachments": [], "embeds": [],
            "pinned": False, "type": 0, "flags": 0, "components": []})
        return message_id

    def _interaction_base(self, interaction_id: str, user_id: int, channel_id: str) -> dict[str, Any]:
        return {"id": interaction_id, "application_id": APP_ID, "token": f"token{interaction_id}", "version": 1,
                "guild_id": GUILD_ID, "channel_id": channel_id,
                "channel": {"id": channel_id, "type": 0, "guild_id": GUILD_ID, "name": "general", "position": 0,
                            "permission_overwrites": []},
                "member": {"user": user(user_id), "roles": [], "joined_at": TIMESTAMP, "deaf": False, "mute": False,
                           "flags": 0, "permissions": "2147483647"},
                "app_permissions": "2147483647", "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
                "authorizing_integration_owners": {"0": GUILD_ID}, "context": 0,
                "attachment_size_limit": 10_000_000}

    # -- what tests look at -------------------------------------------------------------------------

    def find(self, predicate: Callable[[Recorded], bool]) -> list[Recorded]:
        return [r for r in self.requests if predicate(r)]

    async def wait_for(self, predicate: Callable[[Recorded], bool], count: int = 1,
                       timeout: float = 30.0) -> list[Recorded]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.find(predicate)
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"waited {timeout} s for {count} request(s); saw "
                                     f"{[(r.method, r.path) for r in self.requests][-20:]}")
            await asyncio.sleep(0.02)


def guild() -> dict[str, Any]:
    return {
        "id": GUILD_ID, "name": "Newsroom", "icon": None, "owner_id": "1", "unavailable": False,
        "roles": [{"id": GUILD_ID, "name": "@everyone", "permissions": "2147483647", "position": 0, "color": 0,
                   "hoist": False, "managed": False, "mentionable": False, "flags": 0}],
        "emojis": [], "stickers": [], "features": [], "member_count": 2, "large": False,
        "members": [{"user": BOT_USER, "roles": [], "joined_at": TIMESTAMP, "deaf": False, "mute": False,
                     "flags": 0}],
        "channels": [{"id": CHANNEL_ID, "type": 0, "name": "general", "position": 0, "guild_id": GUILD_ID,
                      "permission_overwrites": [], "nsfw": False, "parent_id": None, "rate_limit_per_user": 0}],
        "threads": [], "voice_states": [], "presences": [], "verification_level": 0,
        "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0, "premium_tier": 0,
        "system_channel_id": None, "preferred_locale": "en-US", "nsfw_level": 0,
        "premium_progress_bar_enabled": False, "joined_at": TIMESTAMP,
    }


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py decodes a body as JSON only when Content-Type is exactly application/json (no charset).
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={**(headers or {}), "Content-Type": "application/json"})


def _payload_json(raw: bytes) -> Any:
    """The payload_json part of a multipart body (discord.py sends one when files are attached)."""
    marker = b'name="payload_json"'
    if marker not in raw:
        return None
    part = raw.split(marker, 1)[1].split(b"\r\n\r\n", 1)[1]
    return json.loads(part.split(b"\r\n--", 1)[0])


def sigterm_while_served(task: asyncio.Task) -> None:
    """SIGTERM to this process, as a service manager sends it, only while serve()'s handler is installed: had the
    task ended early (a failed start on a loaded machine), the signal would end the whole test run, not the bot."""
    if task.done():
        ended = "cancelled" if task.cancelled() else repr(task.exception())
        raise AssertionError(f"serve() ended before SIGTERM was sent: {ended}")
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        raise AssertionError("serve() has no SIGTERM handler installed; SIGTERM would end the test run")
    os.kill(os.getpid(), signal.SIGTERM)

