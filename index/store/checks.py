"""The checks every store makes when it loads a build, shared: the manifest's shape, the model and its weights, the
vector dimension, the counts, each sentence inside its chunk and each chunk's source in the manifest; and the
sources as chunks and citations name them. A store reads its own records; what they must satisfy is said here once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from citebot.config.errors import IndexInvalidError
from citebot.index.chunking import Chunk
from citebot.index.ingest.texts import CitedSources, cited_sources, collection_of
from citebot.index.lexical import LexicalRecipe
from citebot.index.store.passages import ChunkTable
from citebot.index.store.protocol import SentenceRef, SentenceTable

_HEX64 = re.compile(r"[0-9a-f]{64}")


def manifest_problem(m: Any, format_version: int,
                     expected_files: Callable[[dict[str, Any]], tuple[str, ...]]) -> str | None:
    """What is wrong with the shape of a manifest, or None. format_version: the format this citebot reads;
    expected_files(m): the files whose sha256 m must give (the store's layout decides them)."""
    if not isinstance(m, dict):
        return "it is not a JSON object"
    if m.get("format") != format_version:
        return f"it has format {m.get('format')!r}, this citebot reads format {format_version}"
    model = m.get("model")
    if not isinstance(model, dict) or not all(isinstance(model.get(k), str) for k in ("name", "weights_sha256")):
        return "`model` is not an object with a name and a weights_sha256"
    files = m.get("files")
    expected = expected_files(m)
    if not isinstance(files, dict) or sorted(files) != sorted(expected) or not all(
            isinstance(v, str) and _HEX64.fullmatch(v) for v in files.values()):
        return f"`files` must give the sha256 of exactly {', '.join(expected)}"
    if "lexical" in m and lexical_recipe(m["lexical"]) is None:
        return "`lexical` is not an object with k1, b, titles and tokenizer"
    sources = m.get("sources")
    if not isinstance(sources, dict) or not all(
            isinstance(k, str) and _safe_relative(k) and isinstance(v, str) and _HEX64.fullmatch(v)
            for k, v in sources.items()):
        return "`sources` is not an object of relative file names and sha256 digests"
    documents = m.get("documents", {})
    if not isinstance(documents, dict) or not all(
            name in sources and isinstance(d, dict) and isinstance(d.get("file"), str) and _safe_relative(d["file"])
            and isinstance(d.get("text"), str) and _safe_relative(d["text"])
            and (isinstance(d.get("rows", ""), str) and _safe_relative(d.get("rows", "x")))
            for name, d in documents.items()):
        return "`documents` is not an object of articles with relative file and text names"
    for key in ("chunk_count", "dimension"):
        if not isinstance(m.get(key), int) or isinstance(m.get(key), bool) or m[key] < 0:
            return f"`{key}` is not a count"
    for key in ("sources_root", "sources_root_from_index", "built_at"):
        if not isinstance(m.get(key), str):
            return f"`{key}` is not a string"
    for key in ("chunking", "ingest"):
        if not isinstance(m.get(key), dict):
            return f"`{key}` is not an object"
    skipped = m.get("skipped")
    if not isinstance(skipped, list) or not all(
            isinstance(s, dict) and isinstance(s.get("path"), str) and isinstance(s.get("reason"), str)
            for s in skipped):
        return "`skipped` is not a list of {path, reason}"
    return None


def lexical_recipe(data: Any) -> LexicalRecipe | None:
    """The BM25 recipe a manifest records, or None when it is malformed."""
    try:
        recipe = LexicalRecipe(**data)
    except TypeError:
        return None
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (recipe.k1, recipe.b))
    return recipe if numbers and isinstance(recipe.titles, bool) and isinstance(recipe.tokenizer, str) else None


def _safe_relative(name: str) -> bool:
    path = Path(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts


def check_model(manifest: dict[str, Any], *, model_name: str, weights_sha256: str, dimension: int | None,
                where: object, rebuild: str) -> None:
    """Raise IndexInvalidError unless the build was made with this model and weights, at this dimension (None:
    any). where: the index as the message names it; rebuild: how to rebuild it."""
    model = manifest["model"]
    if model["name"] != model_name or model["weights_sha256"] != weights_sha256:
        raise IndexInvalidError(
            f"index in {where} was built with model {model['name']!r}, not {model_name!r} "
            f"(or with other weights); {rebuild}"
        )
    if dimension is not None and manifest["dimension"] != dimension:
        raise IndexInvalidError(
            f"index in {where} holds {manifest['dimension']}-dimensional vectors, "
            f"the model makes {dimension}; {rebuild}"
        )


def chunk_from_json(line: str) -> Chunk:
    """A chunk from its JSON record (a line of chunks.jsonl, a Milvus row), its fields' types and offsets checked."""
    data = json.loads(line)
    chunk = Chunk(**data)
    ints = (chunk.start, chunk.end, chunk.paragraph)
    if not (all(isinstance(v, int) and not isinstance(v, bool) for v in ints) and isinstance(chunk.text, str)
            and isinstance(chunk.source, str) and isinstance(chunk.id, str)
            and (chunk.title is None or isinstance(chunk.title, str))):
        raise ValueError(f"chunk {chunk.id!r} has fields of the wrong type")
    if not 0 <= chunk.start < chunk.end or len(chunk.text) != chunk.end - chunk.start:
        raise ValueError(f"chunk {chunk.id!r} has offsets that do not fit its text")
    return chunk


def contents_problem(manifest: dict[str, Any], chunks: Sequence[Chunk], sentences: Sequence[SentenceRef],
                     passage_vectors: tuple[int, int], sentence_vectors: tuple[int, int]) -> str | None:
    """What does not fit between a build's manifest, chunks, sentences and vectors (each given as (count,
    dimension)), or None: the counts, the dimension, each chunk's source listed, each sentence inside its chunk."""
    d = manifest["dimension"]
    if len(chunks) != manifest["chunk_count"] or passage_vectors != (len(chunks), d):
        return "vectors, chunks and manifest differ"
    if sentence_vectors != (len(sentences), d):
        return "sentence vectors and sentences differ"
    chunks = ChunkTable.of(chunks)
    listed, collections = manifest["sources"], {n for n, d in manifest.get("documents", {}).items() if "rows" in d}
    unknown = next((name for name in chunks.names
                    if name not in listed and collection_of(name, collections) is None), None)
    if unknown is not None:
        return f"a chunk cites {unknown!r}, which the manifest does not list"
    if not isinstance(sentences, SentenceTable) and any(
            not all(type(v) is int for v in (s.chunk, s.start, s.end)) for s in sentences):  # noqa: E721
        return "a sentence lies outside its chunk"
    table = SentenceTable.of(sentences)
    inside = (table.chunk >= 0) & (table.chunk < len(chunks))
    if not inside.all():
        return "a sentence lies outside its chunk"
    own_start, own_end = chunks.start[table.chunk], chunks.end[table.chunk]
    if not ((own_start <= table.start) & (table.start < table.end) & (table.end <= own_end)).all():
        return "a sentence lies outside its chunk"
    return None


def find_sources_root(manifest: dict[str, Any], index_dir: Path) -> Path:
    """The sources folder: beside the index as it was at build time (moved together), else where it was."""
    beside = (index_dir.resolve() / manifest["sources_root_from_index"]).resolve()
    return beside if beside.is_dir() else Path(manifest["sources_root"])


def display_path(path: Path) -> str:
    """A path as citations show it: relative to the working directory when under it, else absolute."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except (ValueError, OSError):
        return str(path)


def named_sources(manifest: dict[str, Any], index_dir: Path,
                  chunks: Sequence[Chunk]) -> tuple[Path, ChunkTable, CitedSources]:
    """The sources folder found now, the chunks with their source as citations show it, and each source as
    chunks name it -> its file, its sha256 at build time and, for another format than .txt, its text file."""
    root = find_sources_root(manifest, index_dir)
    shown, sources = cited_sources(manifest, root, index_dir, display_path)
    return root, ChunkTable.of(chunks).renamed(shown), sources

