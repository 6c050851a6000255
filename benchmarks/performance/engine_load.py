"""Engine load time on an index, with its saved BM25 and with BM25 built at load (what engines did before it
was saved), then the first question and warm `ask` latency.

    python -m benchmarks.performance.engine_load --index var/bbc-index            # the BBC index
    python -m benchmarks.performance.engine_load --index var/bbc-index --questions ../shared/eval/news_dev.jsonl

Each mode runs in fresh processes (imports done before the clock starts; the median of --runs is kept).
"Engine load" is `Engine(settings)`: reading and checking the index files, the searcher, the second stage.
BM25 at load is measured on a build without its saved BM25, as builds were before they saved one: a temporary
index whose build links every file of the index's current build but the BM25 ones, with a manifest that does not
list them (FAISS indexes only). Prints a table and writes benchmarks/results/engine_load.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, parser, write_result
from citebot.index.lexical import ARTICLE_TERMS, LEXICAL_FILES
from citebot.index.store.faiss.layout import MANIFEST

CHILD = r"""
import json, sys, time
from pathlib import Path
from citebot.index.embedding import make_embedder
from citebot.config.settings import load_settings
from citebot.retrieval.engine import Engine

index_dir, questions = Path(sys.argv[1]), json.loads(sys.argv[2])
settings = load_settings().with_index(index_dir.resolve())
embedder = make_embedder(settings.embedding)
embedder.encode_query("warm up")
import bm25s  # imports, not loading, are the cold-start benchmark's business
began = time.perf_counter()
engine = Engine(settings, embedder=embedder)
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


def without_saved_bm25(index: Path, target: Path) -> Path:
    """An index at target whose one build is the index's current build without its saved BM25: the other files
    linked, the manifest rewritten without the BM25 files and recipe (an engine over it builds BM25 at load)."""
    build = (index / "current").resolve()
    manifest = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    saved = {*LEXICAL_FILES, ARTICLE_TERMS}
    copy = target / build.name
    for name in manifest["files"]:
        if name not in saved:
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            (copy / name).symlink_to(build / name)
    manifest.pop("lexical", None)
    manifest["files"] = {name: digest for name, digest in manifest["files"].items() if name not in saved}
    (copy / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    (target / "current").symlink_to(build.name)
    return target


def questions_from(path: Path | None, count: int) -> list[str]:
    if path is None:
        return ["What did the chancellor say about growth?"] * count
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["turns"][0] for row in lines if row.get("category") != "unanswerable"][:count]


def run(index: Path, mode: str, questions: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(index), json.dumps(questions)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--index", type=Path, required=True, help="a FAISS index folder (built with saved BM25)")
    cli.add_argument("--questions", type=Path, help="a JSONL question set for the warm latency (default: one)")
    cli.add_argument("--count", type=int, default=101, help="questions asked per run (the first is 'first')")
    cli.add_argument("--runs", type=int, default=3)
    args = cli.parse_args()
    questions = questions_from(args.questions, args.count)
    rows = []
    with tempfile.TemporaryDirectory(prefix="citebot-engine-load-") as tmp:
        indexes = {"saved-bm25": args.index, "bm25-at-load": without_saved_bm25(args.index, Path(tmp) / "index")}
        measured = {mode: [run(index, mode, questions) for _ in range(args.runs)] for mode, index in indexes.items()}
    for mode, runs in measured.items():
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
    write_result("engine_load", result)


if __name__ == "__main__":
    main()
