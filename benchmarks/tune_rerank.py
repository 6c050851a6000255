"""Learn the second stage's weights ([rerank] in config/) on the three dev sets, and report held-out splits.

    python benchmarks/tune_rerank.py --news-index var/bbc-index                # fit, report, print weights
    python benchmarks/tune_rerank.py --news-index var/bbc-index --write         # ...and write them to config

The dev sets: the golden set over the seeds (tests/data/golden.jsonl), the news dev set over the BBC
folder (../shared/eval/news_dev.jsonl; build its index with benchmarks/news_eval.py) and SciFact train
(../shared/data/scifact; its index is built once by `citebot eval --dataset`). For each question the
first stage's top candidates are collected with their features and whether they hold the evidence;
weights are fitted by pairwise logistic regression with every set weighing the same. Reported: each
set's main score (hit@1 for the question sets, nDCG@10 for SciFact) for the first stage alone, and for
weights fitted with half of the news articles left out, measured on that half (then swapped), so the
news figure is on questions the weights never saw. Results go to benchmarks/results/rerank.json.

Two sets of weights are fitted: `weights` over all candidate pairs (it orders the articles), and
`within_article`, which orders each article's passages among the places the article holds
(retrieval/rerank.py candidate_order): `weights` plus --within-blend times a fit over pairs of one article's
candidates only. Features named by --global-drop (default: residual, which only tells passages of one
article apart) are left out of `weights`. The blend 0.5 was chosen on the news held-out splits and the
golden set together (0.25: news 0.708, 0.5: 0.7125, 0.75: 0.716, 1: 0.7175, within-article fit alone: 0.72;
golden loses one question from 0.75 and two alone).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from citebot.config.settings import load_settings, with_overrides  # noqa: E402
from citebot.index.embedding import make_embedder  # noqa: E402
from citebot.retrieval.engine import Engine  # noqa: E402
from citebot.retrieval.evaluation.beir import load_beir, prepare  # noqa: E402
from citebot.retrieval.evaluation.golden import (
    UNANSWERABLE,
    evidence_spans,
    load_golden,
    replay_earlier_turns,
    source_texts,
)
from citebot.retrieval.evaluation.metrics import ndcg_graded_at  # noqa: E402
from citebot.retrieval.features import FEATURES  # noqa: E402
from citebot.retrieval.question import Question as Asked  # noqa: E402
from citebot.retrieval.rerank import as_vector, candidate_order  # noqa: E402

NEWS = ROOT.parent / "shared" / "eval" / "news_dev.jsonl"
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
RESULTS = ROOT / "benchmarks" / "results" / "rerank.json"


@dataclass
class Question:
    id: str
    category: str
    fold: int
    """0 or 1: which half of the set's articles the question is about."""
    features: np.ndarray
    relevant: np.ndarray
    """Per candidate: does it hold the evidence (question sets) / its document's grade (SciFact)."""
    docs: list[str] = field(default_factory=list)
    qrels: dict[str, int] = field(default_factory=dict)
    group: str = ""
    """What the folds split by: the article the question is about (its evidence's source)."""
    articles: list[str] = field(default_factory=list)
    """Per candidate: its article (question sets); SciFact uses docs."""


def fold_of(key: str) -> int:
    return hashlib.sha256(key.encode()).digest()[0] & 1


def collect_questions(engine: Engine, path: Path, depth: int) -> list[Question]:
    engine.reranker.needs_residual = True  # every feature is collected, weighed or not
    texts = source_texts(engine)
    out = []
    for item in load_golden(path):
        if item["category"] == UNANSWERABLE:
            continue
        conversation = replay_earlier_turns(engine, item)
        found = engine.first_stage(Asked.read(item["turns"][-1]), conversation)
        hits = found.hits[:depth]
        spans = evidence_spans(item["evidence"], texts)
        chunks = [engine.stored.chunks[h.row] for h in hits]
        relevant = np.array([any(s.overlap(c.source, c.start, c.end) * 2 >= s.end - s.start for s in spans)
                             for c in chunks], dtype=np.float64)
        features = engine.reranker.features(found.context, hits, found.signals, found.sentence_scores)
        source = item["evidence"][0]["source"]
        out.append(Question(item["id"], item["category"], fold_of(source), features, relevant, group=source,
                            articles=[c.source for c in chunks]))
    return out


def collect_scifact(settings, embedder, depth: int, split: str = "train") -> list[Question]:
    data = load_beir(SCIFACT, split)
    engine, names = prepare(data, settings, embedder)
    engine.reranker.needs_residual = True
    doc_of = {c.source: names[Path(c.source).name] for c in engine.stored.chunks}
    out = []
    for query_id, text in ((q, data.queries[q]) for q in data.qrels):
        found = engine.first_stage(Asked.read(text))
        hits = found.hits[:depth]
        docs = [doc_of[engine.stored.chunks[h.row].source] for h in hits]
        qrels = data.qrels[query_id]
        features = engine.reranker.features(found.context, hits, found.signals, found.sentence_scores)
        relevant = np.array([float(qrels.get(d, 0) > 0) for d in docs])
        out.append(Question(query_id, "scifact", fold_of(query_id), features, relevant, docs, qrels))
    return out


Weights = tuple[np.ndarray, np.ndarray | None]
"""The second stage's weights: over all candidates, and within one article (None: not used)."""


def score_set(questions: list[Question], weights: Weights) -> dict[str, float]:
    """hit@1 and MRR@5 per category for question sets; nDCG@10 over documents for SciFact."""
    by_category: dict[str, list[tuple[float, float]]] = {}
    for q in questions:
        within = q.features @ weights[1] if weights[1] is not None else None
        order = candidate_order(q.features @ weights[0], within, q.articles or q.docs)
        if q.docs:
            ranked = list(dict.fromkeys(q.docs[i] for i in order))
            value = (ndcg_graded_at(ranked, q.qrels, 10), 0.0)
        else:
            ranks = [r for r, i in enumerate(order[:5], 1) if q.relevant[i]]
            value = (float(bool(ranks) and ranks[0] == 1), 1 / ranks[0] if ranks else 0.0)
        by_category.setdefault(q.category, []).append(value)
    out = {}
    for category, values in sorted(by_category.items()):
        arr = np.array(values)
        out[category] = round(float(arr[:, 0].mean()), 4)
    every = [v for values in by_category.values() for v in values]
    out["main"] = round(float(np.mean([v[0] for v in every])), 4)
    return out


def pair_differences(q: Question, within_article: bool = False) -> np.ndarray | None:
    """Relevant minus non-relevant candidates' features (only pairs from one article, if within_article)."""
    pos, neg = np.flatnonzero(q.relevant > 0), np.flatnonzero(q.relevant <= 0)
    if not (len(pos) and len(neg)):
        return None
    diff = q.features[pos][:, None, :] - q.features[neg][None, :, :]
    if within_article:
        articles = np.array(q.articles or q.docs)
        diff = diff[articles[pos][:, None] == articles[neg][None, :]]
        return diff if len(diff) else None
    return diff.reshape(-1, q.features.shape[1])


def fit(sets: dict[str, list[Question]], c: float = 1.0, ascent: bool = False,
        within_article: bool = False) -> np.ndarray:
    """Pairwise logistic regression: relevant minus non-relevant candidates of one question (of one article,
    if within_article); every question of a set weighs the same, every set weighs the same."""
    from sklearn.linear_model import LogisticRegression

    rows, weights = [], []
    for questions in sets.values():
        pairs_per_set = []
        for q in questions:
            diff = pair_differences(q, within_article)
            if diff is not None:
                pairs_per_set.append(diff)
        total = sum(len(d) for d in pairs_per_set) or 1
        for diff in pairs_per_set:
            # every question of a set weighs the same, every set weighs the same
            w = 1.0 / (len(pairs_per_set) * len(diff))
            rows += [diff, -diff]
            weights += [np.full(len(diff), w)] * 2
        del total
    if not rows:
        return np.zeros(len(FEATURES))
    x = np.vstack(rows)
    y = np.concatenate([np.ones(len(r)) if i % 2 == 0 else np.zeros(len(r)) for i, r in enumerate(rows)])
    sample = np.concatenate(weights)
    model = LogisticRegression(fit_intercept=False, C=c, max_iter=2000)
    model.fit(x, y, sample_weight=sample * len(sample) / sample.sum())
    coef = model.coef_[0]
    coef = coef / np.abs(coef).max()
    return refine(sets, coef) if ascent else coef


def fit_both(sets: dict[str, list[Question]], c: float, ascent: bool, global_keep: np.ndarray,
             blend: float | None) -> Weights:
    """Weights over all candidates (without the features global_keep zeroes), and within one article: those
    plus blend times the weights fitted on one article's pairs (None: no within-article weights)."""
    narrowed = {n: [_with_features(q, q.features * global_keep) for q in qs] for n, qs in sets.items()}
    weights = fit(narrowed, c, ascent) * global_keep
    if blend is None:
        return weights, None
    within = weights + blend * fit(sets, c, within_article=True)
    return weights, within / np.abs(within).max()


def _with_features(q: Question, features: np.ndarray) -> Question:
    from dataclasses import replace
    return replace(q, features=features)


def objective(sets: dict[str, list[Question]], weights: np.ndarray) -> float:
    """The mean of the sets' main scores (weights over all candidates only)."""
    return float(np.mean([score_set(qs, (weights, None))["main"] for qs in sets.values() if qs]))


def refine(sets: dict[str, list[Question]], weights: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Coordinate ascent on the mean main score, from the logistic-regression weights."""
    best, value = weights.copy(), objective(sets, weights)
    for _ in range(rounds):
        improved = False
        for i in range(len(best)):
            if best[i] == 0 and not any(q.features[:, i].any() for qs in sets.values() for q in qs[:50]):
                continue
            for step in (-0.5, -0.2, -0.1, 0.1, 0.2, 0.5):
                trial = best.copy()
                trial[i] += step
                trial_value = objective(sets, trial)
                if trial_value > value + 1e-9:
                    best, value, improved = trial, trial_value, True
        if not improved:
            break
    return best / np.abs(best).max()


def held_out_splits(sets: dict[str, list[Question]], splits: int, fitter) -> dict:
    """News held-out figures (weights fitted on the other half of the articles and the other sets), averaged
    over `splits` random halvings of the news articles, each half held out once; `halves`: each half's main."""
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    halves: list[float] = []
    for split in range(1, splits + 1):
        fold = {q.id: fold_of(f"{split}:{q.group}") for q in sets["news"]}
        for held in (0, 1):
            train = {n: [q for q in qs if fold[q.id] != held] if n == "news" else qs for n, qs in sets.items()}
            test = [q for q in sets["news"] if fold[q.id] == held]
            scores = score_set(test, fitter(train))
            halves.append(scores["main"])
            for key, value in scores.items():
                size = len(test) if key == "main" else sum(q.category == key for q in test)
                totals[key] = totals.get(key, 0.0) + value * size
                counts[key] = counts.get(key, 0) + size
    return {key: round(value / counts[key], 4) for key, value in totals.items()} | {"halves": halves}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--news-index", default=str(ROOT / "var" / "bbc-index"), help="index of the BBC folder")
    parser.add_argument("--config", help="settings file (default: config/default.toml)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one setting (TOML value), e.g. --set lexical.stem=false; repeatable")
    parser.add_argument("--depth", type=int, help="candidates per question (default: [rerank] depth)")
    parser.add_argument("--no-scifact", action="store_true", help="leave SciFact train out (faster)")
    parser.add_argument("--drop", default="", help="comma-separated features to leave out")
    parser.add_argument("--global-drop", default="residual",
                        help="comma-separated features left out of the weights over all candidates only "
                             "(default: residual)")
    parser.add_argument("--within-blend", type=float, default=0.5,
                        help="within-article weights = the global ones + this times the within-article fit "
                             "(default 0.5; a negative value: no within-article weights)")
    parser.add_argument("-C", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--ascent", action="store_true",
                        help="refine the fitted weights by coordinate ascent on the mean main score")
    parser.add_argument("--out", default=str(RESULTS), help=f"report file (default: {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--splits", type=int, default=0,
                        help="also report the news held-out figures averaged over this many other random halvings "
                             "of the news articles (steadier than the one fixed split)")
    parser.add_argument("--write", action="store_true", help="write the weights fitted on everything to config")
    parser.add_argument("--current", action="store_true",
                        help="only score the configured weights on every set (no fitting)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    settings = with_overrides(load_settings(args.config), args.set)
    depth = args.depth or settings.rerank.depth
    embedder = make_embedder(settings.embedding)
    sets = {"golden": collect_questions(Engine(settings, embedder=embedder), settings.paths.golden, depth)}
    news_engine = Engine(settings.with_index(Path(args.news_index)), embedder=embedder)
    sets["news"] = collect_questions(news_engine, NEWS, depth)
    if not args.no_scifact:
        sets["scifact"] = collect_scifact(settings, embedder, depth)
    keep = np.array([name not in args.drop.split(",") for name in FEATURES], dtype=np.float64)
    for questions in sets.values():
        for q in questions:
            q.features = q.features * keep

    global_keep = np.array([name not in args.global_drop.split(",") for name in FEATURES], dtype=np.float64)

    def fitter(train: dict[str, list[Question]]) -> Weights:
        return fit_both(train, args.C, args.ascent, global_keep, args.within_blend if args.within_blend >= 0 else None)

    first_stage = (np.array([name == "fused" for name in FEATURES], dtype=np.float64), None)
    if args.current:
        within = settings.rerank.within_article
        configured = (as_vector(settings.rerank.weights) * keep, as_vector(within) * keep if within else None)
        print(json.dumps({"first_stage": {n: score_set(q, first_stage) for n, q in sets.items()},
                          "configured": {n: score_set(q, configured) for n, q in sets.items()}}, indent=2))
        return
    report: dict = {"command": "python benchmarks/tune_rerank.py " + " ".join(sys.argv[1:]), "depth": depth,
                    "first_stage": {n: score_set(q, first_stage) for n, q in sets.items()}}
    held_out: dict[str, list] = {}
    for fold in (0, 1):
        train = {n: [q for q in qs if q.fold != fold] if n == "news" else qs for n, qs in sets.items()}
        weights = fitter(train)
        test = [q for q in sets["news"] if q.fold == fold]
        held_out.setdefault("news", []).append((len(test), score_set(test, weights)))
        train = {n: [q for q in qs if q.fold != fold] if n == "scifact" else qs for n, qs in sets.items()}
        if "scifact" in sets:
            weights = fitter(train)
            test = [q for q in sets["scifact"] if q.fold == fold]
            held_out.setdefault("scifact", []).append((len(test), score_set(test, weights)))
    report["held_out"] = {
        n: {k: round(sum(size * s[k] for size, s in parts if k in s) / sum(size for size, s in parts if k in s), 4)
            for k in parts[0][1]} for n, parts in held_out.items()}
    report["held_out_folds"] = {n: [s for _, s in parts] for n, parts in held_out.items()}
    if args.splits:
        report["held_out_splits"] = held_out_splits(sets, args.splits, fitter)
    weights = fitter(sets)
    report["fitted_on_all"] = {n: score_set(q, weights) for n, q in sets.items()}
    report["weights"] = {name: round(float(w), 3) for name, w in zip(FEATURES, weights[0], strict=True) if w}
    report["within_article"] = ({name: round(float(w), 3) for name, w in zip(FEATURES, weights[1], strict=True) if w}
                                if weights[1] is not None else {})
    print(json.dumps(report, indent=2))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.write:
        path = Path(args.config) if args.config else ROOT / "config" / "default.toml"
        text = path.read_text(encoding="utf-8")
        for name in ("weights", "within_article"):
            table = "".join(f"{k} = {v}\n" for k, v in report[name].items())
            text = re.sub(rf"(?m)(^\[rerank\.{name}\].*\n)(?:\w+ = .*\n)*",
                          lambda m, table=table: m.group(1) + table, text)
        path.write_text(text, encoding="utf-8")
        print(f"wrote the weights to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
