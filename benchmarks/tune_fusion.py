"""Grid-search the ranking settings that need no rebuild (BM25 k1/b, pseudo-relevance feedback, fusion
method, weights, rrf_k) on a BEIR split, to choose config values on train and report them on test.

    python benchmarks/tune_fusion.py ../shared/data/scifact --split train --config config/scifact.toml

Uses the cached index of `citebot eval --dataset` (built on first use) and the searcher's own fusion, so
what scores well here is what the bot does with the same settings. Prints the best settings by fused
nDCG@10; copy the chosen ones into config/.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from citebot.config.settings import load_settings  # noqa: E402
from citebot.index.embedding import make_embedder  # noqa: E402
from citebot.index.lexical import LexicalIndex, LexicalRecipe  # noqa: E402
from citebot.retrieval.evaluation.beir import load_beir, mean_scores, prepare, rank_documents  # noqa: E402
from citebot.retrieval.search import Signals, top_rows  # noqa: E402

BM25_GRID = list(itertools.product((0.9, 1.2, 1.5), (0.5, 0.75, 0.9)))
PRF_GRID = (0.0, 0.3)
FUSION_GRID = (
    [dict(fusion="rrf", candidates=300, rrf_k=k, dense_weight=1.0, sentence_weight=s, lexical_weight=lw)
     for k, s, lw in itertools.product((10, 30, 60), (0.0, 0.25, 0.5, 1.0), (0.5, 1.0, 1.5))]
    + [dict(fusion="convex", candidates=200, dense_weight=d, sentence_weight=s, lexical_weight=round(1 - d - s, 2))
       for d, s in itertools.product((0.3, 0.4, 0.5, 0.6, 0.7), (0.0, 0.15, 0.3))]
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset")
    parser.add_argument("--split", default="train")
    parser.add_argument("--config", help="settings file (default: config/default.toml)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(args.config)
    embedder = make_embedder(settings.embedding)
    data = load_beir(Path(args.dataset), args.split)
    engine, names = prepare(data, settings, embedder)
    searcher = engine.searcher
    doc_of = {c.source: names[Path(c.source).name] for c in engine.stored.chunks}
    query_ids = list(data.qrels)
    queries = [data.queries[q] for q in query_ids]
    vectors = embedder.encode(queries)
    titles = searcher.lexical.recipe.titles

    best_bm25 = None
    for k1, b in BM25_GRID:
        lexical = LexicalIndex.build(engine.stored.chunks, LexicalRecipe(k1, b, titles))
        scores = [lexical.scores(q) for q in queries]
        run = {q: rank_documents([r for r in top_rows(s, 1000) if s[r] > 0], engine, doc_of)
               for q, s in zip(query_ids, scores, strict=True)}
        result = mean_scores(run, data.qrels)
        print(f"bm25 k1={k1} b={b}: lexical {result}", flush=True)
        if best_bm25 is None or result["ndcg@10"] > best_bm25[0]:
            best_bm25 = (result["ndcg@10"], dict(bm25_k1=k1, bm25_b=b), scores)
    assert best_bm25 is not None
    _, bm25_params, lexical_scores = best_bm25  # fusion is tuned with the best BM25 alone

    results = []
    for prf in PRF_GRID:
        searcher.settings = replace(settings.retrieval, prf_weight=prf)
        signals = []
        for vector, lexical in zip(vectors, lexical_scores, strict=True):
            expanded = searcher.expand_query(vector)
            dense_side = searcher.signals("", expanded)  # "" : the lexical side comes from the grid above
            signals.append(Signals(dense_side.dense, dense_side.best_sentence, lexical))
        for variant in FUSION_GRID:
            searcher.settings = replace(settings.retrieval, prf_weight=prf, **bm25_params, **variant)
            run = {}
            for query_id, signal in zip(query_ids, signals, strict=True):
                fused = searcher.fuse(signal)
                order = sorted(fused, key=lambda row, f=fused: (-f[row], row))
                run[query_id] = rank_documents(order, engine, doc_of)
            score = mean_scores(run, data.qrels)
            results.append((score["ndcg@10"], {"prf_weight": prf, **bm25_params, **variant}, score))
    results.sort(key=lambda r: -r[0])
    for ndcg, params, score in results[:15]:
        print(f"{ndcg:.4f} {params} {score}")


if __name__ == "__main__":
    main()
