"""A build whose embedding runs on a local Ray (`citebot index build --ray`) against the plain build: texts a
second, with the real model, and the parts a larger build's cost is estimated from (docs/performance.md).

    nice python -m benchmarks.performance.ray_build                  # 200 BBC articles, a local Ray of 2 CPUs
    python -m benchmarks.performance.ray_build --articles 40 --no-write

Copies the first N articles of the BBC folder (../var/bbc, else var/bbc) to a temporary folder, then, in this
process: a plain build into a new folder (every text embedded: no build to reuse), Ray started once (its start
timed apart), then a Ray build per layout of the CPUs: one single-threaded actor per CPU, and one actor using them
all. For each: wall seconds, texts embedded, texts a second, tokens a text; for a plain build the model's seconds,
for a Ray build the Ray step's (reading and chunking to form the batches, and the job) and of it the job's
(the rest of the build is the pass that writes the index, every vector taken from the journal); every Ray build's files
are compared with the plain build's. Prints a table; writes benchmarks/results/ray_build.json.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.common import BBC_FOLDER, ROOT, command, parser, write_result
from citebot.config.settings import load_settings
from citebot.index.build import BuildReport, build_index
from citebot.index.store.faiss.layout import DATA_FILES, MANIFEST


def same_files(one: Path, other: Path) -> bool:
    return all((one / name).read_bytes() == (other / name).read_bytes() for name in DATA_FILES)


def figures(report: BuildReport, seconds: float) -> dict:
    manifest = json.loads((report.path / MANIFEST).read_text(encoding="utf-8"))
    tokens = manifest["vectors"]["tokens"]
    return {"seconds": round(seconds, 1), "texts_embedded": report.embedded,
            "texts_per_second": round(report.embedded / seconds, 1),
            "tokens_per_text": round(tokens / max(1, report.embedded), 1),
            "model_seconds": round(report.embed_seconds, 1), "ray_step_seconds": round(report.ray_seconds, 1),
            "ray_job_seconds": round(report.ray_job_seconds, 1)}


def main() -> None:
    args = parser(__doc__)
    args.add_argument("--articles", type=int, default=200)
    args.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray (default 2: this machine)")
    args.add_argument("--sources", type=Path, default=next((p for p in (ROOT.parent / "var" / "bbc", BBC_FOLDER)
                                                            if p.is_dir()), BBC_FOLDER))
    args.add_argument("--no-write", action="store_true")
    options = args.parse_args()

    import ray

    from citebot.index.embedding.ray_job import RayTarget

    work = Path(tempfile.mkdtemp(prefix="ray-build-"))
    try:
        sources = work / "articles"
        sources.mkdir()
        for path in sorted(options.sources.glob("*.txt"))[:options.articles]:
            shutil.copy(path, sources / path.name)
        settings = load_settings(None)
        began = time.perf_counter()
        plain = build_index(sources, work / "plain", settings)
        runs = {"plain": figures(plain, time.perf_counter() - began)}
        print(f"plain: {runs['plain']}")
        began = time.perf_counter()
        ray.init(num_cpus=options.cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        ray_start = time.perf_counter() - began
        print(f"ray started in {ray_start:.1f} s")
        for label, threads in ((f"ray: {options.cpus} actors x 1 thread", 1),
                               (f"ray: 1 actor x {options.cpus} threads", options.cpus)):
            index = work / f"ray-{threads}"
            began = time.perf_counter()
            report = build_index(sources, index, settings, ray=RayTarget("local", threads=threads))
            runs[label] = {**figures(report, time.perf_counter() - began),
                           "files_equal_plain": same_files(report.path, plain.path)}
            print(f"{label}: {runs[label]}")
        ray.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {"command": command(), "articles": options.articles, "ray_cpus": options.cpus,
              "ray_start_seconds": round(ray_start, 1), "runs": runs, "machine": platform.machine(),
              "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(report, indent=2))
    if not options.no_write:
        print(f"wrote {write_result('ray_build', report)}")


if __name__ == "__main__":
    main()
