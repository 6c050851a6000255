"""Issue 10, case by case: stale sources under a running process, damaged indexes, bad input, concurrent
and killed builds, links out of the folder, moved folders, leftovers. Real files, real subprocesses."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from citebot.bot.cli.main import main
from citebot.config.errors import IndexBusyError, IndexInvalidError
from citebot.config.settings import PROJECT_ROOT, Settings, load_settings
from citebot.index.build import build_index
from citebot.index.store.faiss import layout, lock
from citebot.index.store.faiss import load as faiss_load
from citebot.index.store.faiss.manifest import current_build
from citebot.index.store.protocol import SourceFile
from citebot.retrieval.citations import quote_matches_source
from citebot.retrieval.engine import Engine
from citebot.retrieval.freshness import CheckBounds, SourceWatcher
from tests.conftest import SEEDS, write_config

CLI = [sys.executable, "-m", "citebot.bot.cli"]
ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}


def cli(*args: str, cwd: Path | None = None, stdin: bytes | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CLI, *args], cwd=cwd, input=stdin, capture_output=True, env=ENV, timeout=timeout)


def one_line_error(err: str | bytes) -> bool:
    text = err.decode() if isinstance(err, bytes) else err
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("citebot: error: ") and "Traceback" not in text


def citations(result: dict) -> list[tuple[str, str, int, int]]:
    """(text, source, start, end) of every quote in a JSON result, "also in" included."""
    quotes = []
    for passage in result["passages"]:
        for p in [passage, *passage.get("also_in", [])]:
            c = p["citation"]
            quotes.append((p["text"], c["source"], c["start"], c["end"]))
    if result["answer"]:
        a = result["answer"]
        quotes.append((a["text"], a["source"], a["start"], a["end"]))
    return quotes


def all_verbatim(result: dict, cwd: Path) -> bool:
    return all(quote_matches_source(t, str(cwd / s), a, b) for t, s, a, b in citations(result))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def built(tmp_path: Path, seeds_copy: Path) -> tuple[Path, Settings]:
    """The seeds copied, indexed with the hash embedder; (config file, settings)."""
    config = write_config(tmp_path, sources=str(seeds_copy))
    settings = load_settings(config)
    build_index(seeds_copy, settings.paths.index, settings)
    return config, settings


# -- 1. a long-running process never cites a changed or removed source ------------------------------

def test_a_running_chat_leaves_out_edited_and_removed_sources(tmp_path: Path, built: tuple[Path, Settings],
                                                              seeds_copy: Path) -> None:
    config, _ = built
    chat = subprocess.Popen([*CLI, "chat", "--json", "--config", str(config)], cwd=tmp_path, env=ENV,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ask(question: str) -> dict:
        assert chat.stdin is not None and chat.stdout is not None
        chat.stdin.write(question + "\n")
        chat.stdin.flush()
        return json.loads(chat.stdout.readline())

    question = "What did Theresa May say about racial hatred?"
    before = ask(question)
    cited = [s for _, s, _, _ in citations(before)]
    assert len(set(cited)) >= 2 and all_verbatim(before, tmp_path)
    edited, removed = tmp_path / cited[0], tmp_path / next(s for s in cited if tmp_path / s != tmp_path / cited[0])
    edited.write_text("A new headline\n\nA paragraph inserted at the top.\n" + edited.read_text(encoding="utf-8"),
                      encoding="utf-8")
    for _ in range(2):
        result = ask(question)
        assert result["passages"] and all_verbatim(result, tmp_path)
        assert edited not in {tmp_path / s for _, s, _, _ in citations(result)}
    removed.unlink()
    result = ask(question)
    assert result["passages"] and all_verbatim(result, tmp_path)
    assert not {edited, removed} & {tmp_path / s for _, s, _, _ in citations(result)}
    chat.stdin.close()
    err = chat.stderr.read()
    assert chat.wait(timeout=30) == 0
    assert err.count("changed since the index was built") == 1 and err.count("was removed since") == 1
    assert "Traceback" not in err


def test_the_watcher_sees_a_same_size_edit_and_a_restore(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Title\n\nOne two three.\n", encoding="utf-8")
    watcher = SourceWatcher({"a.txt": SourceFile(path, sha256(path))}, CheckBounds(tmp_path, 10_000, False))
    assert watcher.is_fresh("a.txt")
    path.write_text("Title\n\nOne two tree!.\n", encoding="utf-8")  # same size, at once
    assert not watcher.is_fresh("a.txt") and not watcher.is_fresh("a.txt")
    path.write_text("Title\n\nOne two three.\n", encoding="utf-8")
    assert watcher.is_fresh("a.txt")
    assert caplog.text.count("a.txt changed since the index was built") == 1


def test_a_process_started_on_many_stale_sources_warns_once(tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    files = {f"{i}.txt": SourceFile(tmp_path / f"{i}.txt", "0" * 64) for i in range(7)}
    for path, *_ in list(files.values())[:4]:
        path.write_text("Not what was indexed.\n", encoding="utf-8")
    two = {name: files[name] for name in ("0.txt", "5.txt")}
    bounds = CheckBounds(tmp_path, 10_000, False)
    assert SourceWatcher(files, bounds).check_all() == set() and SourceWatcher(two, bounds).check_all() == set()
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings[0].startswith("7 sources changed or were removed since the index was built (0.txt, 1.txt")
    assert warnings[1:] == [
        "0.txt changed since the index was built; its passages are left out until you run: citebot index build",
        "5.txt was removed since the index was built; its passages are left out until you run: citebot index build"]


def _shift_source(build: Path, victim: str, by: int) -> None:
    """Move every chunk of victim (and its sentences) by `by` characters; update the manifest's hashes."""
    rows = [json.loads(line) for line in (build / layout.CHUNKS).read_text(encoding="utf-8").splitlines()]
    moved = {i for i, c in enumerate(rows) if c["source"] == victim}
    for i in moved:
        rows[i]["start"] += by
        rows[i]["end"] += by
    (build / layout.CHUNKS).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                      encoding="utf-8")
    refs = [json.loads(line) for line in (build / layout.SENTENCES).read_text(encoding="utf-8").splitlines()]
    refs = [[c, s + by, e + by] if c in moved else [c, s, e] for c, s, e in refs]
    (build / layout.SENTENCES).write_text("".join(json.dumps(r) + "\n" for r in refs), encoding="utf-8")
    manifest = json.loads((build / layout.MANIFEST).read_text(encoding="utf-8"))
    for name in (layout.CHUNKS, layout.SENTENCES):
        manifest["files"][name] = sha256(build / name)
    (build / layout.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def test_shifted_offsets_with_updated_hashes_are_never_cited(built: tuple[Path, Settings], capsys,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    config, settings = built
    victim = "002_910b036e5245e9eb.txt"
    _shift_source(current_build(settings.paths.index), victim, 7)
    engine = Engine(settings)
    result = engine.ask("What did Theresa May say about racial hatred?", top_k=8)
    assert result.passages and all(not p.citation.source.endswith(victim) for p in result.passages)
    for p in result.passages:
        assert quote_matches_source(p.text, p.citation.source, p.citation.start, p.citation.end)
    assert "does not match" in caplog.text and "rebuild" in caplog.text
    code = main(["index", "status", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 1 and one_line_error(err) and "do not match their unchanged source" in err


# -- 2. a damaged index is an error, never a silent rebuild -------------------------------------------

def _dangling(index: Path) -> None:
    (index / "current").unlink()
    (index / "current").symlink_to("build-gone")


@pytest.mark.parametrize(("damage", "message"), [
    (_dangling, "points at build-gone, which is missing"),
    (lambda index: (index / "current").unlink(), "its `current` link is missing"),
    (lambda index: shutil.rmtree(index.resolve() / os.readlink(index / "current")), "which is missing"),
])
def test_a_damaged_index_is_an_error_and_nothing_is_deleted(built: tuple[Path, Settings], capsys, damage,
                                                            message: str) -> None:
    config, settings = built
    index = settings.paths.index
    damage(index)
    before = sorted(p.name for p in index.iterdir())
    code = main(["ask", "What did Theresa May say?", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 1 and one_line_error(err) and message in err and "citebot index build --index" in err
    assert "building" not in err and sorted(p.name for p in index.iterdir()) == before


def test_an_existing_empty_index_folder_is_not_filled_with_the_default_sources(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    code = main(["ask", "What did Theresa May say?", "--config", str(config), "--index", str(empty)])
    err = capsys.readouterr().err
    assert code == 1 and one_line_error(err) and "no index in" in err and list(empty.iterdir()) == []


# -- 3. bad input: one line, and the session goes on ---------------------------------------------------

def test_invalid_utf8_is_one_line_in_ask_and_chat(built: tuple[Path, Settings], tmp_path: Path) -> None:
    config, _ = built
    ask = subprocess.run([*CLI, "ask", b"What did \xff Theresa May say?", "--config", str(config)],
                         capture_output=True, env=ENV, timeout=120)
    assert ask.returncode == 2 and one_line_error(ask.stderr) and b"not valid UTF-8" in ask.stderr
    lines = [b"Who is Jeremy Corbyn?", b"\xff", b"caf\xc3 \x00 ctrl", b"What did \xed\xa0\x80 say?",
             b"Theresa May\r", b"\xe2\x80\xae\xd9\x85 right-to-left", b"%s %n {0} \\x00 .*", b"Ian Lavery?"]
    chat = cli("chat", "--json", "--config", str(config), stdin=b"\n".join(lines) + b"\n")
    assert chat.returncode == 0 and b"Traceback" not in chat.stderr
    rows = [json.loads(line) for line in chat.stdout.decode("utf-8").splitlines()]
    assert len(rows) == len(lines)
    assert ["error" in row for row in rows] == [False, True, True, True, False, False, False, False]
    assert "not valid UTF-8" in rows[1]["error"] and rows[-1]["passages"]


@pytest.mark.parametrize(("field", "value"), [
    ("model", "all-MiniLM-L6-v2"), ("files", []), ("sources", []), ("files", None), ("sources", {"/etc/x": "0"}),
    ("sources", {"../outside.txt": "0" * 64}), ("chunk_count", "41"), ("format", 1), ("skipped", {}),
    ("sources_root_from_index", 3),
])
def test_a_manifest_of_the_wrong_shape_is_one_line(built: tuple[Path, Settings], capsys, field: str,
                                                   value: object) -> None:
    config, settings = built
    path = current_build(settings.paths.index) / layout.MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if value is None:
        del manifest[field]
    else:
        manifest[field] = value
    path.write_text(json.dumps(manifest), encoding="utf-8")
    for argv in (["ask", "hello"], ["index", "status"], ["index", "status", "--json"]):
        code = main([*argv, "--config", str(config)])
        err = capsys.readouterr().err
        assert code == 1 and one_line_error(err) and (f"`{field}`" in err or field == "format"), err
        assert "rebuild it with" in err


# -- 4. status runs every check a load runs ---------------------------------------------------------------

def _rewrite_manifest(build: Path, **changes: object) -> None:
    manifest = json.loads((build / layout.MANIFEST).read_text(encoding="utf-8"))
    manifest.update(changes)
    (build / layout.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def _truncate_with_hash(build: Path) -> None:
    vectors = build / layout.VECTORS
    vectors.write_bytes(vectors.read_bytes()[:-4096])
    manifest = json.loads((build / layout.MANIFEST).read_text(encoding="utf-8"))
    _rewrite_manifest(build, files={**manifest["files"], layout.VECTORS: sha256(vectors)})


@pytest.mark.parametrize("damage", [
    lambda b: (b / layout.VECTORS).write_bytes((b / layout.VECTORS).read_bytes()[:-4096]),
    _truncate_with_hash,
    lambda b: (b / layout.CHUNKS).unlink(),
    lambda b: (b / layout.SENTENCE_VECTORS).unlink(),
    lambda b: _rewrite_manifest(b, model={"name": "other-model", "weights_sha256": "none"}),
    lambda b: _rewrite_manifest(b, dimension=64),
    lambda b: _rewrite_manifest(b, chunk_count=40),
])
def test_status_fails_on_a_corrupt_index(built: tuple[Path, Settings], capsys, damage) -> None:
    config, settings = built
    damage(current_build(settings.paths.index))
    for argv in (["index", "status"], ["index", "status", "--json"], ["ask", "hello"]):
        code = main([*argv, "--config", str(config)])
        out, err = capsys.readouterr()
        assert code == 1 and out == "" and one_line_error(err) and "rebuild it with" in err


# -- 5. one build at a time; a killed build leaves no stuck lock ------------------------------------------

def _wait_for_lock(index: Path, process: subprocess.Popen, seconds: float = 60, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not lock.build_running(index):
        if process.poll() is not None:
            said = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log and log.exists() else ""
            raise AssertionError(f"the build ended ({process.returncode}) before it was seen holding the lock: {said}")
        assert time.monotonic() < deadline
        time.sleep(0.002)


def _big_sources(tmp_path: Path, copies: int) -> Path:
    sources = tmp_path / "many"
    sources.mkdir()
    for i in range(copies):
        for seed in SEEDS.glob("*.txt"):
            shutil.copy(seed, sources / f"{i:03d}_{seed.name}")
    return sources


def test_a_status_probe_does_not_make_a_starting_build_refuse(tmp_path: Path) -> None:
    """`index status` and the bot's reload check take the lock shared for an instant; a build starting then
    waits the instant out, while a lock held past the grace is a build running."""
    index = tmp_path / "index"
    index.mkdir()
    probe = open(index / layout.LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - closed by the timer
    fcntl.flock(probe, fcntl.LOCK_SH)
    timer = threading.Timer(0.1, probe.close)
    timer.start()
    with lock.build_lock(index):
        assert lock.build_running(index)
    timer.join()
    with open(index / layout.LOCK, encoding="utf-8") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        began = time.monotonic()
        with pytest.raises(IndexBusyError), lock.build_lock(index):
            pass
        assert time.monotonic() - began >= lock.PROBE_GRACE_SECONDS


def test_a_second_build_refuses_while_the_first_runs(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    index, sources = tmp_path / "index", _big_sources(tmp_path, 5)
    first = subprocess.Popen([*CLI, "index", "build", "--sources", str(sources), "--config", str(config)],
                             env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for_lock(index, first)
    while f"pid {first.pid}" not in (index / layout.LOCK).read_text(encoding="utf-8"):  # written just after the flock
        assert first.poll() is None
        time.sleep(0.002)
    first.send_signal(signal.SIGSTOP)  # hold it mid-build
    try:
        second = cli("index", "build", "--sources", str(sources), "--config", str(config))
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 1 and one_line_error(second.stderr.splitlines()[-1])
    assert b"another build is writing to" in second.stderr and f"pid {first.pid}".encode() in second.stderr
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0
    named = err.decode().strip().splitlines()[-1].rsplit("(", 1)[1].rstrip(")")
    assert (index / "current").resolve() == Path(named).resolve() and Path(named).is_dir()


def test_builds_killed_at_random_moments_leave_the_last_good_index(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    settings = load_settings(config)
    index, sources = settings.paths.index, _big_sources(tmp_path, 4)
    build_index(SEEDS, index, settings)
    good = current_build(index)
    log = tmp_path / "build.err"
    for delay in (0.0, 0.4, 0.8, "saving"):
        with log.open("wb") as err:
            build = subprocess.Popen([*CLI, "index", "build", "--sources", str(sources), "--config", str(config),
                                      "--replace"], env=ENV, stdout=subprocess.DEVNULL, stderr=err)
        _wait_for_lock(index, build, log=log)
        if delay == "saving":  # inside the save step, if it is caught
            while build.poll() is None and not list(index.glob(".build-*.partial")):
                time.sleep(0.0005)
        else:
            time.sleep(delay)
        build.kill()
        build.wait()
        engine = Engine(settings)  # the old build, or a new one that was complete: never nothing
        assert engine.stored.path in (good, current_build(index)) and engine.ask("Theresa May").passages
        good = engine.stored.path
    assert not lock.build_running(index)  # the kernel dropped every lock
    build_index(SEEDS, index, settings)
    assert not lock.leftovers(index) and len(list(index.glob("build-*"))) == 1


# -- 6. links out of the folder and oversized files ----------------------------------------------------

def test_links_outside_and_big_files_are_skipped_and_reported(tmp_path: Path, seeds_copy: Path, capsys) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("Secret headline\n\nThe password is swordfish.\n", encoding="utf-8")
    (seeds_copy / "link.txt").symlink_to(secret)
    (seeds_copy / "inside.txt").symlink_to(seeds_copy / "000_f9b0dd51ebe33c92.txt")
    (seeds_copy / "big.txt").write_text("Big headline\n\n" + "Words go on. " * 2000, encoding="utf-8")
    config = write_config(tmp_path, sources=str(seeds_copy), max_file_bytes=20000)
    code = main(["index", "build", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 0 and "Indexed 4 article(s)" in err
    assert "link.txt: links outside the sources folder" in err
    assert "big.txt: is 26,014 bytes, over the limit of 20,000" in err
    stored = Engine(load_settings(config)).stored
    assert not any("swordfish" in c.text for c in stored.chunks)
    assert {s["path"] for s in stored.manifest["skipped"]} == {"link.txt", "big.txt"}
    allowed = write_config(tmp_path / "allowed", sources=str(seeds_copy), allow_links_outside=True)
    main(["index", "build", "--config", str(allowed)])
    assert any("swordfish" in c.text for c in Engine(load_settings(allowed)).stored.chunks)


# -- 7. an index works from any working directory and moves with its sources ----------------------------

def test_an_index_answers_from_anywhere_and_moves_with_its_sources(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    shutil.copytree(SEEDS, project / "src")
    elsewhere.mkdir()
    config = write_config(tmp_path, index=str(tmp_path / "unused"))
    assert cli("index", "build", "--sources", "src", "--index", "idx", "--config", str(config),
               cwd=project).returncode == 0
    for index in (project / "idx", tmp_path / "moved" / "idx"):
        status = cli("index", "status", "--json", "--index", str(index), "--config", str(config), cwd=elsewhere)
        assert status.returncode == 0 and json.loads(status.stdout)["up_to_date"], status.stderr
        ask = cli("ask", "What did Theresa May say?", "--json", "--index", str(index), "--config", str(config),
                  cwd=elsewhere)
        result = json.loads(ask.stdout)
        assert ask.returncode == 0 and len(result["passages"]) == 5 and all_verbatim(result, elsewhere)
        assert all((elsewhere / s).resolve().parent == index.parent.resolve() / "src" for _, s, _, _ in
                   citations(result))
        project.rename(tmp_path / "moved")  # index and sources together; the old place is gone
        project = tmp_path / "moved"
    assert not (tmp_path / "project").exists()


# -- 8. leftovers are shown, and removed when no build holds the lock ---------------------------------------

HOLDER = """
import sys, time
from pathlib import Path
from citebot.index.store.faiss.lock import build_lock
from citebot.index.store.faiss.ownership import mark_build
index = Path(sys.argv[1])
with build_lock(index):
    partial = index / ".build-killed.partial"
    partial.mkdir()
    mark_build(partial, "killed")  # as a build's own partial folder holds (a bare folder is not citebot's)
    (partial / "vectors.faiss").write_bytes(b"x" * 100_000)
    print("ready", flush=True)
    time.sleep(120)
"""


def test_leftovers_are_shown_and_removed_once_no_build_runs(built: tuple[Path, Settings], capsys) -> None:
    config, settings = built
    index = settings.paths.index
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(index)], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        assert main(["index", "status", "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert "a build is running" in out and ".build-killed.partial (0.1 MB" in out and "kept" in out
        assert (index / ".build-killed.partial").is_dir()
    finally:
        holder.kill()
        holder.wait()
    assert main(["index", "status", "--json", "--config", str(config)]) == 0
    status = json.loads(capsys.readouterr().out)
    marker = len("citebot build killed\n")
    assert status["leftovers"] == [{"path": ".build-killed.partial", "bytes": 100_000 + marker, "removed": True}]
    assert not (index / ".build-killed.partial").exists() and not status["build_running"]


def test_a_failed_first_build_leaves_no_folder_behind(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, sources=str(tmp_path / "missing"))
    assert main(["ask", "hello", "--config", str(config)]) == 1
    assert "sources folder not found" in capsys.readouterr().err
    assert not (tmp_path / "index").exists()  # so the next ask still builds on first use


def test_a_concurrent_swap_during_load_is_retried(built: tuple[Path, Settings], seeds_copy: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _, settings = built
    real = faiss_load._load_build
    calls = []

    def swap_first(index_dir, build, *args):
        if not calls:
            calls.append(build)
            build_index(seeds_copy, index_dir, settings)  # removes the build being read
        return real(index_dir, build, *args)

    monkeypatch.setattr(faiss_load, "_load_build", swap_first)
    stored = faiss_load.load_index(settings.paths.index, model_name="hash", weights_sha256="none", dimension=1024)
    assert stored.path != calls[0] and stored.path == current_build(settings.paths.index)


def test_load_reports_bad_chunk_lines(built: tuple[Path, Settings]) -> None:
    _, settings = built
    build = current_build(settings.paths.index)
    rows = (build / layout.CHUNKS).read_text(encoding="utf-8").splitlines()
    rows[0] = json.dumps({**json.loads(rows[0]), "text": "not the text"})
    (build / layout.CHUNKS).write_text("\n".join(rows) + "\n", encoding="utf-8")
    _rewrite_manifest(build, files={**json.loads((build / layout.MANIFEST).read_text())["files"],
                                    layout.CHUNKS: sha256(build / layout.CHUNKS)})
    with pytest.raises(IndexInvalidError, match="offsets that do not fit"):
        Engine(settings)


def test_the_bot_shows_no_passage_of_a_source_edited_while_it_runs(built: tuple[Path, Settings]) -> None:
    from citebot.bot.discord.client import CitebotClient

    _, settings = built
    engine = Engine(settings)
    client = CitebotClient(settings=settings, engine_factory=lambda: engine)
    client.engine = engine
    chunk = engine.stored.chunks[0]
    shown = client.passage_by_id(chunk.id, 1)
    assert shown is not None and quote_matches_source(shown.text, shown.citation.source, chunk.start, chunk.end)
    path = Path(chunk.source)
    path.write_text("Inserted first line\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert client.passage_by_id(chunk.id, 1) is None  # "Show [n]" and "More sources" then say it is gone
    assert all(p.citation.source != chunk.source for p in engine.ask(chunk.text[:200], top_k=5).passages)
    client.executor.shutdown()
