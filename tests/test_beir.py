"""BEIR-format evaluation on a tiny corpus with the hash embedder: loading, caching, scoring."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from citebot.config.errors import CitebotError
from citebot.config.settings import load_settings
from citebot.retrieval.evaluation.beir import evaluate_beir, load_beir
from tests.conftest import write_config

DOCS = [
    {"_id": "a", "title": "Otters in rivers.", "text": "Otters have returned to English rivers after decades."},
    {"_id": "b", "title": "Council budget", "text": "The council approved its budget for libraries."},
    {"_id": "c", "title": "", "text": "City beat United in the derby with two late goals."},
]
QUERIES = [{"_id": "q1", "text": "otters rivers"}, {"_id": "q2", "text": "library budget council"},
           {"_id": "q3", "text": "derby goals"}, {"_id": "q4", "text": "not judged"}]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    with gzip.open(folder / "corpus.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(d) + "\n" for d in DOCS)
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUERIES), encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\ta\t1\nq2\tb\t1\nq3\tc\t1\n",
                                               encoding="utf-8")
    return folder


def test_load_beir_reads_judged_queries_only(dataset: Path) -> None:
    data = load_beir(dataset, "test")
    assert set(data.queries) == {"q1", "q2", "q3"} and data.qrels["q2"] == {"b": 1}
    with pytest.raises(CitebotError, match="qrels/train.tsv"):
        load_beir(dataset, "train")


def test_evaluate_beir_scores_and_reuses_its_cache(dataset: Path, tmp_path: Path, capsys) -> None:
    settings = load_settings(write_config(tmp_path))
    report = evaluate_beir(dataset, "test", settings)
    assert report["queries"] == 3 and report["documents"] == 3
    for ranking in ("dense", "lexical", "fused"):
        assert report["results"][ranking]["recall@10"] == 1.0
    assert report["results"]["lexical"]["ndcg@10"] == 1.0
    assert "Indexing tiny" in capsys.readouterr().err
    again = evaluate_beir(dataset, "test", settings)
    assert "Indexing" not in capsys.readouterr().err and again["results"] == report["results"]
