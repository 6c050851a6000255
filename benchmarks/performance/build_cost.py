"""What a build costs: CPU-seconds, wall time, peak RSS, texts and tokens through the model; this code against a
baseline checkout.

    python -m benchmarks.performance.build_cost --sources var/bbc --baseline-code ../main --rounds 2
    python -m benchmarks.performance.build_cost --sources seeds          # a quick look at this code alone

Copies the sources to a work folder holding back their last article, then for each variant runs, each in a fresh
`citebot index build` child process: a full build (--full; with --rounds 2 or more the variants' order alternates
round by round, so both see the same load), a rebuild of the unchanged folder (0 texts embedded expected), and a
rebuild with the held-back article added (only its texts embedded, every earlier one reused); then the index
answers questions warm in a child process.

  this      this checkout's citebot with its config/default.toml
  baseline  with --baseline-code DIR: that checkout's citebot with its own config/default.toml, run by
            DIR/.venv/bin/python if there is one, else by this Python with DIR's folders mapped to citebot.*

CPU-seconds are the child's user + system time from wait4() (all its threads), so other users' load inflates
wall time more than CPU time. Peak RSS is the child's high-water mark from wait4(); it counts what the child
inherited at fork, so this script keeps its own memory small and counts tokens in a worker process. Texts and
tokens through the model are the build's own counts (manifest vectors; for a full build from before the token
count, the tokens of its distinct texts, counted here the same way: the model's WordPiece tokens, special tokens
included). Corpus tokens are the WordPiece tokens of every kept paragraph, each counted once, so tokens per corpus
token is what overlap and sentence vectors cost. Ask p50 and p95 (ms) are over the first turns of the news dev
questions (the golden set's for a folder of under 100 articles), after 5 to warm up. Writes
benchmarks/results/build_cost.json (--out) and prints a table.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import BBC_FOLDER, NEWS, ROOT, command, parser, result_file, shown_path

RESULTS = result_file("build_cost")
GOLDEN = ROOT / "tests" / "data" / "golden.jsonl"
PACKAGES = ("bot", "index", "retrieval", "config")
"""The folders a checkout installs as citebot.* (pyproject's package-dir)."""
ASK = """
import json, statistics, sys, time
from pathlib import Path
from citebot.config.settings import load_settings
from citebot.retrieval.engine import Engine
engine = Engine(load_settings().with_index(Path(sys.argv[1])))
questions = json.loads(sys.argv[2])
for question in questions[:5]:
    engine.ask(question)
times = []
for question in questions:
    began = time.perf_counter()
    engine.ask(question)
    times.append((time.perf_counter() - began) * 1000)
times.sort()
print(json.dumps({"questions": len(times), "p50_ms": round(statistics.median(times), 1),
                  "p95_ms": round(times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], 1)}))
"""


def variant(name: str, code: Path, work: Path) -> dict[str, Any]:
    """How to run code's citebot: its Python and environment. This checkout runs in this Python; another one in
    its own .venv, or in this Python with a folder named citebot whose packages link to its folders."""
    code = code.resolve()
    if code == ROOT.resolve():
        return {"name": name, "code": code, "python": sys.executable, "env": dict(os.environ)}
    if (code / ".venv" / "bin" / "python").exists():
        return {"name": name, "code": code, "python": str(code / ".venv" / "bin" / "python"), "env": dict(os.environ)}
    missing = [folder for folder in PACKAGES if not (code / folder).is_dir()]
    if missing:
        raise SystemExit(f"build_cost: {code} has no {', '.join(missing)}: not a citebot checkout of this layout")
    shim = work / f"{name}-path" / "citebot"
    shim.mkdir(parents=True, exist_ok=True)
    (shim / "__init__.py").touch()
    for folder in PACKAGES:
        link = shim / folder
        if not link.is_symlink():
            link.symlink_to(code / folder)
    path = os.pathsep.join([str(shim.parent), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {"name": name, "code": code, "python": sys.executable, "env": {**os.environ, "PYTHONPATH": path}}


def run(runner: dict[str, Any], argv: list[str]) -> dict[str, Any]:
    """argv run by the variant's Python in its checkout: wall seconds, CPU-seconds and peak RSS (from wait4),
    and its stdout."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        process = subprocess.Popen([runner["python"], *argv], cwd=runner["code"], env=runner["env"], stdout=out,
                                   stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise SystemExit(f"build_cost: {runner['name']}: {' '.join(argv[:4])} ... failed:\n{stderr[-3000:]}")
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "stdout": stdout}


def in_a_worker(function: Callable[..., Any], *args: Any) -> Any:
    """function(*args) in a fresh process: what it reads stays out of this one, whose memory every child's peak
    RSS would include (the high-water mark is inherited at fork)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def build(runner: dict[str, Any], sources: Path, index: Path, *flags: str) -> dict[str, Any]:
    """One `citebot index build` of sources into index in a child process: its cost and counts."""
    done = run(runner, ["-m", "citebot.bot.cli", "index", "build", "--sources", str(sources), "--index", str(index),
                        *flags])
    manifest = json.loads((index / "current" / "manifest.json").read_text(encoding="utf-8"))
    vectors = manifest.get("vectors", {})
    tokens = vectors.get("tokens")
    if tokens is None and vectors.get("reused") == 0:  # a full build from before the count: count its texts
        tokens = in_a_worker(distinct_text_tokens, index / "current", manifest)
    return {"wall_s": done["wall_s"], "cpu_s": done["cpu_s"], "peak_rss_mb": done["peak_rss_mb"],
            "passages": manifest.get("chunk_count"), "texts": vectors.get("embedded"), "tokens": tokens,
            "reused": vectors.get("reused")}


def wordpiece() -> Any:
    """The model's tokenizer without truncation or padding (as a build counts tokens)."""
    from tokenizers import Tokenizer

    from citebot.index.embedding.minilm import minilm_dir

    tokenizer = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def distinct_text_tokens(build_dir: Path, manifest: dict[str, Any]) -> int:
    """Tokens (special tokens included) of the distinct texts a full build embedded: its passages and sentences,
    by key."""
    chunks = [json.loads(line) for line in (build_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    texts: dict[str, str] = {}
    for chunk, key in zip(chunks, (build_dir / "vectors.keys").read_text().split(), strict=True):
        title = chunk.get("title")
        texts[key] = f"{title}\n{chunk['text']}" if manifest.get("title_in_vectors") and title else chunk["text"]
    sentences = (build_dir / "sentences.jsonl").read_text(encoding="utf-8").splitlines()
    for line, key in zip(sentences, (build_dir / "sentences.keys").read_text().split(), strict=True):
        row, start, end = json.loads(line)
        texts.setdefault(key, chunks[row]["text"][start - chunks[row]["start"]:end - chunks[row]["start"]])
    return sum(len(e.ids) for e in wordpiece().encode_batch(list(texts.values()), add_special_tokens=True))


def corpus_tokens(sources: Path) -> dict[str, int]:
    """WordPiece tokens (no special tokens) and cl100k tokens of every kept paragraph, each counted once."""
    from citebot.config.settings import load_settings
    from citebot.index.ingest.corpus import read_corpus
    from citebot.index.tokens import count_tokens

    corpus = read_corpus(sources, load_settings().ingest)
    paragraphs = [a.text[p.start:p.end] for a in corpus.articles for p in a.paragraphs if not p.dropped]
    tokens = sum(len(e.ids) for e in wordpiece().encode_batch(paragraphs, add_special_tokens=False))
    return {"articles": len(corpus.articles), "paragraphs": len(paragraphs), "wordpiece_tokens": tokens,
            "cl100k_tokens": sum(count_tokens(p) for p in paragraphs)}


def questions(limit: int, articles: int) -> list[str]:
    """First turns of answerable questions: the news dev set's for the BBC folder, else the golden set's."""
    path = NEWS if NEWS.is_file() and articles >= 100 else GOLDEN
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [item["turns"][0] for item in items if item.get("category") != "unanswerable"][:limit]


def summary(row: dict[str, Any], corpus: int) -> dict[str, Any]:
    fulls = row["full"]
    last = fulls[-1]
    return {"cpu_s": statistics.median(f["cpu_s"] for f in fulls),
            "wall_s": statistics.median(f["wall_s"] for f in fulls),
            "peak_rss_mb": max(f["peak_rss_mb"] for f in fulls), "texts": last["texts"], "tokens": last["tokens"],
            "tokens_per_corpus_token": round(last["tokens"] / corpus, 3) if last["tokens"] and corpus else None,
            "ask_p50_ms": row["ask"]["p50_ms"]}


def ratio(new: float | None, base: float | None) -> float | None:
    return round(new / base, 3) if new and base else None


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--sources", type=Path, default=BBC_FOLDER,
                     help=f"folder of articles (default: {shown_path(BBC_FOLDER)})")
    cli.add_argument("--baseline-code", type=Path, help="another checkout whose citebot is the reference")
    cli.add_argument("--rounds", type=int, default=1, help="full builds of each variant, order alternating")
    cli.add_argument("--questions", type=int, default=100, help="questions timed per index (default 100)")
    cli.add_argument("--work", type=Path, help="work folder, kept (default: a temporary folder, removed)")
    cli.add_argument("--out", type=Path, default=RESULTS, help=f"results (default: {shown_path(RESULTS)})")
    args = cli.parse_args()
    files = sorted(args.sources.rglob("*.txt"))
    if len(files) < 2:
        raise SystemExit(f"build_cost: fewer than 2 *.txt in {args.sources}")
    work = (args.work or Path(tempfile.mkdtemp(prefix="citebot-build-cost-"))).resolve()  # children run elsewhere
    work.mkdir(parents=True, exist_ok=True)
    try:
        sources = work / "sources"
        shutil.rmtree(sources, ignore_errors=True)
        for path in files:
            target = sources / path.relative_to(args.sources)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        held_back = sources / files[-1].relative_to(args.sources)
        held_text = held_back.read_bytes()
        held_back.unlink()
        runners = [variant("baseline", args.baseline_code, work)] if args.baseline_code else []
        runners.append(variant("this", ROOT, work))
        reference = runners[0]["name"]
        corpus = in_a_worker(corpus_tokens, sources)
        asked = questions(args.questions, corpus["articles"])
        result: dict[str, Any] = {
            "command": command(), "date": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "load_average_before": os.getloadavg(), "sources": shown_path(args.sources),
            "held_back": str(held_back.relative_to(sources)), "reference": reference,
            "code": {r["name"]: str(r["code"]) for r in runners}, "corpus": corpus,
            "variants": {r["name"]: {"full": []} for r in runners}}
        for round_ in range(args.rounds):
            for runner in (runners if round_ % 2 == 0 else runners[::-1]):
                index = work / f"index-{runner['name']}"
                print(f"round {round_ + 1}: full build, {runner['name']} ...", file=sys.stderr, flush=True)
                shutil.rmtree(index, ignore_errors=True)
                result["variants"][runner["name"]]["full"].append(build(runner, sources, index, "--full"))
        for runner in runners:
            index = work / f"index-{runner['name']}"
            held_back.unlink(missing_ok=True)
            print(f"{runner['name']}: unchanged, one article added, then {len(asked)} questions ...", file=sys.stderr,
                  flush=True)
            row = result["variants"][runner["name"]]
            row["unchanged"] = build(runner, sources, index)
            held_back.write_bytes(held_text)
            row["one_added"] = build(runner, sources, index)
            row["ask"] = json.loads(run(runner, ["-c", ASK, str(index), json.dumps(asked)])["stdout"].splitlines()[-1])
            row["summary"] = summary(row, corpus["wordpiece_tokens"])
            full = row["full"][-1]
            row["checks"] = {"unchanged_embeds_nothing": row["unchanged"]["texts"] == 0,
                             "one_added_embeds_only_its_texts": row["one_added"]["texts"] > 0
                             and row["one_added"]["reused"] == full["texts"]}
        base = result["variants"][reference]["summary"]
        for row in result["variants"].values():
            new = row["summary"]
            row["against_reference"] = {name: ratio(new[key], base[key]) for name, key in (
                ("cpu", "cpu_s"), ("wall", "wall_s"), ("texts", "texts"), ("tokens", "tokens"),
                ("ask_p50", "ask_p50_ms"))}
        result["load_average_after"] = os.getloadavg()
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"corpus: {corpus['articles']} articles, {corpus['wordpiece_tokens']} WordPiece tokens; "
          f"reference: {reference}")
    print(f"{'variant':9s} {'CPU s':>8s} {'wall s':>8s} {'RSS MB':>7s} {'texts':>7s} {'tokens':>9s} {'x corpus':>8s} "
          f"{'CPU x':>6s} {'unchanged':>9s} {'+1 article':>10s} {'ask p50':>8s}")
    for name, row in result["variants"].items():
        s = row["summary"]
        print(f"{name:9s} {s['cpu_s']:8.1f} {s['wall_s']:8.1f} {s['peak_rss_mb']:7d} {s['texts']:7d} "
              f"{s['tokens'] or 0:9d} {s['tokens_per_corpus_token'] or 0:8.3f} "
              f"{row['against_reference']['cpu'] or 0:6.3f} {row['unchanged']['texts']:9d} "
              f"{row['one_added']['texts']:10d} {s['ask_p50_ms']:8.1f}")
    failed = [f"{name}: {check}" for name, row in result["variants"].items()
              for check, passed in row["checks"].items() if not passed]
    print(f"wrote {shown_path(args.out)}" + (f"; checks failed: {', '.join(failed)}" if failed else ""))


if __name__ == "__main__":
    main()
