"""Choose the answer-quote settings ([answer] in config/) on the golden and news dev sets.

    python benchmarks/tune_answer.py --news-index var/bbc-index

For every answerable question the engine answers as configured; the sentences of the passages the
answer is picked from are kept with the evidence, in var/answer-cache.json (reused while the settings
outside [answer], the indexes and the question files are the same: a scoring idea is tried in seconds;
--refresh collects again, e.g. after a change to retrieval, or to see how an answer change moves the
follow-ups, whose searched text leans on the last answer). Then every combination of the grid below picks its
answer from the same sentences, and the share of answers that overlap the evidence is reported per set
(the news set also per half of its articles, so a choice can be checked on the half it was not made
on). Prints the best settings by the mean of the sets; results go to benchmarks/results/answer.json.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import itertools
import json
import logging
import sys
from dataclasses import asdict, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.tune_rerank import NEWS, fold_of  # noqa: E402
from citebot.config.settings import Settings, load_settings  # noqa: E402
from citebot.index.embedding import make_embedder  # noqa: E402
from citebot.retrieval.answer import Sentence, pick_answer  # noqa: E402
from citebot.retrieval.engine import Engine  # noqa: E402
from citebot.retrieval.evaluation.golden import (
    UNANSWERABLE,
    Span,
    evidence_spans,
    load_golden,
    replay_earlier_turns,
    source_texts,
)
from citebot.retrieval.question import Question  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "answer.json"
CACHE = ROOT / "var" / "answer-cache.json"
GRID = {
    "word_overlap_weight": (0.0, 0.1, 0.25, 0.4),
    "kind_weight": (0.0, 0.1, 0.2),
    "rank_weight": (0.0, 0.1),
    "extend_ratio": (0.6, 0.8),
    "max_sentences": (1, 2),
    "passages_considered": (1, 2),
    "own_question_weight": (0.0, 0.25, 0.5, 0.75, 1.0),
}


def collect(engine: Engine, path: Path) -> list[dict]:
    texts = source_texts(engine)
    row_of = {c.id: row for row, c in enumerate(engine.stored.chunks)}
    lead: dict[str, int] = {}  # where each article's first sentence starts
    for ref in engine.stored.sentences:
        source = engine.stored.chunks[ref.chunk].source
        lead[source] = min(ref.start, lead.get(source, ref.start))
    out = []
    for item in load_golden(path):
        if item["category"] == UNANSWERABLE:
            continue
        conversation = replay_earlier_turns(engine, item)
        asked = Question.read(item["turns"][-1])
        found = engine.first_stage(asked, conversation)
        result = engine.ask(item["turns"][-1], conversation)
        rows = [row_of[p.chunk_id] for p in result.passages[:max(GRID["passages_considered"])]]
        # The kind of fact asked is worked out again from the question when scoring (Question.read), so a change
        # to its detection needs no new collection.
        out.append({"id": item["id"], "category": item["category"], "question": item["turns"][-1],
                    "searched": found.searched.text,
                    "fold": fold_of(item["evidence"][0]["source"]),
                    "sentences": engine.answer_sentences(rows, found.sentence_scores,
                                                         engine.own_scores(asked, found.searched)),
                    "titles": {engine.stored.chunks[r].source: engine.stored.chunks[r].title for r in rows},
                    "leads": {engine.stored.chunks[r].source: lead[engine.stored.chunks[r].source] for r in rows},
                    "spans": evidence_spans(item["evidence"], texts)})
    return out


def _cache_key(settings: Settings, news_index: Path) -> str:
    """What the collected sentences depend on: every setting outside [answer], the indexes, the questions."""
    parts = [repr(replace(settings, answer=None))]
    for index in (settings.paths.index, news_index):
        current = index / "current"
        parts.append(str(current.resolve()) if current.exists() else str(index.resolve()))
    parts += [Path(p).read_text(encoding="utf-8") for p in (settings.paths.golden, NEWS)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _from_json(cached: dict) -> dict:
    """The cache as collect() made it: sentences and evidence spans back as their dataclasses."""
    for questions in cached["sets"].values():
        for q in questions:
            q["sentences"] = [Sentence(**s) for s in q["sentences"]]
            q["spans"] = [Span(**s) for s in q["spans"]]
    return cached


def collected(settings: Settings, news_index: Path, refresh: bool = False) -> dict[str, list[dict]]:
    """The golden and news questions with their candidate sentences, from the cache when it is current."""
    key = _cache_key(settings, news_index)
    if not refresh and CACHE.exists():
        cached = _from_json(json.loads(CACHE.read_text(encoding="utf-8")))
        if cached.get("key") == key:
            return cached["sets"]
    embedder = make_embedder(settings.embedding)
    sets = {"golden": collect(Engine(settings, embedder=embedder), settings.paths.golden),
            "news": collect(Engine(settings.with_index(news_index), embedder=embedder), NEWS)}
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_text(json.dumps({"key": key, "sets": sets}, default=asdict), encoding="utf-8")
    return sets


_read = functools.cache(Question.read)
"""Each question read once, however many settings score it."""


def accuracy(questions: list[dict], settings) -> float:
    right = 0
    for q in questions:
        sentences = [s for s in q["sentences"] if s.passage_rank <= settings.passages_considered]
        picked = pick_answer(_read(q["searched"]), sentences, settings, _read(q["question"]).answer_kind)
        if picked:
            first, last, _ = picked
            right += any(s.overlap(first.source, first.start, last.end) > 0 for s in q["spans"])
    return right / len(questions) if questions else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--news-index", default=str(ROOT / "var" / "bbc-index"))
    parser.add_argument("--config", help="settings file (default: config/default.toml)")
    parser.add_argument("--refresh", action="store_true", help="collect the sentences again, ignoring the cache")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    settings = load_settings(args.config)
    sets = collected(settings, Path(args.news_index), args.refresh)
    splits = {"golden": sets["golden"], "news": sets["news"],
              "news_a": [q for q in sets["news"] if q["fold"] == 0],
              "news_b": [q for q in sets["news"] if q["fold"] == 1]}
    rows = []
    for values in itertools.product(*GRID.values()):
        candidate = replace(settings.answer, **dict(zip(GRID, values, strict=True)))
        scores = {name: round(accuracy(qs, candidate), 4) for name, qs in splits.items()}
        rows.append((dict(zip(GRID, values, strict=True)), scores))
    current = {name: round(accuracy(qs, settings.answer), 4) for name, qs in splits.items()}

    def by(*names: str):
        return max(rows, key=lambda r: sum(r[1][n] for n in names))

    # Each setting moved alone from the current config: which change helps where.
    one_change = {f"{name}={value}": {n: round(accuracy(qs, replace(settings.answer, **{name: value})), 4)
                                      for n, qs in splits.items()}
                  for name, values in GRID.items() for value in values if getattr(settings.answer, name) != value}
    report = {
        "command": "python benchmarks/tune_answer.py " + " ".join(sys.argv[1:]),
        "current": current,
        "one_change": one_change,
        "best_on_golden_and_news": by("golden", "news"),
        # Chosen on one half of the news articles (and the golden set), scored on the other half.
        "chosen_on_news_a": by("golden", "news_a"),
        "chosen_on_news_b": by("golden", "news_b"),
    }
    print(json.dumps(report, indent=2, default=str))
    RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
