"""The lexical part of a question at archive scale: a saved BM25 index of --passages generated passages, loaded as
a load does, then asked the news dev questions as the first and second stages ask it.

    python -m benchmarks.performance.lexical_scale --passages 6000000 --like var/bbc-index/current/lexical

The passages are drawn from a real build's statistics (--like: a build's lexical folder, by default the BBC
index's): each generated passage holds as many distinct terms as a passage of that build drawn at random, each
term drawn with the probability of its share of that build's passages, so a term in 40 % of the BBC's passages is
in about 40 % of the generated ones. The vocabulary is that build's, and the questions are news dev's, tokenised
as a question is. What differs from a real archive: a million articles use more words (new names mostly), which
adds short posting lists, little for a question to read; a score is the term's idf at one occurrence, which
changes the numbers added, not how many. The files are bm25s's own (what a build saves), the score matrix
sorted by term as bm25s sorts it.

Timed: writing the files; the load (LexicalIndex.load with its memory maps, then passage_terms(), the table the
second stage reads a candidate's terms from); and per question, warm (the questions twice, the second pass timed):
BM25 scores of every passage and their top --top (200; a question's lexical_search asks for [retrieval]
candidates, 50), then the document frequency of the
question's terms and the terms of 100 passages (what the second stage reads). RSS after. Writes
benchmarks/results/lexical_scale.json; the generated folder is removed at the end (--keep keeps it).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from benchmarks.common import NEWS, ROOT, command, parser, result_file, write_result
from benchmarks.performance.approximate_scale import _memory_mb, _percentiles
from citebot.index.lexical import LexicalIndex
from citebot.index.store.checks import lexical_recipe

BLOCK = 262_144


def _statistics(like: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The build's terms' passage shares (as drawing probabilities), its passages' distinct-term counts, and its
    terms' idf."""
    indptr = np.load(like / "indptr.csc.index.npy")
    indices = np.load(like / "indices.csc.index.npy")
    data = np.load(like / "data.csc.index.npy")
    frequency = np.diff(indptr)
    lengths = np.bincount(indices, minlength=int(json.loads((like / "params.index.json").read_text())["num_docs"]))
    passages = len(lengths)
    idf = np.log(1 + (passages - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)
    del data
    return frequency / frequency.sum(), lengths[lengths > 0], idf


def write_generated(folder: Path, like: Path, passages: int, seed: int = 7) -> dict:
    """bm25s's files for `passages` generated passages shaped like the build at `like`."""
    probability, lengths, idf = _statistics(like)
    cumulative = np.cumsum(probability)
    cumulative[-1] = 1.0
    rng = np.random.default_rng(seed)
    terms_of, docs_of = [], []
    for first in range(0, passages, BLOCK):
        count = min(BLOCK, passages - first)
        wanted = rng.choice(lengths, size=count)
        drawn = np.searchsorted(cumulative, rng.random(int(wanted.sum()))).astype(np.int64)
        local = np.repeat(np.arange(count, dtype=np.int64), wanted)
        pairs = np.sort(local * len(idf) + drawn)  # in passage then term order
        pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]  # distinct terms a passage
        docs_of.append((pairs // len(idf) + first).astype(np.int32))
        terms_of.append((pairs % len(idf)).astype(np.int32))
    docs, terms = np.concatenate(docs_of), np.concatenate(terms_of)
    del docs_of, terms_of
    order = np.argsort(terms, kind="stable")  # by term, passages in order within it: bm25s's CSC layout
    indptr = np.zeros(len(idf) + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=len(idf)), out=indptr[1:])
    folder.mkdir(parents=True)
    np.save(folder / "indices.csc.index.npy", docs[order])
    np.save(folder / "data.csc.index.npy", idf[terms[order]])
    np.save(folder / "indptr.csc.index.npy", indptr)
    del order, docs
    params = json.loads((like / "params.index.json").read_text())
    params["num_docs"] = passages
    (folder / "params.index.json").write_text(json.dumps(params, indent=4))
    for name in ("vocab.index.json", "words.json"):
        shutil.copyfile(like / name, folder / name)
    return {"entries": int(indptr[-1]), "vocabulary": len(idf),
            "distinct_terms_a_passage": round(float(indptr[-1]) / passages, 1),
            "largest_posting_list": int(np.diff(indptr).max())}


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--passages", type=int, default=6_000_000)
    cli.add_argument("--like", type=Path, default=ROOT / "var" / "bbc-index" / "current" / "lexical",
                     help="a build's lexical folder whose statistics the passages follow")
    cli.add_argument("--folder", type=Path, default=ROOT / "var" / "lexical-scale")
    cli.add_argument("--top", type=int, default=200,
                     help="passages BM25 ranks a question (a question asks for [retrieval] candidates, 50)")
    cli.add_argument("--keep", action="store_true", help="keep the generated folder (and reuse it next time)")
    cli.add_argument("--no-write", action="store_true", help="print only")
    args = cli.parse_args()
    manifest = json.loads((args.like.parent / "manifest.json").read_text(encoding="utf-8"))
    recipe = lexical_recipe(manifest["lexical"])
    result: dict = {"passages": args.passages, "like": str(args.like)}
    try:
        if not args.folder.exists():
            began = time.perf_counter()
            result["generated"] = write_generated(args.folder, args.like, args.passages)
            result["write_seconds"] = round(time.perf_counter() - began, 1)
        result["files_mb"] = round(sum(p.stat().st_size for p in args.folder.iterdir()) / 2**20)
        began = time.perf_counter()
        index = LexicalIndex.load(args.folder, recipe)  # type: ignore[arg-type]
        loaded = time.perf_counter()
        terms = index.passage_terms()
        result["load_seconds"] = {"bm25": round(loaded - began, 2),
                                  "passage_terms": round(time.perf_counter() - loaded, 1)}
        result["memory_mb_loaded"] = _memory_mb()
        questions = [json.loads(line)["turns"][0] for line in NEWS.read_text(encoding="utf-8").splitlines()]
        rng = np.random.default_rng(3)
        top = f"bm25_top{args.top}"
        timings: dict[str, list[float]] = {top: [], "second_stage_reads": [], "both": []}
        for timed in (False, True):
            for question in questions:
                began = time.perf_counter()
                ranked = index.top(question, args.top)
                middle = time.perf_counter()
                for term in index.terms(question):
                    terms.document_frequency(term)
                for row in rng.choice(args.passages, 100, replace=False).tolist():
                    terms[row]
                ended = time.perf_counter()
                if timed:
                    timings[top].append(middle - began)
                    timings["second_stage_reads"].append(ended - middle)
                    timings["both"].append(ended - began)
        del ranked
        result["warm_ms_p50_p95"] = {name: _percentiles(seconds) for name, seconds in timings.items()}
        result["questions"] = len(questions)
        result["memory_mb_after"] = _memory_mb()
        result["machine"] = f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end"
        print(json.dumps(result, indent=1))
        if not args.no_write:
            path = result_file("lexical_scale")
            results = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
            key = f"{args.passages:,} passages" + ("" if args.top == 200 else f", top {args.top}")
            results[key] = {"command": command(), **result}
            write_result("lexical_scale", results)
    finally:
        if not args.keep:
            shutil.rmtree(args.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
