"""The index folder on disk: FAISS vectors, chunks as JSONL and a manifest; atomic swap, checked load, one lock.

Layout of an index folder:

    current -> build-<id>/      symlink, replaced atomically when a build finishes
    .lock                       flock()ed by the build writing here (the kernel drops it if the build dies)
    .build-<id>.partial/        a build being written; left over if one was killed
    build-<id>/manifest.json    model and hash, settings, source fingerprints, file hashes
    build-<id>/chunks.jsonl     one chunk per line, row i of the FAISS index is line i
    build-<id>/vectors.faiss    exact inner product over unit vectors (IndexFlatIP)
    build-<id>/sentences.jsonl  [chunk row, start, end] of every sentence of every chunk
    build-<id>/sentences.faiss  one unit vector per line of sentences.jsonl
    build-<id>/vectors.keys     per row of vectors.faiss, the key of the text embedded (sha256, hex)
    build-<id>/sentences.keys   the same for sentences.faiss; a later build reuses vectors by these keys
    build-<id>/articles.jsonl   per article, in chunk order: its source, chunking key and chunk count (a later
                                build reuses the chunks of unchanged articles; see index/chunk_cache.py)
    build-<id>/lexical/         the BM25 index of the chunks (bm25s's own files) and the corpus's words
                                (see index/lexical.py); a build made before it existed has none

Sources are named relative to the sources folder; the manifest holds that folder both absolutely and
relative to the index folder, so an index answers from any working directory and moves with its sources.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import faiss
import numpy as np

from citebot.config.errors import IndexBusyError, IndexInvalidError, IndexMissingError
from citebot.index.chunking import Chunk
from citebot.index.hashing import file_sha256
from citebot.index.ingest.texts import cited_sources
from citebot.index.lexical import ARTICLE_TERMS, LEXICAL_DIR, LEXICAL_FILES, LexicalIndex, LexicalRecipe
from citebot.index.store.protocol import SentenceRef, SourceFile

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 2: sources relative to the sources folder; 3: .keys files beside the vectors
CURRENT = "current"
LOCK = ".lock"
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.faiss"
SENTENCES = "sentences.jsonl"
SENTENCE_VECTORS = "sentences.faiss"
VECTOR_KEYS = "vectors.keys"
SENTENCE_KEYS = "sentences.keys"
ARTICLES = "articles.jsonl"
DATA_FILES = (CHUNKS, VECTORS, SENTENCES, SENTENCE_VECTORS, VECTOR_KEYS, SENTENCE_KEYS)
"""Every build has these; ARTICLES and the lexical files came later (see _expected_files)."""


@dataclass(frozen=True)
class StoredIndex:
    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: faiss.Index
    sentences: list[SentenceRef]
    sentence_vectors: faiss.Index
    sources_root: Path
    """The sources folder as found now (see find_sources_root)."""
    sources: dict[str, SourceFile]
    """Each source as chunks name it (Chunk.source) -> (its file, its sha256 at build time)."""
    lexical: LexicalIndex | None = None
    """The saved BM25 index; None in a build made before builds saved one."""


def _fsync(path: Path) -> None:
    """Sync a file or a folder (its entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


FLAT_HEADER_BYTES = 45
"""Bytes before the vectors in a faiss IndexFlatIP file: fourcc, d, ntotal, two dummies, is_trained, metric, size."""


def flat_header(dimension: int, rows: int) -> bytes:
    """faiss's own header of an IndexFlatIP holding rows vectors, taken from faiss and patched."""
    header = bytearray(faiss.serialize_index(faiss.IndexFlatIP(dimension)))
    if len(header) != FLAT_HEADER_BYTES or header[:4] != b"IxFI":
        raise RuntimeError("this faiss writes IndexFlatIP files in an unknown layout")
    header[8:16] = rows.to_bytes(8, "little")
    header[37:45] = (rows * dimension).to_bytes(8, "little")
    return bytes(header)


class VectorFile:
    """A faiss IndexFlatIP file written row by row in any order, so no build holds all its vectors."""

    def __init__(self, path: Path, dimension: int) -> None:
        sample = np.eye(2, dimension, dtype=np.float32)  # the layout checked against faiss itself
        flat = faiss.IndexFlatIP(dimension)
        flat.add(sample)
        if bytes(faiss.serialize_index(flat)) != flat_header(dimension, 2) + sample.tobytes():
            raise RuntimeError("this faiss writes IndexFlatIP files in an unknown layout")
        self.path = path
        self.dimension = dimension
        self.written = 0
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)

    def _offset(self, row: int) -> int:
        return FLAT_HEADER_BYTES + row * self.dimension * 4

    def write(self, row: int, vector: np.ndarray) -> None:
        data = np.ascontiguousarray(vector, dtype=np.float32)
        if data.shape != (self.dimension,):
            raise ValueError(f"a vector of shape {data.shape}, expected ({self.dimension},)")
        os.pwrite(self._fd, data.tobytes(), self._offset(row))
        self.written += 1

    def read(self, row: int) -> np.ndarray:
        """A row written earlier in this build."""
        return np.frombuffer(os.pread(self._fd, self.dimension * 4, self._offset(row)), dtype=np.float32)

    def finish(self, rows: int) -> None:
        """Write the header for rows vectors and sync; every row must have been written exactly once."""
        if self.written != rows:
            raise ValueError(f"{self.path.name}: {self.written} vectors written for {rows} rows")
        os.ftruncate(self._fd, self._offset(rows))
        os.pwrite(self._fd, flat_header(self.dimension, rows), 0)
        os.fsync(self._fd)
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class BuildWriter:
    """A new build, written as it is made into a hidden partial folder, then swapped in by commit().

    Chunks and sentences go to their JSONL files line by line, vectors to their rows on disk, each with the
    key of the text embedded for it (see index/incremental.py), so a build never holds the corpus's vectors.
    Leaving the `with` block without commit() removes the partial folder; a killed build leaves it for the
    next build to remove. Either way `current` still names the last good build.
    """

    def __init__(self, index_dir: Path, dimension: int) -> None:
        if index_dir.exists() and not index_dir.is_dir():
            raise IndexInvalidError(f"--index {index_dir} is a file, not an index folder")
        index_dir.mkdir(parents=True, exist_ok=True)
        self.index_dir = index_dir
        self.dimension = dimension
        self.build_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.partial = index_dir / f".build-{self.build_id}.partial"
        self.partial.mkdir()
        self.chunk_count = 0
        self.sentence_count = 0
        self.vectors = VectorFile(self.partial / VECTORS, dimension)
        self.sentence_vectors = VectorFile(self.partial / SENTENCE_VECTORS, dimension)
        self._text = {name: (self.partial / name).open("w", encoding="utf-8", newline="\n")
                      for name in (CHUNKS, SENTENCES, VECTOR_KEYS, SENTENCE_KEYS, ARTICLES)}
        self.lexical_recipe: LexicalRecipe | None = None
        self._article_terms = False

    def __enter__(self) -> BuildWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()
        if self.partial.exists():
            shutil.rmtree(self.partial, ignore_errors=True)

    def add_chunk(self, chunk: Chunk, key: str) -> int:
        """Append a chunk and the key of its vector text; its row (the vector goes to the same row)."""
        self._text[CHUNKS].write(json.dumps(vars(chunk), ensure_ascii=False) + "\n")  # asdict() would deep-copy
        self._text[VECTOR_KEYS].write(key + "\n")
        self.chunk_count += 1
        return self.chunk_count - 1

    def add_article(self, source: str, key: str, chunks: int) -> None:
        """Record that the last `chunks` chunks written are source's, cut under this chunking key."""
        self._text[ARTICLES].write(json.dumps({"source": source, "key": key, "chunks": chunks},
                                              ensure_ascii=False) + "\n")

    def add_sentence(self, sentence: SentenceRef, key: str) -> int:
        if not 0 <= sentence.chunk < self.chunk_count:
            raise ValueError(f"sentence of chunk row {sentence.chunk}, which is not written yet")
        self._text[SENTENCES].write(f"[{sentence.chunk:d}, {sentence.start:d}, {sentence.end:d}]\n")  # json.dumps
        self._text[SENTENCE_KEYS].write(key + "\n")
        self.sentence_count += 1
        return self.sentence_count - 1

    def save_lexical(self, lexical: LexicalIndex, save_article_terms: Callable[[Path], None] | None = None) -> None:
        """Save the BM25 index of the chunks written (call before commit), and the terms of each article
        for the next build when save_article_terms writes them."""
        if lexical.size != self.chunk_count:
            raise ValueError(f"a lexical index of {lexical.size} passages for {self.chunk_count} chunks")
        lexical.save(self.partial / LEXICAL_DIR)
        if save_article_terms is not None:
            save_article_terms(self.partial / ARTICLE_TERMS)
            self._article_terms = True
        self.lexical_recipe = lexical.recipe

    def _close(self) -> None:
        for handle in self._text.values():
            handle.close()
        self.vectors.close()
        self.sentence_vectors.close()

    def _files(self) -> tuple[str, ...]:
        return (DATA_FILES + (ARTICLES,) + (LEXICAL_FILES if self.lexical_recipe is not None else ())
                + ((ARTICLE_TERMS,) if self._article_terms else ()))

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Sync every file, write the manifest last, then point `current` at the build in one atomic rename."""
        self.vectors.finish(self.chunk_count)
        self.sentence_vectors.finish(self.sentence_count)
        for handle in self._text.values():
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        manifest = {
            **manifest,
            "format": FORMAT_VERSION,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "chunk_count": self.chunk_count,
            "dimension": self.dimension,
            "files": {name: file_sha256(self.partial / name) for name in self._files()},
        }
        if self.lexical_recipe is not None:
            manifest["lexical"] = self.lexical_recipe.to_manifest()
            for name in LEXICAL_FILES + ((ARTICLE_TERMS,) if self._article_terms else ()):  # bm25s does not sync
                _fsync(self.partial / name)
            _fsync(self.partial / LEXICAL_DIR)
        _write(self.partial / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
        _fsync(self.partial)
        final = self.index_dir / f"build-{self.build_id}"
        self.partial.rename(final)
        link = self.index_dir / f".{CURRENT}.{self.build_id}"
        link.symlink_to(final.name)
        os.replace(link, self.index_dir / CURRENT)  # the swap: readers see the old build or the new, never neither
        _fsync(self.index_dir)
        _remove_old_builds(self.index_dir, keep=final.name)
        return final


def _remove_old_builds(index_dir: Path, keep: str) -> None:
    for entry in index_dir.iterdir():
        if entry.name != keep and (entry.name.startswith("build-") or entry.name.startswith(".build-")):
            shutil.rmtree(entry, ignore_errors=True)


# -- the build lock and what killed builds leave behind ------------------------------------------------

_held: dict[tuple[Path, int], int] = {}
"""Locks this process holds: (folder, thread) -> depth."""
_held_guard = threading.Lock()
F = TypeVar("F", bound=Callable[..., Any])
PROBE_GRACE_SECONDS = 0.5
"""How long a build retries the lock before calling the folder busy: `build_running` (index status, the
bot's reload check) takes it shared for an instant, and a build starting at that instant must not refuse."""


def _check_folder(index_dir: Path) -> None:
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexInvalidError(f"--index {index_dir} is a file, not an index folder")


def _lock_holder(handle: Any) -> str:
    handle.seek(0)
    holder = handle.read().strip()
    return f" ({holder})" if holder else ""


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[list[Leftover]]:
    """Hold the index folder's build lock, or raise IndexBusyError at once if another build holds it.

    An flock(): the kernel releases it when its process dies, so a killed build never leaves it stuck.
    Re-entrant within a process. Taking it removes the leftovers of killed builds (and yields them); a
    folder this build created is removed again if the build fails before writing anything.
    """
    _check_folder(index_dir)
    key = (index_dir.resolve(), threading.get_ident())
    with _held_guard:
        if key in _held:
            _held[key] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield []
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    created = not index_dir.exists()
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = open(index_dir / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - held across the yield
    try:
        _take_exclusive(handle, index_dir)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n")
        handle.flush()
        with _held_guard:
            _held[key] = 1
        removed = _remove(leftovers(index_dir))
        try:
            yield removed
        except BaseException:
            if created and [p.name for p in index_dir.iterdir()] == [LOCK]:
                shutil.rmtree(index_dir, ignore_errors=True)
            raise
        finally:
            with _held_guard:
                del _held[key]
    finally:
        handle.close()  # closing releases the flock


def holding_build_lock(build: F) -> F:
    """Decorate a build function called as build(sources, index_dir, ...): one build per folder at a time."""

    @functools.wraps(build)
    def locked(sources: Path, index_dir: Path, *args: Any, **kwargs: Any) -> Any:
        with build_lock(index_dir):
            return build(sources, index_dir, *args, **kwargs)

    return locked  # type: ignore[return-value]


def _take_exclusive(handle: Any, index_dir: Path) -> None:
    """flock the handle exclusively, retrying for PROBE_GRACE_SECONDS, or raise IndexBusyError."""
    deadline = time.monotonic() + PROBE_GRACE_SECONDS
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise IndexBusyError(
                    f"another build is writing to {index_dir}{_lock_holder(handle)}; wait for it to finish "
                    "and run the command again") from None
            time.sleep(0.01)


def build_running(index_dir: Path) -> bool:
    """True when a build holds the folder's lock now."""
    if (index_dir.resolve(), threading.get_ident()) in _held:
        return True
    if not (index_dir / LOCK).is_file():
        return False
    with open(index_dir / LOCK, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)  # released when the file closes
        except BlockingIOError:
            return True
    return False


@dataclass(frozen=True)
class Leftover:
    path: Path
    size: int
    """Bytes on disk."""


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*"))


def leftovers(index_dir: Path) -> list[Leftover]:
    """What interrupted builds left in an index folder: partial builds and temporary links."""
    if not index_dir.is_dir():
        return []
    found = [p for p in index_dir.iterdir()
             if re.fullmatch(r"\.build-.+\.partial", p.name) or p.name.startswith(f".{CURRENT}.")]
    return [Leftover(p, _size(p)) for p in sorted(found)]


def remove_leftovers(index_dir: Path) -> list[Leftover]:
    """Remove the leftovers of interrupted builds unless a build is running; returns what was removed."""
    if not index_dir.is_dir() or (index_dir.resolve(), threading.get_ident()) in _held:
        return []
    try:
        with build_lock(index_dir) as removed:
            return removed
    except IndexBusyError:
        return []


def _remove(found: list[Leftover]) -> list[Leftover]:
    for leftover in found:
        if leftover.path.is_dir() and not leftover.path.is_symlink():
            shutil.rmtree(leftover.path, ignore_errors=True)
        else:
            leftover.path.unlink(missing_ok=True)
    return found


# -- reading an index --------------------------------------------------------------------------------

def _rebuild(index_dir: Path) -> str:
    return f"rebuild it with: citebot index build --index {index_dir}"


def _other_builds(index_dir: Path) -> str:
    builds = sorted(p.name for p in index_dir.iterdir() if p.name.startswith("build-") and p.is_dir())
    return f" ({', '.join(builds)} is still there, untouched)" if builds else ""


def current_build(index_dir: Path) -> Path:
    """The build `current` points at; an error naming what is wrong when there is none."""
    _check_folder(index_dir)
    link = index_dir / CURRENT
    if not index_dir.exists() or (not link.is_symlink() and not link.exists()
                                  and not any(p.name.startswith("build-") for p in index_dir.iterdir())):
        where = "" if not index_dir.exists() else " (the folder holds no build)"
        raise IndexMissingError(f"no index in {index_dir}{where}; build one with: citebot index build "
                                f"--index {index_dir}")
    if not link.is_symlink():
        what = "is missing" if not link.exists() else "is not a link to a build"
        raise IndexInvalidError(f"the index in {index_dir} is damaged: its `{CURRENT}` link {what}"
                                f"{_other_builds(index_dir)}; {_rebuild(index_dir)}")
    try:
        target = link.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a link loop
        target = link
    if target.parent != index_dir.resolve() or not target.name.startswith("build-"):
        raise IndexInvalidError(f"the index in {index_dir} is damaged: `{CURRENT}` points at {os.readlink(link)}, "
                                f"not at a build of this folder; {_rebuild(index_dir)}")
    if not target.is_dir():
        raise IndexInvalidError(f"the index in {index_dir} is damaged: `{CURRENT}` points at {target.name}, "
                                f"which is missing{_other_builds(index_dir)}; {_rebuild(index_dir)}")
    return target


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _manifest_problem(m: Any) -> str | None:
    """What is wrong with the shape of a manifest, or None."""
    if not isinstance(m, dict):
        return "it is not a JSON object"
    if m.get("format") != FORMAT_VERSION:
        return f"it has format {m.get('format')!r}, this citebot reads format {FORMAT_VERSION}"
    model = m.get("model")
    if not isinstance(model, dict) or not all(isinstance(model.get(k), str) for k in ("name", "weights_sha256")):
        return "`model` is not an object with a name and a weights_sha256"
    files = m.get("files")
    expected = _expected_files(m)
    if not isinstance(files, dict) or sorted(files) != sorted(expected) or not all(
            isinstance(v, str) and _HEX64.fullmatch(v) for v in files.values()):
        return f"`files` must give the sha256 of exactly {', '.join(expected)}"
    if "lexical" in m and _recipe(m["lexical"]) is None:
        return "`lexical` is not an object with k1, b, titles and tokenizer"
    sources = m.get("sources")
    if not isinstance(sources, dict) or not all(
            isinstance(k, str) and _safe_relative(k) and isinstance(v, str) and _HEX64.fullmatch(v)
            for k, v in sources.items()):
        return "`sources` is not an object of relative file names and sha256 digests"
    documents = m.get("documents", {})
    if not isinstance(documents, dict) or not all(
            name in sources and isinstance(d, dict) and isinstance(d.get("file"), str) and _safe_relative(d["file"])
            and isinstance(d.get("text"), str) and _safe_relative(d["text"]) for name, d in documents.items()):
        return "`documents` is not an object of articles with relative file and text names"
    for key in ("chunk_count", "dimension"):
        if not isinstance(m.get(key), int) or isinstance(m.get(key), bool) or m[key] < 0:
            return f"`{key}` is not a count"
    for key in ("sources_root", "sources_root_from_index", "built_at"):
        if not isinstance(m.get(key), str):
            return f"`{key}` is not a string"
    for key in ("chunking", "ingest"):
        if not isinstance(m.get(key), dict):
            return f"`{key}` is not an object"
    skipped = m.get("skipped")
    if not isinstance(skipped, list) or not all(
            isinstance(s, dict) and isinstance(s.get("path"), str) and isinstance(s.get("reason"), str)
            for s in skipped):
        return "`skipped` is not a list of {path, reason}"
    return None


def _expected_files(m: dict[str, Any]) -> tuple[str, ...]:
    """The files a manifest must hash: every build's, the article list when it has one, BM25 when it has one."""
    files = m.get("files")
    optional = tuple(name for name in (ARTICLES, ARTICLE_TERMS) if isinstance(files, dict) and name in files)
    return DATA_FILES + optional + (LEXICAL_FILES if "lexical" in m else ())


def _recipe(data: Any) -> LexicalRecipe | None:
    """The recipe a manifest records, or None when it is malformed."""
    try:
        recipe = LexicalRecipe(**data)
    except TypeError:
        return None
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (recipe.k1, recipe.b))
    return recipe if numbers and isinstance(recipe.titles, bool) and isinstance(recipe.tokenizer, str) else None


def _safe_relative(name: str) -> bool:
    path = Path(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts


def read_manifest(index_dir: Path, build: Path | None = None) -> dict[str, Any]:
    """The manifest of the current build (or of build), its shape checked."""
    build = build or current_build(index_dir)
    try:
        manifest = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexInvalidError(f"index manifest in {build} is unreadable ({exc}); {_rebuild(index_dir)}") from None
    problem = _manifest_problem(manifest)
    if problem:
        raise IndexInvalidError(f"index manifest in {build} is invalid: {problem}; {_rebuild(index_dir)}")
    return manifest


def find_sources_root(manifest: dict[str, Any], index_dir: Path) -> Path:
    """The sources folder: beside the index as it was at build time (moved together), else where it was."""
    beside = (index_dir.resolve() / manifest["sources_root_from_index"]).resolve()
    return beside if beside.is_dir() else Path(manifest["sources_root"])


def display_path(path: Path) -> str:
    """A path as citations show it: relative to the working directory when under it, else absolute."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except (ValueError, OSError):
        return str(path)


def chunk_from_json(line: str) -> Chunk:
    """A chunk from its line in chunks.jsonl, its fields' types and offsets checked."""
    data = json.loads(line)
    chunk = Chunk(**data)
    ints = (chunk.start, chunk.end, chunk.paragraph)
    if not (all(isinstance(v, int) and not isinstance(v, bool) for v in ints) and isinstance(chunk.text, str)
            and isinstance(chunk.source, str) and isinstance(chunk.id, str)
            and (chunk.title is None or isinstance(chunk.title, str))):
        raise ValueError(f"chunk {chunk.id!r} has fields of the wrong type")
    if not 0 <= chunk.start < chunk.end or len(chunk.text) != chunk.end - chunk.start:
        raise ValueError(f"chunk {chunk.id!r} has offsets that do not fit its text")
    return chunk


def load_index(index_dir: Path, *, model_name: str, weights_sha256: str, dimension: int | None) -> StoredIndex:
    """Load the current build, checking files, model and dimension (None: any) against the manifest."""
    for _ in range(3):
        build = current_build(index_dir)
        try:
            return _load_build(index_dir, build, model_name, weights_sha256, dimension)
        except IndexInvalidError:
            if current_build(index_dir) == build:
                raise
            # A build swapped in (and removed this one) while it was read: read the new one.
    return _load_build(index_dir, current_build(index_dir), model_name, weights_sha256, dimension)


def _load_build(index_dir: Path, build: Path, model_name: str, weights_sha256: str,
                dimension: int | None) -> StoredIndex:
    manifest = read_manifest(index_dir, build)
    rebuild = _rebuild(index_dir)
    for name, expected in manifest["files"].items():
        path = build / name
        if name == ARTICLE_TERMS:  # read by the next build only, which checks it (15 MB on the BBC folder)
            continue
        if not path.is_file() or file_sha256(path) != expected:
            raise IndexInvalidError(f"index file {path} is missing or corrupt; {rebuild}")
    model = manifest["model"]
    if model["name"] != model_name or model["weights_sha256"] != weights_sha256:
        raise IndexInvalidError(
            f"index in {index_dir} was built with model {model['name']!r}, not {model_name!r} "
            f"(or with other weights); {rebuild}"
        )
    if dimension is not None and manifest["dimension"] != dimension:
        raise IndexInvalidError(
            f"index in {index_dir} holds {manifest['dimension']}-dimensional vectors, "
            f"the model makes {dimension}; {rebuild}"
        )
    try:
        vectors = faiss.read_index(str(build / VECTORS))
        sentence_vectors = faiss.read_index(str(build / SENTENCE_VECTORS))
        with (build / CHUNKS).open(encoding="utf-8") as handle:
            chunks = [chunk_from_json(line) for line in handle]
        with (build / SENTENCES).open(encoding="utf-8") as handle:
            sentences = [SentenceRef(*json.loads(line)) for line in handle]
        lexical = (LexicalIndex.load(build / LEXICAL_DIR, _recipe(manifest["lexical"]))  # type: ignore[arg-type]
                   if "lexical" in manifest else None)
    except (RuntimeError, ValueError, TypeError, KeyError) as exc:
        raise IndexInvalidError(f"index in {build} cannot be read ({exc}); {rebuild}") from None
    problem = _consistency_problem(manifest, chunks, vectors, sentences, sentence_vectors)
    if problem is None and lexical is not None and lexical.size != len(chunks):
        problem = f"the lexical index holds {lexical.size} passages, the index {len(chunks)}"
    if problem:
        raise IndexInvalidError(f"index in {build} is inconsistent ({problem}); {rebuild}")
    root = find_sources_root(manifest, index_dir)
    shown, sources = cited_sources(manifest, root, index_dir, display_path)
    chunks = [replace(c, source=shown[c.source]) for c in chunks]
    return StoredIndex(build, manifest, chunks, vectors, sentences, sentence_vectors, root, sources, lexical)


def _consistency_problem(manifest: dict[str, Any], chunks: list[Chunk], vectors: faiss.Index,
                         sentences: list[SentenceRef], sentence_vectors: faiss.Index) -> str | None:
    d = manifest["dimension"]
    if len(chunks) != manifest["chunk_count"] or vectors.ntotal != len(chunks) or vectors.d != d:
        return "vectors, chunks and manifest differ"
    if sentence_vectors.ntotal != len(sentences) or sentence_vectors.d != d:
        return "sentence vectors and sentences differ"
    unknown = next((c.source for c in chunks if c.source not in manifest["sources"]), None)
    if unknown is not None:
        return f"a chunk cites {unknown!r}, which the manifest does not list"
    for s in sentences:
        if not (isinstance(s.chunk, int) and 0 <= s.chunk < len(chunks) and isinstance(s.start, int)
                and isinstance(s.end, int) and chunks[s.chunk].start <= s.start < s.end <= chunks[s.chunk].end):
            return "a sentence lies outside its chunk"
    return None
