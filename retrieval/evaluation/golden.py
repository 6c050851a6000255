"""Retrieval evaluation over the golden question set (tests/data/golden.jsonl) or any question file in its
format: collect_golden (ask and judge, one plain record per question), score_golden (the figures),
render_report (text), as sentence-transformers' InformationRetrievalEvaluator keeps them apart.

Each line: {"id", "category", "turns": [question, ...], "evidence": [{"source": file-name prefix or file name,
"row": a collection's data row (optional), "quote": text copied from the article}]}. Only the last turn is
scored; earlier turns build the conversation. A quote is looked up as written, else with whitespace and
Markdown/HTML markup ignored (quote_places). A passage is relevant when it covers at least half of an evidence
quote; an answer quote is right when it overlaps an evidence quote. A quote found several times counts wherever
it is. Unanswerable questions have no evidence.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citebot.config.errors import CitebotError
from citebot.index.ingest.corpus import Document, read_corpus
from citebot.retrieval.citations import Answer, Citation, Passage, quote_matches_source, row_number
from citebot.retrieval.conversation import Conversation
from citebot.retrieval.engine import Engine
from citebot.retrieval.evaluation.metrics import hit_at, ndcg_at, reciprocal_rank_at
from citebot.retrieval.freshness import CheckBounds, article_text

UNANSWERABLE = "unanswerable"


@dataclass(frozen=True)
class Span:
    file_name: str
    start: int
    end: int

    def overlap(self, file_name: str, start: int, end: int) -> int:
        if file_name != self.file_name and Path(file_name).name != self.file_name:
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
            problem = _evidence_problem(item["evidence"])
            if problem:
                raise CitebotError(f"{path}:{number}: {problem}")
            items.append(item)
    return items


def _evidence_problem(evidence: object) -> str | None:
    """Why a line's evidence cannot be read, or None."""
    example = '{"source": "news.csv", "row": 4, "quote": "..."}'
    if not isinstance(evidence, list):
        return f"evidence must be a list of {example}"
    for ev in evidence:
        if not isinstance(ev, dict) or not isinstance(ev.get("source"), str) or not isinstance(ev.get("quote"), str):
            return f"each evidence needs a source and a quote, like {example}"
        row = ev.get("row")
        if row is not None and not (isinstance(row, int) and row >= 1 or isinstance(row, str) and row.isdigit()):
            return f"evidence row must be a whole number (the row a citation names), got {row!r}"
    return None


def evidence_name(ev: dict[str, Any]) -> str:
    """The article an evidence entry names: its source's file name (or prefix), with "#row N" when it names a row
    of a collection by "row" (the number a citation's `row` shows)."""
    source = Path(ev["source"]).name
    return f"{source}#row {int(ev['row'])}" if ev.get("row") is not None else source


def cited_articles(items: list[dict[str, Any]]) -> set[str]:
    """The articles a question file's evidence names (evidence_name)."""
    return {evidence_name(ev) for item in items for ev in item["evidence"]}


def names_article(name: str, evidence: str) -> bool:
    """Whether an article's name is the one evidence names: a file-name prefix ("politics-232" names
    politics-232.txt and politics-232.html), or exactly a collection's row ("news.jsonl#row 12")."""
    return name == evidence or ("#" not in evidence and name.startswith(evidence))


def name_of(source: str, document: Document | None) -> str:
    """An article's name as evidence names it: its file's name, and for a collection's row "file#row N", N the
    data row a citation's `row` shows."""
    if document is None:
        return Path(source).name
    row = row_number(document)
    return Path(document.file).name + (f"#row {row}" if row is not None else "")


def article_name(engine: Engine, source: str) -> str:
    """name_of the article a citation's source belongs to (the source of an article read from another format is
    its text in the index)."""
    return name_of(source, engine.document_of(source))


def _held(prefixes: set[str], names: set[str]) -> int:
    return sum(any(names_article(name, prefix) for name in names) for prefix in prefixes)


def articles_in_index(items: list[dict[str, Any]], engine: Engine) -> tuple[int, int]:
    """(how many of the articles the items cite the index holds, how many they cite)."""
    cited = cited_articles(items)
    return _held(cited, {article_name(engine, c.source) for c in engine.stored.chunks}), len(cited)


def folder_holds(folder: Path, items: list[dict[str, Any]]) -> bool:
    """Whether a folder holds at least half of the articles the items cite."""
    cited = {name.split("#", 1)[0] for name in cited_articles(items)}  # a row is there when its file is
    names = {p.name for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()
    return bool(cited) and 2 * _held(cited, names) >= len(cited)


def replay_earlier_turns(engine: Engine, item: dict[str, Any]) -> Conversation:
    """A conversation that has asked every turn of a golden item but the last (the one scored)."""
    conversation = engine.new_conversation()
    for turn in item["turns"][:-1]:
        engine.ask(turn, conversation)
    return conversation


def source_texts(engine: Engine) -> dict[str, str]:
    """The text of every indexed article, by file name (what golden evidence is looked up in; a collection's row
    is its span of its collection's text)."""
    sources = {article_name(engine, c.source): c.source for c in engine.stored.chunks}
    bounds = CheckBounds.of(engine.settings.ingest, engine.stored.sources_root)  # a FIFO is refused, not read
    units: dict[str, str | None] = {}
    found = {}
    for name, source in sources.items():
        unit = engine.stored.sources.unit(source)
        if unit not in units:
            units[unit] = bounds.read_stored_text(Path(unit))
        if (text := units[unit]) is None:
            raise CitebotError(f"cannot read {name} to find evidence in (not a regular file, too large or "
                               f"unreadable): {unit}")
        found[name] = article_text(engine.stored.sources, source, text) or ""
    return found


def cited_place(citation: Citation | Answer, engine: Engine) -> tuple[str, int, int]:
    """(article as evidence names it, start, end in its text) of a citation or answer (whose offsets count in its
    text file, which a collection's rows share)."""
    if isinstance(citation, Answer):
        source = citation.article or citation.source
        document = engine.document_of(source)
    else:
        source, document = citation.source, citation.document
    offset = document.offset if document is not None else 0
    return name_of(source, document), citation.start - offset, citation.end - offset


_MARKUP = frozenset("`*_~#>|[]\\")
"""Characters Markdown uses for markup, ignored when a quote is compared (quote_places)."""
_LINK_TARGET = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"<[^>]{1,500}>")


def loose_form(text: str) -> tuple[str, list[int]]:
    """text with Markdown markup characters dropped and every run of whitespace as one space, and for each of its
    characters the offset in text it came from."""
    kept: list[str] = []
    where: list[int] = []
    for offset, ch in enumerate(text):
        if ch in _MARKUP:
            continue
        if ch.isspace():
            if not kept or kept[-1] == " ":
                continue
            ch = " "
        kept.append(ch)
        where.append(offset)
    return "".join(kept), where


def quote_places(quote: str, text: str) -> list[tuple[int, int]]:
    """Where quote is in text, as (start, end) spans of text: as written when it is there; otherwise compared
    loosely, so a quote copied from the original file matches the text the index read of it: Markdown links and
    images as their text, HTML tags dropped and entities decoded, the markup characters `*_~#>|[]\\ and backticks
    ignored, and any run of whitespace (line breaks too) the same as one space."""
    exact = [(m.start(), m.start() + len(quote)) for m in re.finditer(re.escape(quote), text)] if quote else []
    if exact:
        return exact
    wanted, _ = loose_form(html.unescape(_TAG.sub(" ", _LINK_TARGET.sub(r"\1", quote))))
    wanted = wanted.strip()
    if not wanted:
        return []
    loose, where = loose_form(text)
    return [(where[m.start()], where[m.start() + len(wanted) - 1] + 1)
            for m in re.finditer(re.escape(wanted), loose)]


def dropped_lines(engine: Engine) -> list[tuple[str, int, int]]:
    """(article as evidence names it, start, end) of every line cleaning leaves out of the articles now
    (boilerplate). A file of another format that did not change since the build is not read again: its text is the
    one the index kept."""
    from citebot.index.ingest.read_cache import ReadCache
    from citebot.index.store import store_location

    root = engine.stored.sources_root
    if not root.is_dir():
        return []
    folder = store_location(engine.settings).folder  # type: ignore[attr-defined]
    kept = ReadCache.of_build(engine.stored.manifest, folder, engine.settings.ingest, keep_new=False)
    articles = read_corpus(root, engine.settings.ingest, kept).articles
    return [(name_of(a.source, a.document), p.start, p.end) for a in articles for p in a.paragraphs if p.dropped]


def evidence_spans(evidence: list[dict[str, Any]], texts: dict[str, str]) -> list[Span]:
    spans = []
    for ev in evidence:
        for name, text in texts.items():
            if names_article(name, evidence_name(ev)):
                places = quote_places(ev["quote"], text)
                if not places:
                    raise CitebotError(f"golden evidence not found in {name}, even with whitespace and markup "
                                       f"ignored: {ev['quote']!r}")
                spans.extend(Span(name, start, end) for start, end in places)
    return spans


def _passage_record(rank: int, passage: Passage, relevant: bool) -> dict[str, Any]:
    c = passage.citation
    return {"rank": rank, "relevant": relevant, "score": round(passage.score, 4), "source": c.source,
            "start": c.start, "end": c.end, "text": passage.text}


def collect_golden(engine: Engine, items: list[dict[str, Any]], k: int = 5) -> list[dict[str, Any]]:
    """Ask every item's last turn (earlier turns replayed) and judge what came back against its evidence:
    one plain record per question with what the scores need (which shown passages cover new evidence, how
    many evidence places any passage can cover, whether the answer quote is right, citations checked) and
    what a misses file shows (every passage listed, with its judgment)."""
    texts = source_texts(engine)
    chunk_spans = [(article_name(engine, c.source), c.start, c.end) for c in engine.stored.chunks]
    dropped = [Span(name, start, end) for name, start, end in dropped_lines(engine)]
    records = []
    for item in items:
        conversation = replay_earlier_turns(engine, item)
        result = engine.ask(item["turns"][-1], conversation, top_k=k)
        spans = evidence_spans(item["evidence"], texts)
        shown = list(result.passages)
        non_verbatim = boilerplate = 0
        for p in [p for slot in shown for p in (slot, *slot.also_in)]:
            non_verbatim += not quote_matches_source(p.text, p.citation.source, p.citation.start, p.citation.end)
            boilerplate += any(d.overlap(*cited_place(p.citation, engine)) for d in dropped)
        if result.answer:
            a = result.answer
            non_verbatim += not quote_matches_source(a.text, a.source, a.start, a.end)
        answerable = item["category"] != UNANSWERABLE

        def covered(passage: Passage, spans: list[Span] = spans) -> set[Span]:
            """Evidence places covered by a passage, or by a repeat of it listed "also in"."""
            return {s for q in (passage, *passage.also_in) for s in spans
                    if s.overlap(*cited_place(q.citation, engine)) * 2
                    >= s.end - s.start}

        listed = [*shown, *result.more]
        evidence = result.evidence
        record: dict[str, Any] = {
            "id": item["id"], "category": item["category"], "turns": item["turns"], "evidence": item["evidence"],
            "searched": result.searched, "abstained": result.abstained, "abstain_reason": result.abstain_reason,
            "best_similarity": round(evidence.best_similarity, 4), "missing": list(evidence.missing),
            "names_shown": evidence.names_shown, "missing_years": list(evidence.missing_years),
            "missing_numbers": list(evidence.missing_numbers), "money_unquoted": evidence.money_unquoted,
            "attribute_unmentioned": evidence.attribute_unmentioned,
            "key_cover": round(evidence.key_cover, 4), "unknown_share": round(evidence.unknown_share, 4),
            "top_cover": round(evidence.top_cover, 4), "missing_weight": round(evidence.missing_weight, 4),
            "answer_cover": round(evidence.answer_cover, 4), "kind_held": evidence.kind_held,
            "non_verbatim": non_verbatim, "boilerplate": boilerplate,
            "passages": [_passage_record(r, p, answerable and bool(covered(p))) for r, p in enumerate(listed, 1)],
        }
        if answerable:
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
            record.update(
                relevant=[bool(covered(p)) for p in shown], novel=novel, reachable=len(reachable),
                answer_right=bool(result.answer) and any(
                    s.overlap(*cited_place(result.answer, engine)) > 0
                    for s in spans),
                answer=result.answer.text if result.answer else None,
                evidence_rank=next((r for r, p in enumerate(listed, 1) if covered(p)), None))
        records.append(record)
    return records


DETAIL = ("id", "category", "searched", "abstained", "abstain_reason", "best_similarity", "missing", "names_shown",
          "missing_years", "missing_numbers", "key_cover", "unknown_share", "top_cover", "missing_weight",
          "answer_cover", "kind_held", "money_unquoted", "attribute_unmentioned")
"""What every question's line in a report's details holds, before its scores."""


def score_golden(records: list[dict[str, Any]], k: int = 5, threshold: float | None = None) -> dict[str, Any]:
    """Collected records -> hit@1, hit@3, MRR@k and nDCG@k by category, answer-quote and abstention accuracy,
    citation checks, and one line of details per question (threshold: the abstention threshold, as reported)."""
    per_category: dict[str, list[dict[str, float]]] = defaultdict(list)
    declined: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    details = []
    answer_right = answerable = refused = answered_unanswerable = unanswerable = 0
    in_top = right_in_top = 0
    for record in records:
        detail = {key: record[key] for key in DETAIL}
        declined[record["category"]][0] += record["abstained"]
        declined[record["category"]][1] += 1
        if record["category"] == UNANSWERABLE:
            unanswerable += 1
            answered_unanswerable += not record["abstained"]
        else:
            answerable += 1
            refused += record["abstained"]
            relevant = record["relevant"]
            scores = {"hit@1": hit_at(relevant, 1), "hit@3": hit_at(relevant, 3),
                      "mrr@5": reciprocal_rank_at(relevant, k),
                      "ndcg@5": ndcg_at(record["novel"], k, record["reachable"])}
            per_category[record["category"]].append(scores)
            answer_right += record["answer_right"]
            if record["evidence_rank"] is not None and record["evidence_rank"] <= k:
                in_top += 1
                right_in_top += record["answer_right"]
            detail.update(scores, answer_right=record["answer_right"], answer=record["answer"],
                          evidence_rank=record["evidence_rank"])
        details.append(detail)

    def mean(rows: list[dict[str, float]]) -> dict[str, float]:
        return {m: round(sum(r[m] for r in rows) / len(rows), 4) for m in rows[0]} | {"n": len(rows)} if rows else {}

    all_rows = [r for rows in per_category.values() for r in rows]
    return {
        "questions": len(records),
        "categories": {c: mean(rows) for c, rows in sorted(per_category.items())},
        "answerable": mean(all_rows),
        "answer_accuracy": round(answer_right / answerable, 4) if answerable else None,
        "answer_accuracy_in_top": {"right": right_in_top, "n": in_top, "k": k,
                                   "share": round(right_in_top / in_top, 4) if in_top else None},
        "abstention": {
            "accuracy": round(1 - (refused + answered_unanswerable) / len(records), 4) if records else None,
            "answerable_refused": refused,
            "unanswerable_answered": answered_unanswerable,
            "answerable": answerable,
            "unanswerable": unanswerable,
            "threshold": threshold,
            "declined": {c: {"declined": d, "n": n} for c, (d, n) in sorted(declined.items())},
        },
        "non_verbatim_citations": sum(r["non_verbatim"] for r in records),
        "boilerplate_passages": sum(r["boilerplate"] for r in records),
        "details": details,
    }


def missed(records: list[dict[str, Any]], details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The questions missed at rank 1, wrongly answered or wrongly refused, each with its turns, evidence and
    every passage listed (what a misses file holds)."""
    out = []
    for record, detail in zip(records, details, strict=True):
        unanswerable = record["category"] == UNANSWERABLE
        if (record["abstained"] != unanswerable
                or (not unanswerable and (detail["hit@1"] == 0 or not detail["answer_right"]))):
            out.append({**detail, "turns": record["turns"], "evidence": record["evidence"],
                        "passages": record["passages"]})
    return out


def evaluate_golden(engine: Engine, golden_path: Path, k: int = 5, misses: Path | None = None) -> dict[str, Any]:
    """Collect and score a golden-format question file (the report render_report prints); with `misses`,
    write each question missed at rank 1 (or wrongly answered or refused) to that JSONL file with what
    was searched, the passages returned and where the evidence ranked."""
    records = collect_golden(engine, load_golden(golden_path), k)
    report = {"golden": str(golden_path), **score_golden(records, k, round(engine.abstain_below, 4))}
    if misses is not None:
        misses.parent.mkdir(parents=True, exist_ok=True)
        misses.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in missed(records, report["details"])),
                          encoding="utf-8")
    return report


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
        f"answer-quote accuracy   {report['answer_accuracy']:.3f}" + (
            f"  ({t['right']}/{t['n']} when the evidence is in the top {t['k']})"
            if (t := report.get("answer_accuracy_in_top")) and t["n"] else ""),
        f"abstention accuracy     {a['accuracy']:.3f}  (threshold {a['threshold']}: "
        f"{a['answerable_refused']}/{a['answerable']} answerable refused, "
        f"{a['unanswerable_answered']}/{a['unanswerable']} unanswerable answered)",
        f"non-verbatim citations  {report['non_verbatim_citations']}",
        f"boilerplate passages    {report['boilerplate_passages']}",
        "",
        "declined (abstained) by category: " + ", ".join(
            f"{c} {d['declined']}/{d['n']}" + (" refused" if c != UNANSWERABLE else "")
            for c, d in a.get("declined", {}).items()),
    ]
    misses = [d for d in report["details"] if d.get("hit@3") == 0.0]
    if misses:
        lines += ["", "missed at 3:"] + [f"  {d['id']}: {d['searched']}" for d in misses]
    return "\n".join(lines)
