"""Speed of citebot on this machine: index build and chunks/s on the seeds and on BBC News,
beside the bare model's encode throughput on the same texts, and warm `ask` latency (p50, p95).

    python benchmarks/speed.py                 # seeds + the full BBC corpus (about 15 minutes on 2 cores)
    python benchmarks/speed.py --bbc-limit 300 # a quicker look

Reads ../shared/data/bbc_news/articles.jsonl.gz in place; nothing from it is written into the project.
Prints a table and writes benchmarks/results/speed.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from citebot.config.settings import load_settings  # noqa: E402
from citebot.index.build import build_index, chunk_corpus, vector_text  # noqa: E402
from citebot.index.chunking import chunk_sentences  # noqa: E402
from citebot.index.embedding import make_embedder  # noqa: E402
from citebot.index.embedding.torch_runtime import SentenceTransformerEmbedder  # noqa: E402
from citebot.retrieval.engine import Engine  # noqa: E402
from citebot.retrieval.evaluation.golden import load_golden  # noqa: E402

BBC = ROOT.parent / "shared" / "data" / "bbc_news" / "articles.jsonl.gz"


def write_bbc(folder: Path, limit: int | None) -> int:
    """The BBC articles as .txt files (title line, blank line, body), duplicates of a body dropped."""
    seen: set[str] = set()
    count = 0
    with gzip.open(BBC, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["text"] in seen:
                continue
            seen.add(row["text"])
            (folder / f"{row['_id']}.txt").write_text(f"{row['title']}\n\n{row['text']}\n", encoding="utf-8")
            count += 1
            if limit and count >= limit:
                break
    return count


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(name: str, sources: Path, settings, embedder, questions: list[str], bare_model) -> dict:
    index_dir = Path(tempfile.mkdtemp(prefix=f"citebot-{name}-"))
    settings = settings.with_index(index_dir)
    report = build_index(sources, index_dir, settings, embedder=embedder, progress=True)
    chunks, _, _ = chunk_corpus(sources, settings, embedder)
    sentence_texts = {(c.source, s, e): c.text[s - c.start:e - c.start] for c in chunks for s, e in chunk_sentences(c)}
    texts = [vector_text(c, settings.embedding.title_in_vectors) for c in chunks] + list(sentence_texts.values())
    began = time.perf_counter()
    bare_model.encode(texts, batch_size=settings.embedding.batch_size, show_progress_bar=False)
    bare_seconds = time.perf_counter() - began
    engine = Engine(settings, embedder=embedder)
    for question in questions[:5]:
        engine.ask(question)  # warm up
    latencies = []
    for question in questions:
        began = time.perf_counter()
        engine.ask(question)
        latencies.append((time.perf_counter() - began) * 1000)
    return {
        "corpus": name, "articles": report.articles, "chunks": report.chunks, "texts_embedded": len(texts),
        "build_seconds": round(report.seconds, 2), "embed_seconds": round(report.embed_seconds, 2),
        "chunks_per_second": round(report.chunks / report.seconds, 1),
        "texts_per_second_in_build": round(len(texts) / report.embed_seconds, 1),
        "bare_model_texts_per_second": round(len(texts) / bare_seconds, 1),
        "ask_p50_ms": round(statistics.median(latencies), 1), "ask_p95_ms": round(percentile(latencies, 0.95), 1),
        "questions_timed": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bbc-limit", type=int, default=None, help="index only the first N BBC articles")
    parser.add_argument("--skip-bbc", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings()
    embedder = make_embedder(settings.embedding)
    bare_model = SentenceTransformerEmbedder(settings.embedding).model  # the bare model.encode rate is torch's
    golden = [item["turns"][-1] for item in load_golden(settings.paths.golden)]
    questions = (golden * 2)[:100]
    rows = [measure("seeds", ROOT / "seeds", settings, embedder, questions, bare_model)]
    if not args.skip_bbc:
        with tempfile.TemporaryDirectory(prefix="citebot-bbc-src-") as folder:
            write_bbc(Path(folder), args.bbc_limit)
            bbc_questions = ["What did the chancellor say about the economy?", "Who won the match?",
                             "Which company reported higher profits?", "What happened to oil prices?",
                             "Which film won an award?"] * 10
            rows.append(measure("bbc_news", Path(folder), replace(settings), embedder, bbc_questions + questions[:50],
                                bare_model))
    result = {"machine": f"{platform.machine()}, {platform.python_version()}, torch threads default",
              "model": embedder.name, "runtime": embedder.runtime, "rows": rows}
    out = ROOT / "benchmarks" / "results" / "speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    header = ["corpus", "articles", "chunks", "texts_embedded", "build_seconds", "chunks_per_second",
              "texts_per_second_in_build", "bare_model_texts_per_second", "ask_p50_ms", "ask_p95_ms"]
    print(" | ".join(header))
    for row in rows:
        print(" | ".join(str(row[h]) for h in header))


if __name__ == "__main__":
    main()
