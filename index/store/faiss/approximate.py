"""An approximate first stage for a large table: an inverted file of 8-bit codes (faiss IndexIVFScalarQuantizer).

A build writes, for a table of `[store] approximate_from` rows or more, an IVF index beside its float file: the
rows are split into lists around k-means centroids, and each row is kept as one byte a dimension (of its
difference from its centroid) in its list. A search visits the `approximate_probe` lists nearest the question,
so it reads a share of the codes instead of every row, and its candidates are re-scored exactly from the float
rows (compressed.py's TwoStepSearch), so every score the retrieval layer sees is exact.

The file is faiss's own (read by faiss.read_index), written here in two passes over the memory-mapped float rows
(each row's list, then its code in place), so no build holds its vectors or its codes; the layout is checked
against faiss's own writer on a small sample first. faiss stores the lists one after another, so a load with
IO_FLAG_MMAP maps them from the file instead of reading them: a question reads the pages of the lists it
visits, and processes answering from one index share them.

Training uses evenly spaced rows (no randomness: the same vectors give the same file).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from citebot.config.settings import StoreSettings

TRAIN_PER_LIST = 40
"""Rows per list the centroids are trained on (faiss asks for at least 39), evenly spaced."""
MIN_PER_LIST = 8
"""Fewest rows a list is made for (faiss warns below 39 training rows a list, but trains)."""
TRAIN_ITERATIONS = 10
BATCH_ROWS = 65_536
SPLIT_OVER_LISTS = 1
"""faiss IndexIVF.parallel_mode: one question's lists shared among the threads (faiss's default, 0, shares out
queries, and a question is one: a single thread). The same rows and scores; on 2 cores a search takes 25-30 %
less time (docs/performance.md)."""
_LISTS_TAIL = 32
"""Bytes faiss writes for the inverted lists of an empty index: fourcc, nlist, code size, "sprs", zero pairs."""


@dataclass(frozen=True)
class ApproximatePlan:
    """Which tables a build gives an IVF index, and how many lists ([store] approximate_from and _lists)."""

    from_rows: int
    """Tables of at least this many rows get one; 0: none."""
    lists: int = 0
    """Lists of each (0: about the square root of its rows)."""

    @classmethod
    def of(cls, store: StoreSettings) -> ApproximatePlan | None:
        return cls(store.approximate_from, store.approximate_lists) if store.approximate_from > 0 else None

    def applies(self, rows: int) -> bool:
        return self.from_rows > 0 and rows >= max(self.from_rows, MIN_PER_LIST)

    def lists_for(self, rows: int) -> int:
        return list_count(rows, self.lists)


LISTS_PER_ROOT = 4
"""Lists per square root of the rows when [store] approximate_lists is 0 (on the BBC vectors, 4 x the root found
more of the exact top 30 than 1 x the root at the same share of rows visited; docs/performance.md)."""


def list_count(rows: int, lists: int) -> int:
    """The number of lists for a table of rows: lists when set, else LISTS_PER_ROOT x the square root of rows; at most
    one list per MIN_PER_LIST rows and at least one."""
    wanted = lists if lists > 0 else round(LISTS_PER_ROOT * math.sqrt(rows))
    return max(1, min(wanted, rows // MIN_PER_LIST))


def _empty(dimension: int, lists: int) -> faiss.IndexIVFScalarQuantizer:
    quantizer = faiss.IndexFlatIP(dimension)
    index = faiss.IndexIVFScalarQuantizer(quantizer, dimension, lists, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    index.own_fields = True
    quantizer.this.disown()
    index.cp.niter = TRAIN_ITERATIONS
    index.cp.spherical = True  # unit centroids: lists ranked by cosine to the question, not favouring tight ones
    index.cp.max_points_per_centroid = TRAIN_PER_LIST  # faiss samples no further: the rows given are the sample
    index.cp.min_points_per_centroid = MIN_PER_LIST  # list_count keeps to it: no warning for a small table
    return index


def _trained(vectors: np.ndarray, lists: int) -> faiss.IndexIVFScalarQuantizer:
    index = _empty(vectors.shape[1], lists)
    step = max(1, len(vectors) // (TRAIN_PER_LIST * lists))
    sample = np.ascontiguousarray(vectors[::step][:TRAIN_PER_LIST * lists], dtype=np.float32)
    index.train(sample)
    return index


def _prefix(index: faiss.IndexIVFScalarQuantizer, rows: int) -> bytes:
    """faiss's serialisation of the trained, empty index without its (empty) lists, patched to hold rows."""
    data = bytearray(faiss.serialize_index(index))
    tail = data[-_LISTS_TAIL:]
    if (index.ntotal != 0 or data[:4] != b"IwSq" or tail[:4] != b"ilar" or tail[20:24] != b"sprs"
            or int.from_bytes(tail[4:12], "little") != index.nlist):
        raise RuntimeError("this faiss writes IndexIVFScalarQuantizer files in an unknown layout")
    prefix = data[:-_LISTS_TAIL]
    prefix[8:16] = rows.to_bytes(8, "little")
    return bytes(prefix)


def _lists_header(nlist: int, code_size: int, sizes: np.ndarray) -> bytes:
    """The inverted lists' header as faiss writes it for an ArrayInvertedLists stored whole ("full")."""
    return (b"ilar" + nlist.to_bytes(8, "little") + code_size.to_bytes(8, "little") + b"full"
            + nlist.to_bytes(8, "little") + sizes.astype("<u8").tobytes())


def _assign(index: faiss.IndexIVFScalarQuantizer, vectors: np.ndarray) -> np.ndarray:
    """The list of every row (read a batch at a time)."""
    lists = np.empty(len(vectors), dtype=np.int64)
    for start in range(0, len(vectors), BATCH_ROWS):
        batch = np.ascontiguousarray(vectors[start:start + BATCH_ROWS], dtype=np.float32)
        _, found = index.quantizer.search(batch, 1)
        lists[start:start + len(batch)] = found[:, 0]
    return lists


def _codes(index: faiss.IndexIVFScalarQuantizer, batch: np.ndarray, lists: np.ndarray) -> np.ndarray:
    codes = np.empty((len(batch), index.code_size), dtype=np.uint8)
    index.encode_vectors(len(batch), faiss.swig_ptr(batch), faiss.swig_ptr(lists), faiss.swig_ptr(codes), False)
    return codes


def write_approximate(vectors: np.ndarray, path: Path, lists: int) -> None:
    """Write the IVF index of vectors (a memory map is read a batch at a time) with `lists` lists to path, synced."""
    check_layout()
    _write(vectors, path, lists)


def _write(vectors: np.ndarray, path: Path, lists: int) -> None:
    rows = len(vectors)
    index = _trained(vectors, lists)
    code_size = int(index.code_size)
    assigned = _assign(index, vectors)
    sizes = np.bincount(assigned, minlength=lists).astype(np.int64)
    head = _prefix(index, rows) + _lists_header(lists, code_size, sizes)
    # list i: its codes, then its row ids, after the lists before it (faiss's ArrayInvertedLists layout)
    starts = len(head) + np.concatenate(([0], np.cumsum(sizes * (code_size + 8))[:-1]))
    filled = np.zeros(lists, dtype=np.int64)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        for first in range(0, rows, BATCH_ROWS):
            batch = np.ascontiguousarray(vectors[first:first + BATCH_ROWS], dtype=np.float32)
            batch_lists = assigned[first:first + len(batch)]
            codes = _codes(index, batch, batch_lists)
            order = np.argsort(batch_lists, kind="stable")  # rows of a list stay in row order, as faiss adds them
            present, at, counts = np.unique(batch_lists[order], return_index=True, return_counts=True)
            for number, begin, count in zip(present.tolist(), at.tolist(), counts.tolist(), strict=True):
                taken = order[begin:begin + count]
                slot, size = int(filled[number]), int(sizes[number])
                base = int(starts[number])
                os.pwrite(fd, codes[taken].tobytes(), base + slot * code_size)
                ids = (taken + first).astype("<i8")
                os.pwrite(fd, ids.tobytes(), base + size * code_size + slot * 8)
                filled[number] += count
        os.pwrite(fd, head, 0)
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def check_layout() -> None:
    """Raise RuntimeError unless this module writes, for a small sample, the very bytes faiss writes."""
    import tempfile

    generator = np.random.default_rng(0)
    sample = generator.standard_normal((400, 8)).astype(np.float32)
    sample /= np.linalg.norm(sample, axis=1, keepdims=True)
    index = _trained(sample, 4)
    index.add(sample)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sample.ivf"
        _write(sample, path, 4)
        same = path.read_bytes() == bytes(faiss.serialize_index(index))
    if not same:
        raise RuntimeError("this faiss writes IndexIVFScalarQuantizer files in an unknown layout")


def open_approximate(path: Path, rows: int, dimension: int, probe: int = 1) -> faiss.Index:
    """The IVF index at path, its lists memory-mapped, searching `probe` lists (its nprobe; set it again to
    change); it must hold rows of dimension."""
    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
    ivf = faiss.try_extract_index_ivf(index)
    if not isinstance(index, faiss.IndexIVFScalarQuantizer) or ivf is None:
        raise ValueError(f"{path.name} is not an IVF index of 8-bit codes")
    if index.ntotal != rows or index.d != dimension:
        raise ValueError(f"{path.name} holds {index.ntotal} rows of {index.d}, not {rows} of {dimension}")
    lists = index.invlists
    if sum(lists.list_size(i) for i in range(index.nlist)) != rows:
        raise ValueError(f"{path.name}'s lists do not hold its {rows} rows")
    index.nprobe = min(probe, index.nlist)
    index.parallel_mode = SPLIT_OVER_LISTS
    return index


class CodeRows:
    """Given rows of a table, decoded from its IVF index's 8-bit codes (`[store] approximate_scores = "codes"`):
    the rows a question scores come from the lists it searches, so no float row is read at question time. faiss's
    direct map (a list and offset per row, 8 bytes a row) is built once, at load."""

    def __init__(self, index: faiss.Index) -> None:
        self.index = index
        index.make_direct_map(True)
        self.shape = (index.ntotal, index.d)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray | list[int]) -> np.ndarray:
        """The decoded vectors of rows (float32, one row each, in the order given)."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if len(rows) and (rows.min() < 0 or rows.max() >= self.shape[0]):
            raise IndexError(f"vector rows outside 0..{self.shape[0] - 1}")
        if not len(rows):
            return np.empty((0, self.shape[1]), dtype=np.float32)
        return self.index.reconstruct_batch(rows)
