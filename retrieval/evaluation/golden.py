"""Retrieval evaluation over the golden question set (tests/data/golden.jsonl).

Each line: {"id", "category", "turns": [question, ...], "evidence": [{"source": file-name prefix,
"quote": verbatim text}]}. Only the last turn is scored; earlier turns build the conversation.
A passage is relevant when it covers at least half of an evidence quote; an answer quote is right
when it overlaps an evidence quote. A quote found several times counts wherever it is.
Unanswerable questions have no evidence.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citebot.config.errors import CitebotError
from citebot.index.ingest.corpus import read_corpus
from citebot.retrieval.citations import Passage, quote_matches_source
from citebot.retrieval.conversation import Conversation
from citebot.retrieval.engine import Engine
from citebot.retrieval.evaluation.metrics import hit_at, ndcg_at, reciprocal_rank_at

UNANSWERABLE = "unanswerable"


@dataclass(frozen=True)
class Span:
    file_name: str
    start: int
    end: int

    def overlap(self, file_name: str, start: int, end: int) -> int:
        if Path(file_name).name != self.file_name:
            return 0
        return max(0, min(self.end, end) - max(self.start, start))


def load_golden(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CitebotError(f"cannot read the golden set {path}: {exc.strerror}") from None
    items = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                item = json.loads(line)
                item["turns"], item["category"], item["evidence"]  # noqa: B018 - required keys
            except (ValueError, KeyError, TypeError):
                raise CitebotError(f"{path}:{number} is not a golden item (need turns, category, evidence)") from None
            items.append(item)
    return items


def replay_earlier_turns(engine: Engine, item: dict[str, Any]) -> Conversation:
    """A conversation that has asked every turn of a golden item but the last (the one scored)."""
    conversation = engine.new_conversation()
    for turn in item["turns"][:-1]:
        engine.ask(turn, conversation)
    return conversation


def source_texts(engine: Engine) -> dict[str, str]:
    """The text of every indexed article, by file name (what golden evidence is looked up in)."""
    sources = {Path(c.source).name: c.source for c in engine.stored.chunks}
    return {name: Path(source).read_text(encoding="utf-8") for name, source in sources.items()}


def evidence_spans(evidence: list[dict[str, str]], texts: dict[str, str]) -> list[Span]:
    spans = []
    for ev in evidence:
        for name, text in texts.items():
            if name.startswith(ev["source"]):
                starts = [m.start() for m in re.finditer(re.escape(ev["quote"]), text)]
                if not starts:
                    raise CitebotError(f"golden evidence not found in {name}: {ev['quote']!r}")
                spans.extend(Span(name, start, start + len(ev["quote"])) for start in starts)
    return spans


def _passage_record(rank: int, passage: Passage, relevant: bool) -> dict[str, Any]:
    c = passage.citation
    return {"rank": rank, "relevant": relevant, "score": round(passage.score, 4), "source": c.source,
            "start": c.start, "end": c.end, "text": passage.text}


def evaluate_golden(engine: Engine, golden_path: Path, k: int = 5, misses: Path | None = None) -> dict[str, Any]:
    """Run every golden item and report ranking, answer, abstention and citation checks; with `misses`,
    write each question missed at rank 1 (or wrongly answered or refused) to that JSONL file with what
    was searched, the passages returned and where the evidence ranked."""
    items = load_golden(golden_path)
    texts = source_texts(engine)
    chunk_spans = [(Path(c.source).name, c.start, c.end) for c in engine.stored.chunks]
    root = engine.stored.sources_root
    dropped = [Span(Path(a.source).name, p.start, p.end)
               for a in read_corpus(root, engine.settings.ingest).articles for p in a.paragraphs if p.dropped] \
        if root.is_dir() else []

    per_category: dict[str, list[dict[str, float]]] = defaultdict(list)
    details = []
    missed: list[dict[str, Any]] = []
    non_verbatim = boilerplate = 0
    answer_right = answerable = refused = answered_unanswerable = unanswerable = 0
    for item in items:
        conversation = replay_earlier_turns(engine, item)
        result = engine.ask(item["turns"][-1], conversation, top_k=k)
        spans = evidence_spans(item["evidence"], texts)
        shown = list(result.passages)
        for p in [p for slot in shown for p in (slot, *slot.also_in)]:
            non_verbatim += not quote_matches_source(p.text, p.citation.source, p.citation.start, p.citation.end)
            boilerplate += any(d.overlap(p.citation.source, p.citation.start, p.citation.end) for d in dropped)
        if result.answer:
            a = result.answer
            non_verbatim += not quote_matches_source(a.text, a.source, a.start, a.end)
        evidence = result.evidence
        detail: dict[str, Any] = {"id": item["id"], "category": item["category"], "searched": result.searched,
                                  "abstained": result.abstained, "abstain_reason": result.abstain_reason,
                                  "best_similarity": round(evidence.best_similarity, 4),
                                  "missing": list(evidence.missing), "names_shown": evidence.names_shown,
                                  "missing_years": list(evidence.missing_years)}
        if item["category"] == UNANSWERABLE:
            unanswerable += 1
            answered_unanswerable += not result.abstained
        else:
            answerable += 1
            refused += result.abstained

            def covered(passage: Passage, spans: list[Span] = spans) -> set[Span]:
                """Evidence places covered by a passage, or by a repeat of it listed "also in"."""
                return {s for q in (passage, *passage.also_in) for s in spans
                        if s.overlap(q.citation.source, q.citation.start, q.citation.end) * 2 >= s.end - s.start}

            relevant = [bool(covered(p)) for p in shown]
            # For nDCG a passage gains only for evidence places no higher passage covered; the ideal list
            # shows one passage per place (there are at most as many places as chunks covering them).
            seen: set[Span] = set()
            novel = []
            for p in shown:
                places = covered(p) - seen
                novel.append(bool(places))
                seen |= places
            reachable = {s for s in spans for name, cs, ce in chunk_spans
                         if s.overlap(name, cs, ce) * 2 >= s.end - s.start}
            scores = {"hit@1": hit_at(relevant, 1), "hit@3": hit_at(relevant, 3),
                      "mrr@5": reciprocal_rank_at(relevant, k), "ndcg@5": ndcg_at(novel, k, len(reachable))}
            per_category[item["category"]].append(scores)
            right = bool(result.answer) and any(
                s.overlap(result.answer.source, result.answer.start, result.answer.end) > 0 for s in spans)
            answer_right += right
            detail.update(scores, answer_right=right, answer=result.answer.text if result.answer else None)
            listed = [*shown, *result.more]
            detail["evidence_rank"] = next((r for r, p in enumerate(listed, 1) if covered(p)), None)
        details.append(detail)
        wrong = (result.abstained != (item["category"] == UNANSWERABLE)
                 or (item["category"] != UNANSWERABLE and (detail["hit@1"] == 0 or not detail["answer_right"])))
        if misses is not None and wrong:
            listed = [*result.passages, *result.more]
            missed.append({**detail, "turns": item["turns"], "evidence": item["evidence"],
                           "passages": [_passage_record(r, p, item["category"] != UNANSWERABLE and bool(covered(p)))
                                        for r, p in enumerate(listed, 1)]})

    def mean(rows: list[dict[str, float]]) -> dict[str, float]:
        return {m: round(sum(r[m] for r in rows) / len(rows), 4) for m in rows[0]} | {"n": len(rows)} if rows else {}

    all_rows = [r for rows in per_category.values() for r in rows]
    if misses is not None:
        misses.parent.mkdir(parents=True, exist_ok=True)
        misses.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in missed), encoding="utf-8")
    return {
        "golden": str(golden_path),
        "questions": len(items),
        "categories": {c: mean(rows) for c, rows in sorted(per_category.items())},
        "answerable": mean(all_rows),
        "answer_accuracy": round(answer_right / answerable, 4) if answerable else None,
        "abstention": {
            "accuracy": round(1 - (refused + answered_unanswerable) / len(items), 4) if items else None,
            "answerable_refused": refused,
            "unanswerable_answered": answered_unanswerable,
            "answerable": answerable,
            "unanswerable": unanswerable,
            "threshold": engine.settings.retrieval.abstain_below,
        },
        "non_verbatim_citations": non_verbatim,
        "boilerplate_passages": boilerplate,
        "details": details,
    }


def render_report(report: dict[str, Any]) -> str:
    lines = [f"golden set {report['golden']}: {report['questions']} questions", "",
             f"{'category':<14}{'n':>4}{'hit@1':>8}{'hit@3':>8}{'MRR@5':>8}{'nDCG@5':>8}"]
    rows = list(report["categories"].items()) + [("all answerable", report["answerable"])]
    for name, m in rows:
        if m:
            lines.append(f"{name:<14}{m['n']:>4}{m['hit@1']:>8.3f}{m['hit@3']:>8.3f}{m['mrr@5']:>8.3f}{m['ndcg@5']:>8.3f}")
    a = report["abstention"]
    lines += [
        "",
        f"answer-quote accuracy   {report['answer_accuracy']:.3f}",
        f"abstention accuracy     {a['accuracy']:.3f}  (threshold {a['threshold']}: "
        f"{a['answerable_refused']}/{a['answerable']} answerable refused, "
        f"{a['unanswerable_answered']}/{a['unanswerable']} unanswerable answered)",
        f"non-verbatim citations  {report['non_verbatim_citations']}",
        f"boilerplate passages    {report['boilerplate_passages']}",
    ]
    misses = [d for d in report["details"] if d.get("hit@3") == 0.0]
    if misses:
        lines += ["", "missed at 3:"] + [f"  {d['id']}: {d['searched']}" for d in misses]
    return "\n".join(lines)
