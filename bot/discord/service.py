"""`citebot serve` as a service: logs an operator can read, one-line start-up errors, a clean stop, `--check`.

- Logs: one event a line (a traceback folded into its line), UTC timestamp and level first, the token never
  (a filter on the handler redacts it wherever it would appear). discord.py's voice warnings are off: the bot
  has no voice.
- Errors before the bot runs: one line that says what to check (Discord unreachable, token refused or malformed).
- SIGTERM or Ctrl-C: new questions get a short "restarting" reply, answers in flight finish for up to
  STOP_SECONDS, then the connection closes and the process exits 0.
- `citebot serve --check`: config, token shape, model, index and data folder, without connecting; one line.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import signal
import socket
import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citebot.bot.display import printable
from citebot.config.errors import CitebotError

if TYPE_CHECKING:
    from citebot.bot.discord.client import CitebotClient
    from citebot.config.settings import Settings
    from citebot.retrieval.engine import Engine

log = logging.getLogger(__name__)

STOP_SECONDS = 10.0
"""How long a stop waits for answers in flight (deploy/citebot.service gives the process more)."""
TOKEN_FIX = "copy it again from the Discord developer portal (Bot > Reset Token) into DISCORD_TOKEN"
NO_TOKEN = ("DISCORD_TOKEN is not set; put the bot token from the Discord developer portal in the environment: "
            "DISCORD_TOKEN=... citebot serve (see the README; under systemd, the unit's EnvironmentFile)")
REDACTED = "[token redacted]"


# -- the token ---------------------------------------------------------------------------------------------

def token_problem(token: str) -> str | None:
    """Why token cannot be a Discord bot token (three dot-separated base64 parts: user id, time, signature),
    or None. The reason never quotes the token."""
    if not token:
        return NO_TOKEN
    if token.lower().startswith("bot "):
        return 'DISCORD_TOKEN starts with "Bot "; give the token alone'
    if token[0] in "\"'" or token[-1] in "\"'":
        return "DISCORD_TOKEN is quoted; give the token without quotes"
    parts = token.split(".")
    if len(parts) != 3:
        return f"DISCORD_TOKEN has {len(parts)} dot-separated part(s); a bot token has 3"
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    if any(not part or not set(part) <= alphabet for part in parts):
        return "DISCORD_TOKEN has characters or empty parts that a bot token does not"
    if bot_id(token) is None:
        return "the first part of DISCORD_TOKEN is not the base64 of a bot's user id"
    if len(parts[2]) < 20:
        return "the last part of DISCORD_TOKEN (its signature) is too short; it was cut when copied"
    return None


def bot_id(token: str) -> int | None:
    """The bot's user id, from the token's first part (public, not secret), or None."""
    first = token.split(".")[0]
    try:
        decoded = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(decoded) if decoded.isdigit() and len(decoded) <= 20 else None


# -- logging -----------------------------------------------------------------------------------------------

class RedactSecrets(logging.Filter):
    """Replaces each secret (the token, and its signature part alone) in a record's message, args and
    traceback before any formatter sees it."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        found = {s for token in secrets if token for s in (token, token.split(".")[-1]) if len(s) >= 8}
        self.secrets = sorted(found, key=len, reverse=True)

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it to the handler's own error report
            return True
        record.msg, record.args = self.clean(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


class OneLineFormatter(logging.Formatter):
    """`2026-12-05T12:00:00.123Z INFO citebot.bot.discord.client: message`, a traceback folded in with \\n, and
    control characters (from file names or questions) shown as escapes, so the journal shows what was there."""

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record).replace("\r", "").replace("\n", "\\n"))


def configure_logging(token: str, verbose: bool = False, stream: Any = None) -> logging.Handler:
    """Replace the root logger's handlers with one that writes service lines to stderr; the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(OneLineFormatter())
    handler.addFilter(RedactSecrets(token))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("citebot").setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("discord").setLevel(logging.DEBUG if verbose else logging.INFO)
    return handler


def quiet_voice() -> None:
    """discord.py warns once per process that PyNaCl and davey (voice) are missing; the bot has no voice."""
    import discord

    for flag in ("warn_nacl", "warn_dave"):
        if hasattr(discord.VoiceClient, flag):
            setattr(discord.VoiceClient, flag, False)


# -- errors before the bot runs ------------------------------------------------------------------------------

def _api() -> tuple[str, str]:
    """Discord's API base URL and its host, as the client will reach them."""
    import discord
    import yarl

    base = str(discord.http.Route.BASE)
    return base, yarl.URL(base).host or base


def startup_error(exc: BaseException) -> CitebotError | None:
    """The one line an operator needs for an error of the start-up (login, first connection), or None."""
    import aiohttp
    import discord

    base, host = _api()
    if isinstance(exc, discord.LoginFailure):
        return CitebotError(f"Discord refused the token in DISCORD_TOKEN; {TOKEN_FIX}")
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return CitebotError("enable the Message Content intent for the bot in the Discord developer portal "
                            "(Bot > Privileged Gateway Intents)")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError | ssl.SSLError):
        return CitebotError(f"the TLS connection to {host} failed ({_reason(exc)}); check the system's CA "
                            f"certificates and clock: curl -sS {base}/gateway")
    cause = getattr(exc, "os_error", None) or exc
    if isinstance(cause, socket.gaierror):
        return CitebotError(f"cannot reach Discord: the name {host} does not resolve ({_reason(cause)}); check "
                            f"this machine's DNS: getent hosts {host}")
    if isinstance(exc, aiohttp.ClientError | OSError | discord.GatewayNotFound | asyncio.TimeoutError):
        return CitebotError(f"cannot reach Discord at {host} ({_reason(exc)}); check this machine's network, "
                            f"proxy and firewall: curl -sS {base}/gateway")
    if isinstance(exc, discord.DiscordServerError):
        return CitebotError(f"Discord answered HTTP {exc.status} at login; it may be down for a while: "
                            "systemd restarts the bot, or start it again later")
    if isinstance(exc, discord.HTTPException):
        return CitebotError(f"Discord refused the login (HTTP {exc.status}: {exc.text or 'no reason given'})")
    if isinstance(exc, discord.ConnectionClosed):
        fix = TOKEN_FIX if exc.code == 4004 else "start it again; if it recurs, run with -v and read the log"
        return CitebotError(f"Discord closed the connection (code {exc.code}: {exc.reason or 'no reason'}); {fix}")
    return None


def _reason(exc: BaseException) -> str:
    error = getattr(exc, "os_error", None) or exc
    if isinstance(error, OSError) and not isinstance(error, socket.gaierror) and error.errno:
        return os.strerror(error.errno)
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


# -- running and stopping ------------------------------------------------------------------------------------

async def finish(client: CitebotClient, seconds: float) -> int:
    """Refuse new questions, let those in flight finish for up to seconds, then close the connection; the
    number of answers left unfinished."""
    client.closing = True
    pending = {task for task in client.in_flight if not task.done()}
    log.info("stopping: %d answer(s) in flight, waiting up to %g s for them", len(pending), seconds)
    left: set[asyncio.Task[Any]] = set()
    if pending:
        _, left = await asyncio.wait(pending, timeout=seconds)
        if left:
            log.warning("stopping: %d answer(s) not finished after %g s; closing anyway", len(left), seconds)
    await client.close()
    return len(left)


async def serve(settings: Settings, token: str, engine_factory: Callable[[], Engine],
                stop_seconds: float = STOP_SECONDS, **options: Any) -> int:
    """Run the bot until SIGTERM or Ctrl-C, then stop as finish() does; the number of answers it left
    unfinished. Start-up errors propagate."""
    from citebot.bot.discord.client import CitebotClient

    quiet_voice()
    client = CitebotClient(settings=settings, engine_factory=engine_factory, **options)

    async def on_ready() -> None:
        assert client.user is not None
        log.info("connected to Discord as %s (id %s) in %d guild(s); answering", client.user, client.user.id,
                 len(client.guilds))

    client.event(on_ready)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    unfinished = 0
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        async with client:
            running = asyncio.create_task(client.start(token))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stopping.done():
                unfinished = await finish(client, stop_seconds)
            else:
                stopping.cancel()
            await running
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    log.info("stopped")
    return unfinished


def run(settings: Settings, token: str, verbose: bool = False, rebuild_hint: str = "citebot index build") -> None:
    """`citebot serve`: check the token's shape and the index, then serve; one-line CitebotErrors. rebuild_hint:
    the command that rebuilds this index, as the log's left-out lines end."""
    _check_token(token)
    configure_logging(token, verbose)  # before the imports below: faiss logs as it loads
    from citebot.index.store import store_location
    from citebot.retrieval.engine import Engine

    store_location(settings).read_manifest()  # no index: say so now, not after connecting
    log.info("starting: index %s, data %s", settings.paths.index, settings.paths.data)
    try:
        unfinished = asyncio.run(serve(settings, token, lambda: Engine(settings, rebuild_hint=rebuild_hint)))
    except Exception as exc:
        error = startup_error(exc)
        if error is None:
            raise
        raise error from None
    if unfinished:  # a search still running on a worker thread: exit now rather than wait for it at shutdown
        logging.shutdown()
        os._exit(0)


def _check_token(token: str) -> None:
    problem = token_problem(token)
    if problem:
        raise CitebotError(problem if not token else f"{problem}; {TOKEN_FIX}")


# -- serve --check ---------------------------------------------------------------------------------------------

def _writable(folder: Path) -> str | None:
    """Why the bot could not keep its records in folder, or None (creates it, as the bot would)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".check-"):
            pass
        for name in ("answers.jsonl", "feedback.jsonl", "conversations.json"):
            if (folder / name).exists() and not os.access(folder / name, os.W_OK):
                return f"{folder / name} is not writable"
    except OSError as exc:
        return f"{exc.strerror or exc}: {exc.filename or folder}"
    return None


class ChecksFailed(CitebotError):
    """Every problem `serve --check` found, each a line with its fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def check(settings: Settings, token: str, model: tuple[str, str, int | None], no_index: str | None = None) -> str:
    """`citebot serve --check`: what serve needs, without connecting; the one line to print, or ChecksFailed
    naming every problem found (the token, the model runtime and weights, the index, the data folder are checked
    apart, so one fix does not reveal the next problem only at the next start).
    model: the name, weights sha256 and dimension (if known without loading) the index must have; no_index: what
    to say when the caller knows there is no index (with the command that builds it), instead of opening it."""
    import importlib.util

    from citebot.index.embedding.minilm import MINILM, REFERENCE_INSTALL, verified_weights
    from citebot.index.store import open_index, store_location

    problems: list[str] = []

    def checked(step: Callable[[], Any]) -> Any:
        try:
            return step()
        except CitebotError as exc:
            problems.append(str(exc))
            return None

    checked(lambda: _check_token(token))
    embedding = settings.embedding

    def runtime_and_weights() -> None:
        needed = ("onnxruntime", "tokenizers") if embedding.runtime == "onnx" else ("torch", "sentence_transformers")
        missing = [name for name in needed if importlib.util.find_spec(name) is None]
        if missing:
            fix = REFERENCE_INSTALL if embedding.runtime == "torch" else "pip install -e ."
            raise CitebotError(f'[embedding] runtime = "{embedding.runtime}" needs {", ".join(missing)}: {fix}')
        verified_weights(embedding)

    if embedding.model == MINILM:
        checked(runtime_and_weights)
    name, weights, dimension = model
    if no_index:
        problems.append(no_index)
    stored = None if no_index else checked(lambda: open_index(
        settings, model_name=name, weights_sha256=weights, dimension=dimension, with_lexical=False))
    unwritable = _writable(settings.paths.data)
    if unwritable:
        problems.append(f"the bot cannot keep its records in [paths] data: {unwritable}; make it writable by "
                        f"the user the bot runs as: chown -R USER {settings.paths.data}")
    if problems:
        raise ChecksFailed(problems)
    where = store_location(settings).folder if settings.store.kind == "faiss" else settings.store.uri
    runtime = f" on {embedding.runtime}, weights verified" if name == MINILM else ""
    return (f"citebot serve --check: ok: index {where} ({stored.path.name}, {len(stored.chunks)} passages), "
            f"model {name}{runtime}, data {settings.paths.data} writable, token well-formed (bot id "
            f"{bot_id(token)}); not connected")

