"""The Discord bot: /ask, mentions answered in a thread, follow-ups, /reset, buttons, rate limit.

It calls the same Engine.ask as `citebot ask`, off the event loop, and sends every message with
no allowed mentions, so nothing quoted or asked can ping anyone.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import discord
from discord import app_commands

from citebot.bot.discord.conversations import KeptConversations
from citebot.bot.discord.limits import RateLimiter
from citebot.bot.discord.records import AnswerLog, AnswerRecord, FeedbackLog
from citebot.bot.discord.reload import IndexWatcher
from citebot.bot.discord.render import NO_MENTIONS, Rendered, render_passages, render_result, trim
from citebot.config.errors import QuestionError
from citebot.config.settings import Settings
from citebot.retrieval.citations import Passage, Result, cite
from citebot.retrieval.engine import Engine

log = logging.getLogger(__name__)

RESTARTING = "I am restarting; please ask again in a minute."


class CitebotClient(discord.Client):
    def __init__(self, *, settings: Settings, engine_factory: Callable[[], Engine], **options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # follow-ups in threads carry no mention
        super().__init__(intents=intents, allowed_mentions=NO_MENTIONS, **options)
        self.settings = settings
        self.engine_factory = engine_factory
        self.engine: Engine | None = None
        self.tree = app_commands.CommandTree(self)
        self.conversations: KeptConversations | None = None
        self.rate_limiter = RateLimiter(settings.bot.rate_limit_per_minute)
        self.answers = AnswerLog(settings.paths.data / "answers.jsonl")
        self.feedback = FeedbackLog(settings.paths.data / "feedback.jsonl")
        self.executor = ThreadPoolExecutor(max_workers=settings.bot.worker_threads, thread_name_prefix="citebot")
        self._warned: set[tuple[int, str]] = set()
        self._reloader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citebot-reload")
        self._watch: asyncio.Task[None] | None = None
        self.closing = False
        """Set when the bot stops: new questions are refused, those in flight finish (bot/service.py)."""
        self.in_flight: set[asyncio.Task[Any]] = set()
        _register_commands(self)

    async def setup_hook(self) -> None:
        """Load the model and index once, register persistent buttons, sync slash commands, watch the index."""
        self.use_engine(await asyncio.get_running_loop().run_in_executor(self.executor, self.engine_factory))
        assert self.engine is not None
        self.conversations = KeptConversations(self.settings.paths.data / "conversations.json",
                                               self.settings.conversation)
        if self.settings.bot.reload_seconds > 0:
            from citebot.index.store import store_location

            watcher = IndexWatcher(store_location(self.settings), self.engine_factory, self.engine)
            self._watch = asyncio.create_task(watcher.watch(
                self.settings.bot.reload_seconds, self._reloader, lambda: self.engine, self.use_engine))
        self.add_dynamic_items(MoreSources, ShowPassage, Vote)
        guild_id = self.settings.bot.dev_guild
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        log.info("ready: %d passages indexed", len(self.engine.stored.chunks))

    def use_engine(self, engine: Engine) -> None:
        """Answer the next questions with engine; questions already searching finish on the one they began with.
        Conversations carry on: they hold only questions and names, not rows of an index."""
        self.engine = engine

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        await super().close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self._reloader.shutdown(wait=False, cancel_futures=True)

    # -- answering -------------------------------------------------------------------------------

    def accept(self) -> bool:
        """Whether to take a new question now (not while stopping); the caller's task then counts as in flight
        until it has replied."""
        if self.closing:
            return False
        task = asyncio.current_task()
        if task is not None:
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)
        return True

    async def answer(self, question: str, channel_id: int) -> Result:
        """Search off the event loop, in the conversation of this channel or thread."""
        assert self.engine is not None and self.conversations is not None
        conversation, lock = self.conversations.get(channel_id)
        async with lock:
            engine = self.engine  # a reload swaps self.engine; this question finishes on the engine it began with
            return await asyncio.get_running_loop().run_in_executor(
                self.executor, lambda: engine.ask(question, conversation, top_k=self.settings.bot.passages_shown))

    def reply_for(self, result: Result) -> tuple[Rendered, discord.ui.View]:
        record = self.answers.add(result.question, result.searched, [p.chunk_id for p in result.passages],
                                  [p.chunk_id for p in result.more[:self.settings.bot.more_passages]])
        return render_result(result, self.settings.bot.passages_shown), answer_view(record, len(result.passages))

    def allowed_here(self, channel: Any) -> bool:
        allowed = self.settings.bot.allowed_channels
        if not allowed:
            return True
        parent = getattr(channel, "parent_id", None)
        return channel.id in allowed or (parent is not None and parent in allowed)

    def warn_once(self, channel_id: int, what: str, error: Exception) -> None:
        if (channel_id, what) not in self._warned:
            self._warned.add((channel_id, what))
            log.warning("missing permission in channel %s: cannot %s (%s)", channel_id, what, error)

    def passage_by_id(self, chunk_id: str, rank: int) -> Passage | None:
        assert self.engine is not None
        row = self.engine.stored.chunks.row_of_id(chunk_id)
        if row is None:
            return None
        chunk = self.engine.stored.chunks[row]
        if not self.engine.sources.passage_ok(chunk):  # its file changed since: the offsets may be wrong
            return None
        citation = cite(chunk.source, chunk.title, chunk.start, chunk.end, chunk.paragraph,
                        self.engine.document_of(chunk.source), chunk.text)
        return Passage(rank, 0.0, chunk.text, citation, chunk.id, 0.0)

    # -- mentions and threads ----------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.user is None or message.author.id == self.user.id:
            return
        channel = message.channel
        in_our_thread = isinstance(channel, discord.Thread) and channel.owner_id == self.user.id
        mentioned = self.user in message.mentions
        if not (in_our_thread or mentioned) or not self.allowed_here(channel):
            return
        if not self.accept():
            await self._send(channel, RESTARTING, reference=message)
            return
        question = re.sub(rf"<@!?{self.user.id}>", "", message.content).strip()
        wait = self.rate_limiter.retry_after(message.author.id)
        if wait:
            await self._send(channel, f"You are asking quickly; please wait {wait:.0f} s and ask again.",
                             reference=message)
            return
        try:
            self.engine.check(question)  # type: ignore[union-attr]
        except QuestionError as error:
            await self._send(channel, f"I can't search that: {error}.", reference=message)
            return
        target: discord.abc.Messageable = channel
        if mentioned and message.guild is not None and not isinstance(channel, discord.Thread):
            try:
                target = await message.create_thread(name=trim(question or "Question", 100) or "Question",
                                                     auto_archive_duration=1440)
            except discord.Forbidden as error:
                self.warn_once(channel.id, "create threads", error)
            except discord.HTTPException as error:
                log.warning("could not open a thread in %s: %s", channel.id, error)
        try:
            result = await self.answer(question, target.id)
        except Exception:
            log.exception("search failed for a mention in %s", channel.id)
            await self._send(target, "Something went wrong while searching; please try again.")
            return
        rendered, view = self.reply_for(result)
        await self._send(target, rendered.content, embeds=rendered.embeds, view=view)

    async def _send(self, channel: discord.abc.Messageable, content: str, **kwargs: Any) -> None:
        try:
            await channel.send(content, allowed_mentions=NO_MENTIONS, **kwargs)
        except discord.Forbidden as error:
            self.warn_once(getattr(channel, "id", 0), "send messages", error)


def _register_commands(client: CitebotClient) -> None:
    @client.tree.command(name="ask")
    @app_commands.describe(question="What you want to know about the articles")
    async def ask(interaction: discord.Interaction, question: str) -> None:
        """Ask the articles a question; the answer cites its sources."""
        if interaction.channel is not None and not client.allowed_here(interaction.channel):
            await interaction.response.send_message("I only answer in the channels I am set up for here.",
                                                    ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        if not client.accept():
            await interaction.response.send_message(RESTARTING, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        wait = client.rate_limiter.retry_after(interaction.user.id)
        if wait:
            await interaction.response.send_message(
                f"You are asking quickly; please wait {wait:.0f} s and ask again.", ephemeral=True,
                allowed_mentions=NO_MENTIONS)
            return
        try:
            client.engine.check(question)  # type: ignore[union-attr]
        except QuestionError as error:
            await interaction.response.send_message(f"I can't search that: {error}.", ephemeral=True,
                                                    allowed_mentions=NO_MENTIONS)
            return
        await interaction.response.defer(thinking=True)
        try:
            result = await client.answer(question, interaction.channel_id or 0)
        except Exception:
            log.exception("search failed for /ask")
            await interaction.followup.send("Something went wrong while searching; please try again.",
                                            ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        rendered, view = client.reply_for(result)
        await interaction.followup.send(rendered.content, embeds=rendered.embeds, view=view,
                                        allowed_mentions=NO_MENTIONS)

    @client.tree.command(name="reset")
    async def reset(interaction: discord.Interaction) -> None:
        """Forget the conversation in this channel or thread."""
        if client.conversations is not None:
            client.conversations.reset(interaction.channel_id or 0)
        await interaction.response.send_message("Conversation forgotten; the next question starts afresh.",
                                                ephemeral=True, allowed_mentions=NO_MENTIONS)


# -- buttons: fixed custom ids that carry the answer id, so they work after a restart ----------------

def answer_view(record: AnswerRecord, passages: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(MoreSources(record.id))
    view.add_item(Vote(record.id, "up"))
    view.add_item(Vote(record.id, "down"))
    for rank in range(1, min(passages, 5) + 1):
        view.add_item(ShowPassage(record.id, rank))
    return view


def _record(interaction: discord.Interaction, answer_id: str) -> AnswerRecord | None:
    client = interaction.client
    return client.answers.get(answer_id) if isinstance(client, CitebotClient) else None


async def _gone(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("That answer is no longer on record; please ask again.",
                                            ephemeral=True, allowed_mentions=NO_MENTIONS)


class MoreSources(discord.ui.DynamicItem[discord.ui.Button], template=r"citebot:more:(?P<answer>[0-9a-f]{12})"):
    def __init__(self, answer_id: str) -> None:
        super().__init__(discord.ui.Button(label="More sources", style=discord.ButtonStyle.secondary,
                                           custom_id=f"citebot:more:{answer_id}", row=0))
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> MoreSources:
        return cls(match["answer"])

    async def callback(self, interaction: discord.Interaction) -> None:
        record = _record(interaction, self.answer_id)
        if record is None:
            return await _gone(interaction)
        client: CitebotClient = interaction.client  # type: ignore[assignment]
        start = len(record.chunk_ids) + 1
        passages = [p for rank, cid in enumerate(record.more_chunk_ids, start)
                    if (p := client.passage_by_id(cid, rank)) is not None]
        if not passages:
            await interaction.response.send_message("There are no more passages for this question.",
                                                    ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        rendered = render_passages("More sources", passages, f"For: {record.searched}")
        await interaction.response.send_message(rendered.content or None, embeds=rendered.embeds, ephemeral=True,
                                                allowed_mentions=NO_MENTIONS)


class ShowPassage(discord.ui.DynamicItem[discord.ui.Button],
                  template=r"citebot:show:(?P<answer>[0-9a-f]{12}):(?P<rank>[1-9])"):
    def __init__(self, answer_id: str, rank: int) -> None:
        super().__init__(discord.ui.Button(label=f"Show [{rank}]", style=discord.ButtonStyle.secondary,
                                           custom_id=f"citebot:show:{answer_id}:{rank}", row=1))
        self.answer_id = answer_id
        self.rank = rank

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> ShowPassage:
        return cls(match["answer"], int(match["rank"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        record = _record(interaction, self.answer_id)
        client: CitebotClient = interaction.client  # type: ignore[assignment]
        passage = None
        if record is not None and self.rank <= len(record.chunk_ids):
            passage = client.passage_by_id(record.chunk_ids[self.rank - 1], self.rank)
        if passage is None:
            return await _gone(interaction)
        rendered = render_passages(f"Passage [{self.rank}] in full", [passage])
        await interaction.response.send_message(embeds=rendered.embeds, ephemeral=True, allowed_mentions=NO_MENTIONS)


class Vote(discord.ui.DynamicItem[discord.ui.Button],
           template=r"citebot:vote:(?P<answer>[0-9a-f]{12}):(?P<vote>up|down)"):
    def __init__(self, answer_id: str, vote: str) -> None:
        super().__init__(discord.ui.Button(emoji="👍" if vote == "up" else "👎", style=discord.ButtonStyle.secondary,
                                           custom_id=f"citebot:vote:{answer_id}:{vote}", row=0))
        self.answer_id = answer_id
        self.vote = vote

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> Vote:
        return cls(match["answer"], match["vote"])

    async def callback(self, interaction: discord.Interaction) -> None:
        record = _record(interaction, self.answer_id)
        if record is None:
            return await _gone(interaction)
        client: CitebotClient = interaction.client  # type: ignore[assignment]
        recorded = client.feedback.record(record, self.vote)
        await interaction.response.send_message("Thanks, your feedback is recorded." if recorded else
                                                "Thanks; your feedback could not be saved just now.", ephemeral=True,
                                                allowed_mentions=NO_MENTIONS)

