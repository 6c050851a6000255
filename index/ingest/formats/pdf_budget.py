"""What reading one PDF may cost: decompressed bytes and seconds, counted over the whole file.

pypdf bounds each stream on its own (75 MB by default), not a file: 60 pages of 70 MiB of spaces each, 71 KB
compressed, are all under that bound, and reading them took 10 minutes and 4.5 GB. Here every stream pypdf
decodes while a budget is open is counted against the file's allowance, each decode may produce at most what is
left of it, and the time is checked as each stream is decoded and as each piece of text is read. The time is the
reading thread's CPU time: on a loaded machine a 200-page book took 49 s by the clock for 6.5 s of CPU.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from pypdf import apply_configuration, filters
from pypdf.errors import LimitReachedError

# pypdf's per-stream output limits; each is set to what is left of the file's allowance while it decodes.
_OUTPUT_LIMITS = ("zlib_maximum_output_length", "lzw_maximum_output_length", "run_length_maximum_output_length",
                  "brotli_maximum_output_length", "jbig2_maximum_output_length",
                  "array_based_stream_maximum_output_length")


@dataclass(frozen=True)
class PdfLimits:
    """The allowance of one PDF ([ingest] pdf_max_decompressed_bytes and pdf_max_seconds)."""

    max_decompressed_bytes: int
    max_seconds: float


class BudgetExceeded(Exception):
    """Reading the PDF went over its allowance; the message is the file's skip reason."""


class DecodeBudget:
    """The bytes decoded and the CPU time spent so far on one PDF (the thread's that opened it)."""

    def __init__(self, limits: PdfLimits) -> None:
        self.limits = limits
        self.decoded = 0
        self.deadline = time.thread_time() + limits.max_seconds
        self.exceeded: str | None = None
        """The reason, once the allowance is gone (kept: pypdf may swallow the exception raised)."""

    @property
    def remaining(self) -> int:
        return self.limits.max_decompressed_bytes - self.decoded

    def check(self) -> None:
        """Raise BudgetExceeded when the allowance is gone (or was found gone before)."""
        if self.exceeded is None and time.thread_time() > self.deadline:
            self.exceeded = (f"took over {self.limits.max_seconds:g} s of CPU to read (raise [ingest] "
                             "pdf_max_seconds to read it)")
        if self.exceeded is not None:
            raise BudgetExceeded(self.exceeded)

    def spend(self, size: int) -> None:
        self.decoded += size
        if self.remaining < 0:
            self.over_bytes()
        self.check()

    def over_bytes(self) -> None:
        limit = self.limits.max_decompressed_bytes
        self.exceeded = (f"decompresses to over {limit:,} bytes, likely a decompression bomb (raise [ingest] "
                         "pdf_max_decompressed_bytes to read it)")
        raise BudgetExceeded(self.exceeded)


_CURRENT: ContextVar[DecodeBudget | None] = ContextVar("citebot_pdf_budget", default=None)
_decode_stream_data = filters.decode_stream_data


def _budgeted_decode(stream: filters.StreamObject) -> bytes:
    """pypdf's decode_stream_data, counted against the open budget (if any)."""
    budget = _CURRENT.get()
    if budget is None:
        return _decode_stream_data(stream)
    budget.check()
    if budget.remaining <= 0:  # 0 would mean "no limit" to pypdf
        budget.over_bytes()
    with apply_configuration(**dict.fromkeys(_OUTPUT_LIMITS, budget.remaining)):
        try:
            data = _decode_stream_data(stream)
        except LimitReachedError as exc:
            if str(exc).startswith(("Limit reached while decompressing", "Memory limit reached")):
                budget.over_bytes()  # the output limit was what is left of the allowance
            raise
    budget.spend(len(data))
    return data


# EncodedStreamObject.get_data looks decode_stream_data up in pypdf.filters at each call, so every stream pypdf
# decodes passes through the budget; outside a budget the wrapper only calls the original.
filters.decode_stream_data = _budgeted_decode  # type: ignore[assignment]


@contextmanager
def decode_budget(limits: PdfLimits) -> Iterator[DecodeBudget]:
    """Count every stream pypdf decodes in this context against limits (BudgetExceeded when they run out)."""
    budget = DecodeBudget(limits)
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)
