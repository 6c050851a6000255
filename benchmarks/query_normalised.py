"""A second-stage experiment (not kept): features normalised within each question's candidates before fitting.

    python benchmarks/query_normalised.py --mode z --no-scifact --ascent --splits 8 --news-index var/bbc-index-l \
        --out var/exp/rerank-norm-z.json

Runs benchmarks/tune_rerank.py (every other flag is its own) with each feature z-scored (--mode z) or scaled
to [0, 1] (--mode minmax) over the candidates of its question, as learning-to-rank datasets such as LETOR
do, so that a weight means the same whether a question's candidates are close together or far apart. The
engine scores raw features, so these weights are for comparison only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import tune_rerank  # noqa: E402


def normalised(features: np.ndarray, mode: str) -> np.ndarray:
    """Each column z-scored or min-max scaled over the rows (a constant column becomes 0)."""
    low, high = features.min(axis=0), features.max(axis=0)
    spread = features.std(axis=0) if mode == "z" else high - low
    centre = features.mean(axis=0) if mode == "z" else low
    safe = np.where(spread > 1e-9, spread, 1.0)
    return np.where(spread > 1e-9, (features - centre) / safe, 0.0)


def main() -> None:
    mode = "z"
    if "--mode" in sys.argv:
        at = sys.argv.index("--mode")
        mode = sys.argv[at + 1]
        del sys.argv[at:at + 2]
    if mode not in ("z", "minmax"):
        sys.exit("query_normalised.py: --mode is z or minmax")
    collect = tune_rerank.collect_questions

    def collect_normalised(*args, **kwargs):
        questions = collect(*args, **kwargs)
        for q in questions:
            q.features = normalised(q.features, mode)
        return questions

    tune_rerank.collect_questions = collect_normalised
    tune_rerank.main()


if __name__ == "__main__":
    main()
