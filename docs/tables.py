"""Markdown tables of the figures in benchmarks/results/*.json, for the cog blocks in docs/*.md.

After a benchmark writes new results, regenerate the tables (from the repository root):

    cog -r -I docs docs/*.md

tests/test_docs.py runs `cog --check -I docs docs/*.md`, so docs and results cannot disagree unnoticed. Standard
library only: this is read by cog, not by citebot. Each function returns one table and a line naming its results
file and the command that wrote it (the file's own "command" field when it has one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
KINDS = (("plain", "plain"), ("paraphrase", "paraphrase"), ("followup", "follow-up"))


def load(name: str) -> Any:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def num(value: Any, digits: int = 3) -> str:
    """A figure as the docs print it: fixed decimals for floats, thousands separators for ints, blank for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def source(name: str, command: str | None = None, data: Any = None) -> str:
    """The line under a table: its results file and the command that wrote it."""
    if command is None and isinstance(data, dict):
        command = data.get("command")
    line = f"From `benchmarks/results/{name}.json`"
    return line + (f", written by `{command.strip()}`." if command else ".")


def _with_source(name: str, body: str, command: str | None = None, data: Any = None) -> str:
    return f"{body}\n\n{source(name, command, data)}\n"


# Retrieval quality (docs/quality.md)

def golden_set(name: str = "golden", command: str = "citebot eval --json") -> str:
    """`citebot eval`'s report: hit@k, MRR@5 and nDCG@5 by kind of question, then the answer and abstention."""
    data = load(name)
    rows = [[label, num(data["categories"][key]["n"]), *(num(data["categories"][key][m]) for m in
                                                          ("hit@1", "hit@3", "mrr@5", "ndcg@5"))]
            for key, label in KINDS]
    ans = data["answerable"]
    rows.append(["**all answerable**", num(ans["n"]), *(f"**{num(ans[m])}**" for m in ("hit@1", "hit@3", "mrr@5",
                                                                                      "ndcg@5"))])
    abstention = data["abstention"]
    summary = table(
        ["answer quote right", "answerable refused", "unanswerable abstained", "non-verbatim citations",
         "boilerplate passages", "abstention threshold"],
        [[num(data["answer_accuracy"]), f"{abstention['answerable_refused']} / {abstention['answerable']}",
          f"{abstention['unanswerable'] - abstention['unanswerable_answered']} / {abstention['unanswerable']}",
          num(data["non_verbatim_citations"]), num(data["boilerplate_passages"]), num(abstention["threshold"], 2)]])
    body = table(["kind", "n", "hit@1", "hit@3", "MRR@5", "nDCG@5"], rows) + "\n\n" + summary
    return _with_source(name, body, command if "command" not in data else None, data)


def chat_check(name: str = "chat_check") -> str:
    data = load(name)
    cats = data["categories"]
    rows = [[label, num(cats[key]["n"]), num(cats[key]["hit@1 with also_in"]), num(cats[key]["hit@1"]),
             num(cats[key]["answer"])] for key, label in KINDS]
    body = table(["kind", "n", "hit@1, counting \"also in\"", "hit@1, first citation only", "answer quote right"],
                 rows)
    unanswerable = cats["unanswerable"]
    body += (f"\n\nUnanswerable questions abstained: {round(unanswerable['abstained'] * unanswerable['n'])} of "
             f"{unanswerable['n']}. Answer quote right over all answerable questions: "
             f"{num(data['answer_quote'])}; when the first passage's own citation is right: "
             f"{num(data['answer_quote_when_first_passage_right'])}.")
    return _with_source(name, body, data=data)


def second_stage(name: str = "rerank") -> str:
    """The news dev set's hit@1 by kind: first stage alone, the second stage held out, and fitted on everything."""
    data = load(name)
    split = data["held_out_splits"]
    halves = split.get("halves", [])
    rows = [
        ["first stage alone (no second stage)", *(num(data["first_stage"]["news"][k]) for k, _ in KINDS),
         num(data["first_stage"]["news"]["main"])],
        [f"second stage, held out ({len(halves)} halves, refitted each time)",
         *(num(split[k], 4) for k, _ in KINDS), f"**{num(split['main'], 4)}**"],
        ["`[rerank.weights]` alone, fitted on all (in-sample)",
         *(num(data["fitted_on_all"]["news"][k]) for k, _ in KINDS), num(data["fitted_on_all"]["news"]["main"])],
    ]
    body = table(["news dev hit@1", *(label for _, label in KINDS), "all answerable"], rows)
    golden = data["fitted_on_all"]["golden"]
    body += (f"\n\nGolden set with the same weights (fitted on it): {num(golden['main'])} hit@1 "
             f"(first stage alone {num(data['first_stage']['golden']['main'])}).")
    return _with_source(name, body, data=data)


def rerank_ceiling(name: str = "rerank_ceiling") -> str:
    data = load(name)
    rows = [[kind, num(v["questions"]), num(v["configured"]), num(v["in_sample_best"]),
             num(v["evidence_in_candidates"])] for kind, v in data.items() if isinstance(v, dict)]
    body = table(["kind", "questions", "configured weights", "best weights for these questions (in-sample)",
                  "evidence among the candidates"], rows)
    return _with_source(name, body, data=data)


def abstention(name: str = "abstention") -> str:
    """Per question set: where the bank of general questions lands, the floor chosen, and answerable questions
    refused and unanswerable ones answered before (a fixed 0.38) and with the chosen rules."""
    data = load(name)
    rows = []
    for set_name, after in data["per_set"].items():
        before, bank = data["before"][set_name], data["bank_quantiles"][set_name]
        rows.append([set_name, num(bank["0.5"]), num(bank["0.9"]), num(data["floor_per_set"][set_name]),
                     num(before["answerable_refused"]), num(before["unanswerable_answered"]),
                     num(after["answerable_refused"]), num(after["unanswerable_answered"])])
    body = table(["set", "bank: median", "bank: 90th percentile", "floor chosen", "before: answerable refused",
                  "before: unanswerable answered", "chosen: answerable refused", "chosen: unanswerable answered"],
                 rows)
    chosen = ", ".join(f"{key} = {value}" for key, value in data["chosen"].items())
    body += (f"\n\nChosen (no more golden and news answerable questions refused than before, at most 3% of any other "
             f"set): {chosen}.")
    return _with_source(name, body, data=data)


def unseen_paraphrases(name: str = "paraphrases_unseen") -> str:
    """The unseen news paraphrases (and their plain twins) by run: hit@k, the answer quote and refusals."""
    data = load(name)
    rows = [[f"{label} ({run['commit']})", kind, num(run[kind]["n"]),
             *(num(run[kind][m]) for m in ("hit@1", "hit@3", "answer quote", "answer quote where hit@1",
                                            "answer quote, also in")),
             num(run[kind]["refused"])]
            for label, run in data["runs"].items() for kind in ("paraphrase", "plain", "followup") if kind in run]
    body = table(["run", "kind", "n", "hit@1", "hit@3", "answer quote right", "answer quote right where hit@1",
                  "answer quote right, counting \"also in\"", "refused"], rows)
    commands = "\n".join(f"- {label}: `{run['command']}`" for label, run in data["runs"].items())
    return f"{body}\n\nFrom `benchmarks/results/{name}.json`, written by\n\n{commands}\n"


def answer_settings(name: str = "answer") -> str:
    """Answer-quote accuracy with fixed retrieval: the configured settings, then one setting moved at a time."""
    data = load(name)
    sets = ("golden", "news", "news_a", "news_b")
    rows = [["**configured**", *(f"**{num(data['current'][s])}**" for s in sets)]]
    rows += [[change.replace("=", " = "), *(num(v[s]) for s in sets)] for change, v in data["one_change"].items()]
    body = table(["setting", "golden", "news", "news, half A", "news, half B"], rows)
    return _with_source(name, body, data=data)


def beir(runs: Sequence[tuple[str, str, str]]) -> str:
    """BEIR-style runs: (results name, label, command) each; nDCG@10 of each ranking and the fused ranking's rest."""
    rows = []
    for name, label, _ in runs:
        r = load(name)["results"]
        fused = r["fused"]
        rows.append([label, num(r["dense"]["ndcg@10"]), num(r["lexical"]["ndcg@10"]), f"**{num(fused['ndcg@10'])}**",
                     num(fused["recall@10"]), num(fused["recall@100"]), num(fused["mrr@10"])])
    body = table(["run", "nDCG@10 dense", "nDCG@10 lexical", "nDCG@10 fused", "R@10 fused", "R@100 fused",
                  "MRR@10 fused"], rows)
    sources = "\n".join(f"- {label}: {source(name, command)}" for name, label, command in runs)
    return f"{body}\n\n{sources}\n"


# Performance (docs/performance.md)

def incremental(labels: Sequence[str], name: str = "incremental",
                command: str = "python -m benchmarks.performance.incremental --sources DIR") -> str:
    """Build runs (full, unchanged, one removed, one added) of the chosen entries of incremental.json."""
    entries = {e["label"]: e for e in load(name)}
    phases = (("full", "full build"), ("unchanged_first", "unchanged, first rebuild"), ("unchanged", "unchanged"),
              ("one_removed", "one article removed"), ("one_added", "one article added"))
    rows = []
    for label in labels:
        entry = entries[label]
        corpus = f"{entry['articles']:,} articles" + (", hash embedder" if "hash" in entry["config"] else "")
        for key, phase in phases:
            run = entry.get(key)
            if run:
                rows.append([f"`{label}`", corpus, phase, num(run["seconds"], 1), num(run["peak_rss_mb"]),
                             num(run.get("embedded")), num(run.get("reused")), num(run.get("chunked"))])
    body = table(["entry", "corpus", "build", "seconds", "peak RSS MB", "texts embedded", "reused",
                  "articles chunked"], rows)
    return _with_source(name, body, command)


def engine_load(name: str = "engine_load") -> str:
    data = load(name)
    modes = {"saved-bm25": "BM25 index saved in the build (default)", "bm25-at-load": "BM25 built at load"}
    rows = [[modes.get(r["mode"], r["mode"]), num(r["engine_load_s"], 2), num(r["first_question_s"], 2),
             num(r["warm_ask_p50_ms"], 1), num(r["warm_ask_p95_ms"], 1), num(r["questions_timed"])]
            for r in data["rows"]]
    body = table(["engine", "load s (median of 3)", "first question s", "warm ask p50 ms", "p95 ms",
                  "questions"], rows)
    body += (f"\n\n{data['articles']:,} articles, {data['chunks']:,} passages (`{data['index']}`), "
             f"{data['cpus']} cores, load average {data['load_average']:.1f}, {data['when'][:10]}.")
    return _with_source(name, body, "python -m benchmarks.performance.engine_load --index var/bbc-index-l "
                                    "--questions ../shared/eval/news_dev.jsonl")


def cold_start(name: str = "cold_start") -> str:
    data = load(name)
    rows = [[f"`{cmd}`", num(s, 2)] for cmd, s in data["median_seconds"].items()]
    body = table([f"fresh process ({data['runs']} runs, interleaved)", "median s"], rows)
    body += "\n\n" + table(["phase, in one process", "s"],
                           [[phase, num(s, 3)] for phase, s in data["in_process_seconds_by_phase"].items()])
    imported = data["ask_imports_of_torch_transformers_sentence_transformers_scipy_sparse"]
    heavy = ", ".join(imported) if imported else "none of torch, transformers, sentence-transformers, scipy.sparse"
    body += (f"\n\nRuntime {data['runtime']}; the ask imported {heavy}"
             f"; same JSON as the torch runtime: {num(data['same_result_as_torch_runtime'])}.")
    return _with_source(name, body, "python -m benchmarks.performance.cold_start")


def build_throughput(name: str = "build_throughput") -> str:
    data = load(name)
    rows = []
    for runtime, r in data["runtimes"].items():
        golden = r.get("golden")
        if golden:
            cats = golden["categories"]
            hits = " / ".join(num(cats[k]["hit@1"]) for k, _ in KINDS)
            extra = [hits, num(golden["answer_accuracy"]), num(golden["abstention_accuracy"])]
        else:
            extra = ["", "", ""]
        rows.append([runtime, num(r["texts_per_second"], 1), num(r["cosine_to_torch"]["min"], 4), *extra])
    body = table(["runtime", "texts/s", "min cosine to torch", "golden hit@1 plain / paraphrase / follow-up",
                  "answer quote", "abstention"], rows)
    body += (f"\n\n{data['articles']} BBC articles, {data['passages']} passages + distinct sentences = "
             f"{data['texts_embedded']} texts, {data['rounds']} rounds, {data['cpus']} shared cores (load average "
             f"about {data['load_average_after'][0]:.0f}, so rates are low; their ratios are the point).")
    return _with_source(name, body,
                        "python -m benchmarks.performance.build_throughput --sources /work/main/var/bbc --articles 40")


def speed(name: str = "speed") -> str:
    data = load(name)
    rows = [[r["corpus"], num(r["articles"]), num(r["chunks"]), num(r["texts_embedded"]), num(r["build_seconds"], 1),
             num(r["chunks_per_second"], 1), num(r["texts_per_second_in_build"], 1),
             num(r["bare_model_texts_per_second"], 1), num(r["ask_p50_ms"], 1), num(r["ask_p95_ms"], 1)]
            for r in data["rows"]]
    body = table(["corpus", "articles", "passages", "texts embedded", "build s", "passages/s", "texts/s in the build",
                  "bare model texts/s", "warm ask p50 ms", "p95 ms"], rows)
    return _with_source(name, body, "python -m benchmarks.performance.speed")


def memory(name: str = "memory") -> str:
    data = load(name)
    rows = [[f"`{r['command']}`", num(r["articles"]) or "–", num(r["peak_rss_mb"], 0), num(r["seconds"], 1)]
            for r in data["rows"]]
    body = table(["run", "articles", "peak RSS MB", "seconds"], rows)
    body += f"\n\n{data['machine']}, {data['measured_at'][:10]}; {data['how']}."
    return _with_source(name, body, "python -m benchmarks.performance.memory --big DIR")


def build_memory(name: str = "build_memory") -> str:
    data = load(name)
    rows = [[num(r["articles"]), num(r["build"]["passages"]), num(r["build"]["peak_rss_mb"], 0),
             num(r["build"]["wall_seconds"], 0), num(r["build"]["cpu_seconds"], 0)] for r in data["rows"]]
    body = table(["articles", "passages", "build peak RSS MB", "wall s", "CPU s"], rows)
    loaded = [r for r in data["rows"] if "load" in r]
    if loaded:
        r = loaded[-1]
        parts = r["load"]["per_100k_passages_mb"]
        held = r["load"]["parts"]
        body += (f"\n\nThe loaded index of {num(r['articles'])} articles ({num(held['passages'])} passages, "
                 f"{num(held['sentences'])} sentence rows), MB of RSS per 100,000 passages:\n\n")
        body += table(["part", "MB per 100,000 passages"],
                      [*([k, num(v, 0)] for k, v in parts.items()),
                       ["**total**", f"**{num(r['load']['per_100k_passages_total_mb'], 0)}**"]])
    body += f"\n\n{data['machine']}, {data['measured_at'][:10]}; {data['how']}."
    return _with_source(name, body, data["command"])


def store_compare(name: str = "store_compare") -> str:
    data = load(name)
    labels = {"faiss": "FAISS folder (default)", "milvus": "Milvus Lite, bm25s (`lexical = \"bm25s\"`)",
              "milvus-bm25": "Milvus Lite, Milvus's BM25 function (`lexical = \"milvus\"`)",
              "milvus-hybrid": "Milvus Lite, `hybrid_search` fusion (benchmark only)"}
    rows = []
    for key, s in data["stores"].items():
        hit = s["hit@1"]
        rows.append([labels.get(key, key), *(num(hit[k]) for k, _ in KINDS), num(hit["answerable"]),
                     num(s["answer_accuracy"]), f"{s['same_citations_as_faiss']}/{s['asks']}", num(s["p50_ms"], 0),
                     num(s["p95_ms"], 0), num(s["load_s"], 1), num(s["disk_mb"], 0)])
    body = table(["store", "hit@1 plain", "paraphrase", "follow-up", "all answerable", "answer quote",
                  "same citations as FAISS", "ask p50 ms", "p95 ms", "load s", "disk MB"], rows)
    builds = {k: s["build"] for k, s in data["stores"].items() if isinstance(s["build"], dict)}
    body += "\n\nBuilds, timed by `" + data["built_by"].strip() + "`: " + "; ".join(
        f"{k} {num(b['build_s'], 1)} s, {num(b['embedded'])} texts embedded, {num(b['reused'])} reused"
        for k, b in builds.items()) + "."
    return _with_source(name, body, data=data)


def store_scale(name: str = "store_scale") -> str:
    data = load(name)
    rows = [[num(int(size)), r["store"], num(r["build_s"], 1), num(r["p50_ms"], 2), num(r["p95_ms"], 2),
             num(r["recall@10"], 3), num(r.get("disk_mb"), 0)]
            for size, runs in data["results"].items() for r in runs]
    body = table(["vectors", "store / index", "build s", "search p50 ms", "p95 ms", "recall@10 vs flat", "disk MB"],
                 rows)
    body += (f"\n\n{data['dimension']}-dimensional synthetic unit vectors, {data['queries']} single-query top-"
             f"{data['k']} searches, {data['threads']} threads; the whole run took {data['seconds'] / 60:.0f} minutes.")
    return _with_source(name, body, data=data)


# Experiments (docs/experiments.md)

def rerank_experiments(name: str = "rerank_experiments") -> str:
    data = load(name)
    rows = []
    for run, r in data["runs"].items():
        held = r.get("held_out_8_splits")
        if not held:
            continue
        rows.append([f"`{run}`", r["change"], num(held["main"], 4), *(num(held[k], 3) for k, _ in KINDS)])
    body = table(["run", "change", "held-out hit@1, all", "plain", "paraphrase", "follow-up"], rows)
    base = "python -m benchmarks.tuning.tune_rerank --no-scifact --ascent --splits 8 --news-index var/bbc-index-l"
    return _with_source(name, body, base + " plus the run's flags")


def context_variants(name: str = "context_variants") -> str:
    data = load(name)
    rows = []
    for variant, v in data["variants"].items():
        news = v["first_stage"]["news"]
        golden = v["first_stage"]["golden"]
        rows.append([f"`{variant}`", ", ".join(v["overrides"]) or "(base)", num(news["main"]), num(golden["main"]),
                     num(v["held_out_fixed_split"]["main"]), num(v.get("held_out_8_splits", {}).get("main"), 4)])
    body = table(["variant", "settings", "first stage news hit@1", "first stage golden hit@1",
                  "held out, fixed split", "held out, 8 splits"], rows)
    return _with_source(name, body, "python -m benchmarks.tuning.context_variants")


def scifact_stopwords(name: str = "scifact-stopwords") -> str:
    data = load(name)
    rows = [[label, *(num(data[key][r], 4) for r in ("dense", "lexical", "fused"))]
            for key, label in (("default_train", "no stop words (default), train"),
                               ("stopwords_en_train", "bm25s's English stop words, train"),
                               ("default_test", "no stop words (default), test"),
                               ("stopwords_en_test", "bm25s's English stop words, test"))]
    body = table(["SciFact nDCG@10", "dense", "lexical", "fused"], rows)
    return _with_source(name, body, data=data)


def rerank_fitted_with_scifact(current: str = "rerank-current", with_scifact: str = "rerank-with-scifact") -> str:
    now = load(current)
    fitted = load(with_scifact)
    sets = ("golden", "news", "scifact")
    rows = [["first stage alone", *(num(now["first_stage"][s]["main"]) for s in sets)],
            ["second stage learned on news + golden (kept)", *(num(now["configured"][s]["main"]) for s in sets)],
            ["second stage learned on all three", *(num(fitted["fitted_on_all"][s]["main"]) for s in sets)],
            ["the same, held out", "", *(num(fitted["held_out"][s]["main"]) for s in sets[1:])]]
    body = table(["", "golden hit@1", "news hit@1", "SciFact train nDCG@10"], rows)
    return (f"{body}\n\n{source(current, 'python -m benchmarks.tuning.tune_rerank --current')} "
            f"{source(with_scifact, data=fitted)}\n")


def kind_abstention(name: str = "kind_abstention") -> str:
    data = load(name)
    rows = [[s, label, num(n)] for s in ("golden", "news") for label, n in data[s]["counts"].items()]
    for s in ("golden", "news"):
        caught = data[s]["would_abstain_at_depth_3"]
        for kind in ("answerable", "unanswerable"):
            rows.append([s, f"{kind}, refused by the kind rule at depth 3",
                         num(sum(1 for q in caught if q.startswith(kind + ":")))])
    body = table(["set", "questions", "count"], rows)
    return _with_source(name, body, data=data)


def rankings_alone(experiments: str = "rerank_experiments", scifact: str = "scifact-test-default",
                   news: str = "news_dev", golden: str = "golden") -> str:
    """Each ranking alone against the default: news and golden hit@1 (first stage), SciFact test nDCG@10."""
    runs = load(experiments)["runs"]
    sci = load(scifact)["results"]
    rows = []
    for run, label, sci_key in (("lexonly", "lexical (BM25) alone", "lexical"), ("denseonly", "dense alone", "dense"),
                                ("base", "first stage, fused", None)):
        stage = runs[run]["first_stage"]
        rows.append([label, num(stage["news"]["main"]), num(stage["golden"]["main"]),
                     num(sci[sci_key]["ndcg@10"]) if sci_key else ""])
    rows.append(["**default** (fused + second stage)", f"**{num(load(news)['answerable']['hit@1'])}**",
                 f"**{num(load(golden)['answerable']['hit@1'])}**", f"**{num(sci['fused']['ndcg@10'])}**"])
    body = table(["ranking", "news dev hit@1 (in-sample)", "golden hit@1", "SciFact test nDCG@10"], rows)
    lines = [source(experiments, "python -m benchmarks.tuning.tune_rerank --no-scifact --ascent --splits 8 "
                                 "--news-index var/bbc-index-l --set ... (runs lexonly, denseonly, base)"),
             source(scifact, "citebot eval --dataset ../shared/data/scifact --split test --json"),
             source(news, data=load(news)), source(golden, "citebot eval --json")]
    return body + "\n\n" + "\n".join(f"- {line}" for line in lines) + "\n"


def rebuild_history(labels: Sequence[tuple[str, str]], name: str = "incremental",
                    command: str = "python -m benchmarks.performance.incremental --sources var/bbc "
                                   "--from-index DIR") -> str:
    """Unchanged and one-added rebuilds of the same folder across code changes: (entry label, what changed) each."""
    entries = {e["label"]: e for e in load(name)}
    rows = []
    for label, change in labels:
        e = entries[label]
        rows.append([f"`{label}`", change, num(e["unchanged"]["seconds"], 1), num(e["unchanged"]["peak_rss_mb"]),
                     num(e["one_added"]["seconds"], 1), num(e["one_added"]["peak_rss_mb"])])
    body = table(["entry", "code", "unchanged s", "peak RSS MB", "one added s", "peak RSS MB"], rows)
    return _with_source(name, body, command)


def format_quality(name: str = "format_quality") -> str:
    """The news dev set on the BBC folder written in each format, against the .txt folder."""
    data = load(name)
    labels = {"txt": ".txt", "html": "web pages (.html, site furniture around)", "md": "Markdown", "pdf": "PDF",
              "jsonl": "one JSON Lines collection"}
    rows = []
    for fmt, label in labels.items():
        if fmt not in data:
            continue
        r = data[fmt]
        cats = r["categories"]
        rows.append([label, *(num(cats[kind]["hit@1"]) for kind, _ in KINDS), num(r["answer_accuracy"]),
                     f"{r['abstention']['answerable_refused']} / {r['abstention']['unanswerable_answered']}",
                     num(r["non_verbatim_citations"]), num(r.get("furniture_passages"))])
    body = table(["folder", *(f"{label} hit@1" for _, label in KINDS), "answer quote",
                  "refused / wrongly answered", "non-verbatim", "furniture passages"], rows)
    return _with_source(name, body, data=data)


def own_corpora(name: str = "corpora") -> str:
    """Our own question sets on three non-BBC corpora (benchmarks/corpora): retrieval, answer quote, abstention."""
    data = load(name)
    labels = {"docs": "docs (Markdown)", "papers": "papers (PDF)", "news": "news export (CSV)"}
    rows = []
    for kind, label in labels.items():
        if kind not in data["corpora"]:
            continue
        r = data["corpora"][kind]
        rows.append([label, f"{r['answerable']} + {r['off_corpus']}", num(r["hit@1"]), num(r["answer_quote"]),
                     f"{num(r['answer_quote_when_top5'])} ({r['evidence_in_top5']})",
                     f"{r['refused']} / {r['answerable']}", f"{r['declined']} / {r['off_corpus']}"])
    body = table(["corpus", "questions (answerable + off-corpus)", "hit@1", "answer quote",
                  "answer quote, evidence in top 5 (n)", "answerable refused", "off-corpus declined"], rows)
    return _with_source(name, body, data=data)


# Builds that resume and spread (docs/performance.md)

def ray_build(name: str = "ray_build") -> str:
    data = load(name)
    rows = []
    for label, r in data["runs"].items():
        ray = label != "plain"
        planning = r["ray_step_seconds"] - r.get("ray_job_seconds", 0.0) if ray and "ray_job_seconds" in r else None
        rows.append([label, num(r["seconds"], 1), num(r["texts_embedded"]), num(r["texts_per_second"], 1),
                     num(r["model_seconds"], 1) if not ray else "", num(r.get("ray_job_seconds"), 1) if ray else "",
                     num(planning, 1) if planning is not None else "",
                     num(r["seconds"] - r["ray_step_seconds"], 1) if ray else "",
                     num(r["files_equal_plain"]) if ray else ""])
    body = table(["build", "seconds", "texts embedded", "texts/s", "model s", "Ray jobs s", "planning pass s",
                  "writing pass s", "files = plain"], rows)
    body += (f"\n\n{data['articles']} BBC articles, the real model (ONNX), a local Ray of {data['ray_cpus']} CPUs "
             f"started once in {data['ray_start_seconds']:.1f} s (not in the builds' seconds); {data['cpus']} "
             f"shared cores at load average about {data['load_average'][0]:.0f}, so rates are low; their ratios are "
             f"the point. {data['runs']['plain']['tokens_per_text']:.1f} tokens a text.")
    return _with_source(name, body, data=data)


def resume_build(name: str = "resume_build") -> str:
    data = load(name)
    rows = [["run through", num(data["run_through_seconds"], 1), num(data["texts"]), ""],
            ["killed", num(data["killed_after_seconds"], 1), "", num(data["journal_texts_at_kill"])],
            ["resumed", num(data["resumed_seconds"], 1), num(data["resumed_texts_embedded"]),
             num(data["texts_from_journal"])]]
    body = table(["build", "seconds", "texts embedded", "texts in / from the journal"], rows)
    body += (f"\n\n{data['articles']} generated articles ({data['config']}). Seconds lost to the kill: "
             f"**{data['seconds_lost']:.1f}** (without the journal: {data['seconds_lost_without_journal']:.1f}); "
             f"texts embedded again: {data['texts_re_embedded']}; resumed index = the run through's files: "
             f"{num(data['files_equal_run_through'])}. {data['cpus']} shared cores at load average about "
             f"{data['load_average'][0]:.0f}.")
    return _with_source(name, body, data=data)


def archive_scale(name: str = "archive_scale") -> str:
    data = load(name)
    killed, asked = data.get("killed_build"), data["asked"]
    built = data.get("build_after_kill") or data["build"]
    memory = asked["memory_mb"]
    lines = " ".join(built.get("resume_lines", []))
    resumed = re.search(r"([\d,]+) resumed from an interrupted build", lines)
    rows = [["killed build", num(killed["seconds"], 1), "", "", ""]] if killed else []
    rows.append(["same command again" if killed else "build", num(built["wall_seconds"], 1), num(built["embedded"]),
                 num(int(resumed.group(1).replace(",", ""))) if resumed else "0", num(built["peak_rss_mb"], 0)])
    body = table(["build", "wall s", "texts embedded", "texts from the killed build's journal", "peak RSS MB"],
                 rows)
    parts = asked.get("ask_parts_ms_p50")
    body += "\n\n" + table(
        ["passages", "sentences", "load s", "RSS loaded MB", "RSS after questions MB", "of it anonymous MB",
         "ask ms p50 / p95 (warm)"] + (["of it vectors / BM25 / rest, ms p50"] if parts else []) + ["search"],
        [[num(asked["passages"]), num(asked["sentences"]), num(asked["load_seconds"], 1),
          num(memory["loaded"]["rss"], 0), num(memory["after_questions"]["rss"], 0),
          num(memory["after_questions"]["anonymous"], 0),
          f"{num(asked['ask_ms']['p50'], 0)} / {num(asked['ask_ms']['p95'], 0)}"]
         + ([" / ".join(num(parts[k], 0) for k in ("vectors", "bm25", "rest"))] if parts else [])
         + [asked["search"]]])
    body += (f"\n\n{num(data['articles'])} generated articles, {data['embedder']}; "
             f"{asked['ask_ms']['questions']} questions timed after 10 to warm up.")
    if data.get("asked_again_by"):
        body += f" Asked last by `{data['asked_again_by']}`."
    return _with_source(name, body, data=data)
