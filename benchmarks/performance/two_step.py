"""The two-step search (index/store/faiss/compressed.py) against the exact scan: recall@30 and time a search.

    python -m benchmarks.performance.two_step --index var/bbc-index      # real vectors, the news dev questions
    python -m benchmarks.performance.two_step --synthetic 200000,1000000 # random unit vectors, for the time

Recall: the news dev questions (../shared/eval/news_dev.jsonl, every turn) are embedded with the real model and
searched in the index's passage and sentence vectors both ways; recall@30 is the share of the exact top 30 that
the two-step search returns. Time: the p50 and p95 of one search (top 30) over each table, exact (numpy over
the memory-mapped float rows, as FaissSearch scans) and two-step, after a warm-up, on this machine.
Writes benchmarks/results/two_step.json.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import NEWS, parser, write_result
from citebot.index.store.faiss.compressed import TwoStepSearch, open_compressed, write_compressed
from citebot.index.store.faiss.layout import SENTENCE_VECTORS, VECTORS, mapped_rows

K = 30


def _exact_top(matrix: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    scores = matrix @ query
    top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
    return top[np.argsort(-scores[top], kind="stable")]


def _timed(run, queries: np.ndarray) -> tuple[float, float]:
    run(queries[0])
    seconds = []
    for query in queries:
        began = time.perf_counter()
        run(query)
        seconds.append(time.perf_counter() - began)
    seconds.sort()
    return round(1000 * seconds[len(seconds) // 2], 2), round(1000 * seconds[int(len(seconds) * 0.95)], 2)


def compare(matrix: np.ndarray, queries: np.ndarray, folder: Path, name: str) -> dict:
    path = folder / f"{name}.sq8"
    began = time.perf_counter()
    write_compressed(matrix, path)
    written = time.perf_counter() - began
    search = TwoStepSearch(open_compressed(path, *matrix.shape), matrix)
    recall = [len(set(_exact_top(matrix, q, K).tolist()) & set(search.top(q, K).rows.tolist())) / min(K, len(matrix))
              for q in queries]
    exact_ms = _timed(lambda q: _exact_top(matrix, q, K), queries)
    two_step_ms = _timed(lambda q: search.top(q, K), queries)
    return {"rows": len(matrix), "recall_at_30": round(float(np.mean(recall)), 4),
            "recall_at_30_min": round(float(np.min(recall)), 4), "exact_ms_p50_p95": exact_ms,
            "two_step_ms_p50_p95": two_step_ms, "write_seconds": round(written, 2),
            "float_mb": round(matrix.nbytes / 2**20, 1), "copy_mb": round(path.stat().st_size / 2**20, 1)}


def news_queries() -> np.ndarray:
    from citebot.config.settings import load_settings
    from citebot.index.embedding import make_embedder

    embedder = make_embedder(load_settings().embedding)
    turns = [turn for line in NEWS.read_text(encoding="utf-8").splitlines() if line.strip()
             for turn in json.loads(line)["turns"]]
    return np.vstack([embedder.encode_query(turn) for turn in turns]).astype(np.float32)


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--index", type=Path, help="an index built with the real model (its current build is read)")
    cli.add_argument("--synthetic", default="", help="row counts of random unit vectors to time, comma-separated")
    cli.add_argument("--no-write", action="store_true", help="print only")
    args = cli.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="citebot-two-step-") as tmp:
        if args.index:
            build = (args.index / "current").resolve()
            queries = news_queries()
            for name, file in (("passages", VECTORS), ("sentences", SENTENCE_VECTORS)):
                results[f"{args.index.name} {name}"] = compare(mapped_rows(build / file), queries, Path(tmp), name)
        rng = np.random.default_rng(0)
        for rows in [int(n) for n in args.synthetic.split(",") if n.strip()]:
            matrix = rng.standard_normal((rows, 384), dtype=np.float32)
            matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
            queries = matrix[rng.choice(rows, 50, replace=False)] + 0.5 * rng.standard_normal((50, 384),
                                                                                            dtype=np.float32)
            queries /= np.linalg.norm(queries, axis=1, keepdims=True)
            results[f"synthetic {rows:,}"] = compare(matrix, queries, Path(tmp), f"synthetic-{rows}")
            del matrix
    for name, found in results.items():
        print(f"{name:28s} {found['rows']:>9,} rows  recall@30 {found['recall_at_30']:.4f} (min "
              f"{found['recall_at_30_min']:.2f})  exact p50/p95 {found['exact_ms_p50_p95']} ms  two-step "
              f"{found['two_step_ms_p50_p95']} ms  {found['float_mb']} -> {found['copy_mb']} MB")
    if not args.no_write:
        write_result("two_step", results)


if __name__ == "__main__":
    main()
