"""The IVF first stage (index/store/faiss/approximate.py) on an index's real vectors: recall against the exact
search and time, by lists and lists visited.

    python -m benchmarks.performance.approximate_recall --index var/bbc-index

embeds the news dev questions (../shared/eval/news_dev.jsonl, every turn) with the real model, searches the
index's passage and sentence vectors exactly and through an IVF index written as a build writes it (for each
--lists, a multiple of the square root of the rows) visiting each --probe lists, the candidates re-scored exactly
as the store does, and reports recall@30 (mean and worst question) and recall at the depth retrieval searches
(50 passages, 200 sentences), the p50 of one top-30 search, and the seconds to write the IVF file. Writes
benchmarks/results/approximate_recall.json.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import command, parser, write_result
from benchmarks.performance.two_step import news_queries
from citebot.index.store.faiss.approximate import list_count, open_approximate, write_approximate
from citebot.index.store.faiss.compressed import TwoStepSearch
from citebot.index.store.faiss.layout import SENTENCE_VECTORS, VECTORS, mapped_rows
from citebot.index.store.faiss.manifest import current_build

DEPTH = {"passages": 50, "sentences": 200}
"""How deep retrieval searches each table: [retrieval] candidates, and 4 x that many sentences."""


def _recall(exact: np.ndarray, search: TwoStepSearch, queries: np.ndarray, k: int) -> tuple[float, float]:
    shares = [len(set(exact[i, :k].tolist()) & set(search.top(q, k).rows.tolist())) / k
              for i, q in enumerate(queries)]
    return round(float(np.mean(shares)), 4), round(float(np.min(shares)), 3)


def _p50_ms(search: TwoStepSearch, queries: np.ndarray) -> float:
    seconds = []
    for query in queries[:100]:
        began = time.perf_counter()
        search.top(query, 30)
        seconds.append(time.perf_counter() - began)
    return round(1000 * sorted(seconds)[len(seconds) // 2], 2)


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--index", type=Path, required=True, help="an index built with the real model")
    cli.add_argument("--lists", default="1,4", help="lists as multiples of the square root of the rows")
    cli.add_argument("--probe", default="64,128,192,256,384", help="lists visited, comma-separated")
    cli.add_argument("--no-write", action="store_true", help="print only")
    args = cli.parse_args()
    queries = news_queries()
    build = current_build(args.index)
    rows_out = []
    with tempfile.TemporaryDirectory(prefix="citebot-ivf-") as folder:
        for table, name in (("passages", VECTORS), ("sentences", SENTENCE_VECTORS)):
            matrix = mapped_rows(build / name)
            scores = queries @ np.asarray(matrix).T
            exact = np.argsort(-scores, axis=1, kind="stable")[:, :DEPTH[table]]
            for multiple in (float(m) for m in args.lists.split(",")):
                lists = list_count(len(matrix), round(multiple * np.sqrt(len(matrix))))
                path = Path(folder) / f"{table}-{lists}.ivf"
                began = time.perf_counter()
                write_approximate(matrix, path, lists)
                written = round(time.perf_counter() - began, 1)
                for probe in (int(p) for p in args.probe.split(",")):
                    if probe > lists:
                        continue
                    search = TwoStepSearch(open_approximate(path, *matrix.shape, probe), matrix)
                    row = {"table": table, "rows": len(matrix), "lists": lists, "probe": probe,
                           "share_of_lists": round(probe / lists, 3),
                           "recall_at_30": _recall(exact, search, queries, 30),
                           f"recall_at_{DEPTH[table]}": _recall(exact, search, queries, DEPTH[table]),
                           "p50_ms": _p50_ms(search, queries), "write_s": written,
                           "ivf_mb": round(path.stat().st_size / 2**20, 1)}
                    rows_out.append(row)
                    print(row, flush=True)
    if not args.no_write:
        write_result("approximate_recall", {"command": command(), "questions": len(queries), "results": rows_out})


if __name__ == "__main__":
    main()
