"""Issue #27: new abstention signals measured on top of the configured rules (not kept; see docs/experiments.md).

    python -m benchmarks.tuning.abstention_signals --rows var/abstention-signals          # ask, then score
    python -m benchmarks.tuning.abstention_signals --rows var/abstention-signals --cached # score again

Every question of the golden, news dev and three corpora sets, and the bank of general questions against each index,
is asked with abstention off (as calibrate_abstention does); kept per question: the configured rules' evidence, the
best passage and sentence cosine, the top passage's fused score, and each of the top 5 passages' sentences with
their cosine and the question's key terms they hold. Signals, each as "abstain when it is below a threshold" on top
of the configured rules: a sentence floor (best sentence cosine), the top passage's score (the margin over the
bank), both set per index from where the bank lands (quantile + margin) or fixed; the subject's co-occurrence (the
share of the known key words, idf-weighted, that one sentence or two adjacent sentences holding the question's rarest
known key word hold, in the top 3 passages). Printed: the best rule within every set's refusal limit, and per set
the most a threshold of its own could decline within its limit.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from benchmarks.common import NEWS, ROOT, parser
from citebot.config.settings import load_settings
from citebot.index.embedding import make_embedder
from citebot.index.lexical import folded_words
from citebot.retrieval.abstain import NUMBER, money_unquoted
from citebot.retrieval.engine import Engine
from citebot.retrieval.evaluation.golden import load_golden
from citebot.retrieval.off_topic import BANK

CORPORA = Path("/work/var/corpora")
SETS = {
    "golden": (ROOT / "tests/data/golden.jsonl", None),
    "news": (NEWS, Path("/work/var/bbc-index")),
    "docs": (ROOT / "benchmarks/corpora/questions_docs.jsonl", CORPORA / "docs-index"),
    "papers": (ROOT / "benchmarks/corpora/questions_papers.jsonl", CORPORA / "papers-index"),
    "newscsv": (ROOT / "benchmarks/corpora/questions_news.jsonl", CORPORA / "news-index"),
}
LIMITS = {"golden": 0, "news": 2}
TOP = 5


def capture(engine: Engine) -> dict:
    box: dict = {}
    evidence, answer = engine.abstention_evidence, engine._answer

    def on_evidence(searched, slots, hits, asked=None, quote=None):
        box.update(searched=searched, slots=slots, hits=hits)
        return evidence(searched, slots, hits, asked, quote)

    def on_answer(question, searched, rows, sentence_scores):
        box["sentence_scores"] = sentence_scores
        return answer(question, searched, rows, sentence_scores)

    engine.abstention_evidence, engine._answer = on_evidence, on_answer
    return box


def record(engine: Engine, box: dict, result) -> dict:
    view = engine.reranker.view
    searched, slots, hits, scores = box["searched"], box["slots"], box["hits"], box["sentence_scores"]
    keys = list(searched.key_words)
    terms = list(dict.fromkeys(t for w in keys for t in view.tokenize(w)))
    wanted = set(terms)
    out = {"searched": searched.text, "abstained_by_name": bool(result.evidence.unknown_names),
           "evidence": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(result.evidence).items()},
           "key_known": [folded_words(w) <= engine.searcher.lexical.words for w in keys],
           "terms": terms, "idf": [view.weight(t) / view.max_idf for t in terms],
           "share": [view.share(t) for t in terms],
           "answer": result.answer.text if result.answer else None,
           "max_dense": max((h.dense_score for h in hits.values()), default=-1.0),
           "max_sent": max((h.sentence_score for h in hits.values()), default=-1.0), "top": []}
    for slot in slots[:TOP]:
        hit, chunk = hits[slot.row], slot.chunk
        ids = list(engine.searcher.sentences_by_chunk.get(slot.row, []))
        sentences = []
        for i, cosine in zip(ids, scores[ids] if ids else [], strict=True):
            ref = engine.stored.sentences[i]
            text = chunk.text[ref.start - chunk.start:ref.end - chunk.start]
            sentences.append({"cos": float(cosine), "held": sorted(wanted & set(view.tokenize(text)))})
        out["top"].append({"score": hit.score, "dense": hit.dense_score, "sent": hit.sentence_score,
                           "sentences": sentences})
    return out


def collect(folder: Path) -> None:
    settings = load_settings(None)
    settings = replace(settings, retrieval=replace(
        settings.retrieval, abstain_below=-1.0, abstain_missing=0, abstain_missing_year=False,
        abstain_missing_number=False, abstain_money_unquoted=False, abstain_bank_quantile=0.0,
        abstain_min_cover=0.0, abstain_max_unknown=1.0))
    embedder = make_embedder(settings.embedding)
    folder.mkdir(parents=True, exist_ok=True)
    for name, (questions, index) in SETS.items():
        engine = Engine(settings.with_index(index) if index else settings, embedder=embedder)
        box = capture(engine)
        rows = []
        for item in load_golden(questions):
            conversation = engine.new_conversation()
            for turn in item["turns"][:-1]:
                engine.ask(turn, conversation)
            result = engine.ask(item["turns"][-1], conversation if len(item["turns"]) > 1 else None)
            rows.append(record(engine, box, result) | {"id": item["id"], "question": item["turns"][-1],
                                                       "answerable": item["category"] != "unanswerable"})
        bank = [record(engine, box, engine.ask(q)) | {"question": q} for q in BANK]
        (folder / f"{name}.json").write_text(json.dumps({"passages": len(engine.stored.chunks), "rows": rows,
                                                          "bank": bank}), encoding="utf-8")
        logging.getLogger(__name__).warning("%s: %d questions", name, len(rows))


def configured(row: dict, floor: float, passages: int) -> bool:
    """The configured rules, as the engine decides."""
    e = row["evidence"]
    numbers = any(NUMBER.fullmatch(m) for m in e["missing"])
    return (row["abstained_by_name"] or (e["best_similarity"] < floor and not e["names_shown"])
            or bool(e["missing_years"]) or numbers or money_unquoted(row["question"], row["answer"])
            or (passages >= 500 and e["unknown_share"] > 0.2))


def known(row: dict) -> list[tuple[str, float]]:
    return [(t, w) for t, w, s in zip(row["terms"], row["idf"], row["share"], strict=True) if s > 0]


def co_occurrence(row: dict, width: int) -> float:
    """The most of the known key words (idf-weighted) that `width` adjacent sentences holding the rarest one hold,
    in the top 3 passages (1 when the question has no known key word)."""
    terms = known(row)
    if not terms:
        return 1.0
    subject = max(terms, key=lambda t: t[1])[0]
    total, best = sum(w for _, w in terms), 0.0
    for passage in row["top"][:3]:
        sentences = passage["sentences"]
        for i in range(len(sentences)):
            held = set().union(*(set(s["held"]) for s in sentences[i:i + width]))
            if subject in held:
                best = max(best, sum(w for t, w in terms if t in held) / total)
    return best


SIGNALS = {
    "sentence floor (best sentence cosine)": (lambda r: r["max_sent"], True),
    "top passage's sentence cosine": (lambda r: r["top"][0]["sent"] if r["top"] else -1.0, True),
    "top passage's fused score (margin over the bank)": (lambda r: r["top"][0]["score"] if r["top"] else -1.0, True),
    "subject co-occurrence, one sentence": (lambda r: co_occurrence(r, 1), False),
    "subject co-occurrence, two adjacent sentences": (lambda r: co_occurrence(r, 2), False),
}


def counts(data: dict, feature=None, cuts: dict[str, float] | None = None) -> dict[str, tuple[int, int, int, int]]:
    """Per set: (answerable refused, answerable, unanswerable declined, unanswerable), the configured rules and,
    when given, abstaining when feature(row) < cuts[set]."""
    out = {}
    for name, d in data.items():
        floor = max(0.38, float(np.quantile([b["evidence"]["best_similarity"] for b in d["bank"]], 0.25)) + 0.15)
        refused = declined = 0
        for row in d["rows"]:
            no = configured(row, floor, d["passages"]) or (feature is not None and feature(row) < cuts[name])
            refused += no and row["answerable"]
            declined += no and not row["answerable"]
        answerable = sum(r["answerable"] for r in d["rows"])
        out[name] = (refused, answerable, declined, len(d["rows"]) - answerable)
    return out


def within(result: dict) -> bool:
    return all(ref <= LIMITS.get(name, int(0.03 * n)) for name, (ref, n, _, _) in result.items())


def show(result: dict) -> str:
    return ", ".join(f"{n} {ref}/{a} refused {dec}/{u} declined" for n, (ref, a, dec, u) in result.items())


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--rows", type=Path, default=ROOT / "var" / "abstention-signals")
    cli.add_argument("--cached", action="store_true", help="score the rows of the last run again")
    args = cli.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("citebot").setLevel(logging.ERROR)
    if not args.cached:
        collect(args.rows)
    data = {name: json.loads((args.rows / f"{name}.json").read_text(encoding="utf-8")) for name in SETS}
    base = counts(data)
    print("configured:", show(base))
    for label, (feature, by_bank) in SIGNALS.items():
        options = []
        banks = {name: [feature(b) for b in d["bank"]] for name, d in data.items()}
        for q in (0.25, 0.5, 0.75, 0.9, 1.0) if by_bank else (None,):
            for m in np.arange(-0.5, 1.01, 0.02):
                cuts = {name: (float(np.quantile(banks[name], q)) if q is not None else 0.0) + m for name in data}
                result = counts(data, feature, cuts)
                gained = sum(result[n][2] - base[n][2] for n in result)
                options.append((within(result), gained, -abs(m), q, round(float(m), 2), result))
        best = max(options, key=lambda o: o[:3])
        print(f"\n{label}: best within every limit: bank quantile {best[3]} + {best[4]}: gained {best[1]}; "
              f"{show(best[5])}")
        own = {}
        for name in data:
            values = sorted({feature(r) for r in data[name]["rows"]})
            top = base[name][2]
            for cut in values + [values[-1] + 1e-6]:
                one = counts({name: data[name]}, feature, {name: cut})[name]
                if one[0] <= max(LIMITS.get(name, int(0.03 * one[1])), base[name][0]):
                    top = max(top, one[2])
            own[name] = f"{base[name][2]} -> {top}"
        print("  the most a threshold of each set's own declines within its limit:", own)


if __name__ == "__main__":
    main()
