"""The answer quote with the second stage's residual cosine mixed into each sentence's similarity.

    python benchmarks/answer_residual.py --news-index var/bbc-index-l

An experiment, not kept. On tune_answer.py's collected sentences (fixed retrieval, its cache reused), each
sentence's similarity gains mu times its residual cosine (the question less its article's mean passage vector;
retrieval/features.py residual_scores), or loses mu times its cosine with that mean vector ("topic"). Prints
correct quotes on the golden set and on each half of the news articles, for each mu, with today's [answer].
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

from benchmarks.tune_answer import accuracy, collected  # noqa: E402
from citebot.config.settings import load_settings  # noqa: E402
from citebot.index.embedding import make_embedder  # noqa: E402
from citebot.retrieval.engine import Engine  # noqa: E402

MUS = (0.0, 0.1, 0.25, 0.5, 1.0)


def add_shifts(engine: Engine, questions: list[dict]) -> None:
    """Give each question the residual and topic cosine of each of its collected sentences."""
    chunks, stored = engine.stored.chunks, engine.stored.sentences
    row_of = {(chunks[ref.chunk].source, ref.start, ref.end): i for i, ref in enumerate(stored)}
    for q in questions:
        question = engine.searcher.embed_query(q["searched"]).astype(np.float64)
        q["residual"], q["topic"] = [], []
        for sentence in q["sentences"]:
            topic = engine.reranker.centroid(sentence.source)
            rest = question - float(question @ topic) * topic
            vector = engine.searcher.store.sentence_vectors([row_of[sentence.source, sentence.start, sentence.end]])
            vector = vector[0].astype(np.float64)
            q["residual"].append(float(vector @ rest / np.linalg.norm(rest)))
            q["topic"].append(float(vector @ topic))


def shifted(questions: list[dict], mu: float, key: str) -> list[dict]:
    """The questions with each sentence's similarity moved by mu times its residual (or minus its topic)."""
    sign = 1.0 if key == "residual" else -1.0
    return [q | {"sentences": [replace(s, similarity=s.similarity + sign * mu * d)
                               for s, d in zip(q["sentences"], q[key], strict=True)]} for q in questions]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--news-index", default=str(ROOT / "var" / "bbc-index"), help="index of the BBC folder")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    settings = load_settings(None)
    sets = collected(settings, Path(args.news_index))
    embedder = make_embedder(settings.embedding)
    add_shifts(Engine(settings, embedder=embedder), sets["golden"])
    add_shifts(Engine(settings.with_index(Path(args.news_index)), embedder=embedder), sets["news"])
    parts = {"golden": sets["golden"], "news_a": [q for q in sets["news"] if q["fold"] == 0],
             "news_b": [q for q in sets["news"] if q["fold"] == 1]}
    for key in ("residual", "topic"):
        for mu in MUS:
            right = {name: round(accuracy(shifted(qs, mu, key), settings.answer) * len(qs))
                     for name, qs in parts.items()}
            print(key, mu, right, flush=True)


if __name__ == "__main__":
    main()
