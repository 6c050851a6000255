"""8-bit copies of a build's vectors, for a first stage that does not read every float.

A build writes, beside each IndexFlatIP file, a faiss IndexScalarQuantizer (8 bits a dimension, a quarter of the
bytes) of the same rows. A large index (`[store] compressed_from` rows or more) is searched in two steps: the
8-bit copy finds the candidates (several times k of them), then their exact scores come from the float file,
read through a memory map a row at a time, so a question touches the small copy and a few hundred rows of the
large one, and processes answering from one index share both files' pages.

The copy is trained on evenly spaced rows (no randomness: the same vectors give the same file), and written in
batches with faiss's own header patched for the row count, so no build holds all its vectors.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import faiss
import numpy as np

from citebot.index.store.protocol import Ranked

TRAIN_ROWS = 65_536
"""Rows the quantiser's per-dimension ranges are taken from (values beyond them are clamped)."""
BATCH_ROWS = 65_536
OVERFETCH = 4
"""Candidates from the 8-bit copy per result wanted (at least MIN_CANDIDATES), re-scored exactly."""
MIN_CANDIDATES = 200


def compressed_name(flat_name: str) -> str:
    """The 8-bit copy's file name beside a flat vector file (vectors.faiss -> vectors.sq8)."""
    return flat_name.rsplit(".", 1)[0] + ".sq8"


def _trained(vectors: np.ndarray) -> faiss.IndexScalarQuantizer:
    index = faiss.IndexScalarQuantizer(vectors.shape[1], faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    step = max(1, len(vectors) // TRAIN_ROWS)
    sample = np.ascontiguousarray(vectors[::step][:TRAIN_ROWS], dtype=np.float32)
    index.train(sample if len(sample) else np.zeros((1, vectors.shape[1]), dtype=np.float32))
    return index


def _header(index: faiss.IndexScalarQuantizer, rows: int) -> bytes:
    """faiss's serialisation of the trained, empty index, patched to say it holds rows codes."""
    header = bytearray(faiss.serialize_index(index))
    if index.ntotal != 0 or header[:4] != b"IxSQ":
        raise RuntimeError("this faiss writes IndexScalarQuantizer files in an unknown layout")
    header[8:16] = rows.to_bytes(8, "little")
    header[-8:] = (rows * index.code_size).to_bytes(8, "little")
    return bytes(header)


def write_compressed(vectors: np.ndarray, path: Path) -> None:
    """Write the 8-bit copy of vectors (a memory map is read a batch at a time) to path, synced."""
    index = _trained(vectors)
    header = _header(index, len(vectors))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        offset = len(header)
        for start in range(0, len(vectors), BATCH_ROWS):
            batch = np.ascontiguousarray(vectors[start:start + BATCH_ROWS], dtype=np.float32)
            codes = index.sa_encode(batch).tobytes()
            os.pwrite(fd, codes, offset)
            offset += len(codes)
        os.pwrite(fd, header, 0)
        os.fsync(fd)
    finally:
        os.close(fd)


def open_compressed(path: Path, rows: int, dimension: int) -> faiss.Index:
    """The 8-bit copy, memory-mapped; it must hold rows codes of dimension."""
    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
    if index.ntotal != rows or index.d != dimension:
        raise ValueError(f"{path.name} holds {index.ntotal} rows of {index.d}, not {rows} of {dimension}")
    return index


class TwoStepSearch:
    """Top k by the 8-bit copy's candidates re-scored exactly against the float rows."""

    def __init__(self, compressed: faiss.Index, exact: np.ndarray) -> None:
        self.compressed = compressed
        self.exact = exact
        mapping = getattr(exact, "_mmap", None)
        if mapping is not None:  # a few rows a question: no read-ahead of the pages around them
            mapping.madvise(mmap.MADV_RANDOM)

    def top(self, query: np.ndarray, k: int) -> Ranked:
        total = len(self.exact)
        k = min(k, total)
        if k <= 0:
            return Ranked.empty()
        wanted = min(total, max(OVERFETCH * k, MIN_CANDIDATES))
        _, found = self.compressed.search(query.reshape(1, -1), wanted)
        rows = np.sort(found[0][found[0] >= 0])
        ranked = Ranked.of(rows, self.scores(query, rows))
        return Ranked(ranked.rows[:k], ranked.scores[:k])

    def scores(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact scores of the given rows (read in row order, so the pages are visited once each)."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        order = np.argsort(rows, kind="stable")
        out = np.empty(len(rows), dtype=np.float32)
        out[order] = self.exact[rows[order]] @ query.reshape(-1)
        return out
