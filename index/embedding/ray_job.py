"""The embedding step of a build as a Ray Data job: the batches a one-machine build would run, run by actors
across a Ray cluster, their vectors appended to the build's journal (index/vector_journal.py).

The build (index/build.py) reads and chunks the corpus as always and hands this module the batches of texts that
need vectors, formed exactly as the one-machine build forms them (index/incremental.py's Vectorizer, texts of one
token count, batch_size at most). Each batch is one row of a Ray dataset; `map_batches` gives it to an actor that
loaded the embedder once (the ONNX runtime: no torch) and returns the vectors, which the build appends to its
journal as they arrive. The build then writes the index as it always does and finds every vector in the journal,
so the files are the one-machine build's, byte for byte, when the workers' CPUs compute as the build's machine
does (tests/test_ray_build.py). A build killed during the job resumes from what reached the journal.

Imported only with `citebot index build --ray`: Ray is an optional extra (pip install -e ".[ray]").
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from citebot.config.errors import CitebotError
from citebot.config.settings import EmbeddingSettings

if TYPE_CHECKING:
    from citebot.index.store.protocol import ReuseSource
    from citebot.index.vector_journal import VectorJournal

log = logging.getLogger(__name__)

RAY_INSTALL = 'pip install -e ".[ray]"'
WINDOW_TEXTS = 200_000
"""Texts handed to Ray in one job: the build holds at most two windows of texts (the one embedded, the one
planned), not the corpus's."""


@dataclass(frozen=True)
class RayTarget:
    """Where the job runs: "local" (a Ray started in this process), "auto" (the cluster this machine is part of,
    or RAY_ADDRESS) or an address (host:port of a head node, or ray://host:10001)."""

    address: str
    threads: int = 1
    """onnxruntime threads per actor; each actor asks Ray for this many CPUs."""


def load_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise CitebotError(f"--ray needs Ray Data, which is not installed: {RAY_INSTALL}") from None
    return ray


def connect(target: RayTarget) -> Any:
    """ray, initialised for target (once per process)."""
    ray = load_ray()
    if ray.is_initialized():
        return ray
    try:
        quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
        if target.address == "local":
            ray.init(include_dashboard=False, **quiet)
        else:
            ray.init(address=target.address, **quiet)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError or gRPC's own here
        hint = ("start one with `ray start --head`, or use --ray local" if target.address == "auto"
                else "check the address (host:port of the head node, or ray://host:10001)")
        raise CitebotError(f"--ray {target.address}: cannot connect to Ray ({str(exc).splitlines()[0]}); "
                           f"{hint}") from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the build's own bar counts the vectors as they arrive
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    return ray


@dataclass(frozen=True)
class RayRun:
    """What the Ray step did: texts embedded, their tokens, and the seconds spent waiting for the jobs (the rest
    of the step is the pass that reads and chunks the corpus to form the batches)."""

    texts: int
    tokens: int
    job_seconds: float
    """Seconds the planning waited for the jobs (a job runs while the next window is planned)."""


class EmbedBatches:
    """The Ray actor: the embedder loaded once, then one build batch per call."""

    def __init__(self, settings: EmbeddingSettings, prefix: bytes, threads: int) -> None:
        from citebot.index.embedding import make_embedder
        from citebot.index.embedding.minilm import MINILM
        from citebot.index.incremental import key_prefix

        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")
        if settings.model == MINILM and settings.runtime == "onnx":
            from citebot.index.embedding.onnx_runtime import OnnxEmbedder

            self.embedder: Any = OnnxEmbedder(settings, threads=threads)
        else:
            self.embedder = make_embedder(settings)
        if key_prefix(self.embedder, settings) != prefix:  # another model or version on this node
            raise RuntimeError("this Ray worker's embedder differs from the build's (another citebot or model "
                               "version on the node?): its vectors would not match the keys")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        keys, texts, tokens = [], [], []
        for row_keys, row_texts, length in zip(batch["keys"], batch["texts"], batch["tokens"], strict=True):
            vectors = self.embedder.encode([str(text) for text in row_texts])  # one batch, as a plain build runs it
            keys.extend(row_keys)
            texts.append(vectors)
            tokens.extend([int(length)] * len(row_keys))
        return {"key": np.array(keys), "vector": np.concatenate(texts).astype(np.float32),
                "tokens": np.array(tokens, dtype=np.int64)}


def run_batches(target: RayTarget, settings: EmbeddingSettings, prefix: bytes,
                batches: list[tuple[list[str], list[str], int]],
                on_vectors: Callable[[list[str], np.ndarray, int], None]) -> int:
    """Embed batches (keys, texts, token count) on Ray; on_vectors(keys, vectors, tokens) is called as results
    arrive, once per token count met in a block. Returns the texts embedded."""
    if not batches:
        return 0
    ray = connect(target)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    actors = max(1, min(len(batches), cpus // max(1, target.threads)))
    dataset = ray.data.from_items([{"keys": keys, "texts": texts, "tokens": tokens}
                                   for keys, texts, tokens in batches], override_num_blocks=min(len(batches),
                                                                                               actors * 8))
    embedded = dataset.map_batches(EmbedBatches, fn_constructor_args=(settings, prefix, target.threads),
                                   batch_size=1, compute=ray.data.ActorPoolStrategy(size=actors),
                                   num_cpus=target.threads, batch_format="numpy")
    done = 0
    for block in embedded.iter_batches(batch_size=None, batch_format="numpy"):
        for length, keys, vectors in _by_length(block):
            on_vectors(keys, vectors, length)
            done += len(keys)
    return done


def _by_length(block: dict[str, np.ndarray]) -> Iterator[tuple[int, list[str], np.ndarray]]:
    tokens = block["tokens"]
    for length in np.unique(tokens):
        rows = np.flatnonzero(tokens == length)
        yield int(length), [str(k) for k in block["key"][rows]], np.ascontiguousarray(block["vector"][rows])


class RayBatches:
    """Stands in for the embedder while a build plans its batches: each batch it is given is collected (with its
    keys) instead of run, answered with zeros that go nowhere. Every WINDOW_TEXTS texts the batches collected go to
    Ray as one job, run in a thread while the planning goes on (one job at a time), so reading and chunking the
    next window overlaps embedding this one."""

    def __init__(self, embedder: Any, target: RayTarget, settings: EmbeddingSettings, prefix: bytes,
                 on_vectors: Callable[[list[str], np.ndarray, int], None]) -> None:
        from citebot.index.incremental import text_key

        connect(target)  # here, in the build's thread, and before minutes of reading when Ray is not there
        self._key = lambda text: text_key(prefix, text)
        self.embedder, self.target, self.settings, self.prefix = embedder, target, settings, prefix
        self.on_vectors = on_vectors
        self.dimension = embedder.dimension
        self._batches: list[tuple[list[str], list[str], int]] = []
        self._waiting = 0
        self._job: threading.Thread | None = None
        self._failed: BaseException | None = None
        self.embedded = 0
        self.job_seconds = 0.0
        """Time the planning waited for a job to end (the jobs' time not hidden behind the planning)."""

    def count_tokens(self, text: str) -> int:
        return self.embedder.count_tokens(text)

    def warm_up(self) -> None:
        """The model runs on the workers."""

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        length = self.embedder.count_tokens(texts[0])
        self._batches.append(([self._key(text) for text in texts], list(texts), length))
        self._waiting += len(texts)
        if self._waiting >= WINDOW_TEXTS:
            self.flush(wait=False)
        return np.zeros((len(texts), self.dimension), dtype=np.float32)

    def flush(self, wait: bool = True) -> None:
        """Send the batches collected to Ray once the job before has ended; with wait, wait for their vectors."""
        self.join()
        batches, self._batches, self._waiting = self._batches, [], 0
        if batches:
            self._job = threading.Thread(target=self._run, args=(batches,), name="citebot-ray-job", daemon=True)
            self._job.start()
        if wait:
            self.join()

    def _run(self, batches: list[tuple[list[str], list[str], int]]) -> None:
        try:
            self.embedded += run_batches(self.target, self.settings, self.prefix, batches, self.on_vectors)
        except CitebotError as exc:  # raised again in the build's thread
            self._failed = exc
        except Exception as exc:  # Ray's own: a worker or the cluster lost, a worker's embedder refused
            log.debug("the Ray job failed", exc_info=True)
            first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
            self._failed = CitebotError(f"the Ray job failed ({first.strip()[:300]}); the vectors it computed are "
                                        "kept in the index folder: run the same command again to resume")
        except BaseException as exc:
            self._failed = exc

    def join(self) -> None:
        """Wait for the job running, if any; raise what it raised."""
        if self._job is not None:
            began = time.perf_counter()
            self._job.join()
            self.job_seconds += time.perf_counter() - began
            self._job = None
        failed, self._failed = self._failed, None
        if failed is not None:
            raise failed


class _Nowhere:
    """The rows a planning pass writes: nothing is kept."""

    def write(self, row: int, vector: np.ndarray) -> None:
        pass

    def read(self, row: int) -> np.ndarray:
        return np.zeros(0, dtype=np.float32)


class _FirstOf:
    """The vector of a key from the last build, else from the journal."""

    def __init__(self, *sources: Any) -> None:
        self.sources = [source for source in sources if source is not None]

    def vector(self, key: str) -> np.ndarray | None:
        for source in self.sources:
            if (found := source.vector(key)) is not None:
                return found
        return None


def embed_missing(target: RayTarget, texts: Iterable[tuple[str, str]], embedder: Any, settings: EmbeddingSettings,
                  prefix: bytes, reuse: ReuseSource | None, journal: VectorJournal, spool: Path,
                  on_embedded: Callable[[int, int, float], None] | None = None) -> RayRun:
    """Embed on Ray every text of texts ((text, key), in the build's order) that neither the last build nor the
    journal holds, in the batches a one-machine build would form, into the journal."""
    from citebot.index.incremental import Vectorizer

    last, all_tokens = time.perf_counter(), 0

    def arrived(keys: list[str], vectors: np.ndarray, tokens: int) -> None:
        nonlocal last, all_tokens
        journal.append(keys, vectors, tokens)
        all_tokens += tokens * len(keys)
        now = time.perf_counter()
        if on_embedded is not None:
            on_embedded(len(keys), tokens * len(keys), now - last)
        last = now

    planner = RayBatches(embedder, target, settings, prefix, arrived)
    vectorizer = Vectorizer(planner, settings.batch_size, _FirstOf(reuse, journal), spool=spool)  # type: ignore[arg-type]
    nowhere = _Nowhere()
    try:
        for text, key in texts:
            vectorizer.add(text, key, nowhere, 0)
        vectorizer.finish()
        planner.flush()
    finally:
        with contextlib.suppress(BaseException):  # a job still running ends before the journal closes
            planner.join()
        vectorizer.close()
    return RayRun(planner.embedded, all_tokens, planner.job_seconds)
