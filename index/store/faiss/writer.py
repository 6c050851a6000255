"""Writing a FAISS folder build: vectors row by row straight to disk, chunks and sentences as JSONL, the manifest
last, then the `current` link swapped to it in one atomic rename (see layout.py for the files)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import faiss
import numpy as np

from citebot.config.errors import IndexInvalidError, IndexWriteError
from citebot.index.chunking import Chunk
from citebot.index.hashing import file_sha256
from citebot.index.lexical import ARTICLE_TERMS, LEXICAL_DIR, LEXICAL_FILES, LexicalIndex, LexicalRecipe
from citebot.index.store.faiss.approximate import ApproximatePlan, write_approximate
from citebot.index.store.faiss.compressed import write_compressed
from citebot.index.store.faiss.layout import (
    APPROXIMATE_FILES,
    ARTICLES,
    CHUNKS,
    COMPRESSED_FILES,
    CURRENT,
    DATA_FILES,
    FLAT_HEADER_BYTES,
    FORMAT_VERSION,
    MANIFEST,
    SENTENCE_KEYS,
    SENTENCE_VECTORS,
    SENTENCE_VECTORS_IVF,
    SENTENCE_VECTORS_SQ8,
    SENTENCES,
    VECTOR_KEYS,
    VECTORS,
    VECTORS_IVF,
    VECTORS_SQ8,
    flat_header,
    mapped_rows,
)
from citebot.index.store.faiss.ownership import mark_build, own_build
from citebot.index.store.protocol import SentenceRef


def _named(exc: OSError, path: Path) -> OSError:
    """exc, naming path when it names no file: a full disk fails a write, a flush or a sync without saying where."""
    return exc if exc.filename is not None else OSError(exc.errno, exc.strerror, str(path))


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Writes to path: an OSError raised in the block names path (see _named)."""
    try:
        yield
    except OSError as exc:
        raise _named(exc, path) from exc


def _fsync(path: Path) -> None:
    """Sync a file or a folder (its entries) to disk."""
    with _writing(path):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write(path: Path, data: bytes) -> None:
    with _writing(path), path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


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
        try:
            os.pwrite(self._fd, data.tobytes(), self._offset(row))
        except OSError as exc:
            raise _named(exc, self.path) from exc
        self.written += 1

    def read(self, row: int) -> np.ndarray:
        """A row written earlier in this build."""
        return np.frombuffer(os.pread(self._fd, self.dimension * 4, self._offset(row)), dtype=np.float32)

    def finish(self, rows: int) -> None:
        """Write the header for rows vectors and sync; every row must have been written exactly once."""
        if self.written != rows:
            raise ValueError(f"{self.path.name}: {self.written} vectors written for {rows} rows")
        with _writing(self.path):
            os.ftruncate(self._fd, self._offset(rows))
            os.pwrite(self._fd, flat_header(self.dimension, rows), 0)
            os.fsync(self._fd)
        self.close()

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):  # only a build being discarded closes a file not synced
                os.close(fd)


class BuildWriter:
    """A new build, written as it is made into a hidden partial folder, then swapped in by commit().

    Chunks and sentences go to their JSONL files line by line, vectors to their rows on disk, each with the
    key of the text embedded for it (see index/incremental.py), so a build never holds the corpus's vectors.
    Leaving the `with` block without commit() removes the partial folder; a killed build leaves it for the
    next build to remove. Either way `current` still names the last good build.
    """

    def __init__(self, index_dir: Path, dimension: int, approximate: ApproximatePlan | None = None) -> None:
        """approximate: which tables get an IVF index (approximate.py); None: none."""
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
        self._text: dict[str, TextIO] = {}
        try:  # out of inodes, a file may fail to open: the partial folder goes with it
            mark_build(self.partial, self.build_id)  # first: what proves the folder citebot's (ownership.py)
            self.vectors = VectorFile(self.partial / VECTORS, dimension)
            self.sentence_vectors = VectorFile(self.partial / SENTENCE_VECTORS, dimension)
            for name in (CHUNKS, SENTENCES, VECTOR_KEYS, SENTENCE_KEYS, ARTICLES):
                self._text[name] = (self.partial / name).open("w", encoding="utf-8", newline="\n")
        except BaseException:
            self.__exit__()
            raise
        self.lexical_recipe: LexicalRecipe | None = None
        self._article_terms = False
        self.approximate = approximate

    def __enter__(self) -> BuildWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()
        if self.partial.exists():
            shutil.rmtree(self.partial, ignore_errors=True)

    def add_chunk(self, chunk: Chunk, key: str) -> int:
        """Append a chunk and the key of its vector text; its row (the vector goes to the same row)."""
        self._put(CHUNKS, json.dumps(vars(chunk), ensure_ascii=False) + "\n")  # asdict() would deep-copy
        self._put(VECTOR_KEYS, key + "\n")
        self.chunk_count += 1
        return self.chunk_count - 1

    def add_article(self, source: str, key: str, chunks: int) -> None:
        """Record that the last `chunks` chunks written are source's, cut under this chunking key."""
        self._put(ARTICLES, json.dumps({"source": source, "key": key, "chunks": chunks}, ensure_ascii=False) + "\n")

    def add_sentence(self, sentence: SentenceRef, key: str) -> int:
        if not 0 <= sentence.chunk < self.chunk_count:
            raise ValueError(f"sentence of chunk row {sentence.chunk}, which is not written yet")
        self._put(SENTENCES, f"[{sentence.chunk:d}, {sentence.start:d}, {sentence.end:d}]\n")  # json.dumps
        self._put(SENTENCE_KEYS, key + "\n")
        self.sentence_count += 1
        return self.sentence_count - 1

    def _put(self, name: str, line: str) -> None:
        """Append a line to one of the JSONL and keys files (buffered: a full disk fails some later line)."""
        try:
            self._text[name].write(line)
        except OSError as exc:
            raise _named(exc, self.partial / name) from exc

    def save_lexical(self, lexical: LexicalIndex, save_article_terms: Callable[[Path], None] | None = None) -> None:
        """Save the BM25 index of the chunks written (call before commit), and the terms of each article
        for the next build when save_article_terms writes them."""
        if lexical.size != self.chunk_count:
            raise ValueError(f"a lexical index of {lexical.size} passages for {self.chunk_count} chunks")
        with _writing(self.partial / LEXICAL_DIR):
            lexical.save(self.partial / LEXICAL_DIR)
        if save_article_terms is not None:
            with _writing(self.partial / ARTICLE_TERMS):
                save_article_terms(self.partial / ARTICLE_TERMS)
            self._article_terms = True
        self.lexical_recipe = lexical.recipe

    def _close(self) -> None:
        """Close every file of a build being discarded: closing flushes what is buffered, which fails again on a
        full disk, and that must not keep the other files open or the partial folder on disk."""
        for handle in self._text.values():
            with contextlib.suppress(OSError):
                handle.close()
        for vectors in (getattr(self, "vectors", None), getattr(self, "sentence_vectors", None)):
            if vectors is not None:
                vectors.close()

    def _files(self) -> tuple[str, ...]:
        return (DATA_FILES + (ARTICLES,) + (LEXICAL_FILES if self.lexical_recipe is not None else ())
                + ((ARTICLE_TERMS,) if self._article_terms else ())
                + tuple(name for name in (*COMPRESSED_FILES, *APPROXIMATE_FILES) if (self.partial / name).is_file()))

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Sync every file, write the manifest last, then point `current` at the build in one atomic rename."""
        self.vectors.finish(self.chunk_count)
        self.sentence_vectors.finish(self.sentence_count)
        for flat, compressed, approximate in ((VECTORS, VECTORS_SQ8, VECTORS_IVF),
                                              (SENTENCE_VECTORS, SENTENCE_VECTORS_SQ8, SENTENCE_VECTORS_IVF)):
            rows = mapped_rows(self.partial / flat)
            # A table searched through its IVF lists needs no 8-bit copy beside them (a quarter of its floats again).
            if self.approximate is not None and self.approximate.applies(len(rows)):
                with _writing(self.partial / approximate):
                    write_approximate(rows, self.partial / approximate, self.approximate.lists_for(len(rows)))
            else:
                with _writing(self.partial / compressed):
                    write_compressed(rows, self.partial / compressed)
        for name, handle in self._text.items():
            with _writing(self.partial / name):
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
        self._switch(final)
        _fsync(self.index_dir)
        _remove_old_builds(self.index_dir, keep=final.name)
        return final

    def _switch(self, final: Path) -> None:
        """Point `current` at final; when that fails (out of inodes, the link cannot be made) final is removed, so no
        complete build is left that `current` does not name, and the error names the link, not the build."""
        link = self.index_dir / f".{CURRENT}.{self.build_id}"
        try:
            link.symlink_to(final.name)
            os.replace(link, self.index_dir / CURRENT)  # the swap: readers see the old build or the new, never neither
        except OSError as exc:
            with contextlib.suppress(OSError):
                link.unlink(missing_ok=True)
            shutil.rmtree(final, ignore_errors=True)
            raise IndexWriteError(
                f"cannot point {self.index_dir / CURRENT} at the new build: {exc.strerror or exc} (making the link "
                f"{link.name}); the new build was removed and `{CURRENT}` is unchanged") from exc


def _remove_old_builds(index_dir: Path, keep: str) -> None:
    """Remove the builds before keep: only folders citebot can prove it wrote, never the user's build-… entries."""
    for entry in index_dir.iterdir():
        if entry.name != keep and own_build(entry):
            shutil.rmtree(entry, ignore_errors=True)
