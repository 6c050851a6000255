"""Memory of a loaded index answering questions, per 100,000 passages, measured two ways, and what two processes
share of it.

    citebot index build                              # the seeds index (var/index), the baseline of (a)
    python -m benchmarks.performance.loaded_memory --index var/bbc-index --label bbc
    python -m benchmarks.performance.loaded_memory --index var/build-memory/index-10000 --embedder hash \\
        --config CONFIG_WITH_THE_HASH_MODEL

(a) `citebot chat`: the RSS of a `citebot chat --json` process that has answered one question from --index, minus
    that of one that answered the same question from --baseline (the seeds index: the same code and model), scaled
    by the passages; then two chat processes answer from --index at once, and their RSS and PSS (a page shared by
    two counts half in each one's PSS) are read while both run.
(b) The sum of the parts: a process loads the index as `citebot chat` does and answers --questions questions; the
    RSS of each of the index's files mapped into it (from /proc/self/smaps), plus the Python heap it holds, by the
    module that allocated it (tracemalloc, each allocation counted at the innermost citebot frame).
Also, as before, the RSS over the imports of a process answering --questions questions (no tracemalloc).
Each measurement is a fresh process. Writes benchmarks/results/loaded_memory.json (one entry per --label).
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
PARTS = (  # (where the allocation was made, the part it is counted in), first match wins
    ("index/store/passages.py", "passages: fields as arrays, offsets"),
    ("index/store/faiss/load.py", "sentences: spans as arrays"),
    ("index/store/protocol.py", "sentences: spans as arrays"),
    ("index/lexical.py", "BM25: vocabulary, words, passage terms"),
    ("retrieval/features.py", "second stage: word and term sets (bounded)"),
    ("retrieval/rerank.py", "second stage: word and term sets (bounded)"),
    ("retrieval/question.py", "second stage: word and term sets (bounded)"),
    ("retrieval/freshness.py", "sources: the check that they are unchanged"),
    ("index/ingest/texts.py", "sources: the check that they are unchanged"),
    ("index/store/faiss/manifest.py", "manifest"),
)


def _memory(pid: str | int = "self") -> dict[str, float]:
    """RSS, PSS, anonymous and file-backed pages of a process now, in MB."""
    found: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                found[{"VmRSS": "rss", "RssAnon": "anonymous", "RssFile": "file"}[key]] = int(rest.split()[0]) / 1024
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("Pss", "Shared_Clean", "Private_Clean", "Private_Dirty"):
                found[key.lower()] = int(rest.split()[0]) / 1024
    return {k: round(v, 1) for k, v in found.items()}


def _mapped_files(under: Path) -> dict[str, float]:
    """RSS in MB of each file under a folder mapped into this process."""
    found: dict[str, float] = {}
    name = None
    with open("/proc/self/smaps", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if fields and "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
                name = fields[5] if len(fields) >= 6 and fields[5].startswith(str(under)) else None
            elif name is not None and line.startswith("Rss:"):
                short = Path(name).relative_to(under).as_posix()
                found[short] = found.get(short, 0.0) + int(fields[1]) / 1024
    return {k: round(v, 2) for k, v in found.items() if v > 0}


def _engine(index: Path, embedder_kind: str, config: str | None):
    from citebot.config.settings import load_settings
    from citebot.retrieval.engine import Engine

    settings = load_settings(config).with_index(index.resolve())
    if embedder_kind == "hash":
        from citebot.index.embedding.hashed import HashEmbedder

        embedder = HashEmbedder(384)
    else:
        from citebot.index.embedding import make_embedder

        embedder = make_embedder(settings.embedding)
        embedder.encode_query("warm up")
    import bm25s  # noqa: F401  (imports are not the index)
    import faiss  # noqa: F401

    return lambda: Engine(settings, embedder=embedder)


def _part(traceback) -> str:
    for frame in reversed(traceback):  # most recent call last: the innermost citebot frame decides
        path = Path(frame.filename)
        if ROOT in path.parents and "benchmarks" not in path.parts:
            relative = path.relative_to(ROOT).as_posix()
            return next((part for where, part in PARTS if relative == where), "other (" + relative + ")")
    return "other (outside citebot)"


def child(index: Path, embedder_kind: str, questions: int, hold: float, parts: bool, config: str | None) -> dict:
    make = _engine(index, embedder_kind, config)
    steps = {"imports": _memory()}
    if parts:
        import tracemalloc

        tracemalloc.start(40)
    began = time.perf_counter()
    engine = make()
    steps["loaded"] = _memory()
    load_seconds = time.perf_counter() - began
    seconds = []
    for i in range(questions):
        began = time.perf_counter()
        engine.ask(QUESTIONS[i % len(QUESTIONS)])
        seconds.append(time.perf_counter() - began)
        if i == 0:
            steps["first answer"] = _memory()
    steps["last answer"] = _memory()
    time.sleep(hold)  # a twin process measures while this one still holds its pages
    steps["held"] = _memory()
    counts = engine.searcher.store.count()
    found = {"steps": steps, "passages": counts.passages, "sentences": counts.sentences,
             "load_seconds": round(load_seconds, 2), "search": engine.searcher.store.describe().get("search"),
             "ask_ms_p50": round(sorted(seconds)[len(seconds) // 2] * 1000, 1)}
    if parts:
        heap: dict[str, float] = {}
        for stat in tracemalloc.take_snapshot().statistics("traceback"):
            part = _part(stat.traceback)
            heap[part] = heap.get(part, 0.0) + stat.size / 2**20
        found["files_mb"] = _mapped_files(engine.stored.path.resolve())
        found["heap_mb"] = {k: round(v, 2) for k, v in sorted(heap.items(), key=lambda kv: -kv[1])}
    return found


def run_children(index: Path, embedder: str, questions: int, count: int, config: str | None,
                 parts: bool = False) -> list[dict]:
    argv = [sys.executable, "-m", "benchmarks.performance.loaded_memory", "--child", str(index), embedder,
            str(questions), "1" if parts else "0", config or ""]
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


def _chat(index: Path, config: str | None) -> subprocess.Popen:
    argv = [str(Path(sys.executable).with_name("citebot")), "chat", "--json", "--index", str(index)]
    return subprocess.Popen([*argv, *(["--config", config] if config else [])], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def chat_memory(indexes: list[Path], config: str | None, question: str) -> list[dict[str, float]]:
    """Start one `citebot chat` per index at once, ask each the question, read their memory while all run."""
    chats = [_chat(index, config) for index in indexes]
    try:
        for chat in chats:
            assert chat.stdin is not None and chat.stdout is not None
            chat.stdin.write(question + "\n")
            chat.stdin.flush()
            if "question" not in json.loads(chat.stdout.readline()):
                sys.exit("citebot chat did not answer")
        return [_memory(chat.pid) for chat in chats]
    finally:
        for chat in chats:
            chat.communicate(timeout=60)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        index, embedder, questions, parts, config, hold = sys.argv[2:8]
        print(json.dumps(child(Path(index), embedder, int(questions), float(hold), parts == "1", config or None)))
        return
    cli = parser(__doc__)
    cli.add_argument("--index", type=Path, required=True, help="the index folder to load")
    cli.add_argument("--baseline", type=Path, default=ROOT / "var" / "index",
                     help="the index (a)'s figure is taken over (default: var/index, the seeds' index)")
    cli.add_argument("--embedder", choices=("hash", "real"), default="real",
                     help="the model the index was built with: the real one or the hash test embedder")
    cli.add_argument("--config", help="settings file (default: config/default.toml), e.g. one naming the hash model "
                                      "or another [store] compressed_from")
    cli.add_argument("--questions", type=int, default=20, help="questions each process answers (default 20)")
    cli.add_argument("--label", default="", help="this measurement's name in the results file")
    cli.add_argument("--no-write", action="store_true", help="print only")
    args = cli.parse_args()
    if not (args.baseline / "current").exists():
        sys.exit(f"no index in {args.baseline}; build the seeds' index with: citebot index build")
    alone = run_children(args.index, args.embedder, args.questions, 1, args.config)[0]
    parts = run_children(args.index, args.embedder, args.questions, 1, args.config, parts=True)[0]
    pair = run_children(args.index, args.embedder, args.questions, 2, args.config)
    chat_index, chat_base = chat_memory([args.index, args.baseline], args.config, QUESTIONS[0])
    chat_pair = chat_memory([args.index, args.index], args.config, QUESTIONS[0])

    passages = alone["passages"]
    scale = 100_000 / passages if passages else float("nan")
    grown = alone["steps"]["last answer"]["rss"] - alone["steps"]["imports"]["rss"]
    chat_grown = chat_index["rss"] - chat_base["rss"]
    files, heap = parts["files_mb"], parts["heap_mb"]
    summed = sum(files.values()) + sum(heap.values())
    pss = [p["steps"]["held"]["pss"] - p["steps"]["imports"]["pss"] for p in pair]
    print(f"{args.index}: {passages:,} passages, {alone['sentences']:,} sentences; search {alone['search']}")
    print(f"(a) citebot chat after one answer: RSS {chat_index['rss']:.1f} MB (anonymous {chat_index['anonymous']:.1f},"
          f" file {chat_index['file']:.1f}); on {args.baseline}: {chat_base['rss']:.1f} MB; difference "
          f"{chat_grown:.1f} MB = {chat_grown * scale:.0f} MB per 100,000 passages")
    print(f"(b) the parts after {args.questions} answers: {summed:.1f} MB = {summed * scale:.0f} MB per 100,000")
    for name, mb in sorted({**{f"file {k}": v for k, v in files.items()}, **heap}.items(), key=lambda kv: -kv[1]):
        print(f"      {mb:7.2f} MB  {mb * scale:6.0f} per 100,000  {name}")
    for name, step in alone["steps"].items():
        print(f"  {name:13s} RSS {step['rss']:8.1f} MB  PSS {step['pss']:8.1f}  "
              f"anonymous {step['anonymous']:8.1f}  file {step['file']:8.1f}")
    print(f"  in-process, RSS over the imports after {args.questions} answers: {grown:.1f} MB = {grown * scale:.0f} "
          f"MB per 100,000 passages; ask p50 {alone['ask_ms_p50']} ms; load {alone['load_seconds']} s")
    print(f"  two processes at once: PSS over the imports {pss[0]:.1f} + {pss[1]:.1f} MB; two citebot chat: "
          + ", ".join(f"RSS {m['rss']:.1f} PSS {m['pss']:.1f}" for m in chat_pair))
    if not args.no_write:
        path = ROOT / "benchmarks" / "results" / "loaded_memory.json"
        results = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        results[args.label or str(args.index)] = {
            "index": str(args.index), "passages": passages, "sentences": alone["sentences"],
            "search": alone["search"], "questions": args.questions, "steps": alone["steps"],
            "index_mb": round(grown, 1), "per_100k_passages_mb": round(grown * scale, 1),
            "chat": {"index": chat_index, "baseline": chat_base, "baseline_index": str(args.baseline),
                     "index_mb": round(chat_grown, 1), "per_100k_passages_mb": round(chat_grown * scale, 1)},
            "parts": {"files_mb": files, "heap_mb": heap, "sum_mb": round(summed, 1),
                      "per_100k_passages_mb": round(summed * scale, 1)},
            "chat_pair": chat_pair, "ask_ms_p50": alone["ask_ms_p50"],
            "pair_pss_over_imports_mb": [round(v, 1) for v in pss], "python": sys.version.split()[0],
            "cores": os.cpu_count()}
        write_result("loaded_memory", results)


if __name__ == "__main__":
    main()
