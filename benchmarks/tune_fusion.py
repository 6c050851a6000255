"""Grid-search the ranking settings that need no rebuild (BM25 k1/b, fusion weights, rrf_k, dense
pseudo-relevance feedback) on a BEIR split, to choose config values on train and report them on test.

    python benchmarks/tune_fusion.py ../shared/data/scifact --split train

Uses the cached index of `citebot eval --dataset` (built on first use). Prints the best settings by
fused nDCG@10 and the top of the grid.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.build import vector_text  # noqa: E402
from index.embed import make_embedder  # noqa: E402
from index.settings import load_settings  # noqa: E402
from retrieval.beir import _documents, _scores, load_beir, prepare  # noqa: E402
from retrieval.search import LexicalIndex, Signals, reciprocal_rank_fusion, top_rows  # noqa: E402


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
    qids = list(data.qrels)
    vectors = embedder.encode([data.queries[q] for q in qids])
    texts = [vector_text(c, settings.embedding.title_in_vectors) for c in engine.stored.chunks]
    chunk_matrix = searcher.vectors.reconstruct_n(0, searcher.vectors.ntotal)
    depth = 300

    best_lexical = None
    for k1, b in itertools.product((0.9, 1.2, 1.5), (0.5, 0.75, 0.9)):
        lexical = LexicalIndex(texts, k1, b)
        scores = [lexical.scores(data.queries[q]) for q in qids]
        run = {q: _documents([r for r in top_rows(s, depth) if s[r] > 0], engine, doc_of)
               for q, s in zip(qids, scores, strict=True)}
        result = _scores(run, data.qrels)
        print(f"bm25 k1={k1} b={b}: lexical {result}", flush=True)
        if best_lexical is None or result["ndcg@10"] > best_lexical[0]:
            best_lexical = (result["ndcg@10"], (k1, b), scores)
    assert best_lexical is not None
    lexical_by_params = {best_lexical[1]: best_lexical[2]}  # fusion is tuned with the best BM25 alone

    results = []
    for prf in (0.0, 0.3):
        signals_dense = []
        for v in vectors:
            dense = chunk_matrix @ v
            if prf:
                top = top_rows(dense, 5)
                v = v + prf * chunk_matrix[top].mean(axis=0)
                v = v / np.linalg.norm(v)
                dense = chunk_matrix @ v
            best = np.full(len(texts), -1.0, dtype=np.float32)
            np.maximum.at(best, searcher.sentence_chunk, searcher.sentence_matrix @ v)
            signals_dense.append((dense, best))
        run = {q: _documents(top_rows(d, depth), engine, doc_of) for q, (d, _) in zip(qids, signals_dense, strict=True)}
        print(f"prf={prf}: dense {_scores(run, data.qrels)}", flush=True)
        for (k1, b), lexical_all in lexical_by_params.items():
            for sw, lw, rrf_k in itertools.product((0.0, 0.25, 0.5, 1.0), (0.5, 0.75, 1.0, 1.5), (10, 30, 60)):
                run = {}
                for q, (dense, best), lexical in zip(qids, signals_dense, lexical_all, strict=True):
                    signals = Signals(dense, best, lexical)
                    rankings = [top_rows(signals.dense, depth), top_rows(signals.best_sentence, depth),
                                [r for r in top_rows(signals.lexical, depth) if signals.lexical[r] > 0]]
                    fused = reciprocal_rank_fusion(rankings, [1.0, sw, lw], rrf_k)
                    run[q] = _documents(sorted(fused, key=lambda r: (-fused[r], r)), engine, doc_of)
                score = _scores(run, data.qrels)
                results.append((score["ndcg@10"], dict(prf=prf, k1=k1, b=b, sentence_weight=sw, lexical_weight=lw,
                                                       rrf_k=rrf_k), score))
    results.sort(key=lambda r: -r[0])
    for ndcg, params, score in results[:15]:
        print(f"{ndcg:.4f} {params} {score}")
    _ = replace  # settings are printed, not written: copy the chosen ones into config/


if __name__ == "__main__":
    main()
