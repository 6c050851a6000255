"""A second-stage experiment: bagging, the weights averaged over fits on bootstrap resamples of the news articles.

    python benchmarks/bagged_rerank.py --bags 10 --no-scifact --ascent --splits 8 --news-index var/bbc-index-l \
        --out var/exp/rerank-bagged.json

Runs benchmarks/tune_rerank.py (every other flag is its own) with each fit replaced by the mean of --bags fits,
each on the news questions of articles drawn with replacement (the golden set whole), so that the weights
depend less on which few questions a split holds. Averaging the weights of linear scorers averages their
scores. The held-out splits bag within their training half only.
"""

from __future__ import annotations

import sys
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import tune_rerank  # noqa: E402


def bagged(fit_both, bags: int):
    """fit_both, averaged over `bags` resamples of the news articles (with replacement)."""

    def fit(sets, c, ascent, global_keep, blend):
        news = sets.get("news", [])
        by_article: dict[str, list] = defaultdict(list)
        for q in news:
            by_article[q.group].append(q)
        articles = sorted(by_article)
        rng = np.random.default_rng(zlib.crc32(" ".join(q.id for q in news).encode()))  # the same split, the same bags
        fits = []
        for _ in range(bags):
            drawn = rng.choice(len(articles), len(articles), replace=True)
            resampled = {**sets, "news": [q for i in drawn for q in by_article[articles[i]]]}
            fits.append(fit_both(resampled, c, ascent, global_keep, blend))
        weights = np.mean([f[0] for f in fits], axis=0)
        within = np.mean([f[1] for f in fits], axis=0) if fits[0][1] is not None else None
        return (weights / np.abs(weights).max(),
                within / np.abs(within).max() if within is not None else None)

    return fit


def main() -> None:
    bags = 10
    if "--bags" in sys.argv:
        at = sys.argv.index("--bags")
        bags = int(sys.argv[at + 1])
        del sys.argv[at:at + 2]
    tune_rerank.fit_both = bagged(tune_rerank.fit_both, bags)
    tune_rerank.main()


if __name__ == "__main__":
    main()
