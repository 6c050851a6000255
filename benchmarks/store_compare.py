"""The BBC folder in both stores, side by side: build time, disk size, query p50/p95, hit@1 on the news dev set,
and whether every citation is the same as the FAISS path's.

    nice -n 10 python benchmarks/store_compare.py            # after benchmarks/news_eval.py made var/bbc-index

Stores compared, each answering all 270 news dev questions through `Engine.ask` (earlier turns of follow-ups
replayed, as `citebot eval` does):
  faiss          the index folder var/bbc-index (the default path)
  milvus         Milvus Lite (var/bbc-milvus.db): dense and sentence search in Milvus, BM25 from bm25s, the
                 project's fusion (the [store] lexical = "bm25s" default)
  milvus-bm25    the same with the BM25 ranking from Milvus's own BM25 function ([store] lexical = "milvus")
  milvus-hybrid  the first-stage fusion from Milvus's hybrid_search (dense + its BM25, RRFRanker(rrf_k)) instead of
                 the project's (measured here only: hybrid_search fuses fields of one collection, so the
                 best-sentence ranking, a search of the sentences collection, cannot take part, and RRFRanker
                 weighs both rankings alike)
The Milvus build reuses the FAISS index's vectors (no text is embedded again); the FAISS figure beside it is an
unchanged rebuild of var/bbc-index into a copy, which reuses every vector too, so both time the same work.
Latency is the wall time of each `Engine.ask` call (question embedding included), on 2 shared cores.
Writes benchmarks/results/store_compare.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from citebot.config.errors import CitebotError  # noqa: E402
from citebot.config.settings import Settings, load_settings  # noqa: E402
from citebot.index.build import build_index, build_store, source_changes  # noqa: E402
from citebot.retrieval.engine import Engine  # noqa: E402
from citebot.retrieval.evaluation.golden import evaluate_golden  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
FOLDER = Path("var/bbc")
INDEX = Path("var/bbc-index")
MILVUS = Path("var/bbc-milvus.db")
RESULT = ROOT / "benchmarks" / "results" / "store_compare.json"


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def milvus_settings(settings: Settings, lexical: str) -> Settings:
    from dataclasses import replace

    return replace(settings, store=replace(settings.store, kind="milvus", uri=str(ROOT / MILVUS),
                                           collection="bbc", lexical=lexical))


def build_milvus(settings: Settings, rebuild: bool) -> dict[str, Any]:
    """Build var/bbc into Milvus Lite (reusing the FAISS index's vectors) unless an up-to-date build is there."""
    from citebot.index.store import store_location

    location = store_location(settings)
    if not rebuild:
        try:
            manifest = location.read_manifest()
            if not source_changes(manifest, FOLDER.resolve(), settings.ingest):
                print("Milvus build up to date; not rebuilt (--rebuild to time it)", file=sys.stderr)
                last = json.loads(RESULT.read_text(encoding="utf-8")) if RESULT.is_file() else {}
                timed = last.get("stores", {}).get("milvus", {}).get("build", {})
                return {**timed, "rebuilt": False, "timed_by": last.get("built_by", last.get("command", "not timed"))}
        except CitebotError:
            pass
    if rebuild:
        shutil.rmtree(MILVUS, ignore_errors=True)  # a first build: its vectors come from the FAISS index
    began = time.perf_counter()
    report = build_store(FOLDER, settings, progress=True)
    return {"rebuilt": True, "build_s": round(time.perf_counter() - began, 1), "embedded": report.embedded,
            "reused": report.reused}


def build_faiss_copy(settings: Settings) -> dict[str, Any]:
    """An unchanged rebuild of var/bbc-index into a copy: every vector reused, as the Milvus build above."""
    copy = Path("var/bbc-index-rebuild")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(INDEX, copy, symlinks=True)
    (copy / ".lock").unlink(missing_ok=True)
    began = time.perf_counter()
    report = build_index(FOLDER, copy, settings.with_index(copy), progress=True)
    seconds = time.perf_counter() - began
    shutil.rmtree(copy, ignore_errors=True)
    return {"build_s": round(seconds, 1), "embedded": report.embedded, "reused": report.reused}


def use_hybrid_search(engine: Engine) -> None:
    """Replace the first stage's fusion by Milvus's hybrid_search over the passages collection."""
    from pymilvus import AnnSearchRequest, RRFRanker

    from citebot.retrieval.search import Hit

    searcher = engine.searcher
    store: Any = searcher.store
    r = searcher.settings

    def rank(query: str, query_vector: Any = None, sentence_scores: Any = None) -> Any:
        if query_vector is None:
            query_vector = searcher.embed_query(query)
        signals = searcher.signals(query, query_vector, sentence_scores)
        vector = np.asarray(query_vector, dtype=np.float32).tolist()
        requests = [AnnSearchRequest([vector], "vector", {"metric_type": "IP"}, limit=r.candidates)]
        if store._terms(query):
            requests.append(AnnSearchRequest([query], "sparse", {"metric_type": "BM25"}, limit=r.candidates))
        found = store.client.hybrid_search(store.passages, requests, ranker=RRFRanker(r.rrf_k),
                                           limit=2 * r.candidates, output_fields=["row"])
        fused = {int(h["row"]): float(h["distance"]) for h in found[0]}
        rows = list(fused)
        dense = dict(zip(rows, signals.dense[rows], strict=True)) if rows else {}
        best = dict(zip(rows, signals.best_sentence[rows], strict=True)) if rows else {}
        order = sorted(fused, key=lambda row: (-fused[row], -dense[row], row))
        return [Hit(row, fused[row], float(dense[row]), float(best[row])) for row in order], signals

    searcher.rank = rank  # type: ignore[method-assign]


def run(settings: Settings, questions: Path, hybrid: bool = False) -> tuple[dict[str, Any], list[Any], list[float]]:
    """The news dev report, every ask's JSON result in order, and the seconds of each ask."""
    began = time.perf_counter()
    engine = Engine(settings)
    load = time.perf_counter() - began
    if hybrid:
        use_hybrid_search(engine)
    results: list[Any] = []
    took: list[float] = []
    ask = engine.ask

    def timed_ask(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        result = ask(*args, **kwargs)
        took.append(time.perf_counter() - began)
        results.append(result.to_json())
        return result

    engine.ask = timed_ask  # type: ignore[method-assign]
    report = evaluate_golden(engine, questions)
    report["load_s"] = round(load, 1)
    return report, results, took


def citations(result: dict[str, Any]) -> Any:
    """What a reader is shown as evidence: the answer and every passage's citation and text, in order."""
    def passage(p: dict[str, Any]) -> Any:
        return (p["text"], p["citation"], [(q["text"], q["citation"]) for q in p.get("also_in", [])])

    return result.get("answer"), [passage(p) for p in result["passages"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", default=str(SHARED / "news_dev.jsonl"))
    parser.add_argument("--rebuild", action="store_true", help="build the Milvus store again, from scratch")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--only", help="comma-separated variants to run (faiss always runs: it is the reference)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    os.chdir(ROOT)  # sources are cited relative to the folder the index was built in
    settings = load_settings().with_index(INDEX)
    report: dict[str, Any] = {"questions": args.questions, "stores": {}}
    if args.only and RESULT.is_file():  # the variants not run keep their last figures (each row says its command)
        report["stores"] = json.loads(RESULT.read_text(encoding="utf-8"))["stores"]
    builds = {"milvus": build_milvus(milvus_settings(settings, "bm25s"), args.rebuild)}
    builds["faiss"] = build_faiss_copy(settings) if builds["milvus"].get("rebuilt") else {
        **json.loads(RESULT.read_text(encoding="utf-8"))["stores"]["faiss"]["build"], "rebuilt": False}
    disk = {"faiss": size_of(INDEX.resolve() / os.readlink(INDEX / "current")), "milvus": size_of(MILVUS)}
    variants = {"faiss": settings, "milvus": milvus_settings(settings, "bm25s"),
                "milvus-bm25": milvus_settings(settings, "milvus"),
                "milvus-hybrid": milvus_settings(settings, "milvus")}
    if args.only:
        keep = {"faiss", *args.only.split(",")}
        variants = {k: v for k, v in variants.items() if k in keep}
    reference: list[Any] = []
    for name, variant in variants.items():
        print(f"-- {name}", file=sys.stderr, flush=True)
        result, answers, took = run(variant, Path(args.questions), hybrid=name == "milvus-hybrid")
        if name == "faiss":
            reference = answers
        same = sum(citations(a) == citations(b) for a, b in zip(answers, reference, strict=True))
        store = "faiss" if name == "faiss" else "milvus"
        ms = np.array(took) * 1000
        row = {
            "hit@1": {k: v["hit@1"] for k, v in result["categories"].items()} | {
                "answerable": result["answerable"]["hit@1"]},
            "answer_accuracy": result["answer_accuracy"], "abstention_accuracy": result["abstention"]["accuracy"],
            "non_verbatim_citations": result["non_verbatim_citations"],
            "asks": len(answers), "same_citations_as_faiss": same,
            "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "load_s": result["load_s"], "build": builds.get(name, "as milvus"), "disk_mb": round(disk[store] / 1e6, 1),
            "command": "nice -n 10 python benchmarks/store_compare.py " + " ".join(sys.argv[1:]),
        }
        report["stores"][name] = row
        print(json.dumps({name: row}), flush=True)
    report["command"] = "nice -n 10 python benchmarks/store_compare.py " + " ".join(sys.argv[1:])
    report["built_by"] = report["command"] if builds["milvus"].get("rebuilt") else builds["milvus"].get("timed_by")
    if not args.no_save:
        RESULT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
