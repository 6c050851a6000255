"""Experiment (not kept): a within-article "focus" feature from MiniLM's token vectors.

    python benchmarks/focus_feature.py --news-index var/bbc-index-l

Late interaction on the question's focus phrase ("Which writer praised ..." -> "writer"; without one, the
question's content words): the mean over its tokens of the best cosine with a token of the candidate's
sentences (ONNX runtime only). It is added to the within-article weights only; the news held-out figure over
8 random halvings is printed without and with it (tune_rerank.py's fitting, blend 0.5).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchmarks.tune_rerank as tune  # noqa: E402
from citebot.config.settings import load_settings  # noqa: E402
from citebot.index.embedding import make_embedder  # noqa: E402
from citebot.retrieval import rerank  # noqa: E402
from citebot.retrieval.engine import Engine  # noqa: E402
from citebot.retrieval.question import STOPWORDS  # noqa: E402

AUXILIARY = r"(?:did|does|do|is|was|were|are|has|have|had|will|would|can|could|should|may|might)"
_TOKENS: dict[str, np.ndarray] = {}


def token_vectors(embedder, texts: list[str]) -> list[np.ndarray]:
    """Each text's unit contextual token vectors (no special tokens or punctuation), cached by text."""
    new = [text for text in dict.fromkeys(texts) if text not in _TOKENS]
    for start in range(0, len(new), 32):
        batch = new[start:start + 32]
        encodings = embedder._tokenizer.encode_batch(batch, add_special_tokens=True)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        tokens = embedder._session("query").run(None, {"input_ids": ids, "attention_mask": mask})[0]
        for row, (text, encoding) in enumerate(zip(batch, encodings, strict=True)):
            pairs = zip(encoding.tokens, encoding.special_tokens_mask, strict=True)
            keep = [j for j, (token, special) in enumerate(pairs) if not special and any(c.isalnum() for c in token)]
            vectors = tokens[row, keep]
            _TOKENS[text] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return [_TOKENS[text] for text in texts]


def focus_phrase(question: str) -> str:
    """"Which East African rival did ..." -> "East African rival"; else the question's content words."""
    found = re.match(rf"\s*(?:which|what|how many|how much|who)\s+(.*?)\s+{AUXILIARY}\b", question, re.I)
    if found and 0 < len(found.group(1).split()) <= 6:
        return found.group(1)
    words = [w for w in question.split() if w.casefold().strip("?,.'\"") not in STOPWORDS]
    return " ".join(words) or question


def add_focus_column() -> None:
    """Collected features gain a last "focus" column; the engine's own ranking (earlier turns) is unchanged."""
    features, ranking = rerank.Reranker.features, rerank.Reranker.rerank
    inside = [False]

    def rerank_as_configured(self, *args, **kwargs):
        inside[0] = True
        try:
            return ranking(self, *args, **kwargs)
        finally:
            inside[0] = False

    def with_focus(self, context, hits, signals, sentence_scores):
        base = features(self, context, hits, signals, sentence_scores)
        if inside[0]:
            return base
        searcher = self.searcher
        question = token_vectors(searcher.embedder, [focus_phrase(context.query)])[0]
        column = np.zeros(len(hits))
        for i, hit in enumerate(hits):
            chunk = searcher.chunks[hit.row]
            spans = [searcher.sentence_spans[j] for j in searcher.sentences_by_chunk.get(hit.row, [])]
            texts = [chunk.text[a - chunk.start:b - chunk.start] for a, b in spans]
            column[i] = max((float((question @ tokens.T).max(axis=1).mean())
                             for tokens in token_vectors(searcher.embedder, texts) if len(tokens) and len(question)),
                            default=0.0)
        return np.hstack([base, column[:, None]])

    rerank.Reranker.rerank, rerank.Reranker.features = rerank_as_configured, with_focus
    tune.FEATURES = (*tune.FEATURES, "focus")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--news-index", default=str(ROOT / "var" / "bbc-index"), help="index of the BBC folder")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    add_focus_column()
    settings = load_settings(None)
    embedder = make_embedder(settings.embedding)
    sets = {"golden": tune.collect_questions(Engine(settings, embedder=embedder), settings.paths.golden, 30),
            "news": tune.collect_questions(Engine(settings.with_index(Path(args.news_index)), embedder=embedder),
                                           tune.NEWS, 30)}
    global_keep = np.array([f not in ("residual", "focus") for f in tune.FEATURES], dtype=np.float64)
    for name, keep in (("without focus", [f != "focus" for f in tune.FEATURES]), ("with focus", None)):
        mask = np.array(keep, dtype=np.float64) if keep else np.ones(len(tune.FEATURES))

        def fitter(train, mask=mask):
            narrowed = {n: [tune._with_features(q, q.features * mask) for q in qs] for n, qs in train.items()}
            return tune.fit_both(narrowed, 1.0, True, global_keep, 0.5)

        held = tune.held_out_splits(sets, 8, fitter)
        golden = tune.score_set(sets["golden"], fitter(sets))["main"]
        print(name, {k: v for k, v in held.items() if k != "halves"}, "golden fitted on all", golden, flush=True)


if __name__ == "__main__":
    main()
