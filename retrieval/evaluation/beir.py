"""BEIR-format evaluation: index a corpus through the same pipeline as the articles, run every query,
and score dense alone, lexical alone and the fused ranking the bot uses, at document level.

A folder holds corpus.jsonl(.gz) ({"_id", "title", "text"}), queries.jsonl ({"_id", "text"}) and
qrels/<split>.tsv (query-id, corpus-id, score, with a header). A document split into several chunks
scores as its best chunk.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citebot.config.errors import CitebotError, IndexInvalidError, IndexMissingError
from citebot.config.settings import Settings
from citebot.index.build import build_index
from citebot.index.embedding import make_embedder
from citebot.index.embedding.protocol import Embedder
from citebot.retrieval.engine import Engine
from citebot.retrieval.evaluation.metrics import ndcg_graded_at, recall_at_docs, reciprocal_rank_docs
from citebot.retrieval.question import Question

log = logging.getLogger(__name__)

DEPTH = 100
"""Documents ranked per query: enough for recall@100."""


@dataclass(frozen=True)
class BeirData:
    name: str
    corpus_file: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def _open(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield from handle


def load_beir(folder: Path, split: str) -> BeirData:
    corpus = next((folder / n for n in ("corpus.jsonl", "corpus.jsonl.gz") if (folder / n).is_file()), None)
    qrels_file = folder / "qrels" / f"{split}.tsv"
    if corpus is None or not (folder / "queries.jsonl").is_file() or not qrels_file.is_file():
        raise CitebotError(f"{folder} is not a BEIR folder with split {split!r}: it needs corpus.jsonl[.gz], "
                           f"queries.jsonl and qrels/{split}.tsv")
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(qrels_file.read_text(encoding="utf-8").splitlines()):
        fields = line.split("\t")
        if number == 0 and not fields[-1].strip().lstrip("-").isdigit():
            continue  # header
        if len(fields) >= 3 and int(fields[2]) > 0:
            qrels.setdefault(fields[0], {})[fields[1]] = int(fields[2])
    queries = {}
    for line in _open(folder / "queries.jsonl"):
        row = json.loads(line)
        if str(row["_id"]) in qrels:
            queries[str(row["_id"])] = row["text"]
    return BeirData(folder.name, corpus, queries, {q: d for q, d in qrels.items() if q in queries})


def _cache_key(data: BeirData, settings: Settings, with_titles: bool) -> str:
    digest = hashlib.sha256()
    with data.corpus_file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    digest.update(json.dumps([asdict(settings.ingest), asdict(settings.chunking), settings.embedding.model,
                              settings.embedding.weights_sha256, settings.embedding.title_in_vectors,
                              with_titles, 2]).encode())
    return digest.hexdigest()[:12]


def write_documents(data: BeirData, folder: Path, with_titles: bool) -> dict[str, str]:
    """One .txt per document (its title, if any, as a first line the ingestion reads as a headline)."""
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    for number, line in enumerate(_open(data.corpus_file)):
        row = json.loads(line)
        name = f"{number:07d}.txt"
        title = " ".join(str(row.get("title") or "").split()).rstrip(".")
        body = str(row.get("text") or "").strip() or title
        text = f"{title}\n\n{body}\n" if with_titles and title else f"{body}\n"
        (folder / name).write_text(text, encoding="utf-8")
        names[name] = str(row["_id"])
    return names


def prepare(data: BeirData, settings: Settings, embedder: Embedder, with_titles: bool = True) -> tuple[Engine, dict]:
    """An engine over the dataset's index, built once per corpus and settings, reused after."""
    cache = settings.paths.data / "beir" / f"{data.name}-{_cache_key(data, settings, with_titles)}"
    sources = cache / "documents"
    names_file = cache / "documents.json"
    beir_settings = settings.with_index(cache / "index")
    try:
        engine = Engine(beir_settings, embedder=embedder)
        names = json.loads(names_file.read_text(encoding="utf-8"))
        log.info("reusing the index in %s", cache)
    except (IndexMissingError, IndexInvalidError, OSError, ValueError):
        print(f"Indexing {data.name} into {cache} (once; reused while the corpus and settings stay the same)",
              file=sys.stderr)
        names = write_documents(data, sources, with_titles)
        names_file.write_text(json.dumps(names), encoding="utf-8")
        build_index(sources, cache / "index", beir_settings, embedder=embedder, progress=True)
        engine = Engine(beir_settings, embedder=embedder)
    return engine, names


def rank_documents(rows: list[int], engine: Engine, doc_of_source: dict[str, str]) -> list[str]:
    """Chunk rows in ranked order -> documents in ranked order (a document ranks at its best chunk)."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.setdefault(doc_of_source[engine.stored.chunks[row].source], None)
        if len(seen) >= DEPTH:
            break
    return list(seen)


def mean_scores(runs: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    per_query = [(ndcg_graded_at(runs[q], qrels[q], 10), recall_at_docs(runs[q], qrels[q], 10),
                  recall_at_docs(runs[q], qrels[q], 100), reciprocal_rank_docs(runs[q], qrels[q], 10))
                 for q in qrels]
    means = np.mean(np.array(per_query), axis=0) if per_query else np.zeros(4)
    return {name: round(float(v), 4) for name, v in zip(("ndcg@10", "recall@10", "recall@100", "mrr@10"),
                                                         means, strict=True)}


def evaluate_beir(folder: Path, split: str, settings: Settings, embedder: Embedder | None = None,
                  with_titles: bool = True) -> dict[str, Any]:
    data = load_beir(folder, split)
    embedder = embedder or make_embedder(settings.embedding)
    began = time.perf_counter()
    engine, names = prepare(data, settings, embedder, with_titles)
    index_seconds = time.perf_counter() - began
    doc_of_source = {c.source: names[Path(c.source).name] for c in engine.stored.chunks}
    searcher = engine.searcher
    query_ids = list(data.qrels)
    began = time.perf_counter()
    vectors = embedder.encode([data.queries[q] for q in query_ids])
    runs: dict[str, dict[str, list[str]]] = {"dense": {}, "lexical": {}, "fused": {}}  # fused: both stages
    for query_id, vector in zip(query_ids, vectors, strict=True):
        query = data.queries[query_id]
        query_vector = searcher.expand_query(vector)
        sentence_scores = searcher.sentence_scores(query_vector)
        hits, signals = searcher.rank(query, query_vector, sentence_scores)
        question = Question.read(query)
        context = engine.reranker.context(question, question, vector=query_vector)
        order = [h.row for h in engine.reranker.rerank(context, hits, signals, sentence_scores)]  # as the bot ranks
        dense_all, lexical_all = np.asarray(signals.dense), np.asarray(signals.lexical)  # recall@100: every row
        dense = [int(r) for r in np.argsort(-dense_all, kind="stable")]
        lexical = [int(r) for r in np.argsort(-lexical_all, kind="stable") if lexical_all[r] > 0]
        runs["dense"][query_id] = rank_documents(dense, engine, doc_of_source)
        runs["lexical"][query_id] = rank_documents(lexical, engine, doc_of_source)
        # Past the fused candidates, the dense order fills the list to 100 documents for recall@100.
        runs["fused"][query_id] = rank_documents(order + dense, engine, doc_of_source)
    search_seconds = time.perf_counter() - began
    return {
        "dataset": data.name, "split": split, "queries": len(query_ids), "documents": len(set(names.values())),
        "chunks": len(engine.stored.chunks), "titles": with_titles,
        "settings": {"chunking": asdict(settings.chunking), "retrieval": asdict(settings.retrieval),
                     "title_in_vectors": settings.embedding.title_in_vectors},
        "results": {name: mean_scores(run, data.qrels) for name, run in runs.items()},
        "index_seconds": round(index_seconds, 1), "search_seconds": round(search_seconds, 1),
    }


def render_beir(report: dict[str, Any]) -> str:
    lines = [f"{report['dataset']} ({report['split']}): {report['queries']} queries, {report['documents']} documents "
             f"in {report['chunks']} chunks", "",
             f"{'ranking':<10}{'nDCG@10':>9}{'R@10':>8}{'R@100':>8}{'MRR@10':>8}"]
    for name, m in report["results"].items():
        lines.append(f"{name:<10}{m['ndcg@10']:>9.4f}{m['recall@10']:>8.4f}{m['recall@100']:>8.4f}{m['mrr@10']:>8.4f}")
    lines += ["", f"index {report['index_seconds']} s (0 when reused), search {report['search_seconds']} s"]
    return "\n".join(lines)
