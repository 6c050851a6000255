"""The vector part of a question at archive scale: the IVF first stage (index/store/faiss/approximate.py) with its
exact re-score, against the exact scan, on generated vectors.

    nice python -m benchmarks.performance.approximate_scale --passages 1500000 --sentences 6000000

writes a passage and a sentence vector file (384-d unit vectors, seeded: 4,096 random directions, each vector one
of them plus noise of about its own size, so lists fill unevenly as real ones do) as a build writes them, then the
IVF file of each as a build writes it (timed), and then asks what one question asks of the store: the top 50
passages and the top 200 sentences (retrieval's `candidates` and its 4 x candidates sentence search), each
re-scored exactly from the float rows, in one process limited to 2 threads, warm (the same 200 queries twice, the
second pass timed), and the process's memory after them (the float rows and lists the searches read are mapped
file pages). Recall is not measured here (random directions say nothing of real embeddings' recall; see
`two_step --index`); the exact scan of each table is timed on 20 queries. Writes
benchmarks/results/approximate_scale.json; the generated files are removed at the end (--keep keeps them).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import faiss
import numpy as np

from benchmarks.common import ROOT, command, parser, result_file, write_result
from citebot.config.settings import load_settings
from citebot.index.store.faiss.approximate import list_count, open_approximate, write_approximate
from citebot.index.store.faiss.compressed import TwoStepSearch
from citebot.index.store.faiss.layout import FLAT_HEADER_BYTES, flat_header, mapped_rows

DIMENSION = 384
DIRECTIONS = 4096
BATCH = 262_144


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _generated(rng: np.random.Generator, directions: np.ndarray, count: int) -> np.ndarray:
    noise = rng.standard_normal((count, DIMENSION), dtype=np.float32) / np.sqrt(DIMENSION)
    return _unit(directions[rng.integers(0, len(directions), count)] + noise)


def write_vectors(path: Path, rows: int, seed: int, directions: np.ndarray) -> None:
    rng = np.random.default_rng(seed)
    with path.open("wb") as handle:
        handle.write(flat_header(DIMENSION, rows))
        for start in range(0, rows, BATCH):
            handle.write(_generated(rng, directions, min(BATCH, rows - start)).tobytes())
    assert path.stat().st_size == FLAT_HEADER_BYTES + rows * DIMENSION * 4


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    seconds = sorted(seconds)
    return round(1000 * seconds[len(seconds) // 2], 1), round(1000 * seconds[int(len(seconds) * 0.95)], 1)


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--passages", type=int, default=1_500_000)
    cli.add_argument("--sentences", type=int, default=6_000_000)
    cli.add_argument("--lists", type=int, default=0, help="lists per table (0: as a build chooses)")
    cli.add_argument("--lists-per-root", type=float, default=0,
                     help="lists per square root of each table's rows (0: as a build chooses); a quarter of the "
                          "build's lists with a quarter of its probe reads as many codes, for a quarter of the build")
    cli.add_argument("--reuse", action="store_true", help="search the files a --keep run left, building nothing")
    cli.add_argument("--exact-queries", type=int, default=20,
                     help="queries the exact scan is timed on (each reads every float row; 0: none)")
    cli.add_argument("--probe", type=int, default=0, help="lists visited (0: [store] approximate_probe)")
    cli.add_argument("--folder", type=Path, default=ROOT / "var" / "approximate-scale")
    cli.add_argument("--keep", action="store_true", help="keep the generated files")
    cli.add_argument("--label", default="")
    cli.add_argument("--no-write", action="store_true", help="print only")
    args = cli.parse_args()
    args.probe = args.probe or load_settings().store.approximate_probe
    faiss.omp_set_num_threads(2)
    args.folder.mkdir(parents=True, exist_ok=True)
    directions = _unit(np.random.default_rng(0).standard_normal((DIRECTIONS, DIMENSION)))
    tables: dict[str, dict] = {}
    searches = {}
    try:
        for seed, (name, rows) in enumerate((("passages", args.passages), ("sentences", args.sentences)), 1):
            flat, ivf = args.folder / f"{name}.faiss", args.folder / f"{name}.ivf"
            began = time.perf_counter()
            if not flat.exists():
                write_vectors(flat, rows, seed, directions)
            generated = time.perf_counter() - began
            matrix = mapped_rows(flat)
            lists = list_count(rows, args.lists or round(args.lists_per_root * rows ** 0.5))
            built = built_cpu = 0.0
            if not (args.reuse and ivf.exists()):
                ivf.unlink(missing_ok=True)
                began, cpu = time.perf_counter(), time.process_time()
                write_approximate(matrix, ivf, lists)
                built, built_cpu = time.perf_counter() - began, time.process_time() - cpu
            del matrix  # the build's map (every page read) goes; the search maps the file afresh, as a load does
            searches[name] = TwoStepSearch(open_approximate(ivf, rows, DIMENSION, args.probe), mapped_rows(flat))
            tables[name] = {"rows": rows, "lists": lists, "probe": min(args.probe, lists),
                            "float_mb": round(flat.stat().st_size / 2**20), "ivf_mb": round(ivf.stat().st_size / 2**20),
                            "generate_s": round(generated, 1), "ivf_build_s": round(built, 1),
                            "ivf_build_cpu_s": round(built_cpu, 1)}
            print(name, tables[name], flush=True)
        queries = _generated(np.random.default_rng(99), directions, 200)
        timings: dict[str, list[float]] = {"passages": [], "sentences": [], "both": []}
        for timed in (False, True):
            for query in queries:
                began = time.perf_counter()
                searches["passages"].top(query, 50)
                middle = time.perf_counter()
                searches["sentences"].top(query, 200)
                ended = time.perf_counter()
                if timed:
                    timings["passages"].append(middle - began)
                    timings["sentences"].append(ended - middle)
                    timings["both"].append(ended - began)
        exact: dict[str, tuple[float, float]] = {}
        for name, search in searches.items():
            seconds = []
            for query in queries[:args.exact_queries]:
                began = time.perf_counter()
                scores = search.exact @ query
                np.argpartition(-scores, 200)[:200]
                seconds.append(time.perf_counter() - began)
            if seconds:
                exact[name] = _percentiles(seconds)
        result = {
            "tables": tables,
            "warm_ms_p50_p95": {name: _percentiles(seconds) for name, seconds in timings.items()},
            "exact_scan_ms_p50_p95": exact,
            "threads": 2, "queries": len(queries), "dimension": DIMENSION,
            "memory_mb_after_searches": _memory_mb(),
            "machine": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end",
        }
        print(result)
        if not args.no_write:
            path = result_file("approximate_scale")
            results = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
            results[args.label or f"{args.passages:,} passages, {args.sentences:,} sentences"] = {
                "command": command(), **result}
            write_result("approximate_scale", results)
    finally:
        if not args.keep:
            shutil.rmtree(args.folder, ignore_errors=True)


def _memory_mb() -> dict[str, int]:
    """This process's RSS, its anonymous part and the pages of mapped files (the vectors and lists it read)."""
    wanted = {"VmRSS": "rss", "RssAnon": "anonymous", "RssFile": "mapped_files"}
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in wanted:
            found[wanted[key]] = int(line.split()[1]) // 1024
    return found


if __name__ == "__main__":
    main()
