"""An archive end to end: a generated folder built with `citebot index build`, killed during the build and
resumed, then loaded and asked. Build time, texts embedded again after the kill, loaded RSS, warm ask p50/p95.

    nice -n 10 python -m benchmarks.performance.archive_scale                      # 100,000 articles (~40 min)
    python -m benchmarks.performance.archive_scale --articles 2000 --kill-after 8  # a quick look

The folder is build_memory.py's (var/build-memory/articles-N: seeded news-like articles of 300 to 800 words,
Zipf words, 3% wire sentences repeated across articles). The index goes to var/archive/index-N, built with the
hash test embedder (`[embedding] model = "hash"`: 1,024-d, 2.7 times the real model's 384, so its vector files
and their scans are that much larger than a real archive's; `--width 384` builds with "hash-384", the real
model's width, into var/archive/index-N-384; no meaning, so the figures are of the machinery:
the real model embeds about 100 texts a second on 2 cores, see docs/performance.md) and the default settings
otherwise, so the search an index of this size gets is the one a user's would get.

1. A build is started as a user starts it and SIGKILLed after --kill-after seconds (its process group).
2. The same command again, to the end: its wall time and peak RSS, and how many texts it embedded and reused
   (the build's last line). Texts embedded by the killed build and embedded again here were lost to the kill.
3. A fresh process loads the index as `citebot chat` does and asks --questions questions (sentences of the
   archive's articles, so every one has matching passages), timing each and its time in the store's vector
   searches and BM25 (the rest: the second stage, the answer, checking the sources); the first ten warm it up.
   RSS and the split of its pages (anonymous vs mapped from the index's files) after the last answer.
Writes benchmarks/results/archive_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, command, parser, result_file, write_result
from benchmarks.performance.build_memory import ensure_folder
from citebot.index.embedding.hashed import DEFAULT_DIMENSION, HashEmbedder

WORK = ROOT / "var" / "archive"
WARM_UP = 10
LAST_LINE = re.compile(r"Indexed (\d+) article\(s\) as (\d+) passages in ([\d.]+) s; .*?(\d+) texts embedded, "
                       r"(\d+) reused")


def _config(store: list[str], width: int) -> Path:
    """hash.toml: the hash test embedder of this width, and the [store] settings given as KEY=VALUE (TOML values)."""
    WORK.mkdir(parents=True, exist_ok=True)
    model = HashEmbedder(width).name
    config = WORK / f"{model}.toml"
    text = f'[embedding]\nmodel = "{model}"\n'
    if store:
        text += "[store]\n" + "".join(f"{setting.partition('=')[0]} = {setting.partition('=')[2]}\n"
                                      for setting in store)
    config.write_text(text, encoding="utf-8")
    return config


def _build_command(folder: Path, index: Path, config: Path) -> list[str]:
    return [sys.executable, "-m", "citebot.bot.cli", "index", "build", "--sources", str(folder), "--index",
            str(index), "--config", str(config)]


def killed_build(folder: Path, index: Path, config: Path, after: float) -> dict:
    """Start a build and SIGKILL it after `after` seconds (or let it end first)."""
    log = (WORK / "killed-build.log").open("w")
    began = time.perf_counter()
    process = subprocess.Popen(_build_command(folder, index, config), cwd=ROOT, stdout=log, stderr=log,
                               start_new_session=True)
    try:
        process.wait(timeout=after)
        return {"killed": False, "seconds": round(time.perf_counter() - began, 1)}
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return {"killed": True, "seconds": round(time.perf_counter() - began, 1)}


def full_build(folder: Path, index: Path, config: Path) -> dict:
    """Run the build to its end: wall time, peak RSS (wait4) and the counts from its last line (on stderr)."""
    began = time.perf_counter()
    with (WORK / "build.log").open("w") as log:
        process = subprocess.Popen(_build_command(folder, index, config), cwd=ROOT, stdout=log, stderr=log)
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"the build failed ({os.waitstatus_to_exitcode(status)}); see {WORK / 'build.log'}")
    out = (WORK / "build.log").read_text(encoding="utf-8", errors="replace")
    found = LAST_LINE.search(out)
    if found is None:
        sys.exit(f"no 'Indexed ...' line in the build's output: {out[-500:]!r}")
    articles, passages, seconds, embedded, reused = found.groups()
    resumed = [line for line in out.splitlines() if "resum" in line.lower()]
    return {"wall_seconds": round(time.perf_counter() - began, 1), "reported_seconds": float(seconds),
            "articles": int(articles), "passages": int(passages), "embedded": int(embedded),
            "reused": int(reused), "resume_lines": resumed[:3], "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1)}


def _questions(folder: Path, count: int) -> list[str]:
    """A sentence from each of count articles picked at random (seeded)."""
    files = sorted(folder.glob("*.txt"))
    rng = np.random.default_rng(7)
    asked = []
    for at in rng.choice(len(files), size=count, replace=False):
        paragraphs = files[at].read_text(encoding="utf-8").split("\n\n")[1:]
        sentence = paragraphs[int(rng.integers(len(paragraphs)))].split(". ")[0]
        asked.append(" ".join(sentence.split()[:14]).rstrip(".") + "?")
    return asked


def child_ask(index: Path, config: Path, folder: Path, count: int) -> dict:
    from benchmarks.performance.loaded_memory import _memory
    from citebot.config.settings import load_settings
    from citebot.retrieval.engine import Engine

    settings = load_settings(config).with_index(index.resolve())
    import bm25s  # noqa: F401  (imports are not the index)
    import faiss  # noqa: F401

    questions = _questions(folder, count + WARM_UP)
    before = _memory()
    began = time.perf_counter()
    engine = Engine(settings)
    load_seconds = time.perf_counter() - began
    loaded = _memory()
    spent = _timed_parts(engine.searcher.store)
    seconds, parts = [], []
    for question in questions:
        spent.clear()
        began = time.perf_counter()
        engine.ask(question)
        seconds.append(time.perf_counter() - began)
        parts.append((spent["vectors"], spent["bm25"], seconds[-1] - spent["vectors"] - spent["bm25"]))
    after = _memory()
    warm = sorted(seconds[WARM_UP:])
    split = np.median(np.array(parts[WARM_UP:]), axis=0) * 1000
    counts = engine.searcher.store.count()
    return {"passages": counts.passages, "sentences": counts.sentences, "load_seconds": round(load_seconds, 1),
            "search": engine.searcher.store.describe().get("search"),
            "memory_mb": {"imports": before, "loaded": loaded, "after_questions": after},
            "ask_ms": {"first": round(seconds[0] * 1000, 1), "p50": round(warm[len(warm) // 2] * 1000, 1),
                       "p95": round(warm[int(len(warm) * 0.95)] * 1000, 1), "questions": len(warm)},
            "ask_parts_ms_p50": dict(zip(("vectors", "bm25", "rest"), np.round(split, 1).tolist(), strict=True))}


def _timed_parts(store) -> dict[str, float]:
    """Wrap the store's calls so each ask's time in the vector search and in BM25 adds up in the returned dict."""
    spent: dict[str, float] = defaultdict(float)
    parts = {"vectors": ("search_passages", "search_sentences", "passage_scores", "sentence_scores",
                         "passage_vectors", "sentence_vectors"), "bm25": ("lexical_search", "lexical_scores")}

    def timer(call, part: str):
        def timed(*args):
            began = time.perf_counter()
            try:
                return call(*args)
            finally:
                spent[part] += time.perf_counter() - began
        return timed

    for part, names in parts.items():
        for name in names:
            setattr(store, name, timer(getattr(store, name), part))
    return spent


def main() -> None:
    args = _arguments()
    if args.child:
        print(json.dumps(child_ask(Path(args.child[0]), Path(args.child[1]), Path(args.child[2]), args.questions)))
        return
    folder = ensure_folder(args.articles)
    config = _config(args.store, args.width)
    index = WORK / (f"index-{args.articles}" if args.width == DEFAULT_DIMENSION
                    else f"index-{args.articles}-{args.width}")
    report: dict = {"command": command(), "articles": args.articles, "store_settings": args.store,
                    "embedder": f"hash test embedder ({args.width:,}-d; the real model is 384-d)"}
    if args.reuse:  # ask the index the last run built again; its build figures are kept
        report = {**json.loads(result_file(args.result).read_text(encoding="utf-8")), "asked_again_by": command()}
    else:
        shutil.rmtree(index, ignore_errors=True)
        if args.kill_after > 0:
            report["killed_build"] = killed_build(folder, index, config, args.kill_after)
            print(f"killed build: {report['killed_build']}", file=sys.stderr)
        resumed = full_build(folder, index, config)
        report["build_after_kill" if args.kill_after > 0 else "build"] = resumed
        print(f"build: {resumed}", file=sys.stderr)
    asked = subprocess.run([sys.executable, "-m", "benchmarks.performance.archive_scale", "--questions",
                            str(args.questions), "--child", str(index), str(config), str(folder)],
                           cwd=ROOT, capture_output=True, text=True)
    if asked.returncode != 0:
        sys.exit(f"asking failed:\n{asked.stderr[-3000:]}")
    report["asked"] = json.loads(asked.stdout)
    print(json.dumps(report, indent=1))
    if not args.no_write:
        write_result(args.result, report)


def _arguments():
    p = parser(__doc__)
    p.add_argument("--articles", type=int, default=100_000, help="articles in the generated archive")
    p.add_argument("--kill-after", type=float, default=300.0,
                   help="seconds after which the first build is killed (0: no kill, one plain build)")
    p.add_argument("--questions", type=int, default=100, help="questions timed after the warm-up")
    p.add_argument("--no-write", action="store_true", help="print only; do not write the results file")
    p.add_argument("--store", action="append", default=[], metavar="KEY=VALUE",
                   help="a [store] setting for the build and the asks, e.g. approximate_from=100000 (repeatable)")
    p.add_argument("--width", type=int, default=DEFAULT_DIMENSION,
                   help="the hash test embedder's dimensions (384: the real model's; default %(default)s)")
    p.add_argument("--result", default="archive_scale", help="results file name under benchmarks/results")
    p.add_argument("--reuse", action="store_true",
                   help="build nothing: ask the index the last run of this --result built (after a code change)")
    p.add_argument("--child", nargs=3, metavar=("INDEX", "CONFIG", "FOLDER"), help=argparse.SUPPRESS)
    return p.parse_args()


if __name__ == "__main__":
    main()
