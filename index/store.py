"""The index folder on disk: FAISS vectors, chunks as JSONL and a manifest; atomic swap, checked load.

Layout of an index folder:

    current -> build-<id>/      symlink, replaced atomically when a build finishes
    build-<id>/manifest.json    model and hash, settings, source fingerprints, file hashes
    build-<id>/chunks.jsonl     one chunk per line, row i of the FAISS index is line i
    build-<id>/vectors.faiss    exact inner product over unit vectors (IndexFlatIP)
    build-<id>/sentences.jsonl  [chunk row, start, end] of every sentence of every chunk
    build-<id>/sentences.faiss  one unit vector per line of sentences.jsonl
    build-<id>/vectors.keys     per row of vectors.faiss, the key of the text embedded (sha256, hex)
    build-<id>/sentences.keys   the same for sentences.faiss; a later build reuses vectors by these keys
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.chunking import Chunk
from index.embed import file_sha256
from index.errors import IndexInvalidError, IndexMissingError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT = "current"
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.faiss"
SENTENCES = "sentences.jsonl"
SENTENCE_VECTORS = "sentences.faiss"
VECTOR_KEYS = "vectors.keys"
SENTENCE_KEYS = "sentences.keys"
DATA_FILES = (CHUNKS, VECTORS, SENTENCES, SENTENCE_VECTORS, VECTOR_KEYS, SENTENCE_KEYS)


@dataclass(frozen=True)
class SentenceRef:
    chunk: int
    """Row of the chunk the sentence belongs to."""
    start: int
    end: int


@dataclass(frozen=True)
class StoredIndex:
    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: faiss.Index
    sentences: list[SentenceRef]
    sentence_vectors: faiss.Index


def _fsync_dir(path: Path) -> None:
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
                      for name in (CHUNKS, SENTENCES, VECTOR_KEYS, SENTENCE_KEYS)}

    def __enter__(self) -> BuildWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()
        if self.partial.exists():
            shutil.rmtree(self.partial, ignore_errors=True)

    def add_chunk(self, chunk: Chunk, key: str) -> int:
        """Append a chunk and the key of its vector text; its row (the vector goes to the same row)."""
        self._text[CHUNKS].write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
        self._text[VECTOR_KEYS].write(key + "\n")
        self.chunk_count += 1
        return self.chunk_count - 1

    def add_sentence(self, sentence: SentenceRef, key: str) -> int:
        if not 0 <= sentence.chunk < self.chunk_count:
            raise ValueError(f"sentence of chunk row {sentence.chunk}, which is not written yet")
        self._text[SENTENCES].write(json.dumps([sentence.chunk, sentence.start, sentence.end]) + "\n")
        self._text[SENTENCE_KEYS].write(key + "\n")
        self.sentence_count += 1
        return self.sentence_count - 1

    def _close(self) -> None:
        for handle in self._text.values():
            handle.close()
        self.vectors.close()
        self.sentence_vectors.close()

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
            "files": {name: file_sha256(self.partial / name) for name in DATA_FILES},
        }
        _write(self.partial / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
        _fsync_dir(self.partial)
        final = self.index_dir / f"build-{self.build_id}"
        self.partial.rename(final)
        link = self.index_dir / f".{CURRENT}.{self.build_id}"
        link.symlink_to(final.name)
        os.replace(link, self.index_dir / CURRENT)  # the swap: readers see the old build or the new, never neither
        _fsync_dir(self.index_dir)
        _remove_old_builds(self.index_dir, keep=final.name)
        return final


def _remove_old_builds(index_dir: Path, keep: str) -> None:
    for entry in index_dir.iterdir():
        if entry.name != keep and (entry.name.startswith("build-") or entry.name.startswith(".build-")):
            shutil.rmtree(entry, ignore_errors=True)


def current_build(index_dir: Path) -> Path:
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexInvalidError(f"--index {index_dir} is a file, not an index folder")
    link = index_dir / CURRENT
    if not link.exists():
        raise IndexMissingError(f"no index in {index_dir}; build one with: citebot index build --index {index_dir}")
    return link.resolve()


def read_manifest(index_dir: Path) -> dict[str, Any]:
    build = current_build(index_dir)
    rebuild = f"rebuild it with: citebot index build --index {index_dir}"
    try:
        manifest = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexInvalidError(f"index manifest in {build} is unreadable ({exc}); {rebuild}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise IndexInvalidError(f"index in {build} has an unknown format; {rebuild}")
    return manifest


def load_index(index_dir: Path, *, model_name: str, weights_sha256: str, dimension: int) -> StoredIndex:
    """Load the current build, checking files, model and dimension against the manifest."""
    manifest = read_manifest(index_dir)
    build = current_build(index_dir)
    rebuild = f"rebuild it with: citebot index build --index {index_dir}"
    for name, expected in manifest.get("files", {}).items():
        path = build / name
        if not path.is_file() or file_sha256(path) != expected:
            raise IndexInvalidError(f"index file {path} is missing or corrupt; {rebuild}")
    model = manifest.get("model", {})
    if model.get("name") != model_name or model.get("weights_sha256") != weights_sha256:
        raise IndexInvalidError(
            f"index in {index_dir} was built with model {model.get('name')!r}, not {model_name!r} "
            f"(or with other weights); {rebuild}"
        )
    if manifest.get("dimension") != dimension:
        raise IndexInvalidError(
            f"index in {index_dir} holds {manifest.get('dimension')}-dimensional vectors, "
            f"the model makes {dimension}; {rebuild}"
        )
    try:
        vectors = faiss.read_index(str(build / VECTORS))
        sentence_vectors = faiss.read_index(str(build / SENTENCE_VECTORS))
        with (build / CHUNKS).open(encoding="utf-8") as handle:
            chunks = [Chunk(**json.loads(line)) for line in handle]
        with (build / SENTENCES).open(encoding="utf-8") as handle:
            sentences = [SentenceRef(*json.loads(line)) for line in handle]
    except (RuntimeError, ValueError, TypeError) as exc:
        raise IndexInvalidError(f"index in {build} cannot be read ({exc}); {rebuild}") from None
    if (vectors.ntotal != len(chunks) or vectors.d != dimension or sentence_vectors.ntotal != len(sentences)
            or sentence_vectors.d != dimension or any(not 0 <= s.chunk < len(chunks) for s in sentences)):
        raise IndexInvalidError(f"index in {build} is inconsistent (vectors and chunks differ); {rebuild}")
    return StoredIndex(build, manifest, chunks, vectors, sentences, sentence_vectors)
