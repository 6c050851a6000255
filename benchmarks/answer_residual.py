"""The answer quote with the second stage's residual cosine mixed into each sentence's similarity.

    python benchmarks/answer_residual.py --news-index var/bbc-index-l

An experiment, not kept: on fixed retrieval (the top passage under the default settings), each sentence's
similarity gains mu times its residual cosine (the question less its article's mean passage vector;
retrieval/features.py residual_scores), or loses mu times its cosine with that mean vector ("topic").
Prints correct quotes on the golden set and on each half of the news articles, for each mu.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.tune_answer import NEWS  # noqa: E402
from benchmarks.tune_rerank import fold_of  # noqa: E402
from index.embed import make_embedder  # noqa: E402
from index.settings import load_settings  # noqa: E402
from retrieval.answer import pick_answer  # noqa: E402
from retrieval.engine import Engine  # noqa: E402
from retrieval.evaluate import UNANSWERABLE, evidence_spans, load_golden, replay_earlier_turns, source_texts  # noqa: E402
from retrieval.query import answer_kind  # noqa: E402

MUS = (0.0, 0.1, 0.25, 0.5, 1.0)


def collect(engine: Engine, path: Path) -> list[dict]:
    """Per answerable question: the top passage's sentences with their residual and topic cosines."""
    texts = source_texts(engine)
    row_of = {c.id: row for row, c in enumerate(engine.stored.chunks)}
    out = []
    for item in load_golden(path):
        if item["category"] == UNANSWERABLE:
            continue
        conversation = replay_earlier_turns(engine, item)
        found = engine.first_stage(item["turns"][-1], conversation)
        result = engine.ask(item["turns"][-1], conversation)
        if not result.passages:
            continue
        row = row_of[result.passages[0].chunk_id]
        question = np.asarray(found.context.vector, dtype=np.float64)
        topic = engine.reranker.centroid(engine.stored.chunks[row].source)
        rest = question - float(question @ topic) * topic
        vectors = engine.searcher.store.sentence_vectors(engine.searcher.sentences_by_chunk.get(row, []))
        vectors = vectors.astype(np.float64)
        out.append({"question": item["turns"][-1], "searched": found.searched,
                    "fold": fold_of(item["evidence"][0]["source"]),
                    "sentences": engine.answer_sentences([row], found.sentence_scores),
                    "residual": vectors @ rest / np.linalg.norm(rest), "topic": vectors @ topic,
                    "spans": evidence_spans(item["evidence"], texts)})
    return out


def correct(questions: list[dict], settings, mu: float, mode: str) -> int:
    right = 0
    for q in questions:
        shift = q["residual"] if mode == "residual" else -q["topic"]
        sentences = [replace(s, similarity=s.similarity + mu * float(d))
                     for s, d in zip(q["sentences"], shift, strict=True)]
        picked = pick_answer(q["searched"], sentences, settings.answer, answer_kind(q["question"]))
        if picked:
            first, last, _ = picked
            right += any(span.overlap(first.source, first.start, last.end) > 0 for span in q["spans"])
    return right


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--news-index", default=str(ROOT / "var" / "bbc-index"), help="index of the BBC folder")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    settings = load_settings(None)
    embedder = make_embedder(settings.embedding)
    golden = collect(Engine(settings, embedder=embedder), settings.paths.golden)
    news = collect(Engine(settings.with_index(Path(args.news_index)), embedder=embedder), NEWS)
    parts = {"golden": golden, "news_a": [q for q in news if q["fold"] == 0],
             "news_b": [q for q in news if q["fold"] == 1]}
    for mode in ("residual", "topic"):
        for mu in MUS:
            print(mode, mu, {name: correct(qs, settings, mu, mode) for name, qs in parts.items()}, flush=True)


if __name__ == "__main__":
    main()
