"""The index folder on disk: FAISS vectors, chunks as JSONL and a manifest; atomic swap, checked load, one lock.

Layout of an index folder:

    current -> build-<id>/      symlink, replaced atomically when a build finishes
    .lock                       flock()ed by the build writing here (the kernel drops it if the build dies)
    .build-<id>.partial/        a build being written; left over if one was killed
    build-<id>/.citebot-build   `citebot build <id>`, written first: the proof citebot made it (ownership.py)
    build-<id>/manifest.json    model and hash, settings, source fingerprints, file hashes
    build-<id>/chunks.jsonl     one chunk per line, row i of the FAISS index is line i
    build-<id>/vectors.faiss    exact inner product over unit vectors (IndexFlatIP)
    build-<id>/sentences.jsonl  [chunk row, start, end] of every sentence of every chunk
    build-<id>/sentences.faiss  one unit vector per line of sentences.jsonl
    build-<id>/vectors.keys     per row of vectors.faiss, the key of the text embedded (sha256, hex)
    build-<id>/sentences.keys   the same for sentences.faiss; a later build reuses vectors by these keys
    build-<id>/vectors.sq8      8-bit copies of vectors.faiss and sentences.faiss (compressed.py), the first stage
    build-<id>/sentences.sq8    of a large index's search; a table with an IVF index, or a build made before them,
                                has none
    build-<id>/vectors.ivf      IVF indexes of 8-bit codes (approximate.py), the first stage of a table of
    build-<id>/sentences.ivf    [store] approximate_from rows or more; a smaller table has none
    build-<id>/articles.jsonl   per article, in chunk order: its source, chunking key and chunk count (a later
                                build reuses the chunks of unchanged articles; see index/chunk_cache.py)
    build-<id>/lexical/         the BM25 index of the chunks (bm25s's own files) and the corpus's words
                                (see index/lexical.py); a build made before it existed has none

Sources are named relative to the sources folder; the manifest holds that folder both absolutely and
relative to the index folder, so an index answers from any working directory and moves with its sources.

The modules beside this one: writer.py writes a build and swaps it in, lock.py keeps one build at a time and
finds what killed builds left, ownership.py says which of it citebot can prove it wrote (nothing else is removed),
manifest.py finds the current build and reads its manifest, load.py loads it checked (with
index/store/checks.py), reuse.py lends its vectors to the next build, location.py is the store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from citebot.config.errors import IndexInvalidError
from citebot.index.lexical import ARTICLE_TERMS, LEXICAL_FILES

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
VECTORS_SQ8 = "vectors.sq8"
SENTENCE_VECTORS_SQ8 = "sentences.sq8"
COMPRESSED_FILES = (VECTORS_SQ8, SENTENCE_VECTORS_SQ8)
"""8-bit copies of the two vector files (compressed.py), each written for a table without an IVF index; builds
made before them have none."""
VECTORS_IVF = "vectors.ivf"
SENTENCE_VECTORS_IVF = "sentences.ivf"
APPROXIMATE_FILES = (VECTORS_IVF, SENTENCE_VECTORS_IVF)
"""IVF indexes of the two vector files (approximate.py), each written only for a table of `[store]
approximate_from` rows or more."""
DATA_FILES = (CHUNKS, VECTORS, SENTENCES, SENTENCE_VECTORS, VECTOR_KEYS, SENTENCE_KEYS)
"""Every build has these; ARTICLES and the lexical files came later (see expected_files)."""


def expected_files(m: dict[str, Any]) -> tuple[str, ...]:
    """The files a manifest must hash: every build's, the article list when it has one, BM25 when it has one."""
    files = m.get("files")
    optional = tuple(name for name in (ARTICLES, ARTICLE_TERMS, *COMPRESSED_FILES, *APPROXIMATE_FILES)
                     if isinstance(files, dict) and name in files)
    return DATA_FILES + optional + (LEXICAL_FILES if "lexical" in m else ())


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


def flat_shape(path: Path) -> tuple[int, int]:
    """(rows, d) of a faiss IndexFlatIP file, its header and size checked."""
    with path.open("rb") as handle:
        head = handle.read(FLAT_HEADER_BYTES)
    if len(head) < FLAT_HEADER_BYTES or head[:4] != b"IxFI":
        raise ValueError(f"{path.name} is not a flat inner-product index")
    d, rows = int.from_bytes(head[4:8], "little", signed=True), int.from_bytes(head[8:16], "little", signed=True)
    if d <= 0 or rows < 0 or head != flat_header(d, rows) or path.stat().st_size != FLAT_HEADER_BYTES + rows * d * 4:
        raise ValueError(f"{path.name} does not hold {rows} vectors of {d} dimensions")
    return rows, d


def mapped_rows(path: Path) -> np.ndarray:
    """The vectors of a faiss IndexFlatIP file as a read-only (rows, d) memory map (for a scan of every row)."""
    rows, d = flat_shape(path)
    if rows == 0:
        return np.zeros((0, d), dtype=np.float32)
    return np.memmap(path, dtype=np.float32, mode="r", offset=FLAT_HEADER_BYTES, shape=(rows, d))


class FileRows:
    """Given rows of a faiss IndexFlatIP file, read with pread through a descriptor held open.

    Reading a few rows through a memory map maps far more: the kernel maps up to 16 cached pages around each
    page a read touches (fault-around), so re-scoring a few thousand scattered rows a question puts most of the
    file in the process's RSS within a few questions. Read with pread, the file's pages stay in the page cache
    (shared, dropped under pressure) and the process holds only the rows it asked for, while it needs them."""

    def __init__(self, path: Path) -> None:
        self.shape = flat_shape(path)
        self._file = path.open("rb", buffering=0)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray | list[int]) -> np.ndarray:
        """The vectors of rows (float32, one row each, in the order given); runs of adjacent rows read at once."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        total, d = self.shape
        if len(rows) and (rows.min() < 0 or rows.max() >= total):
            raise IndexError(f"vector rows outside 0..{total - 1}")
        out = np.empty((len(rows), d), dtype=np.float32)
        if not len(rows):
            return out
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        breaks = np.flatnonzero(np.diff(ordered) != 1) + 1
        fd, width = self._file.fileno(), d * 4
        read = np.empty((len(rows), d), dtype=np.float32)
        for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, len(rows)], strict=True):
            wanted = (hi - lo) * width
            got = os.preadv(fd, [memoryview(read[lo:hi]).cast("B")], FLAT_HEADER_BYTES + int(ordered[lo]) * width)
            if got != wanted:
                raise OSError(f"{self._file.name}: read {got} of {wanted} bytes")
        out[order] = read
        return out



def check_folder(index_dir: Path) -> None:
    """Raise IndexInvalidError when the index folder's path names a file."""
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexInvalidError(f"--index {index_dir} is a file, not an index folder")
