"""Memory of a loaded index answering questions, per 100,000 passages, and what two processes share of it.

    python -m benchmarks.performance.loaded_memory --index var/build-memory/index-10000 --embedder hash
    python -m benchmarks.performance.loaded_memory --index var/bbc-index --embedder real --label bbc

Each measurement is a fresh process: it imports citebot, loads the index as `citebot chat` does (the Engine),
answers --questions questions, and reads its own /proc/self/status (RSS) and /proc/self/smaps_rollup (PSS,
private and shared pages) after the imports, after the load, after the first answer and after the last. A
second pair of processes answers at the same time to show what they share: with the vectors and BM25 mapped
from the index's files, their pages are counted once between them in PSS. The figure per 100,000 passages is
(RSS after the last answer - RSS after the imports) scaled by the index's passages. An index built with the
hash test embedder (build_memory.py writes one) is loaded with --embedder hash.
Writes benchmarks/results/loaded_memory.json (one entry per --label).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import ROOT, parser, write_result

QUESTIONS = ["What did the minister say about the budget?", "Who won the match on Saturday?",
             "How many jobs will be cut?", "When does the new law come into force?",
             "Why did the shares fall?", "What did the report find about schools?"]


def _memory() -> dict[str, float]:
    """RSS, PSS and private/shared pages of this process now, in MB."""
    found: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                found["rss"] = int(line.split()[1]) / 1024
    with open("/proc/self/smaps_rollup", encoding="ascii") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("Pss", "Shared_Clean", "Private_Clean", "Private_Dirty", "Anonymous"):
                found[key.lower()] = int(rest.split()[0]) / 1024
    return {k: round(v, 1) for k, v in found.items()}


def child(index: Path, embedder_kind: str, questions: int, hold: float) -> dict:
    from citebot.config.settings import load_settings
    from citebot.retrieval.engine import Engine

    settings = load_settings().with_index(index.resolve())
    embedder = None
    if embedder_kind == "hash":
        from citebot.index.embedding.hashed import HashEmbedder

        embedder = HashEmbedder(384)
    else:
        from citebot.index.embedding import make_embedder

        embedder = make_embedder(settings.embedding)
        embedder.encode_query("warm up")
    import bm25s  # noqa: F401  (imports are not the index)
    import faiss  # noqa: F401

    steps = {"imports": _memory()}
    began = time.perf_counter()
    engine = Engine(settings, embedder=embedder)
    steps["loaded"] = _memory()
    load_seconds = time.perf_counter() - began
    asked = [QUESTIONS[i % len(QUESTIONS)] for i in range(questions)]
    seconds = []
    for i, question in enumerate(asked):
        began = time.perf_counter()
        engine.ask(question)
        seconds.append(time.perf_counter() - began)
        if i == 0:
            steps["first answer"] = _memory()
    steps["last answer"] = _memory()
    time.sleep(hold)  # a twin process measures while this one still holds its pages
    steps["held"] = _memory()
    counts = engine.searcher.store.count()
    return {"steps": steps, "passages": counts.passages, "sentences": counts.sentences,
            "load_seconds": round(load_seconds, 2), "search": engine.searcher.store.describe().get("search"),
            "ask_ms_p50": round(sorted(seconds)[len(seconds) // 2] * 1000, 1)}


def run_children(index: Path, embedder: str, questions: int, count: int) -> list[dict]:
    argv = [sys.executable, "-m", "benchmarks.performance.loaded_memory", "--child", str(index), embedder,
            str(questions)]
    started = []
    for i in range(count):
        hold = 8.0 if count > 1 and i == 0 else 0.0
        started.append(subprocess.Popen([*argv, str(hold)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True))
        if count > 1 and i == 0:
            time.sleep(4.0)  # the first has loaded before the second maps the same files
    found = []
    for process in started:
        out, err = process.communicate()
        if process.returncode != 0:
            sys.exit(f"a measuring process failed:\n{err[-3000:]}")
        found.append(json.loads(out.strip().splitlines()[-1]))
    return found


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        index, embedder, questions, hold = sys.argv[2:6]
        print(json.dumps(child(Path(index), embedder, int(questions), float(hold))))
        return
    cli = parser(__doc__)
    cli.add_argument("--index", type=Path, required=True, help="the index folder to load")
    cli.add_argument("--embedder", choices=("hash", "real"), default="real",
                     help="the model the index was built with: the real one or the hash test embedder")
    cli.add_argument("--questions", type=int, default=20, help="questions each process answers (default 20)")
    cli.add_argument("--label", default="", help="this measurement's name in the results file")
    cli.add_argument("--no-write", action="store_true", help="print only")
    args = cli.parse_args()
    alone = run_children(args.index, args.embedder, args.questions, 1)[0]
    pair = run_children(args.index, args.embedder, args.questions, 2)
    passages = alone["passages"]
    grown = alone["steps"]["last answer"]["rss"] - alone["steps"]["imports"]["rss"]
    per_100k = round(grown * 100_000 / passages, 1) if passages else float("nan")
    pss = [p["steps"]["held"]["pss"] - p["steps"]["imports"]["pss"] for p in pair]
    print(f"{args.index}: {passages:,} passages, {alone['sentences']:,} sentences; search {alone['search']}")
    for name, step in alone["steps"].items():
        print(f"  {name:13s} RSS {step['rss']:8.1f} MB  PSS {step['pss']:8.1f}  "
              f"anonymous {step.get('anonymous', 0):8.1f}  shared {step.get('shared_clean', 0):8.1f}")
    print(f"  index in memory after {args.questions} answers: {grown:.1f} MB = {per_100k:.1f} MB per 100,000 "
          f"passages; ask p50 {alone['ask_ms_p50']} ms; load {alone['load_seconds']} s")
    print(f"  two processes at once: PSS over the imports {pss[0]:.1f} + {pss[1]:.1f} MB "
          f"(each alone: {alone['steps']['last answer']['pss'] - alone['steps']['imports']['pss']:.1f})")
    if not args.no_write:
        path = ROOT / "benchmarks" / "results" / "loaded_memory.json"
        results = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        results[args.label or str(args.index)] = {
            "index": str(args.index), "passages": passages, "sentences": alone["sentences"],
            "search": alone["search"], "questions": args.questions, "steps": alone["steps"],
            "index_mb": round(grown, 1), "per_100k_passages_mb": per_100k, "ask_ms_p50": alone["ask_ms_p50"],
            "pair_pss_over_imports_mb": [round(v, 1) for v in pss], "python": sys.version.split()[0],
            "cores": os.cpu_count()}
        write_result("loaded_memory", results)


if __name__ == "__main__":
    main()
