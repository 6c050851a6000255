"""The FAISS store's approximate first stage (index/store/faiss/approximate.py): a build writes an IVF index of a
table of [store] approximate_from rows or more (and none below), faiss's own file with its lists memory-mapped at
load, checked like every file; searched through it, a store gives the exact search's rows and scores when it visits
every list, and the golden set's answers with the real model stay those of the exact search."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest

from citebot.config.errors import IndexInvalidError
from citebot.config.settings import Settings, load_settings
from citebot.index.build import build_index
from citebot.index.embedding.hashed import HashEmbedder
from citebot.index.store import store_location
from citebot.index.store.faiss.approximate import open_approximate, write_approximate
from citebot.index.store.faiss.compressed import TwoStepSearch
from citebot.index.store.faiss.layout import (
    FLAT_HEADER_BYTES,
    SENTENCE_VECTORS,
    SENTENCE_VECTORS_IVF,
    SENTENCE_VECTORS_SQ8,
    VECTORS,
    VECTORS_IVF,
    VECTORS_SQ8,
)
from tests.conftest import SEEDS, write_config


def _with(settings: Settings, **store: int) -> Settings:
    return dataclasses.replace(settings, store=dataclasses.replace(settings.store, **store))


def _open(settings: Settings):
    embedder = HashEmbedder()
    return store_location(settings).open(settings, model_name=embedder.name, weights_sha256=embedder.weights_sha256,
                                         dimension=embedder.dimension)


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def approximate(hash_settings: Settings) -> Settings:
    settings = _with(hash_settings, approximate_from=1, approximate_lists=4, approximate_probe=4)
    build_index(SEEDS, settings.paths.index, settings)
    return settings


def test_a_build_below_the_threshold_writes_no_approximate_file(hash_settings: Settings) -> None:
    settings = _with(hash_settings, approximate_from=1_000_000)
    build_index(SEEDS, settings.paths.index, settings)
    loaded = _open(settings)
    assert not {VECTORS_IVF, SENTENCE_VECTORS_IVF} & set(loaded.manifest["files"])
    assert not list(loaded.path.glob("*.ivf"))
    assert {VECTORS_SQ8, SENTENCE_VECTORS_SQ8} <= set(loaded.manifest["files"])
    assert loaded.store.describe()["search"] == "passages exact (IndexFlatIP), sentences exact (IndexFlatIP)"


def test_a_build_above_it_writes_checked_mapped_ivf_files(approximate: Settings) -> None:
    loaded = _open(approximate)
    assert {VECTORS_IVF, SENTENCE_VECTORS_IVF} <= set(loaded.manifest["files"])
    ivf = loaded.store._sentences_two_step.compressed
    assert isinstance(ivf, faiss.IndexIVFScalarQuantizer) and ivf.nlist == 4 and ivf.nprobe == 4
    assert ivf.parallel_mode == 1  # one question's lists shared among the threads
    assert ivf.ntotal == len(loaded.sentences)
    assert isinstance(faiss.downcast_InvertedLists(ivf.invlists), faiss.OnDiskInvertedLists)  # mapped, not read
    assert "IVF (4 of 4 lists" in loaded.store.describe()["search"]
    assert not list(loaded.path.glob("*.sq8"))  # the lists hold the 8-bit codes: no second copy beside them


@pytest.mark.parametrize("damage", ["truncate", "remove"])
def test_a_damaged_or_missing_ivf_file_is_a_one_line_error_with_the_rebuild_command(
        approximate: Settings, damage: str) -> None:
    path = _open(approximate).path / SENTENCE_VECTORS_IVF
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:-100])
    else:
        path.unlink()
    with pytest.raises(IndexInvalidError) as error:
        _open(approximate)
    message = str(error.value)
    assert "\n" not in message and "sentences.ivf is missing or corrupt" in message
    assert f"rebuild it with: citebot index build --index {approximate.paths.index}" in message


def test_an_ivf_file_that_does_not_fit_its_table_is_refused(approximate: Settings, tmp_path: Path) -> None:
    loaded = _open(approximate)
    with pytest.raises(ValueError, match="holds"):
        open_approximate(loaded.path / VECTORS_IVF, len(loaded.chunks) + 1, HashEmbedder().dimension)


def test_visiting_every_list_gives_the_exact_rows_and_scores(approximate: Settings) -> None:
    exact, approx = _open(_with(approximate, approximate_from=0)), _open(approximate)
    assert exact.store.describe()["search"].startswith("passages exact")
    queries = [exact.store.sentence_vectors([i])[0] for i in range(0, len(exact.sentences), 5)]
    queries += list(_unit(np.random.default_rng(7).standard_normal((20, HashEmbedder().dimension))))
    for query in queries:
        for search in ("search_passages", "search_sentences"):
            want, got = getattr(exact.store, search)(query, 10), getattr(approx.store, search)(query, 10)
            assert np.allclose(got.scores, want.scores, atol=1e-5)
            assert set(got.rows[:5].tolist()) == set(want.rows[:5].tolist()) or np.allclose(
                got.scores[:5], want.scores[:5], atol=1e-5)
        rows = [3, 0, 5, 3]
        assert np.allclose(approx.store.sentence_scores(query, rows), exact.store.sentence_scores(query, rows),
                           atol=1e-5)


def test_scores_from_the_codes_read_no_float_row(approximate: Settings) -> None:
    """With approximate_scores "codes", scores and vectors come from the IVF's codes: zeroing the float files in
    place after the load changes nothing, while the float-scored store then scores 0."""
    floats, codes = _open(approximate), _open(_with(approximate, approximate_scores="codes"))
    assert "scored from the codes" in codes.store.describe()["search"]
    query = floats.store.sentence_vectors([4])[0]
    rows = [3, 0, 5, 3]
    want = floats.store.sentence_scores(query, rows)
    top = floats.store.search_sentences(query, 5)
    for name in (SENTENCE_VECTORS, VECTORS):
        path = codes.path / name
        with path.open("r+b") as handle:
            handle.seek(FLAT_HEADER_BYTES)
            handle.write(bytes(path.stat().st_size - FLAT_HEADER_BYTES))
    assert not floats.store.sentence_scores(query, rows).any()
    assert np.allclose(codes.store.sentence_scores(query, rows), want, atol=0.02)
    assert np.allclose(codes.store.sentence_vectors([4])[0], query, atol=0.1)
    got = codes.store.search_sentences(query, 5)
    assert got.rows[0] == top.rows[0] and np.allclose(got.scores, top.scores, atol=0.02)
    assert np.allclose(codes.store.passage_scores(query, [0, 2]), codes.store.passage_vectors([0, 2]) @ query)


def test_the_probe_setting_reaches_the_search(tmp_path: Path) -> None:
    """On 20,000 clustered vectors, one list of 141 visited finds less than every list, which finds all."""
    rng = np.random.default_rng(5)
    centres = _unit(rng.standard_normal((50, 32)))
    vectors = _unit(centres[rng.integers(0, 50, 20_000)] + rng.standard_normal((20_000, 32)) / 8)
    write_approximate(vectors, tmp_path / "t.ivf", 141)
    queries = _unit(centres[rng.integers(0, 50, 30)] + rng.standard_normal((30, 32)) / 4)
    exact = [set(np.argsort(-(vectors @ q))[:30].tolist()) for q in queries]

    def recall(probe: int) -> float:
        search = TwoStepSearch(open_approximate(tmp_path / "t.ivf", 20_000, 32, probe), vectors)
        found = [set(search.top(q, 30).rows.tolist()) for q in queries]
        return float(np.mean([len(e & f) / 30 for e, f in zip(exact, found, strict=True)]))

    assert recall(1) < 0.9 and recall(141) == 1.0


def test_the_file_is_faiss_own_and_the_same_for_the_same_vectors(tmp_path: Path) -> None:
    vectors = _unit(np.random.default_rng(3).standard_normal((3_000, 16)))
    write_approximate(vectors, tmp_path / "a.ivf", 20)
    write_approximate(vectors.copy(), tmp_path / "b.ivf", 20)
    assert (tmp_path / "a.ivf").read_bytes() == (tmp_path / "b.ivf").read_bytes()
    reference = faiss.read_index(str(tmp_path / "a.ivf"))  # read whole by faiss, no mapping
    reference.nprobe = 20
    mapped = open_approximate(tmp_path / "a.ivf", 3_000, 16, 20)
    assert np.array_equal(reference.search(vectors[:50], 10)[1], mapped.search(vectors[:50], 10)[1])
    assert np.array_equal(reference.search(vectors[:50], 1)[1][:, 0], np.arange(50))


@pytest.mark.parametrize("scores", ["floats", "codes"])
def test_the_golden_set_answers_as_with_exact_search(real_engine, tmp_path: Path, scores: str) -> None:
    """The real model's seeds index rebuilt with an IVF index of 4 lists, 3 visited (vectors reused, none embedded),
    scored from the float rows or from the codes: the golden set's figures are those of the exact search."""
    from citebot.retrieval.engine import Engine
    from citebot.retrieval.evaluation.golden import evaluate_golden

    exact_settings = real_engine.settings
    shutil.copytree(exact_settings.paths.index, tmp_path / "index", symlinks=True)
    settings = load_settings(write_config(tmp_path, model="all-MiniLM-L6-v2", store={
        "approximate_from": 1, "approximate_lists": 4, "approximate_probe": 3, "approximate_scores": scores}))
    report = build_index(SEEDS, settings.paths.index, settings)
    assert report.embedded == 0
    engine = Engine(settings)
    assert "IVF (3 of 4 lists" in engine.stored.store.describe()["search"]
    golden = exact_settings.paths.golden
    want, got = evaluate_golden(real_engine, golden), evaluate_golden(engine, golden)
    assert want["answerable"] and got["answerable"].keys() == want["answerable"].keys()
    for key, value in want["answerable"].items():
        if isinstance(value, float):
            assert abs(got["answerable"][key] - value) <= 0.02, key
    assert abs(got["answer_accuracy"] - want["answer_accuracy"]) <= 0.02
