"""Build memory against corpus size: peak RSS of a build of generated article folders, and the RSS of the loaded
index per 100,000 passages, broken down (vectors, BM25, chunk texts, the rest).

    nice -n 10 python -m benchmarks.performance.build_memory                      # 10,000 and 100,000 articles
    python -m benchmarks.performance.build_memory --articles 1000,10000 --no-write  # a quick look

The folders are generated (seeded, the same every run) under var/build-memory/: news-like articles of 300 to 800
words in paragraphs of one to three sentences (sentence lengths lognormal around 21 words), words drawn from a
Zipf law over 200,000 word forms (cl100k_base's words, then compounds of two; so BM25's vocabulary grows with the
corpus as a real one does, and a word costs about a real word's tokens) with 3%
of sentences taken from a pool of 2,000 stock sentences (wire copy repeated across articles: the build's
dedupe has work to do). The first N articles of every size are the same articles.

Each build is `build_index` with the default settings and the hash test embedder at 384 dimensions (the real
model's width; its vectors have no meaning but take the same room), run in a child process of its own: its
peak RSS is ru_maxrss from wait4(), with its wall and CPU time. Each built index is then loaded twice, each time
in a fresh process: once as `citebot ask` loads it (Engine: every file checked, the searcher, the second
stage), once part by part (RSS after each part) for the breakdown; only folders up to --load-max articles are
loaded (the loaded RSS grows with the passages, stated per 100,000 of them). Prints a table; writes
benchmarks/results/build_memory.json.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, command, parser, write_result

FOLDERS = ROOT / "var" / "build-memory"
DIMENSION = 384
VOCABULARY = 200_000
STOCK = 2_000
SEED = 2026
COMMON = ("the of and to a in that is for on was with he it as at by said his be from has have are an not but "
          "had they were this its who been will would their which after more one also up two about over year there "
          "new when than she her out into last first can could all other people we government some told years "
          "before just only now three time them what being our so while any because if many most through under "
          "between under against since no week former home while during back police minister").split()


# --- the generated corpus ---------------------------------------------------------------------------------------

def _words(rng: np.random.Generator) -> list[str]:
    """The Zipf ranks: COMMON, then the words of cl100k_base (one token each, in its order: roughly by frequency),
    then compounds of two of them, each distinct (made-up word forms would cost several tokens each and cut
    articles into twice a real article's passages)."""
    from citebot.index.tokens import encoding

    tokens = encoding()
    seen = set(COMMON)
    out = list(COMMON)
    for token in range(tokens.n_vocab):
        try:
            word = tokens.decode_single_token_bytes(token)
        except KeyError:
            continue
        if re.fullmatch(rb" [a-z]{3,}", word) and word[1:].decode() not in seen:
            seen.add(word[1:].decode())
            out.append(word[1:].decode())
    single = len(out)
    while len(out) < VOCABULARY:
        word = out[rng.integers(single)] + out[rng.integers(5000)]
        if word not in seen:
            seen.add(word)
            out.append(word)
    return out


class Generator:
    """Article i of the generated corpus, the same in every folder and every run."""

    def __init__(self, seed: int = SEED) -> None:
        rng = np.random.default_rng(seed)
        self.seed = seed
        self.words = np.array(_words(rng), dtype=object)
        ranks = np.arange(1, VOCABULARY + 1, dtype=np.float64)
        weights = 1.0 / (ranks + 2.7) ** 1.05  # Zipf-Mandelbrot, about a news corpus's shape
        self.cdf = np.cumsum(weights) / weights.sum()
        self.stock = [self._sentence(rng, None) for _ in range(STOCK)]

    def _sentence(self, rng: np.random.Generator, stock: list[str] | None) -> str:
        if stock is not None and rng.random() < 0.03:
            return stock[rng.integers(len(stock))]
        length = int(np.clip(rng.lognormal(3.0, 0.4), 5, 50))
        words = list(self.words[np.searchsorted(self.cdf, rng.random(length))])
        for at in rng.integers(1, length, size=rng.integers(0, 3)):  # a name or two
            words[at] = words[at].capitalize()
        for at in rng.integers(2, length, size=rng.integers(0, 2)):  # a clause
            words[at - 1] += ","
        words[0] = words[0].capitalize()
        return " ".join(words).rstrip(",") + "."

    def article(self, number: int) -> str:
        rng = np.random.default_rng((self.seed, number))
        title = " ".join(w.capitalize() for w in self.words[np.searchsorted(self.cdf, rng.random(rng.integers(4, 10)))])
        target = int(rng.integers(300, 801))
        paragraphs, words = [], 0
        while words < target:
            sentences = [self._sentence(rng, self.stock) for _ in range(int(rng.choice([1, 2, 2, 3])))]
            paragraphs.append(" ".join(sentences))
            words += sum(len(s.split()) for s in sentences)
        return f"{title}\n\n" + "\n\n".join(paragraphs) + "\n"


def ensure_folder(articles: int) -> Path:
    """var/build-memory/articles-N: N generated articles (written once; a folder with a .done mark is kept)."""
    folder = FOLDERS / f"articles-{articles}"
    mark = folder / ".done"
    if mark.exists() and mark.read_text() == str(SEED):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    generator = Generator()
    began = time.perf_counter()
    for number in range(articles):
        (folder / f"{number:06d}.txt").write_text(generator.article(number), encoding="utf-8")
    mark.write_text(str(SEED))
    print(f"  wrote {articles:,} articles to {folder.relative_to(ROOT)} in {time.perf_counter() - began:.0f} s",
          file=sys.stderr)
    return folder


# --- the child processes ------------------------------------------------------------------------------------------

def _rss_mb() -> float:
    """This process's resident set now."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _settings(index: Path):
    from citebot.config.settings import load_settings

    return load_settings().with_index(index.resolve())


def child_build(sources: Path, index: Path) -> dict:
    from citebot.index.build import build_index
    from citebot.index.embedding.hashed import HashEmbedder

    report = build_index(sources, index, _settings(index), embedder=HashEmbedder(DIMENSION))
    return {"articles": report.articles, "passages": report.chunks, "embedded": report.embedded,
            "skipped": len(report.skipped)}


def child_engine(index: Path) -> dict:
    from citebot.index.embedding.hashed import HashEmbedder
    from citebot.retrieval.engine import Engine

    settings = _settings(index)
    import bm25s  # noqa: F401  (imports are not the index)
    import faiss  # noqa: F401

    before = _rss_mb()
    engine = Engine(settings, embedder=HashEmbedder(DIMENSION))
    loaded = _rss_mb()
    return {"rss_before_mb": round(before, 1), "rss_loaded_mb": round(loaded, 1),
            "passages": len(engine.stored.chunks), "sentences": len(engine.searcher.sentence_spans)}


def child_parts(index: Path) -> dict:
    """RSS after each part of the build is loaded, as load_index() reads them."""
    import faiss

    from citebot.index.lexical import LEXICAL_DIR, LexicalIndex
    from citebot.index.store.checks import chunk_from_json, lexical_recipe
    from citebot.index.store.faiss.layout import CHUNKS, SENTENCE_VECTORS, SENTENCES, VECTORS
    from citebot.index.store.faiss.manifest import current_build, read_manifest
    from citebot.index.store.protocol import SentenceRef

    build = current_build(index)
    parts: dict[str, float] = {}
    held = []
    last = _rss_mb()

    def step(name: str, value: object) -> None:
        nonlocal last
        held.append(value)
        now = _rss_mb()
        parts[name] = round(now - last, 1)
        last = now

    manifest = read_manifest(index, build)
    step("manifest (sources, fingerprints)", manifest)
    step("passage vectors", faiss.read_index(str(build / VECTORS)))
    step("sentence vectors", faiss.read_index(str(build / SENTENCE_VECTORS)))
    with (build / CHUNKS).open(encoding="utf-8") as handle:
        step("passages (chunk texts and fields)", [chunk_from_json(line) for line in handle])
    with (build / SENTENCES).open(encoding="utf-8") as handle:
        step("sentence spans", [SentenceRef(*json.loads(line)) for line in handle])
    step("BM25 (scores, vocabulary, words)",
         LexicalIndex.load(build / LEXICAL_DIR, lexical_recipe(manifest["lexical"])))
    return {"parts_mb": parts, "passages": held[3].__len__(), "sentences": held[4].__len__(),
            "vector_bytes": held[1].ntotal * held[1].d * 4, "sentence_vector_bytes": held[2].ntotal * held[2].d * 4}


def measured(mode: str, *paths: Path) -> dict:
    """Run this script as a child in `mode`: its JSON answer, with its peak RSS and CPU time from wait4()."""
    began = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.performance.build_memory", "--child", mode,
                              *map(str, paths)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    chunks: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda n=n, s=s: chunks.__setitem__(n, s.read()))
               for n, s in (("out", child.stdout), ("err", child.stderr))]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(child.pid, 0)
    for reader in readers:
        reader.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{mode} {paths} failed ({child.returncode}):\n{chunks['err'].decode(errors='replace')[-3000:]}")
    return {**json.loads(chunks["out"]), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "wall_seconds": round(time.perf_counter() - began, 1),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1)}


# --- the parent -------------------------------------------------------------------------------------------------

def per_100k(mb: float, passages: int) -> float:
    return round(mb * 100_000 / passages, 1) if passages else float("nan")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        mode, *paths = sys.argv[2:]
        found = {"build": child_build, "engine": child_engine, "parts": child_parts}[mode](*map(Path, paths))
        print(json.dumps(found))
        return
    cli = parser(__doc__)
    cli.add_argument("--articles", default="10000,100000", help="folder sizes, comma-separated (default 10000,100000)")
    cli.add_argument("--load-max", type=int, default=10_000,
                     help="load the indexes of folders up to this many articles (default 10000: the loaded index "
                          "of 100,000 articles holds some 16 GB; 0: none)")
    cli.add_argument("--keep", action="store_true", help="keep the built indexes under var/build-memory/")
    cli.add_argument("--no-write", action="store_true", help="print only (no benchmarks/results/build_memory.json)")
    cli.add_argument("--label", default="", help="a note recorded with the result (e.g. the commit measured)")
    args = cli.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.articles.split(",") if s.strip()]
    rows = []
    for size in sizes:
        folder = ensure_folder(size)
        index = FOLDERS / f"index-{size}"
        shutil.rmtree(index, ignore_errors=True)
        row: dict = {"articles": size, "build": measured("build", folder, index)}
        build = row["build"]
        print(f"{size:>7,} articles: build peak RSS {build['peak_rss_mb']:8.1f} MB, {build['wall_seconds']:7.1f} s "
              f"wall, {build['cpu_seconds']:7.1f} s CPU; {build['passages']:,} passages", flush=True)
        if size <= args.load_max:
            engine = measured("engine", index)
            parts = measured("parts", index)
            passages = parts["passages"]
            total = engine["rss_loaded_mb"] - engine["rss_before_mb"]
            named = sum(parts["parts_mb"].values())
            breakdown = {**parts["parts_mb"], "other (searcher, second stage, sources check)": round(total - named, 1)}
            row["load"] = {
                "engine": engine, "parts": parts, "loaded_mb": round(total, 1),
                "per_100k_passages_mb": {name: per_100k(mb, passages) for name, mb in breakdown.items()},
                "per_100k_passages_total_mb": per_100k(total, passages),
            }
            print(f"{'':18s} loaded index {total:8.1f} MB over the imports ({per_100k(total, passages):.1f} MB per "
                  f"100,000 passages; {parts['sentences']:,} sentences)", flush=True)
            for name, mb in breakdown.items():
                print(f"{'':20s} {name:48s} {mb:8.1f} MB  {per_100k(mb, passages):8.1f} per 100k passages")
        rows.append(row)
        if not args.keep:
            shutil.rmtree(index, ignore_errors=True)
    if len(rows) > 1:
        ratio = rows[-1]["build"]["peak_rss_mb"] / rows[0]["build"]["peak_rss_mb"]
        print(f"peak RSS {rows[-1]['articles']:,} / {rows[0]['articles']:,} articles: {ratio:.2f}x")
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores",
        "command": command(), "label": args.label,
        "how": "build_index with the hash embedder (384-d) in a child process, ru_maxrss from wait4(); loads in "
               "fresh processes, RSS over the imports (VmRSS)",
        "rows": rows,
    }
    if not args.no_write:
        print(f"written to {write_result('build_memory', report).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
