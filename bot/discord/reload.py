"""Hot reload: notice that the store's current build is another one and load an Engine for it.

The check is the store's current_name() (for the FAISS folder one readlink of its `current` link, for Milvus a
look-up of the alias), cheap enough to run every few seconds. The new Engine is loaded on a thread of its
own, off the event loop, while the old one keeps answering; the caller swaps it in. A build that fails to load
is logged once and the old engine stays.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from citebot.index.ingest.texts import article_count
from citebot.index.store.protocol import StoreLocation
from citebot.retrieval.engine import Engine

log = logging.getLogger(__name__)


class IndexWatcher:
    """Loads an Engine for each new build the store names current."""

    def __init__(self, location: StoreLocation, factory: Callable[[], Engine], loaded: Engine) -> None:
        self.location = location
        self.factory = factory
        self.current: Callable[[], str | None] = location.current_name
        """The name of the build serving now (the `current` link's target; for Milvus, the alias's collection)."""
        self.seen = loaded.stored.path.name
        """The build last loaded, or last tried and failed: not tried again until the link moves."""

    def moved(self) -> str | None:
        """The build current now, when it is not the one last seen."""
        try:
            target = self.current()
        except Exception as exc:  # the store unreachable for a moment: try again at the next check
            log.warning("cannot check for a new index build (%s: %s)", type(exc).__name__, exc)
            return None
        return target if target is not None and target != self.seen else None

    async def reload(self, executor: Executor, serving: Engine) -> Engine | None:
        """A freshly loaded Engine if the link moved and the new build loads; else None (and why, logged)."""
        target = self.moved()
        if target is None:
            return None
        try:
            engine = await asyncio.get_running_loop().run_in_executor(executor, self.factory)
        except Exception as exc:  # any failure to load: keep serving, say so in one line
            self.seen = target
            log.warning("new index build %s could not be loaded (%s: %s); still serving %s",
                        target, type(exc).__name__, exc, serving.stored.path.name)
            return None
        self.seen = engine.stored.path.name
        manifest = engine.stored.manifest
        log.info("index reloaded: %s, %d articles, %d passages (was %s)", self.seen,
                 article_count(manifest), len(engine.stored.chunks), serving.stored.path.name)
        return engine

    async def watch(self, every: float, executor: Executor, serving: Callable[[], Engine],
                    swap: Callable[[Engine], None]) -> None:
        """Check every `every` seconds, for ever; swap(engine) each new engine in."""
        while True:
            await asyncio.sleep(every)
            engine = await self.reload(executor, serving())
            if engine is not None:
                swap(engine)
