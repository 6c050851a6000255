"""The index folder on disk: FAISS vectors, chunks as JSONL and a manifest; atomic swap, checked load.

Layout of an index folder:

    current -> build-<id>/      symlink, replaced atomically when a build finishes
    build-<id>/manifest.json    model and hash, settings, source fingerprints, file hashes
    build-<id>/chunks.jsonl     one chunk per line, row i of the FAISS index is line i
    build-<id>/vectors.faiss    exact inner product over unit vectors (IndexFlatIP)
    build-<id>/sentences.jsonl  [chunk row, start, end] of every sentence of every chunk
    build-<id>/sentences.faiss  one unit vector per line of sentences.jsonl
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


def _write_vectors(path: Path, vectors: np.ndarray) -> None:
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(flat, str(path))


def save_index(index_dir: Path, chunks: list[Chunk], vectors: np.ndarray, sentences: list[SentenceRef],
               sentence_vectors: np.ndarray, manifest: dict[str, Any]) -> Path:
    """Write a new build beside the old one, then point `current` at it in one atomic rename."""
    if len(chunks) != len(vectors) or len(sentences) != len(sentence_vectors):
        raise ValueError("every chunk and every sentence needs exactly one vector")
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexInvalidError(f"--index {index_dir} is a file, not an index folder")
    index_dir.mkdir(parents=True, exist_ok=True)
    build_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    partial = index_dir / f".build-{build_id}.partial"
    partial.mkdir()
    _write_vectors(partial / VECTORS, vectors)
    _write_vectors(partial / SENTENCE_VECTORS, sentence_vectors)
    _write(partial / CHUNKS, "".join(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in chunks).encode())
    _write(partial / SENTENCES, "".join(json.dumps([s.chunk, s.start, s.end]) + "\n" for s in sentences).encode())
    manifest = {
        **manifest,
        "format": FORMAT_VERSION,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "chunk_count": len(chunks),
        "dimension": int(vectors.shape[1]),
        "files": {name: file_sha256(partial / name) for name in (CHUNKS, VECTORS, SENTENCES, SENTENCE_VECTORS)},
    }
    _write(partial / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
    _fsync_dir(partial)
    final = index_dir / f"build-{build_id}"
    partial.rename(final)
    link = index_dir / f".{CURRENT}.{build_id}"
    link.symlink_to(final.name)
    os.replace(link, index_dir / CURRENT)  # the swap: readers see the old build or the new, never neither
    _fsync_dir(index_dir)
    _remove_old_builds(index_dir, keep=final.name)
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
