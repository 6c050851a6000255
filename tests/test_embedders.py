"""Every Embedder passes one conformance suite; the ONNX runtime agrees with sentence-transformers on torch (the real
model): with no torch installed, against the reference vectors committed in tests/data; where torch is installed
(`pytest -m reference`), live too."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from benchmarks.quality.reference_vectors import EDGE_CASES, MIN_COSINE, load_reference, varied_questions
from citebot.config.errors import ModelError
from citebot.config.settings import EmbeddingSettings, Settings, load_settings
from citebot.index.embedding.hashed import HashEmbedder
from tests.conftest import SEEDS, require_reference, write_config

TEXTS = EDGE_CASES


def minilm_settings(tmp_path_factory: pytest.TempPathFactory, runtime: str) -> EmbeddingSettings:
    folder = tmp_path_factory.mktemp(f"embed-{runtime}")
    return load_settings(write_config(folder, model="all-MiniLM-L6-v2", runtime=runtime)).embedding


@pytest.fixture(scope="module")
def onnx_embedder(tmp_path_factory: pytest.TempPathFactory):
    from citebot.index.embedding.onnx_runtime import OnnxEmbedder

    return OnnxEmbedder(minilm_settings(tmp_path_factory, "onnx"))


@pytest.fixture(scope="module")
def torch_embedder(tmp_path_factory: pytest.TempPathFactory):
    require_reference()
    from citebot.index.embedding.torch_runtime import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(minilm_settings(tmp_path_factory, "torch"))


IMPLEMENTATIONS = [
    pytest.param("hash", id="hash"),
    pytest.param("onnx", id="onnx", marks=pytest.mark.model),
    pytest.param("torch", id="torch", marks=[pytest.mark.model, pytest.mark.reference]),
]


@pytest.fixture(params=IMPLEMENTATIONS)
def embedder(request: pytest.FixtureRequest):
    if request.param == "hash":
        return HashEmbedder()
    return request.getfixturevalue(f"{request.param}_embedder")


# ---- the conformance suite: every implementation -------------------------------------------------

def test_describes_itself(embedder) -> None:
    assert embedder.name and embedder.weights_sha256 and embedder.runtime in ("hash", "onnx", "torch")
    assert isinstance(embedder.dimension, int) and embedder.dimension > 0


def test_encode_gives_unit_float32_rows_in_order(embedder) -> None:
    vectors = embedder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for text, row in zip(TEXTS, vectors, strict=True):  # each row is its own text's, whatever the batch
        assert float(embedder.encode([text])[0] @ row) > 0.9999


def test_warm_up_in_a_thread_beside_encode_changes_no_vector(embedder) -> None:
    expected = embedder.encode(TEXTS[:3])
    warming = threading.Thread(target=embedder.warm_up)
    warming.start()
    during = embedder.encode(TEXTS[:3])
    warming.join()
    assert np.array_equal(during, expected) and np.array_equal(embedder.encode(TEXTS[:3]), expected)


def test_encode_nothing(embedder) -> None:
    assert embedder.encode([]).shape == (0, embedder.dimension)


def test_encode_is_deterministic(embedder) -> None:
    assert np.array_equal(embedder.encode(TEXTS[:3]), embedder.encode(TEXTS[:3]))


def test_encode_query_matches_encode(embedder) -> None:
    for text in TEXTS:
        query = embedder.encode_query(text)
        assert query.shape == (embedder.dimension,) and query.dtype == np.float32
        assert float(query @ embedder.encode([text])[0]) > 0.9999


def test_similar_texts_are_closer_than_unrelated_ones(embedder) -> None:
    a, b, c = embedder.encode(["Theresa May told MPs", "Theresa May told the MPs", "Quarterly oil output"])
    assert float(a @ b) > float(a @ c)


def test_count_tokens_counts_special_tokens_and_grows(embedder) -> None:
    assert embedder.count_tokens("") >= 2
    assert embedder.count_tokens("one two three") < embedder.count_tokens("one two three four five six")
    assert embedder.count_tokens("word " * 400) > 256  # counted before truncation


# ---- ONNX against sentence-transformers: the same model, the same vectors --------------------------

@pytest.mark.model
def test_onnx_vectors_match_the_committed_reference(onnx_embedder) -> None:
    """No torch needed: sentence-transformers' vectors of 64 fixed texts, computed once
    (python -m benchmarks.quality.reference_vectors --write), against both ONNX paths, and the token counts."""
    record, reference = load_reference()
    texts = record["texts"]
    assert record["weights_sha256"] == onnx_embedder.weights_sha256, "recompute the reference for these weights"
    assert reference.shape == (len(texts), onnx_embedder.dimension) and reference.dtype == np.float32
    assert len(texts) == 64 and "" in texts and max(record["token_counts"]) > 256
    bulk = onnx_embedder.encode(texts)  # what a build runs
    queries = np.stack([onnx_embedder.encode_query(text) for text in texts])  # what `citebot ask` runs
    for vectors in (bulk, queries):
        cosines = np.sum(vectors * reference, axis=1)
        assert cosines.min() >= MIN_COSINE, texts[int(cosines.argmin())]
    assert [onnx_embedder.count_tokens(text) for text in texts] == record["token_counts"]


@pytest.mark.model
def test_the_reference_check_catches_a_wrong_vector(onnx_embedder) -> None:
    """The check has teeth: the vector of another text, or of the text cut short, is under the bar."""
    record, reference = load_reference()
    texts = record["texts"]
    question = texts.index("What did Theresa May say about racial hatred?")
    assert float(onnx_embedder.encode_query(texts[question + 1]) @ reference[question]) < MIN_COSINE
    assert float(onnx_embedder.encode_query("What did Theresa May say about racial") @ reference[question]) < MIN_COSINE


@pytest.mark.model
@pytest.mark.reference
def test_the_committed_reference_is_what_sentence_transformers_gives(torch_embedder) -> None:
    record, reference = load_reference()
    assert np.sum(torch_embedder.encode(record["texts"]) * reference, axis=1).min() >= 0.99999
    assert [torch_embedder.count_tokens(text) for text in record["texts"]] == record["token_counts"]


@pytest.mark.model
@pytest.mark.reference
def test_onnx_query_vectors_match_torch_on_1000_questions(onnx_embedder, torch_embedder) -> None:
    questions = varied_questions()
    assert len(set(questions)) > 990
    reference = torch_embedder.encode(questions)
    queries = np.stack([onnx_embedder.encode_query(q) for q in questions])  # what `citebot ask` runs
    bulk = onnx_embedder.encode(questions)  # what a build runs
    for vectors in (queries, bulk):
        cosines = np.sum(vectors * reference, axis=1)
        assert cosines.min() >= MIN_COSINE, questions[int(cosines.argmin())]
    assert [onnx_embedder.count_tokens(q) for q in questions] == [torch_embedder.count_tokens(q) for q in questions]


@pytest.mark.model
def test_onnx_build_vectors_do_not_depend_on_the_batch(onnx_embedder) -> None:
    """Bit for bit: an incremental build that embeds a few texts gets what a full build would."""
    texts = [line for path in sorted(SEEDS.glob("*.txt")) for line in path.read_text().splitlines() if line.strip()]
    every = onnx_embedder.encode(texts)
    assert np.array_equal(onnx_embedder.encode(texts[::3]), every[::3])
    assert np.array_equal(onnx_embedder.encode([texts[5]]), every[5:6])


@pytest.mark.model
def test_onnx_bulk_threads_that_sleep_give_the_vectors_of_spinning_ones(onnx_embedder,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A build's session lets idle threads sleep (fewer CPU-seconds on a shared machine): not one bit changes."""
    import onnxruntime

    from citebot.index.embedding import onnx_runtime

    spinning_key = "session.intra_op.allow_spinning"
    texts = [line for path in sorted(SEEDS.glob("*.txt")) for line in path.read_text().splitlines() if line.strip()]
    sleeping = onnx_embedder.encode(texts)
    assert onnx_embedder._session("bulk").get_session_options().get_session_config_entry(spinning_key) == "0"

    class SpinningOptions(onnxruntime.SessionOptions):  # the bulk session as before: threads spin
        def add_session_config_entry(self, key: str, value: str) -> None:
            if key != spinning_key:
                super().add_session_config_entry(key, value)

    monkeypatch.setattr(onnxruntime, "SessionOptions", SpinningOptions)
    session = onnx_runtime.open_session(onnx_embedder._verified(), bulk=True)
    size = onnx_embedder.batch_size
    spinning = np.concatenate([onnx_embedder._encode_batch(texts[i:i + size], session)
                               for i in range(0, len(texts), size)])
    assert np.array_equal(spinning, sleeping)


@pytest.mark.model
@pytest.mark.reference
def test_onnx_passage_vectors_match_torch_on_the_seeds(onnx_embedder, torch_embedder) -> None:
    texts = [line for path in sorted(SEEDS.glob("*.txt")) for line in path.read_text().splitlines() if line.strip()]
    cosines = np.sum(onnx_embedder.encode(texts) * torch_embedder.encode(texts), axis=1)
    assert cosines.min() >= 0.9999
    assert [onnx_embedder.count_tokens(t) for t in texts] == [torch_embedder.count_tokens(t) for t in texts]


@pytest.mark.model
@pytest.mark.reference
def test_an_index_built_with_torch_answers_the_same_with_onnx(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Interchangeable vectors: every golden question gets the same passages and answer from either runtime."""
    from citebot.index.build import build_index
    from citebot.retrieval.engine import Engine
    from citebot.retrieval.evaluation.golden import load_golden

    require_reference()
    folder = tmp_path_factory.mktemp("torch-index")
    torch_settings = load_settings(write_config(folder, model="all-MiniLM-L6-v2", runtime="torch"))
    build_index(SEEDS, torch_settings.paths.index, torch_settings)
    onnx_settings = replace(torch_settings, embedding=replace(torch_settings.embedding, runtime="onnx"))
    engines = [Engine(torch_settings), Engine(onnx_settings)]
    assert [e.embedder.runtime for e in engines] == ["torch", "onnx"]
    for item in load_golden(torch_settings.paths.golden):
        conversations = [e.new_conversation() for e in engines]
        for turn in item["turns"]:
            results = [e.ask(turn, c) for e, c in zip(engines, conversations, strict=True)]
            torch_json, onnx_json = (r.to_json() for r in results)
            for result in (torch_json, onnx_json):
                for passage in result["passages"]:
                    passage.pop("score")
            assert onnx_json == torch_json, turn


# ---- the ONNX cache: exported once, verified on every load ---------------------------------------

@pytest.fixture
def private_cache(tmp_path: Path) -> EmbeddingSettings:
    config = write_config(tmp_path, model="all-MiniLM-L6-v2", onnx_cache=str(tmp_path / "models"))
    return load_settings(config).embedding


@pytest.mark.model
def test_a_corrupt_onnx_file_is_exported_again(private_cache: EmbeddingSettings, caplog, onnx_embedder) -> None:
    from citebot.index.embedding.onnx_cache import export_folder
    from citebot.index.embedding.onnx_runtime import OnnxEmbedder

    first = OnnxEmbedder(private_cache)
    record = (export_folder(private_cache, "fp32") / "record.json").read_text()
    assert private_cache.weights_sha256 in record
    data = export_folder(private_cache, "fp32") / "model.onnx.data"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    second = OnnxEmbedder(private_cache)
    vector = second.encode_query(TEXTS[0])
    assert "corrupt" in caplog.text and "exporting it again" in caplog.text
    assert float(vector @ onnx_embedder.encode_query(TEXTS[0])) > 0.9999
    assert float(first.encode_query(TEXTS[1]) @ second.encode_query(TEXTS[1])) > 0.9999


@pytest.mark.model
def test_a_stale_export_is_replaced(private_cache: EmbeddingSettings) -> None:
    from citebot.index.embedding.onnx_cache import export_folder
    from citebot.index.embedding.onnx_runtime import OnnxEmbedder

    OnnxEmbedder(private_cache)
    record = export_folder(private_cache, "fp32") / "record.json"
    record.write_text(record.read_text().replace('"export_version": 1', '"export_version": 0'))
    OnnxEmbedder(private_cache).encode_query("a question")
    assert '"export_version": 1' in record.read_text()


@pytest.mark.model
def test_an_unwritable_cache_is_one_clear_error(tmp_path: Path) -> None:
    from citebot.index.embedding.onnx_runtime import OnnxEmbedder

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings = load_settings(write_config(tmp_path, model="all-MiniLM-L6-v2", onnx_cache=str(blocker / "models")))
    with pytest.raises(ModelError, match='cannot write the ONNX model.*runtime = "torch"'):
        OnnxEmbedder(settings.embedding)


def test_an_unknown_runtime_is_refused(tmp_path: Path) -> None:
    from citebot.config.errors import ConfigError

    with pytest.raises(ConfigError, match='runtime must be "onnx" or "torch"'):
        load_settings(write_config(tmp_path, runtime="jax"))


def test_the_shipped_configs_pick_a_runtime() -> None:
    from citebot.config.settings import PROJECT_ROOT

    for name in ("default.toml", "scifact.toml"):
        settings: Settings = load_settings(PROJECT_ROOT / "config" / name)
        assert settings.embedding.runtime == "onnx"


@pytest.mark.model
def test_the_question_path_imports_no_torch(real_engine) -> None:
    """`citebot ask` on the default (onnx) runtime: answered without torch, transformers or sentence-transformers."""
    import subprocess
    import sys

    from citebot.config.settings import PROJECT_ROOT

    config = real_engine.settings.paths.index.parent / "config" / "test.toml"
    script = ("import sys; from citebot.bot.cli.main import main; rc = main(sys.argv[1:]); "
              "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]; "
              "print('heavy:', heavy, file=sys.stderr); sys.exit(rc or bool(heavy))")
    run = subprocess.run([sys.executable, "-c", script, "ask", "What did Theresa May say about racial hatred?",
                          "--json", "--config", str(config)], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "heavy: []" in run.stderr and "racial hatred" in json.loads(run.stdout)["answer"]["text"]
