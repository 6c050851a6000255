"""Milvus specifics: the same answers as the FAISS path, the alias switch and rollback build, a build that dies
while uploading, the command line, and one line when Milvus is not installed."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from citebot.bot.cli.main import main
from citebot.bot.discord.reload import IndexWatcher
from citebot.config.errors import CitebotError
from citebot.index.build import build_store
from citebot.retrieval.engine import Engine
from tests.conftest import SEEDS
from tests.test_store_conformance import store_settings

QUESTIONS = ["What did Theresa May say about racial hatred?", "Who signed the letter to Corbyn?",
             "How many MPs backed a second referendum?"]


@pytest.fixture(autouse=True)
def _milvus(milvus_available: bool) -> None:
    if not milvus_available:
        pytest.skip("MILVUS TESTS SKIPPED: pymilvus / milvus-lite are not installed (pip install -e \".[milvus]\")")


def test_milvus_answers_exactly_as_the_faiss_folder(tmp_path: Path) -> None:
    faiss_settings = store_settings(tmp_path / "f", "faiss")
    milvus_settings = store_settings(tmp_path / "m", "milvus")
    build_store(SEEDS, faiss_settings)
    build_store(SEEDS, milvus_settings)
    on_faiss, on_milvus = Engine(faiss_settings), Engine(milvus_settings)
    for question in QUESTIONS:
        assert on_milvus.ask(question).to_json() == on_faiss.ask(question).to_json()
    chat_f, chat_m = on_faiss.new_conversation(), on_milvus.new_conversation()
    for question in ("What did Theresa May tell MPs?", "Which kinds of hatred did she name?"):
        assert on_milvus.ask(question, chat_m).to_json() == on_faiss.ask(question, chat_f).to_json()


def test_builds_switch_the_alias_and_keep_one_for_rollback(tmp_path: Path) -> None:
    from citebot.index.store.milvus.location import MilvusLocation

    settings = store_settings(tmp_path, "milvus")
    location = MilvusLocation(settings)
    names = []
    for _ in range(3):
        build_store(SEEDS, settings)
        names.append(location.current_name())
    assert len(set(names)) == 3
    assert location.builds() == names[1:]  # the oldest dropped; the one before the current kept
    assert location.read_manifest()["store"]["previous"] == names[1]
    assert location.leftover_builds() == [] and location.rollback_builds() == names[1:2]


def test_a_build_that_dies_while_uploading_leaves_the_old_build_serving(tmp_path: Path, seeds_copy: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from citebot.index.store.milvus.location import MilvusLocation

    settings = store_settings(tmp_path, "milvus", seeds_copy)
    build_store(seeds_copy, settings)
    location = MilvusLocation(settings)
    serving = location.current_name()
    before = Engine(settings).ask(QUESTIONS[0]).to_json()
    (seeds_copy / "004_new.txt").write_text("A new article\n\nIt is about the weather in Leeds today.\n",
                                            encoding="utf-8")
    client = location.client
    real_insert = client.insert
    calls = []

    def dying_insert(collection: str, rows: list) -> object:
        calls.append(collection)
        if collection.endswith("_sentences"):  # passages written, sentences not: half a build in the database
            raise OSError("killed while uploading")
        return real_insert(collection, rows)

    monkeypatch.setattr(client, "insert", dying_insert)
    with pytest.raises(OSError, match="killed while uploading"):
        build_store(seeds_copy, settings)
    monkeypatch.setattr(client, "insert", real_insert)
    assert calls and location.current_name() == serving
    assert location.builds() == [serving]  # the half-written collections were dropped
    assert Engine(settings).ask(QUESTIONS[0]).to_json() == before
    assert not list(location.folder.glob(".build-*"))  # nor is the staging folder left behind


def test_a_running_bot_sees_the_alias_move(tmp_path: Path) -> None:
    from citebot.index.store.milvus.location import MilvusLocation

    settings = store_settings(tmp_path, "milvus")
    build_store(SEEDS, settings)
    engine = Engine(settings)
    location = MilvusLocation(settings)
    watcher = IndexWatcher(location, lambda: Engine(settings), engine)
    assert watcher.moved() is None
    build_store(SEEDS, settings)
    assert watcher.moved() == location.current_name() != engine.stored.path.name


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_line_builds_reports_and_answers_on_milvus(tmp_path: Path, capsys,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    settings = store_settings(tmp_path, "faiss")  # the config says faiss: --store milvus switches
    config = str(tmp_path / "config" / "test.toml")
    with Path(config).open("a", encoding="utf-8") as handle:  # the config names only what it changes
        handle.write(f'[store]\nuri = "{tmp_path}/m.db"\n')
    code, _, err = run(capsys, "index", "status", "--config", config, "--store", "milvus")
    assert code == 1 and err.count("\n") == 1 and "no index in Milvus collection 'citebot'" in err
    code, _, err = run(capsys, "index", "build", "--config", config, "--store", "milvus")
    assert code == 0 and "into Milvus collection 'citebot'" in err and "146 texts embedded" in err
    assert "Traceback" not in err and "ERROR" not in err
    code, out, _ = run(capsys, "index", "status", "--config", config, "--store", "milvus", "--json")
    status = json.loads(out)
    assert code == 0 and status["store"]["kind"] == "milvus" and status["passages"] == 41 and status["up_to_date"]
    code, out, _ = run(capsys, "ask", "What did Theresa May tell MPs?", "--config", config, "--store", "milvus",
                       "--json")
    assert code == 0 and json.loads(out)["passages"]
    chat = "What did Theresa May tell MPs?\nWhich kinds of hatred did she name?\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(chat))
    code, out, _ = run(capsys, "chat", "--json", "--config", config, "--store", "milvus")
    turns = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(turns) == 2 and turns[1]["searched"] != turns[1]["question"]
    code, out, _ = run(capsys, "eval", "--json", "--config", config, "--store", "milvus")
    assert code == 0 and json.loads(out)["non_verbatim_citations"] == 0
    assert not settings.paths.index.exists()  # nothing was written to the FAISS folder


def test_milvus_without_pymilvus_is_one_line_saying_what_to_install(tmp_path: Path, capsys,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    store_settings(tmp_path, "milvus")
    monkeypatch.setitem(sys.modules, "pymilvus", None)  # `import pymilvus` raises ImportError
    code, _, err = run(capsys, "index", "build", "--config", str(tmp_path / "config" / "test.toml"))
    assert code == 1 and err.count("\n") == 1 and 'pip install -e ".[milvus]"' in err
    with pytest.raises(CitebotError, match="pymilvus"):
        Engine(store_settings(tmp_path / "again", "milvus"))


def _with_index(settings, index: str, build: dict, search: dict):
    import dataclasses

    return dataclasses.replace(settings, store=dataclasses.replace(
        settings.store, milvus_index=index, milvus_index_params=build, milvus_search_params=search))


def test_the_index_setting_reaches_create_index_and_the_search(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """[store] milvus_index and its parameters (TOML numbers, read as floats) reach Milvus Lite's create_index as
    integers, the search parameters reach its search, and the answers stay those of the FLAT build."""
    from pymilvus import MilvusClient

    from citebot.index.store.milvus.connection import collection_names, connect

    created: dict[str, dict] = {}
    create = MilvusClient.create_collection

    def recorded(self, name, *args, index_params=None, **kwargs):  # what reaches Milvus, passed on unchanged
        created[name] = {i.field_name: i.get_index_configs() for i in index_params or []}
        return create(self, name, *args, index_params=index_params, **kwargs)

    monkeypatch.setattr(MilvusClient, "create_collection", recorded)
    flat = store_settings(tmp_path / "flat", "milvus")
    hnsw = _with_index(store_settings(tmp_path / "hnsw", "milvus"), "HNSW", {"M": 16.0, "efConstruction": 64.0},
                       {"ef": 64.0})
    build_store(SEEDS, flat)
    build_store(SEEDS, hnsw)
    on_flat, on_hnsw = Engine(flat), Engine(hnsw)
    client = connect(hnsw)
    for name in collection_names(on_hnsw.stored.path.name)[:2]:
        assert created[name]["vector"] == {"index_type": "HNSW", "metric_type": "IP", "M": 16, "efConstruction": 64}
        assert all(type(v) is int for k, v in created[name]["vector"].items() if k in ("M", "efConstruction"))
        described = client.describe_index(name, "vector")  # Milvus Lite built it so
        assert described["index_type"] == "HNSW" and described["metric_type"] == "IP"
    for name in collection_names(on_flat.stored.path.name)[:2]:
        assert created[name]["vector"] == {"index_type": "FLAT", "metric_type": "IP"}
    assert on_hnsw.stored.store.search_params == {"ef": 64}
    assert isinstance(on_hnsw.stored.store.search_params["ef"], int)
    assert on_hnsw.stored.store.describe()["search"] == "HNSW (approximate), IP"
    assert on_flat.stored.store.describe()["search"] == "exact (FLAT, IP)"
    assert on_hnsw.stored.manifest["store"]["index"] == "HNSW"
    for question in QUESTIONS:  # 41 passages: the graph finds every neighbour
        assert on_hnsw.ask(question).to_json() == on_flat.ask(question).to_json()


def test_milvus_lite_asked_for_diskann_is_one_line_before_any_work(tmp_path: Path, capsys) -> None:
    settings = store_settings(tmp_path, "milvus")
    config = tmp_path / "config" / "test.toml"
    with config.open("a", encoding="utf-8") as handle:
        handle.write('milvus_index = "DISKANN"\n')
    code, _, err = run(capsys, "index", "build", "--config", str(config), "--store", "milvus")
    error = err.strip().splitlines()[-1]
    assert code != 0 and "Traceback" not in err and "embedded" not in err
    assert error.startswith("citebot: error: [store] milvus_index = 'DISKANN' needs a Milvus server; Milvus Lite")
    assert error.endswith('set milvus_index = "FLAT" or uri = "http://HOST:19530"')
    assert not list(settings.paths.data.glob("milvus-builds/*/.build-*"))
