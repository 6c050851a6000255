"""The one orchestrator of a build: read, clean, chunk, embed, save."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from index.chunking import Chunk, Chunker, chunk_sentences
from index.documents import Skipped, read_corpus, read_source, relative_source, source_files
from index.embed import Embedder, file_sha256, make_embedder
from index.errors import IndexInvalidError
from index.settings import IngestSettings, Settings
from index.store import SentenceRef, find_sources_root, holding_build_lock, read_manifest, save_index
from index.tokens import count_tokens


@dataclass(frozen=True)
class BuildReport:
    path: Path
    articles: int
    chunks: int
    skipped: tuple[Skipped, ...]
    seconds: float
    embed_seconds: float


def vector_text(chunk: Chunk, with_title: bool) -> str:
    """What is embedded for a chunk; the chunk's own text stays verbatim."""
    return f"{chunk.title}\n{chunk.text}" if with_title and chunk.title else chunk.text


def _span_text(chunk: Chunk, start: int, end: int) -> str:
    """Text of a span of the article a chunk comes from, when the span lies inside some chunk."""
    return chunk.text[start - chunk.start:end - chunk.start]


def chunk_corpus(sources: Path, settings: Settings, embedder: Embedder,
                 progress: bool = False) -> tuple[list[Chunk], tuple[Skipped, ...], int]:
    from tqdm import tqdm

    corpus = read_corpus(sources, settings.ingest)
    chunker = Chunker(settings.chunking, count_tokens, embedder.count_tokens)
    articles = tqdm(corpus.articles, desc="Chunking articles", unit="article", file=sys.stderr,
                    disable=not progress, dynamic_ncols=True)
    chunks = [chunk for article in articles for chunk in chunker.chunk_article(article)]
    return chunks, corpus.skipped, len(corpus.articles)


@holding_build_lock  # one build per index folder at a time
def build_index(sources: Path, index_dir: Path, settings: Settings, *,
                embedder: Embedder | None = None, progress: bool = False) -> BuildReport:
    """Index every article under sources into index_dir; the old index serves until the swap."""
    if index_dir.exists() and not index_dir.is_dir():  # say so before minutes of embedding
        raise IndexInvalidError(f"--index {index_dir} is a file, not an index folder")
    began = time.perf_counter()
    embedder = embedder or make_embedder(settings.embedding)
    chunks, skipped, article_count = chunk_corpus(sources, settings, embedder, progress)
    embed_began = time.perf_counter()
    sentences = [SentenceRef(row, s, e) for row, c in enumerate(chunks) for s, e in chunk_sentences(c)]
    # Overlapping chunks share sentences: embed each distinct sentence once.
    holder: dict[tuple[str, int, int], int] = {}
    for ref in sentences:
        holder.setdefault((chunks[ref.chunk].source, ref.start, ref.end), ref.chunk)
    unique = list(holder)
    texts = [vector_text(c, settings.embedding.title_in_vectors) for c in chunks] + [
        _span_text(chunks[holder[key]], key[1], key[2]) for key in unique]
    all_vectors = embedder.encode(texts, progress=progress)  # one pass, one progress bar for the whole job
    vectors = all_vectors[:len(chunks)]
    position = {key: len(chunks) + i for i, key in enumerate(unique)}
    sentence_vectors = all_vectors[[position[(chunks[r.chunk].source, r.start, r.end)] for r in sentences]]
    embed_seconds = time.perf_counter() - embed_began
    manifest = {
        "model": {"name": embedder.name, "weights_sha256": embedder.weights_sha256, "runtime": embedder.runtime},
        "chunking": asdict(settings.chunking),
        "ingest": asdict(settings.ingest),
        "title_in_vectors": settings.embedding.title_in_vectors,
        # Sources are named relative to their folder, found absolutely or beside the index (moved together).
        "sources_root": str(sources.resolve()),
        "sources_root_from_index": os.path.relpath(sources.resolve(), index_dir.resolve()),
        "sources": source_fingerprints(sources, settings.ingest),
        "skipped": [asdict(s) for s in skipped],
    }
    path = save_index(index_dir, chunks, vectors, sentences, sentence_vectors, manifest)
    return BuildReport(path, article_count, len(chunks), skipped, time.perf_counter() - began, embed_seconds)


def source_fingerprints(sources: Path, ingest: IngestSettings) -> dict[str, str]:
    """sha256 of every *.txt under sources that a build would index, by path relative to sources."""
    found = {}
    for path in source_files(sources):
        if not isinstance(read_source(path, sources, ingest), Skipped):
            found[relative_source(path, sources)] = file_sha256(path)
    return found


def changed_settings(manifest: dict, settings: Settings) -> list[str]:
    """Index-time settings that differ between the build and the config now."""
    built = {"chunking": manifest.get("chunking"), "ingest": manifest.get("ingest"),
             "title_in_vectors": manifest.get("title_in_vectors")}
    now = {"chunking": asdict(settings.chunking), "ingest": asdict(settings.ingest),
           "title_in_vectors": settings.embedding.title_in_vectors}
    return [f"settings: [{name}] differs from the build" for name in built if built[name] != now[name]]


def stale_sources(index_dir: Path, ingest: IngestSettings) -> list[str]:
    """What changed in the sources since the index was built: changed, added and removed files."""
    manifest = read_manifest(index_dir)
    built = manifest["sources"]
    root = find_sources_root(manifest, index_dir)
    now = source_fingerprints(root, ingest) if root.is_dir() else {}
    changes = [f"changed: {p}" for p in built if p in now and now[p] != built[p]]
    changes += [f"added: {p}" for p in now if p not in built]
    changes += [f"removed: {p}" for p in built if p not in now]
    return changes
