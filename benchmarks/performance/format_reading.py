"""How fast the format readers are: 2,000 web pages the size of real news pages, read from disk.

    nice -n 10 python -m benchmarks.performance.format_reading [--pages 2000] [--workers 2]

Each page is tests/format_samples.heavy_page (~150 KB: a 300-link menu, inline scripts and styles, 40 teasers,
cookie banner, share and related links) around a BBC article (../shared/data/bbc_news, read in place and
written only to a temporary folder) or, without it, around the invented test story. Times read_document over
every file in one process and in a pool of --workers processes (wall clock), and the CPU time of each read, which
the load of a shared machine changes far less; on a sample, the CPU time without trafilatura's fast mode. Checks
each article came back whole. Writes benchmarks/results/format_reading.json.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.common import BBC_ARTICLES, parser, write_result
from citebot.config.settings import load_settings
from citebot.index.ingest.formats import Extraction, read_document
from citebot.index.ingest.formats.html import read_html
from tests.format_samples import FERRY, Story, heavy_page  # run from the project root, tests/ is importable

BBC = BBC_ARTICLES
INGEST = load_settings().ingest


def stories(count: int) -> tuple[str, list[Story]]:
    if not BBC.is_file():
        return "invented", [FERRY] * count
    with gzip.open(BBC, "rt", encoding="utf-8") as rows:
        found = [Story(row["title"], tuple(p.strip() for p in row["text"].split("\n\n") if p.strip()))
                 for row in map(json.loads, rows)]
    return "bbc_news", [found[i % len(found)] for i in range(count)]


def read_one(path: str) -> tuple[bool, str, float]:
    """Whether the page gave an article, its text (or the reason), and the CPU seconds the read took."""
    cpu = time.process_time()
    found = read_document(Path(path), Path(path).read_bytes(), INGEST)
    text = found.articles[0].text if isinstance(found, Extraction) else found
    return isinstance(found, Extraction), text, time.process_time() - cpu


def _load() -> list[float]:
    """The machine is shared: the load average says how far wall-clock figures are from an idle machine's."""
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--pages", type=int, default=2000, help="pages read (default 2000)")
    cli.add_argument("--workers", type=int, default=2, help="processes of the pool (default 2)")
    cli.add_argument("--slow-sample", type=int, default=200, help="pages read without fast mode (default 200)")
    args = cli.parse_args()
    source, items = stories(args.pages)
    load = _load()
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, story in enumerate(items):
            path = Path(folder) / f"{i:05d}.html"
            path.write_text(heavy_page(story, seed=i), encoding="utf-8")
            paths.append(str(path))
        size = sum(os.path.getsize(p) for p in paths)

        start = time.perf_counter()
        serial = [read_one(p) for p in paths]
        one_process = time.perf_counter() - start

        start = time.perf_counter()
        with ProcessPoolExecutor(args.workers) as pool:
            pooled = list(pool.map(read_one, paths, chunksize=25))
        in_pool = time.perf_counter() - start

        sample = paths[: args.slow_sample]
        start = time.process_time()
        for path in sample:
            read_html(Path(path).read_bytes(), fast=False)
        slow = (time.process_time() - start) / max(len(sample), 1)

    whole = sum(ok and all(" ".join(p.split()) in text.split("\n") for p in story.paragraphs)
                for (ok, text, _), story in zip(serial, items, strict=True))
    cpu = sum(seconds for _, _, seconds in serial)
    result = {
        "pages": len(paths), "articles_from": source, "mean_page_kb": round(size / len(paths) / 1024, 1),
        "cpus": os.cpu_count(), "load_average_before": load, "load_average_after": _load(),
        "one_process_seconds": round(one_process, 1),
        "cpu_seconds": round(cpu, 1), "cpu_ms_per_page": round(1000 * cpu / len(paths), 1),
        f"{args.workers}_processes_seconds": round(in_pool, 1),
        "pool_same_as_serial": [r[:2] for r in pooled] == [r[:2] for r in serial],
        "articles_whole": whole,
        "without_fast_mode_cpu_ms_per_page": round(1000 * slow, 1),
    }
    print(json.dumps(result, indent=2))
    write_result("format_reading", result)


if __name__ == "__main__":
    main()
