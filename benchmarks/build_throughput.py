"""Build throughput per runtime: texts (passages and sentences) embedded per second, and their quality.

    python benchmarks/build_throughput.py --sources /work/main/var/bbc --articles 100

Chunks the first N articles of the folder (read in place, nothing written there) as a build does, then
embeds every passage and distinct sentence with: bare sentence-transformers `model.encode`, the torch
runtime, the ONNX fp32 runtime and ONNX with int8 weights (dynamic quantisation). Rounds alternate the
order so that every runtime sees the same machine load; the median rate counts. Quality: cosine of each
runtime's vectors to the torch ones, and the golden-set evaluation of the seeds indexed and searched with
each. Prints a table; writes benchmarks/results/build_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from citebot.config.settings import load_settings  # noqa: E402
from citebot.index.build import build_index, chunk_corpus, vector_text  # noqa: E402
from citebot.index.chunking import chunk_sentences  # noqa: E402
from citebot.index.embedding.onnx_runtime import OnnxEmbedder  # noqa: E402
from citebot.index.embedding.torch_runtime import SentenceTransformerEmbedder  # noqa: E402
from citebot.retrieval.engine import Engine  # noqa: E402
from citebot.retrieval.evaluation.golden import evaluate_golden  # noqa: E402


def build_texts(sources: Path, settings, embedder) -> tuple[int, list[str]]:
    """Passages and distinct sentences, as a build embeds them."""
    chunks, _, _ = chunk_corpus(sources, settings, embedder)
    sentences = {(c.source, s, e): c.text[s - c.start:e - c.start] for c in chunks for s, e in chunk_sentences(c)}
    return len(chunks), [vector_text(c, settings.embedding.title_in_vectors) for c in chunks] + list(sentences.values())


def golden(settings, embedder, folder: Path) -> dict:
    local = settings.with_index(folder)
    build_index(ROOT / "seeds", folder, local, embedder=embedder)
    report = evaluate_golden(Engine(local, embedder=embedder), local.paths.golden)
    keep = ("hit@1", "hit@3", "mrr@5", "ndcg@5")
    return {"categories": {name: {k: v for k, v in figures.items() if k in keep}
                           for name, figures in report["categories"].items()},
            "answer_accuracy": report["answer_accuracy"], "abstention_accuracy": report["abstention"]["accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", default=str(ROOT / "var" / "bbc"), help="folder of *.txt articles")
    parser.add_argument("--articles", type=int, default=100, help="first N articles, by name (default 100)")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds of each runtime (default 2)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    source_files = sorted(Path(args.sources).glob("*.txt"))[:args.articles]
    if not source_files:
        sys.exit(f"build_throughput: no *.txt in {args.sources}; pass --sources DIR")
    settings = load_settings()
    embedders = {"torch": SentenceTransformerEmbedder(settings.embedding),
                 "onnx fp32": OnnxEmbedder(settings.embedding),
                 "onnx int8": OnnxEmbedder(settings.embedding, precision="int8")}
    with tempfile.TemporaryDirectory(prefix="citebot-throughput-") as folder:
        sample = Path(folder) / "sources"
        sample.mkdir()
        for path in source_files:
            shutil.copyfile(path, sample / path.name)
        passages, texts = build_texts(sample, settings, embedders["onnx fp32"])
        same_chunks = build_texts(sample, settings, embedders["torch"])[1] == texts
        model = embedders["torch"].model
        runs = {"bare model.encode (torch)": lambda: model.encode(texts, batch_size=settings.embedding.batch_size,
                                                                  normalize_embeddings=True, show_progress_bar=False),
                **{name: (lambda e=e: e.encode(texts)) for name, e in embedders.items()}}
        for embedder in embedders.values():
            embedder.encode(texts[:64])  # sessions open, first-call costs paid
        rates: dict[str, list[float]] = {name: [] for name in runs}
        vectors: dict[str, np.ndarray] = {}
        for round_ in range(args.rounds):
            for name in (list(runs) if round_ % 2 == 0 else list(reversed(runs))):
                began = time.perf_counter()
                vectors[name] = np.asarray(runs[name]())
                rates[name].append(len(texts) / (time.perf_counter() - began))
                print(f"  round {round_ + 1}: {name}: {rates[name][-1]:.1f} texts/s", file=sys.stderr)
        quality = {}
        for name, matrix in vectors.items():
            cosines = np.sum(matrix * vectors["torch"], axis=1)
            quality[name] = {"min": round(float(cosines.min()), 6), "p01": round(float(np.quantile(cosines, 0.01)), 6),
                             "mean": round(float(cosines.mean()), 6)}
        golden_figures = {name: golden(settings, embedders[name], Path(folder) / name.replace(" ", "-"))
                          for name in embedders}
    rows = {name: {"texts_per_second": round(statistics.median(values), 1),
                   "all_rates": [round(v, 1) for v in values],
                   "cosine_to_torch": quality[name],
                   "golden": golden_figures.get(name)} for name, values in rates.items()}
    result = {"sources": str(args.sources), "articles": len(source_files), "passages": passages,
              "texts_embedded": len(texts), "same_chunks_with_torch_and_onnx_tokenizers": same_chunks,
              "batch_size": settings.embedding.batch_size, "cpus": os.cpu_count(),
              "load_average_after": [round(x, 2) for x in os.getloadavg()], "rounds": args.rounds, "runtimes": rows}
    out = ROOT / "benchmarks" / "results" / "build_throughput.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{len(source_files)} articles: {passages} passages + {len(texts) - passages} sentences = {len(texts)} texts")
    print(f"{'runtime':28s} {'texts/s':>8s} {'min cos':>9s} {'golden hit@1 plain/para/follow':>32s} {'answer':>7s}")
    for name, row in rows.items():
        g = row["golden"]
        hits = "/".join(f"{g['categories'][c]['hit@1']:.3f}" for c in ("plain", "paraphrase", "followup")) if g else "-"
        answer = f"{g['answer_accuracy']:.3f}" if g else "-"
        rate, cosine = row["texts_per_second"], row["cosine_to_torch"]["min"]
        print(f"{name:28s} {rate:8.1f} {cosine:9.6f} {hits:>32s} {answer:>7s}")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
