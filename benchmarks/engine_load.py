"""Engine load time on an index, with its saved BM25 and with BM25 built at load (what engines did before it
was saved), then the first question and warm `ask` latency.

    python benchmarks/engine_load.py --index var/bbc-index                      # the BBC index
    python benchmarks/engine_load.py --index var/bbc-index --questions ../shared/eval/news_dev.jsonl

Each mode runs in fresh processes (imports done before the clock starts; the median of --runs is kept).
"Engine load" is `Engine(settings)`: reading and checking the index files, the searcher, the second stage.
Prints a table and writes benchmarks/results/engine_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "engine_load.json"

CHILD = r"""
import json, statistics, sys, time
from dataclasses import replace
from pathlib import Path
import citebot.index.store.faiss.location as faiss_store
from citebot.index.embedding import make_embedder
from citebot.config.settings import load_settings
from citebot.retrieval import engine as engine_module

index_dir, mode, questions = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
settings = load_settings()
settings = replace(settings, paths=replace(settings.paths, index=index_dir.resolve()))
if mode == "bm25-at-load":  # the build's saved BM25 ignored, as if the build had none
    load = faiss_store.load_index
    faiss_store.load_index = lambda *a, **k: replace(load(*a, **k), lexical=None)
embedder = make_embedder(settings.embedding)
embedder.encode_query("warm up")
import bm25s  # imports, not loading, are the cold-start benchmark's business
began = time.perf_counter()
engine = engine_module.Engine(settings, embedder=embedder)
loaded = time.perf_counter() - began
began = time.perf_counter()
engine.ask(questions[0])
first = time.perf_counter() - began
warm = []
for question in questions[1:]:
    began = time.perf_counter()
    engine.ask(question)
    warm.append(time.perf_counter() - began)
print(json.dumps({"load": loaded, "first": first, "warm": warm}))
"""


def questions_from(path: Path | None, count: int) -> list[str]:
    if path is None:
        return ["What did the chancellor say about growth?"] * count
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["turns"][0] for row in lines if row.get("category") != "unanswerable"][:count]


def run(index: Path, mode: str, questions: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(index), mode, json.dumps(questions)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="an index folder (built with saved BM25)")
    parser.add_argument("--questions", type=Path, help="a JSONL question set for the warm latency (default: one)")
    parser.add_argument("--count", type=int, default=101, help="questions asked per run (the first is 'first')")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    questions = questions_from(args.questions, args.count)
    rows = []
    for mode in ("saved-bm25", "bm25-at-load"):
        runs = [run(args.index, mode, questions) for _ in range(args.runs)]
        warm = sorted(t for r in runs for t in r["warm"])
        row = {"mode": mode, "engine_load_s": round(statistics.median(r["load"] for r in runs), 2),
               "loads_s": [round(r["load"], 2) for r in runs],
               "first_question_s": round(statistics.median(r["first"] for r in runs), 3),
               "warm_ask_p50_ms": round(1000 * warm[len(warm) // 2], 1) if warm else None,
               "warm_ask_p95_ms": round(1000 * warm[int(len(warm) * 0.95)], 1) if warm else None,
               "questions_timed": len(warm)}
        rows.append(row)
        print(f"{mode:13} engine load {row['engine_load_s']:5.2f} s (runs {row['loads_s']})  first question "
              f"{row['first_question_s']:.3f} s  warm ask p50 {row['warm_ask_p50_ms']} ms  p95 "
              f"{row['warm_ask_p95_ms']} ms", flush=True)
    manifest = json.loads((args.index / "current" / "manifest.json").read_text(encoding="utf-8"))
    result = {"index": str(args.index), "chunks": manifest["chunk_count"], "articles": len(manifest["sources"]),
              "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
              "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
