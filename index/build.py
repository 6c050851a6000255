"""The one orchestrator of a build: read, clean, chunk, embed, save."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from citebot.config.errors import CitebotError, IndexInvalidError
from citebot.config.settings import IngestSettings, Settings
from citebot.index.chunk_cache import ChunkCache, Chunked, article_key
from citebot.index.chunking import Chunk, Chunker, chunk_sentences, vector_text
from citebot.index.embedding import make_embedder
from citebot.index.embedding.protocol import Embedder
from citebot.index.hashing import file_sha256
from citebot.index.incremental import KEY_SCHEME, Vectorizer, key_prefix, text_key
from citebot.index.ingest.bounded import within_size
from citebot.index.ingest.corpus import (
    Article,
    CorpusScan,
    Skipped,
    outside_link,
    read_corpus,
    read_source,
    relative_source,
    scan_corpus,
    source_files,
    unnamed_source,
)
from citebot.index.ingest.read_cache import ReadCache
from citebot.index.ingest.texts import ManifestSources, remove_unused_texts
from citebot.index.lexical import ArticleTerms, LexicalBuilder, LexicalRecipe
from citebot.index.progress import EmbeddingProgress, expected_tokens
from citebot.index.skipped_files import SKIPPED_FILES, skipped_stamps, still_skipped
from citebot.index.store.faiss.ownership import check_build_target
from citebot.index.store.protocol import SentenceRef
from citebot.index.tokens import count_tokens
from citebot.index.vector_journal import VectorJournal, remove_journals

if TYPE_CHECKING:
    from citebot.index.embedding.ray_job import RayTarget
    from citebot.index.store.protocol import StoreLocation


@dataclass(frozen=True)
class BuildReport:
    path: Path
    articles: int
    chunks: int
    skipped: tuple[Skipped, ...]
    seconds: float
    embed_seconds: float
    """Time spent running the model."""
    embedded: int = 0
    """Distinct texts (passages and sentences) run through the model."""
    reused: int = 0
    """Distinct texts whose vector was copied from the previous build."""
    rechunked: int = 0
    """Articles chunked anew (the others' chunks were taken from the previous build)."""
    resumed: int = 0
    """Distinct texts whose vector an interrupted build had computed (its journal, index/vector_journal.py)."""
    ray_seconds: float = 0.0
    """With --ray: the Ray step's time (reading and chunking to form the batches, and the jobs)."""
    ray_job_seconds: float = 0.0
    """Of which waiting for the jobs."""


def chunk_corpus(sources: Path, settings: Settings, embedder: Embedder,
                 progress: bool = False) -> tuple[list[Chunk], tuple[Skipped, ...], int]:
    from tqdm import tqdm

    corpus = read_corpus(sources, settings.ingest)
    chunker = Chunker(settings.chunking, count_tokens, embedder.count_tokens)
    articles = tqdm(corpus.articles, desc="Chunking articles", unit="article", file=sys.stderr,
                    disable=not progress, dynamic_ncols=True)
    chunks = [chunk for article in articles for chunk in chunker.chunk_article(article)]
    return chunks, corpus.skipped, len(corpus.articles)


class _TimedEmbedder:
    """The embedder, with the seconds spent in encode() added up."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.seconds = 0.0

    def count_tokens(self, text: str) -> int:
        return self.embedder.count_tokens(text)

    def warm_up(self) -> None:
        self.embedder.warm_up()

    def encode(self, texts: list[str]) -> np.ndarray:
        began = time.perf_counter()
        try:
            vectors = self.embedder.encode(texts)
        finally:
            self.seconds += time.perf_counter() - began
        return vectors


def build_store(sources: Path, settings: Settings, *, embedder: Embedder | None = None, progress: bool = False,
                full: bool = False, ray: RayTarget | None = None) -> BuildReport:
    """Index sources into the configured store ([store] kind): the FAISS folder at [paths] index, or Milvus."""
    from citebot.index.store import store_location

    location = store_location(settings)
    return build_index(sources, location.folder, settings, embedder=embedder, progress=progress, full=full,
                       location=location, ray=ray)


def build_index(sources: Path, index_dir: Path, settings: Settings, *, embedder: Embedder | None = None,
                progress: bool = False, full: bool = False, location: StoreLocation | None = None,
                ray: RayTarget | None = None) -> BuildReport:
    """Index every article under sources into index_dir (location: the store there; default the FAISS folder
    index_dir); the old index serves until the swap.

    Articles are chunked, written and embedded one by one, vectors straight to disk. Unless full, the vector of
    every text embedded the same way by the current build is reused instead of computed again. Every vector
    computed also goes to the folder's journal, and a build interrupted before it committed is resumed from there
    (full or not: those vectors were computed by the model, the same way). One progress bar counts the texts run
    through the model (index/progress.py). With ray, the texts without a vector are first embedded by a Ray Data
    job (index/embedding/ray_job.py) into the journal, and the build then finds them there.
    """
    if location is None:
        from citebot.index.store import index_folder

        location = index_folder(index_dir, settings.store)
    check_build_target(sources, index_dir)  # apart from the sources, and no folder of the user's
    with location.build_lock():  # one build per location at a time: covers the reuse read and the write
        return _build_index(sources, index_dir, settings, embedder, progress, full, location, ray)


def _build_index(sources: Path, index_dir: Path, settings: Settings, embedder: Embedder | None, progress: bool,
                 full: bool, location: StoreLocation, ray: RayTarget | None = None) -> BuildReport:
    if index_dir.exists() and not index_dir.is_dir():  # say so before minutes of embedding
        raise IndexInvalidError(f"--index {index_dir} is a file, not an index folder")
    began = time.perf_counter()
    # Batches of equal token count come in many shapes, and oneDNN keeps a compiled kernel for each (200 MB more
    # peak on 200 articles); a small cache keeps the peak at the model's. oneDNN reads this when it first runs.
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")
    embedder = embedder or make_embedder(settings.embedding)
    chunker = Chunker(settings.chunking, count_tokens, embedder.count_tokens)
    prefix = key_prefix(embedder, settings.embedding)
    reuse = None if full else location.reuse_source(prefix, embedder.dimension)
    previous_manifest = None if reuse is None else reuse.manifest or _manifest_of(location)
    # Files of other formats that did not change are taken from the last build, not read again.
    reads = ReadCache.of_build(None if full else previous_manifest, index_dir, settings.ingest)  # --full reads all
    corpus = scan_corpus(sources, settings.ingest, reads)  # articles are read one at a time, in the loop below
    recipe = LexicalRecipe.of(settings.retrieval, settings.embedding.title_in_vectors, settings.lexical)
    # Chunks and BM25 terms are reused from an index folder's build (a Milvus build's are not read back).
    chunk_cache, previous_terms = None, None
    if reuse is not None and reuse.folder is not None and reuse.manifest is not None:
        previous = reuse.manifest
        chunk_cache = ChunkCache.open(reuse.folder, previous)
        previous_terms = ArticleTerms.open(reuse.folder, previous, recipe)
    rechunked = 0
    characters = new_characters(reads.seen, previous_manifest)
    # What a killed build computed: kept in the folder (index/vector_journal.py), used again by key.
    journal = VectorJournal.open(index_dir, prefix, embedder.dimension, spool=index_dir)
    bar = EmbeddingProgress(max(0, expected_tokens(characters, settings.chunking) - journal.found_tokens),
                            characters, corpus.count, enabled=progress)
    if journal.found:
        bar.note(f"resuming: {journal.found:,} texts embedded by an interrupted build are reused")
    timed = _TimedEmbedder(embedder)
    # The map of texts to rows and the BM25 terms grow with the corpus: they are kept in unnamed temporary files
    # in the index folder (made by the build lock), which go with the build.
    vectorizer = Vectorizer(timed, settings.embedding.batch_size, reuse, spool=index_dir,  # type: ignore[arg-type]
                            on_embedded=bar.embedded, journal=journal)
    with_title = settings.embedding.title_in_vectors
    lexical = LexicalBuilder(recipe, previous_terms, spool=index_dir)
    listed = ManifestSources(index_dir, reads.documents_of)  # the manifest's sources and documents
    ray_run = None
    ray_began = time.perf_counter()
    try:
        if ray is not None:  # the texts without a vector are embedded on Ray first, into the journal
            from citebot.index.embedding.ray_job import embed_missing

            bar.note(f"embedding on Ray ({ray.address}) ...")
            texts = (text for _, _, pieces, _ in article_pieces(corpus, chunker, chunk_cache, prefix, settings)
                     for text in vector_texts(pieces, with_title, prefix))
            ray_run = embed_missing(ray, texts, embedder, settings.embedding, prefix, reuse, journal, index_dir,
                                    bar.embedded)
        ray_seconds = time.perf_counter() - ray_began if ray is not None else 0.0
        ray_embedded, ray_tokens = (ray_run.texts, ray_run.tokens) if ray_run is not None else (0, 0)
        with location.writer(embedder.dimension) as writer:
            for article, chunking_key, pieces, chunked in article_pieces(corpus, chunker, chunk_cache, prefix,
                                                                         settings):
                rechunked += chunked
                for chunk, sentences in pieces:
                    text = vector_text(chunk, with_title)
                    key = text_key(prefix, text)
                    row = writer.add_chunk(chunk, key)
                    vectorizer.add(text, key, writer.vectors, row)
                    for start, end in sentences:
                        text = sentence_text(chunk, start, end)
                        key = text_key(prefix, text)
                        vectorizer.add(text, key, writer.sentence_vectors,
                                       writer.add_sentence(SentenceRef(row, start, end), key))
                lexical.add_article(chunking_key, pieces)
                writer.add_article(article.source, chunking_key, len(pieces))
                listed.add(article)
                bar.article_done(len(article.text) if chunked else 0)
            vectorizer.finish()
            bar.close()
            vectorizer.close()  # its temporary files go before the build's last files are made
            writer.save_lexical(lexical.finish_on_disk(), lexical.save_article_terms)  # type: ignore[arg-type]
            lexical.close()
            manifest = {
                "model": {"name": embedder.name, "weights_sha256": embedder.weights_sha256,
                          "runtime": embedder.runtime},
                "chunking": asdict(settings.chunking),
                "ingest": asdict(settings.ingest),
                "title_in_vectors": settings.embedding.title_in_vectors,
                # Sources are named relative to their folder, found absolutely or beside the index (moved together).
                "sources_root": str(sources.resolve()),
                "sources_root_from_index": os.path.relpath(sources.resolve(), index_dir.resolve()),
                "sources": listed.sources,
                # Articles of other formats than .txt: their file, what it said, and the text read, kept in the index
                # (a collection: one text for all its rows and a row table).
                "documents": listed.documents,
                "articles": listed.articles,
                "skipped": [asdict(s) for s in corpus.skipped],
                SKIPPED_FILES: skipped_stamps(sources, corpus.skipped),  # so status knows them unchanged
                # Per file read: its size, time and sha256 then, so the next build need not read it again.
                "source_files": reads.manifest_entry(),
                "vectors": {"key_prefix": prefix.hex(), "key_scheme": KEY_SCHEME,
                            "embedded": vectorizer.embedded + ray_embedded, "reused": vectorizer.reused,
                            "resumed": vectorizer.resumed - ray_embedded, "tokens": vectorizer.tokens + ray_tokens,
                            "reused_from": str(reuse.build) if reuse is not None else None},
            }
            journal.close()  # synced: a failed commit leaves it whole for the next build
            path = writer.commit(manifest)
            chunk_count = writer.chunk_count
        remove_journals(index_dir)  # the build is in: what a killed one computed is in it or was not needed
        if location.rollback_builds() is None:  # only the build just made is kept: its texts are the ones used
            remove_unused_texts(index_dir, listed.stored_files())
    finally:
        bar.close()
        vectorizer.close()
        journal.close()
        lexical.close()
        if reuse is not None:
            reuse.close()
    return BuildReport(path, listed.articles, chunk_count, corpus.skipped, time.perf_counter() - began,
                       timed.seconds, vectorizer.embedded + ray_embedded, vectorizer.reused, rechunked,
                       vectorizer.resumed - ray_embedded, ray_seconds, ray_run.job_seconds if ray_run else 0.0)


def article_pieces(corpus: CorpusScan, chunker: Chunker, chunk_cache: ChunkCache | None, prefix: bytes,
                   settings: Settings) -> Iterator[tuple[Article, str, Chunked, bool]]:
    """Each article with its chunking key, its chunks and their sentences' spans (from the last build when it
    chunked the same text the same way), and whether it was chunked anew."""
    for article in corpus.articles:
        chunking_key = article_key(prefix, settings.chunking, article)
        pieces = chunk_cache.get(chunking_key) if chunk_cache else None
        if pieces is None:
            chunked = [(chunk, chunk_sentences(chunk)) for chunk in chunker.chunk_article(article)]
            yield article, chunking_key, chunked, True
        else:
            yield article, chunking_key, pieces, False


def sentence_text(chunk: Chunk, start: int, end: int) -> str:
    """The text of the sentence at [start, end) of the article, inside chunk."""
    return chunk.text[start - chunk.start:end - chunk.start]


def vector_texts(pieces: Chunked, with_title: bool, prefix: bytes) -> Iterator[tuple[str, str]]:
    """(text, key) of every text of an article's pieces, in the order a build gives them to the Vectorizer."""
    for chunk, sentences in pieces:
        text = vector_text(chunk, with_title)
        yield text, text_key(prefix, text)
        for start, end in sentences:
            text = sentence_text(chunk, start, end)
            yield text, text_key(prefix, text)


def _manifest_of(location: StoreLocation) -> dict | None:
    """The current build's manifest (a Milvus build's reuse source does not carry it), or None."""
    try:
        return location.read_manifest()
    except (CitebotError, OSError):
        return None


def new_characters(reads: dict[str, dict], previous: dict | None) -> int:
    """Characters of the articles read from files that are new or changed since the build of previous (the text a
    build must chunk and embed; a file's unchanged articles are reused all the same)."""
    built = built_files(previous) if previous is not None else {}
    return sum(read.get("characters", 0) for name, read in reads.items() if built.get(name) != read["sha256"])


def source_fingerprints(sources: Path, ingest: IngestSettings) -> dict[str, str]:
    """sha256 of every file under sources that a build would read, by path relative to sources (a .txt file only
    when it reads as an article; a file of another format when it may be read: its articles are not parsed here)."""
    found = {}
    for path in source_files(sources):
        if unnamed_source(path, sources):
            readable = False
        elif path.suffix.casefold() == ".txt":
            readable = not isinstance(read_source(path, sources, ingest), Skipped)
        else:
            readable = ((ingest.allow_links_outside or outside_link(path, sources) is None)
                        and within_size(path, ingest.max_file_bytes))  # a build skips it: never hashed whole
        if readable:
            found[relative_source(path, sources)] = file_sha256(path)
    return found


def built_files(manifest: dict) -> dict[str, str]:
    """The files a build read, by path relative to its sources folder, with their sha256 then."""
    documents = manifest.get("documents") or {}
    return {documents[name]["file"] if name in documents else name: digest
            for name, digest in manifest["sources"].items()}


def changed_settings(manifest: dict, settings: Settings) -> list[str]:
    """Index-time settings that differ between the build and the config now."""
    built = {"chunking": manifest.get("chunking"), "ingest": manifest.get("ingest"),
             "title_in_vectors": manifest.get("title_in_vectors")}
    now = {"chunking": asdict(settings.chunking), "ingest": asdict(settings.ingest),
           "title_in_vectors": settings.embedding.title_in_vectors}
    changes = [f"settings: [{name}] differs from the build" for name in built if built[name] != now[name]]
    lexical = LexicalRecipe.of(settings.retrieval, settings.embedding.title_in_vectors, settings.lexical)
    saved = manifest.get("lexical")
    try:  # a recipe saved before the [lexical] options has their defaults
        same = isinstance(saved, dict) and LexicalRecipe(**saved) == lexical
    except TypeError:
        same = False
    in_milvus = isinstance(manifest.get("store"), dict) and manifest["store"].get("kind") == "milvus"
    if not same and not in_milvus:  # Milvus keeps no files: bm25s is made at every load
        what = ("the build has no saved BM25 index" if "lexical" not in manifest else
                "[retrieval] bm25_k1, bm25_b, lexical_title or [lexical] differs from the build's saved BM25 index")
        changes.append(f"settings: {what} (BM25 is built in memory at every load until a rebuild)")
    return changes


def stale_sources(index_dir: Path, ingest: IngestSettings) -> list[str]:
    """What changed in the sources since the index in the folder index_dir was built: changed, added and removed
    files."""
    from citebot.index.store import index_folder

    location = index_folder(index_dir)
    manifest = location.read_manifest()
    return source_changes(manifest, location.sources_root(manifest), ingest)


def source_changes(manifest: dict, root: Path, ingest: IngestSettings) -> list[str]:
    """What changed in the sources under root since the build of manifest."""
    built = built_files(manifest)
    now = source_fingerprints(root, ingest) if root.is_dir() else {}
    changes = [f"changed: {p}" for p in built if p in now and now[p] != built[p]]
    skipped = still_skipped(manifest, root)  # read by the build and skipped, unchanged since
    changes += [f"added: {p}" for p in now if p not in built and p not in skipped]
    changes += [f"removed: {p}" for p in built if p not in now]
    return changes
