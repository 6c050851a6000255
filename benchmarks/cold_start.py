"""Cold start: `citebot ask` in a fresh process on the seeds, beside `python -c "import torch"` in the same run.

    python benchmarks/cold_start.py             # 7 runs of each, interleaved; about a minute
    python benchmarks/cold_start.py --runs 15

Builds a seeds index once in a temporary folder (not timed), then times, alternately so that both see
the same machine load: the interpreter alone (`python -c pass`), `import torch`, and `citebot ask`
(`python -m bot.cli ask ... --json`, the console script's code path) on the configured runtime.
Also times the phases of one ask inside one process, and checks, once each, that the ask imported no
torch / transformers / sentence-transformers, and that its JSON equals the one from
[embedding] runtime = "torch" on the same index (scores within 2e-6: the JSON rounds them to 6 places).
Prints the medians and the ratio; writes benchmarks/results/cold_start.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What did Theresa May say about racial hatred?"
HEAVY = ("torch", "transformers", "sentence_transformers", "scipy.sparse")


def timed(command: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    began = time.perf_counter()
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if run.returncode != 0:
        sys.exit(f"cold_start: {' '.join(command[:4])} ... failed: {run.stderr.strip()[-500:]}")
    return seconds, run


def config_with_runtime(runtime: str, folder: Path) -> Path:
    text = (ROOT / "config" / "default.toml").read_text(encoding="utf-8")
    text, count = re.subn(r'(?m)^runtime\s*=\s*"\w+"', f'runtime = "{runtime}"', text)
    assert count == 1
    path = folder / "config" / f"{runtime}.toml"  # the project root is this file's grandparent
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace('"var/', f'"{ROOT}/var/').replace('"seeds"', f'"{ROOT}/seeds"')
                    .replace('"tests/', f'"{ROOT}/tests/'), encoding="utf-8")
    return path


BREAKDOWN = """
import json, sys, time
from pathlib import Path
began, marks = time.perf_counter(), {}
def mark(name):
    marks[name] = round(time.perf_counter() - began - sum(marks.values()), 3)
import numpy, faiss; mark("import numpy + faiss")
from citebot.bot.cli.main import import_bm25s_lean
import_bm25s_lean(); mark("import bm25s (without scipy, as the CLI does)")
from citebot.config.settings import load_settings
from citebot.retrieval.engine import Engine
from citebot.retrieval.search import HybridSearcher
from citebot.index.embedding import make_embedder
from citebot.index.store import open_index
mark("import citebot modules")
settings = load_settings().with_index(Path(sys.argv[1]))
embedder = make_embedder(settings.embedding); mark("embedder: onnxruntime, tokenizer (file hash in background)")
stored = open_index(settings, model_name=embedder.name, weights_sha256=embedder.weights_sha256,
                    dimension=embedder.dimension); mark("index: read and verify files")
HybridSearcher(stored, embedder, settings.retrieval); mark("searcher (saved BM25 index)")
engine = Engine(settings, embedder=embedder); mark("engine (index and BM25 again, source hashes)")
engine.ask(sys.argv[2]); mark("first question: session opens, hash joined")
engine.ask(sys.argv[2]); mark("second question (warm)")
print(json.dumps(marks))
"""


def scores_dropped(result: dict) -> tuple[dict, list[float]]:
    scores = [p.pop("score") for p in result["passages"]]
    return result, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each command (default 7)")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false"}
    env.pop("CITEBOT_CONFIG", None)
    with tempfile.TemporaryDirectory(prefix="citebot-cold-") as folder:
        index = Path(folder) / "index"
        configs = {runtime: config_with_runtime(runtime, Path(folder)) for runtime in ("onnx", "torch")}
        ask = [sys.executable, "-m", "citebot.bot.cli", "ask", QUESTION, "--json", "--index", str(index)]
        build = [sys.executable, "-m", "citebot.bot.cli", "index", "build", "--sources", "seeds", "--index", str(index)]
        timed(build, env)
        _, warm = timed(ask, env)  # page cache warm; the ONNX export exists from the build
        _, torch_ask = timed([*ask, "--config", str(configs["torch"])], env)
        onnx_result, onnx_scores = scores_dropped(json.loads(warm.stdout))
        torch_result, torch_scores = scores_dropped(json.loads(torch_ask.stdout))
        # The JSON rounds scores to 6 places, so two scores 1e-7 apart can print 1e-6 apart.
        same = onnx_result == torch_result and all(abs(a - b) < 2e-6 for a, b in zip(onnx_scores, torch_scores,
                                                                                        strict=True))
        probe = ("import runpy, sys; sys.argv = ['citebot', *sys.argv[1:]]\n"
                 "try:\n    runpy.run_module('citebot.bot.cli', run_name='__main__')\n"
                 "except SystemExit:\n    pass\n"
                 f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
        _, imports = timed([sys.executable, "-c", probe, *ask[3:]], env)
        heavy = json.loads(imports.stderr.strip().splitlines()[-1].replace("'", '"'))
        _, phases = timed([sys.executable, "-c", BREAKDOWN, str(index), QUESTION], env)
        breakdown = json.loads(phases.stdout)
        commands = {"python -c pass": [sys.executable, "-c", "pass"],
                    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
                    "citebot ask (cold)": ask}
        times: dict[str, list[float]] = {name: [] for name in commands}
        load_before = os.getloadavg()
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(timed(command, env)[0])
        load_after = os.getloadavg()
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["citebot ask (cold)"] / medians["python -c 'import torch'"]
    result = {
        "question": QUESTION, "runtime": "onnx", "runs": args.runs,
        "median_seconds": {k: round(v, 3) for k, v in medians.items()},
        "all_seconds": {k: [round(v, 3) for v in values] for k, values in times.items()},
        "ask_over_import_torch": round(ratio, 3),
        "ask_imports_of_torch_transformers_sentence_transformers_scipy_sparse": heavy,
        "same_result_as_torch_runtime": same,
        "in_process_seconds_by_phase": breakdown,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in load_after]},
    }
    out = ROOT / "benchmarks" / "results" / "cold_start.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, value in medians.items():
        print(f"{name:28s} median {value:6.2f} s  ({', '.join(f'{t:.2f}' for t in times[name])})")
    print(f"ratio ask / import torch: {ratio:.2f}; same result as the torch runtime: {same}")
    print(f"ask imported torch, transformers, sentence-transformers or scipy.sparse: {heavy or 'none'}")
    print("in one process, by phase: " + "; ".join(f"{k} {v:.2f} s" for k, v in breakdown.items()))
    print(f"load average {load_before[0]:.1f} -> {load_after[0]:.1f} on {os.cpu_count()} CPUs; "
          f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
