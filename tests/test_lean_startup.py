"""The question path stays lean: bm25s without scipy gives the same BM25 index and scores."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from citebot.config.settings import PROJECT_ROOT, Settings
from citebot.index.build import chunk_corpus
from citebot.index.embedding.hashed import HashEmbedder
from citebot.retrieval.evaluation.golden import load_golden
from tests.conftest import SEEDS


def test_bm25s_numpy_backend_equals_scipy_backend(hash_settings: Settings) -> None:
    import bm25s
    import Stemmer

    chunks, _, _ = chunk_corpus(SEEDS, hash_settings, HashEmbedder())
    stemmer = Stemmer.Stemmer("english")
    tokens = bm25s.tokenize([c.text for c in chunks], stopwords="en", stemmer=stemmer, return_ids=False,
                            show_progress=False)
    models = [bm25s.BM25(k1=0.9, b=0.5, csc_backend=backend) for backend in ("scipy", "numpy")]
    for model in models:
        model.index(tokens, show_progress=False)
    for key in ("data", "indices", "indptr"):
        assert np.array_equal(models[0].scores[key], models[1].scores[key]), key
    for item in load_golden(hash_settings.paths.golden):
        query = bm25s.tokenize(item["turns"][-1], stopwords="en", stemmer=stemmer, return_ids=False,
                               show_progress=False)[0]
        if query:
            assert np.array_equal(models[0].get_scores(query), models[1].get_scores(query))


def test_the_lean_import_skips_scipy_and_restores_everything() -> None:
    script = ("import os, sys; from citebot.bot.cli.main import import_bm25s_lean; import_bm25s_lean(); "
              "assert 'bm25s' in sys.modules and 'scipy.sparse' not in sys.modules, sorted(sys.modules); "
              "assert 'DISABLE_TQDM' not in os.environ; import scipy.sparse; print('ok')")
    run = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         timeout=120, env={k: v for k, v in os.environ.items() if k != "DISABLE_TQDM"})
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr
