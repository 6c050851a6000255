"""Loading a FAISS folder's current build: every file against its hash in the manifest, then the checks every
store makes (index/store/checks.py); a build swapped in while one is read is read instead."""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from citebot.config.errors import IndexInvalidError
from citebot.index.lexical import ARTICLE_TERMS, LEXICAL_DIR, LexicalIndex
from citebot.index.store.checks import check_model, chunk_from_json, contents_problem, lexical_recipe, named_sources
from citebot.index.store.faiss.approximate import open_approximate
from citebot.index.store.faiss.compressed import open_compressed
from citebot.index.store.faiss.layout import (
    CHUNKS,
    SENTENCE_VECTORS,
    SENTENCE_VECTORS_IVF,
    SENTENCE_VECTORS_SQ8,
    SENTENCES,
    VECTORS,
    VECTORS_IVF,
    VECTORS_SQ8,
    mapped_rows,
)
from citebot.index.store.faiss.manifest import current_build, read_manifest, rebuild_hint
from citebot.index.store.faiss.verified import VerifiedFiles
from citebot.index.store.passages import ChunkTable
from citebot.index.store.protocol import SentenceTable, SourceFile


@dataclass(frozen=True)
class StoredIndex:
    path: Path
    manifest: dict[str, Any]
    chunks: ChunkTable
    """The passages' fields as arrays, each one's text read from chunks.jsonl when asked (passages.py)."""
    vectors: faiss.Index
    """The passage vectors, memory-mapped (faiss searches the file's pages; processes share them)."""
    sentences: SentenceTable
    sentence_matrix: np.ndarray
    """The sentence vectors: a read-only memory map of the file's rows, never copied."""
    sources_root: Path
    """The sources folder as found now (see checks.find_sources_root)."""
    sources: dict[str, SourceFile]
    """Each source as chunks name it (Chunk.source) -> (its file, its sha256 at build time)."""
    lexical: LexicalIndex | None = None
    """The saved BM25 index; None in a build made before builds saved one."""
    compressed: tuple[faiss.Index | None, faiss.Index | None] = (None, None)
    """The 8-bit copies of the passage and sentence vectors (compressed.py), memory-mapped; None for a table with
    an IVF index instead, and in a build made before builds wrote them."""
    approximate: tuple[faiss.Index | None, faiss.Index | None] = (None, None)
    """The IVF indexes of the passage and sentence vectors (approximate.py), lists memory-mapped; None for a table
    the build gave none."""


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
    rebuild = rebuild_hint(index_dir, manifest)
    verified = VerifiedFiles(build)
    for name, expected in manifest["files"].items():
        path = build / name
        if name == ARTICLE_TERMS:  # read by the next build only, which checks it (15 MB on the BBC folder)
            continue
        if not path.is_file() or not verified.matches(name, expected):
            raise IndexInvalidError(f"index file {path} is missing or corrupt; {rebuild}")
    verified.save()
    check_model(manifest, model_name=model_name, weights_sha256=weights_sha256, dimension=dimension,
                where=index_dir, rebuild=rebuild)
    try:
        vectors = faiss.read_index(str(build / VECTORS), faiss.IO_FLAG_MMAP_IFC)
        sentence_matrix = mapped_rows(build / SENTENCE_VECTORS)
        chunks = ChunkTable.read(build / CHUNKS, chunk_from_json)
        sentences = read_sentences(build / SENTENCES)
        compressed = tuple(open_compressed(build / name, *shape) if name in manifest["files"] else None
                           for name, shape in ((VECTORS_SQ8, (vectors.ntotal, vectors.d)),
                                               (SENTENCE_VECTORS_SQ8, sentence_matrix.shape)))
        approximate = tuple(open_approximate(build / name, *shape) if name in manifest["files"] else None
                            for name, shape in ((VECTORS_IVF, (vectors.ntotal, vectors.d)),
                                                (SENTENCE_VECTORS_IVF, sentence_matrix.shape)))
        lexical = (LexicalIndex.load(build / LEXICAL_DIR, lexical_recipe(manifest["lexical"]))  # type: ignore[arg-type]
                   if "lexical" in manifest else None)
    except (RuntimeError, ValueError, TypeError, KeyError) as exc:
        raise IndexInvalidError(f"index in {build} cannot be read ({exc}); {rebuild}") from None
    problem = contents_problem(manifest, chunks, sentences, (vectors.ntotal, vectors.d),
                               sentence_matrix.shape)
    if problem is None and lexical is not None and lexical.size != len(chunks):
        problem = f"the lexical index holds {lexical.size} passages, the index {len(chunks)}"
    if problem:
        raise IndexInvalidError(f"index in {build} is inconsistent ({problem}); {rebuild}")
    root, chunks, sources = named_sources(manifest, index_dir, chunks)
    return StoredIndex(build, manifest, chunks, vectors, sentences, sentence_matrix, root, sources, lexical,
                       compressed, approximate)  # type: ignore[arg-type]


def read_sentences(path: Path) -> SentenceTable:
    """sentences.jsonl ([chunk row, start, end] a line) into a SentenceTable, every value checked an integer."""
    data = path.read_bytes()
    columns = _written_columns(data)
    if columns is not None:
        return SentenceTable(*columns)
    return _parsed_sentences(path)


_DIGITS = 18
"""Digits a value may have to be read by the fast path (an int64 holds any 18-digit number)."""


def _written_columns(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The three columns of sentences.jsonl when every line is exactly as a build writes it ("[1, 20, 31]"), read
    at C speed (a Python loop takes a minute at an archive's 25 million lines); None for anything else."""
    if not data:
        return None
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == ord("\n"))
    lines = len(ends)
    commas = np.flatnonzero(raw == ord(","))
    if lines == 0 or ends[-1] != len(raw) - 1 or len(commas) != 2 * lines:
        return None
    starts = np.concatenate(([0], ends[:-1] + 1))
    first, second = commas[0::2], commas[1::2]
    digits = np.count_nonzero((raw >= ord("0")) & (raw <= ord("9")))
    shape_ok = (
        digits == len(raw) - 7 * lines  # the rest: "[", "]", "\n", two ", "
        and bool(np.all(raw[starts] == ord("["))) and bool(np.all(raw[ends - 1] == ord("]")))
        and bool(np.all(raw[first + 1] == ord(" "))) and bool(np.all(raw[second + 1] == ord(" ")))
        and bool(np.all((starts < first) & (first < second) & (second < ends))))
    if not shape_ok:
        return None
    widths = np.stack((first - starts - 1, second - first - 2, ends - 1 - second - 2))
    if widths.min() < 1 or widths.max() > _DIGITS:
        return None
    values = np.fromstring(data.translate(_PUNCTUATION), dtype=np.int64, sep=" ")  # noqa: NPY201 (text mode)
    if len(values) != 3 * lines:
        return None
    table = values.reshape(lines, 3)
    return table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy()


_PUNCTUATION = bytes.maketrans(b"[],", b"   ")


def _parsed_sentences(path: Path) -> SentenceTable:
    """read_sentences line by line with json: for a file a build did not write byte for byte."""
    columns = (array("q"), array("q"), array("q"))
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            values = json.loads(line)
            if not (isinstance(values, list) and len(values) == 3
                    and all(type(v) is int for v in values)):  # noqa: E721 (bool and float are not offsets)
                raise ValueError(f"a line of {path.name} is not three integers")
            for column, value in zip(columns, values, strict=True):
                column.append(value)
    chunk, start, end = (np.frombuffer(c, dtype=np.int64) if len(c) else np.zeros(0, np.int64) for c in columns)
    return SentenceTable(chunk, start, end)
