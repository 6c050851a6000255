"""The options a store's "rebuild it with" hint repeats from the command that met the problem (its --config FILE),
so the hint rebuilds the same index when pasted. Set once by the command line; empty elsewhere (the bot)."""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

_OPTIONS: ContextVar[tuple[str, ...]] = ContextVar("rebuild_options", default=())


@contextmanager
def repeat_options(options: Sequence[str]) -> Iterator[None]:
    """Options every rebuild hint made inside the block ends with."""
    token = _OPTIONS.set(tuple(options))
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def with_options(command: str) -> str:
    """command with the repeated options after it."""
    return " ".join([command, *(shlex.quote(option) for option in _OPTIONS.get())])
