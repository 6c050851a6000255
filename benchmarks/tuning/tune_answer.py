"""Choose the answer-quote settings ([answer] in config/) on the golden and news dev sets.

    python -m benchmarks.tuning.tune_answer --news-index var/bbc-index [--corpus NAME=QUESTIONS:INDEX ...]

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

import functools
import hashlib
import itertools
import json
import logging
from dataclasses import asdict, replace
from pathlib import Path

from benchmarks.common import (
    NEWS,
    ROOT,
    add_config,
    add_news_index,
    command,
    parser,
    require_index,
    settings_from,
    write_result,
)
from benchmarks.tuning.tune_rerank import fold_of
from citebot.config.settings import Settings
from citebot.index.embedding import make_embedder
from citebot.retrieval.answer import Sentence, pick_answer
from citebot.retrieval.engine import Engine
from citebot.retrieval.evaluation.golden import (
    UNANSWERABLE,
    Span,
    article_name,
    evidence_spans,
    load_golden,
    replay_earlier_turns,
    source_texts,
)
from citebot.retrieval.question import Question

CACHE = ROOT / "var" / "answer-cache.json"
GRID = {
    "word_overlap_weight": (0.0, 0.1, 0.25),
    "kind_weight": (0.1, 0.2, 0.3),
    "rank_weight": (0.0, 0.1, 0.2, 0.3),
    "extend_ratio": (0.6,),
    "max_sentences": (2,),
    "passages_considered": (1, 2, 3),
    "own_question_weight": (0.5, 0.75),
}
"""Narrowed to what moved the figures before (docs/experiments.md: max_sentences 1 and extend_ratio 0.8 cost on
every set); the rank prior is widened for answers from more than one passage."""


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
                    # the name evidence uses for each article (a .md article's source is its text in the index)
                    "names": {engine.stored.chunks[r].source: article_name(engine, engine.stored.chunks[r].source)
                              for r in rows},
                    "leads": {engine.stored.chunks[r].source: lead[engine.stored.chunks[r].source] for r in rows},
                    "spans": evidence_spans(item["evidence"], texts)})
    return out


def _cache_key(settings: Settings, news_index: Path, corpora: dict[str, tuple[Path, Path]]) -> str:
    """What the collected sentences depend on: every setting outside [answer], the indexes, the questions."""
    parts = [repr(replace(settings, answer=None)), repr(GRID["passages_considered"])]
    for index in (settings.paths.index, news_index, *(i for _, i in corpora.values())):
        current = index / "current"
        parts.append(str(current.resolve()) if current.exists() else str(index.resolve()))
    parts += [Path(p).read_text(encoding="utf-8")
              for p in (settings.paths.golden, NEWS, *(q for q, _ in corpora.values()))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _from_json(cached: dict) -> dict:
    """The cache as collect() made it: sentences and evidence spans back as their dataclasses."""
    for questions in cached["sets"].values():
        for q in questions:
            q["sentences"] = [Sentence(**s) for s in q["sentences"]]
            q["spans"] = [Span(**s) for s in q["spans"]]
    return cached


def collected(settings: Settings, news_index: Path, refresh: bool = False,
              corpora: dict[str, tuple[Path, Path]] | None = None) -> dict[str, list[dict]]:
    """The golden, news and other (corpora: name -> questions, index) questions with their candidate sentences,
    from the cache when it is current."""
    corpora = corpora or {}
    key = _cache_key(settings, news_index, corpora)
    if not refresh and CACHE.exists():
        cached = _from_json(json.loads(CACHE.read_text(encoding="utf-8")))
        if cached.get("key") == key:
            return cached["sets"]
    embedder = make_embedder(settings.embedding)
    sets = {"golden": collect(Engine(settings, embedder=embedder), settings.paths.golden),
            "news": collect(Engine(settings.with_index(news_index), embedder=embedder), NEWS)}
    for name, (questions, index) in corpora.items():
        sets[name] = collect(Engine(settings.with_index(index), embedder=embedder), questions)
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
            name = q.get("names", {}).get(first.source, first.source)
            right += any(s.overlap(name, first.start, last.end) > 0 for s in q["spans"])
    return right / len(questions) if questions else 0.0


def main() -> None:
    cli = parser(__doc__)
    add_news_index(cli)
    add_config(cli)
    cli.add_argument("--refresh", action="store_true", help="collect the sentences again, ignoring the cache")
    cli.add_argument("--corpus", action="append", default=[], metavar="NAME=QUESTIONS:INDEX",
                     help="another question set and the index it asks (repeatable); scored, never chosen on")
    args = cli.parse_args()
    logging.basicConfig(level=logging.ERROR)
    settings = settings_from(args)
    corpora = {}
    for spec in args.corpus:
        name, _, paths = spec.partition("=")
        questions, _, index = paths.partition(":")
        corpora[name] = (Path(questions), require_index(Path(index)))
    sets = collected(settings, require_index(args.news_index), args.refresh, corpora)
    splits = {"golden": sets["golden"], "news": sets["news"],
              "news_a": [q for q in sets["news"] if q["fold"] == 0],
              "news_b": [q for q in sets["news"] if q["fold"] == 1],
              "news_paraphrase_a": [q for q in sets["news"] if q["fold"] == 0 and q["category"] == "paraphrase"],
              "news_paraphrase_b": [q for q in sets["news"] if q["fold"] == 1 and q["category"] == "paraphrase"],
              **{name: sets[name] for name in corpora}}
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
        "command": command(),
        "current": current,
        "one_change": one_change,
        "best_on_golden_and_news": by("golden", "news"),
        # Chosen on one half of the news articles (and the golden set), scored on the other half.
        "chosen_on_news_a": by("golden", "news_a"),
        "chosen_on_news_b": by("golden", "news_b"),
    }
    # Each set left out of the choice in turn (a news half with its paraphrases), chosen on the mean of the rest.
    choice_sets = ["golden", "news_a", "news_b", *corpora]
    report["held_out"] = {}
    for name in choice_sets:
        rest = [n for n in choice_sets if n != name]
        values, scores = by(*rest)
        report["held_out"][name] = {"chosen_on": rest, "setting": values, "score": scores[name],
                                    "configured": current[name],
                                    **({f"paraphrase_{name[-1]}": scores[f"news_paraphrase_{name[-1]}"],
                                        f"paraphrase_{name[-1]}_configured": current[f"news_paraphrase_{name[-1]}"]}
                                       if name.startswith("news_") else {})}
    print(json.dumps(report, indent=2, default=str))
    write_result("answer", report)


if __name__ == "__main__":
    main()
