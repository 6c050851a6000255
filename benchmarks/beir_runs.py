"""Retrieval benchmarks on data nobody here wrote: SciFact (BEIR) and a BBC News title->article task.

    python benchmarks/beir_runs.py scifact [--split test]   # ../shared/data/scifact
    python benchmarks/beir_runs.py bbc                      # ../shared/data/bbc_news, built into BEIR form

BBC News has no questions, so each article's title is the query and the article (title removed, exact
duplicate bodies dropped first) the one relevant document. Indexes are cached under var/data/beir and
reused. Results are written to benchmarks/results/<name>-<split>.json, committed so that a regression
shows in review. Each run takes minutes on 2 cores the first time (the index build).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from citebot.config.settings import load_settings  # noqa: E402
from citebot.retrieval.evaluation.beir import evaluate_beir, render_beir  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def bbc_as_beir(target: Path) -> Path:
    """The BBC corpus as a BEIR folder: bodies as documents, titles as queries."""
    if (target / "qrels" / "test.tsv").is_file():
        return target
    (target / "qrels").mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    docs, queries, qrels = [], [], []
    by_title: dict[str, list[str]] = {}
    with gzip.open(SHARED / "bbc_news" / "articles.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            body = row["text"].strip()
            if body in seen:
                continue
            seen.add(body)
            docs.append({"_id": row["_id"], "title": "", "text": body})
            by_title.setdefault(" ".join(row["title"].split()), []).append(row["_id"])
    for number, (title, ids) in enumerate(by_title.items()):
        queries.append({"_id": f"t{number}", "text": title})
        qrels.extend(f"t{number}\t{doc_id}\t1" for doc_id in ids)  # a title shared by two articles: both count
    with gzip.open(target / "corpus.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(d) + "\n" for d in docs)
    (target / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    (target / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(qrels) + "\n",
                                               encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=["scifact", "bbc"])
    parser.add_argument("--split", default="test")
    parser.add_argument("--config", help="settings file (default: config/default.toml)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(args.config)
    if args.name == "scifact":
        folder = SHARED / "scifact"
    else:
        folder = bbc_as_beir(settings.paths.data / "beir" / "bbc_titles")
    report = evaluate_beir(folder, args.split, settings)
    out = ROOT / "benchmarks" / "results" / f"{args.name}-{args.split}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(render_beir(report))
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
