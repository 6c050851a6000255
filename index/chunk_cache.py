"""Chunking reused across builds: an article whose chunking inputs are unchanged keeps its last chunks.

Chunking measures every candidate chunk with two tokenizers, which makes it most of an unchanged rebuild's
time. An article's key covers all that decides its chunks: its file's hash and name, its title and kept
paragraphs after cleaning (which depends on the whole corpus), the chunk settings, the model's tokenizer and
the chunker's version. The last build lists each article's key and chunk count in articles.jsonl; its chunks
and sentences are taken from chunks.jsonl and sentences.jsonl, checked against the manifest's hashes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from citebot.config.settings import ChunkSettings
from citebot.index.chunking import Chunk
from citebot.index.ingest.corpus import Article
from citebot.index.store.checks import chunk_from_json
from citebot.index.store.faiss.layout import ARTICLES, CHUNKS, SENTENCES

log = logging.getLogger(__name__)

CHUNKER_VERSION = 1
"""Bump when index/chunking.py or the cleaning in index/documents.py would cut an article differently."""

Chunked = list[tuple[Chunk, list[tuple[int, int]]]]
"""An article's chunks, each with the (start, end) of its sentences."""


def article_key(prefix: bytes, settings: ChunkSettings, article: Article) -> str:
    """sha256 of everything that decides an article's chunks (prefix: the model's, see incremental.key_prefix)."""
    # A collection's row is known by its own text: editing one row of a file leaves the other rows' chunks reused.
    row = article.document is not None and article.document.row is not None
    material = {"chunker": CHUNKER_VERSION, "settings": asdict(settings), "source": article.source,
                "file": hashlib.sha256(article.text.encode()).hexdigest() if row else article.fingerprint,
                "title": article.title,
                "paragraphs": [[p.start, p.end, p.number, p.dropped] for p in article.paragraphs]}
    return hashlib.sha256(prefix + json.dumps(material, sort_keys=True).encode()).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ChunkCache:
    """The last build's chunks and sentences of each article, by article key."""

    def __init__(self, rows: dict[str, tuple[int, int]], chunk_lines: list[str],
                 sentences: dict[int, list[tuple[int, int]]]) -> None:
        self._rows = rows
        self._chunk_lines = chunk_lines
        self._sentences = sentences

    @classmethod
    def open(cls, build: Path, manifest: dict[str, Any]) -> ChunkCache | None:
        """The cache of build, or None (logged) when it has no article list or its files do not check out."""
        files = manifest.get("files", {})
        if ARTICLES not in files:
            return None
        try:
            for name in (ARTICLES, CHUNKS, SENTENCES):
                if _sha256(build / name) != files.get(name):
                    raise ValueError(f"{name} does not match the manifest")
            chunk_lines = (build / CHUNKS).read_text(encoding="utf-8").splitlines()
            rows: dict[str, tuple[int, int]] = {}
            first = 0
            for line in (build / ARTICLES).read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                rows[entry["key"]] = (first, entry["chunks"])
                first += entry["chunks"]
            if first != len(chunk_lines):
                raise ValueError(f"{ARTICLES} lists {first} chunks, {CHUNKS} holds {len(chunk_lines)}")
            sentences: dict[int, list[tuple[int, int]]] = {}
            for line in (build / SENTENCES).read_text(encoding="utf-8").splitlines():
                row, start, end = json.loads(line)
                sentences.setdefault(row, []).append((start, end))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("not reusing the current build's chunks (%s); chunking everything", exc)
            return None
        return cls(rows, chunk_lines, sentences)

    def get(self, key: str) -> Chunked | None:
        """The chunks the last build made of the article with this key, or None."""
        found = self._rows.get(key)
        if found is None:
            return None
        first, count = found
        return [(chunk_from_json(self._chunk_lines[row]), self._sentences.get(row, []))
                for row in range(first, first + count)]
