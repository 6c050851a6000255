"""The command line, called in-process: exit codes, messages, JSON, with the hash test embedder."""

from __future__ import annotations

import io
import json
import shlex
import tracemalloc
from pathlib import Path

import pytest

from citebot.bot.cli.main import main
from citebot.retrieval.citations import quote_matches_source
from tests.conftest import write_config


def run(capsys: pytest.CaptureFixture[str], *argv: str, stdin: str | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("question", "message"), [("", "empty"), ("   ", "empty"), ("q" * 600, "limit is 500")])
def test_ask_refuses_bad_questions_in_one_line(capsys, hash_config: Path, question: str, message: str) -> None:
    code, out, err = run(capsys, "ask", question, "--config", str(hash_config))
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_ask_builds_on_first_use_then_answers_in_json(capsys, hash_config: Path) -> None:
    code, out, err = run(capsys, "--config", str(hash_config), "ask", "What did Theresa May tell MPs?", "--json",
                         "--top-k", "3")
    assert code == 0, err
    assert "building it first" in err
    data = json.loads(out)
    assert len(data["passages"]) == 3
    for passage in data["passages"]:
        c = passage["citation"]
        assert quote_matches_source(passage["text"], c["source"], c["start"], c["end"])


def test_ask_human_output_numbers_passages(capsys, hash_config: Path) -> None:
    code, out, _ = run(capsys, "ask", "Theresa May racial hatred", "--config", str(hash_config))
    assert code == 0 and "[1] " in out and "paragraph" in out


def test_top_k_must_be_positive(capsys, hash_config: Path) -> None:
    code, _, err = run(capsys, "ask", "anything", "--top-k", "0", "--config", str(hash_config))
    assert code == 2 and "--top-k" in err


@pytest.mark.parametrize(("argv", "expect"), [
    (["ask", "Q", "--top-k", "abc"], "'abc' is not a whole number of at least 1 (for example: --top-k 3); "
                                     "see: citebot ask --help"),
    (["ask"], "the following arguments are required: question; see: citebot ask --help"),
    (["askk", "Q"], "did you mean 'ask'? see: citebot --help"),
    (["index", "stat"], "did you mean 'status'? see: citebot index --help"),
    (["chat", "--store", "fais"], "did you mean 'faiss'?"),
    (["eval", "--golden"], "argument --golden: expected one argument; see: citebot eval --help"),
    (["index", "status", "--bogus"], "unrecognized arguments: --bogus; see: citebot index status --help"),
])
def test_every_argument_mistake_is_one_line_with_the_fix(capsys, argv: list[str], expect: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("citebot: error: ") and expect in err and len(err.strip().splitlines()) == 1, err
    assert "usage:" not in err


def test_status_without_index_says_how_to_build(capsys, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    code, _, err = run(capsys, "index", "status", "--config", str(config), "--index", str(tmp_path / "nowhere"))
    assert code == 1 and "citebot index build" in err and "Traceback" not in err


def test_build_then_status(capsys, hash_config: Path, seeds_copy: Path) -> None:
    code, _, err = run(capsys, "index", "build", "--sources", str(seeds_copy), "--config", str(hash_config))
    assert code == 0 and "Indexed 3 article(s)" in err
    code, out, _ = run(capsys, "index", "status", "--json", "--config", str(hash_config))
    status = json.loads(out)
    assert code == 0 and status["up_to_date"] and status["articles"] == 3
    (seeds_copy / "new.txt").write_text("New headline\n\nNew story.\n", encoding="utf-8")
    _, out, _ = run(capsys, "index", "status", "--json", "--config", str(hash_config))
    assert json.loads(out)["changes"] == ["added: new.txt"]  # named relative to the sources folder


def test_a_mistyped_index_gets_did_you_mean_and_commands_that_work_when_pasted(
        capsys, monkeypatch, tmp_path: Path, seeds_copy: Path) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path)
    articles = tmp_path / "articles"
    seeds_copy.rename(articles)
    code, _, err = run(capsys, "index", "build", "--sources", "articles", "--index", "articles-index",
                       "--config", str(config))
    assert code == 0 and "every article chunked;" in err and "others" not in err  # a first build reuses nothing
    code, out, _ = run(capsys, "index", "status", "--index", "articles-index", "--config", str(config))
    assert "chunking   128 tokens at most a passage, 48 tokens of overlap" in out and "{" not in out
    for command in (["index", "status"], ["ask", "Who is Ian Lavery?"], ["index", "build"], ["eval"]):
        code, _, err = run(capsys, *command, "--index", "articles-idx", "--config", str(config))
        assert code == 1 and len(err.strip().splitlines()) == 1, err
        assert "did you mean articles-index? run: citebot " in err, err
        pasted = err.split(" run: ", 1)[1].split(" (or build", 1)[0]
        assert shlex.split(pasted)[:len(command) + 1] == ["citebot", *command]
        assert main(shlex.split(pasted)[1:]) == 0, capsys.readouterr().err
        capsys.readouterr()
        build = err.split("(or build an index there: ", 1)[1].rstrip(")\n")
        assert build == f"citebot index build --sources articles --index articles-idx --config {config}"
    assert main(shlex.split(build)[1:]) == 0  # the build hint works when pasted too: --sources guessed
    assert (tmp_path / "articles-idx" / "current").is_symlink()


def test_build_with_missing_sources_is_one_line(capsys, hash_config: Path, tmp_path: Path) -> None:
    code, _, err = run(capsys, "index", "build", "--sources", str(tmp_path / "nope"), "--config", str(hash_config))
    assert code == 1 and "sources folder not found" in err and len(err.strip().splitlines()) == 2


def test_bad_config_is_one_line(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[chunking\n", encoding="utf-8")
    code, _, err = run(capsys, "ask", "hello", "--config", str(bad))
    assert code == 1 and "not valid TOML" in err


def test_chat_json_keeps_the_conversation_and_resets(capsys, monkeypatch, hash_config: Path) -> None:
    lines = "What did Theresa May tell MPs?\nWhich kinds of hatred did she name?\n/reset\n\n" \
            "Which kinds of hatred did she name?\n"
    code, out, _ = run(capsys, "chat", "--json", "--config", str(hash_config), stdin=lines, monkeypatch=monkeypatch)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 5
    assert rows[1]["searched"].startswith("Which kinds of hatred did she name? (Theresa May")
    assert rows[2] == {"reset": True}
    assert "error" in rows[3]
    assert rows[4]["searched"] == "Which kinds of hatred did she name?"


def test_chat_reads_a_huge_line_in_bounded_pieces_and_echoes_only_its_start(
        capsys, monkeypatch, hash_config: Path, tmp_path: Path) -> None:
    run(capsys, "index", "build", "--config", str(hash_config))  # built before memory is measured
    questions = tmp_path / "questions.txt"
    questions.write_text("Who is Ian Lavery?\n" + "x" * 30_000_000 + "\nWhat did Theresa May tell MPs?\n",
                         encoding="utf-8")
    with questions.open(encoding="utf-8") as stdin:  # a real file: sys.stdin.buffer is read, as from a pipe
        monkeypatch.setattr("sys.stdin", stdin)
        tracemalloc.start()
        try:
            code = main(["chat", "--json", "--config", str(hash_config)])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(rows) == 3
    assert "limit" in rows[1]["error"] and len(rows[1]["question"]) <= 201
    assert rows[2]["passages"]  # the session goes on
    assert peak < 15_000_000, peak  # the 30 MB line was never held whole


def test_help_teaches(capsys) -> None:
    assert main(["ask", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--top-k" in out and "--index" in out and "example" in out


def test_status_notices_changed_chunk_settings(capsys, tmp_path: Path, seeds_copy: Path) -> None:
    built_with = write_config(tmp_path)
    run(capsys, "index", "build", "--sources", str(seeds_copy), "--config", str(built_with))
    changed = write_config(tmp_path / "other", index=str(tmp_path / "index"), max_tokens=64)
    _, out, _ = run(capsys, "index", "status", "--json", "--config", str(changed))
    status = json.loads(out)
    assert not status["up_to_date"] and "settings: [chunking] differs from the build" in status["changes"]


def test_an_index_path_that_is_a_file_is_one_line(capsys, hash_config: Path, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("x", encoding="utf-8")
    for argv in (["index", "build"], ["ask", "hello"], ["index", "status"]):
        code, _, err = run(capsys, *argv, "--index", str(not_a_folder), "--config", str(hash_config))
        assert code == 1 and "is a file, not an index folder" in err and "Traceback" not in err


def test_eval_writes_the_misses_for_study(capsys, hash_config: Path, tmp_path: Path) -> None:
    misses = tmp_path / "out" / "misses.jsonl"
    code, out, err = run(capsys, "eval", "--config", str(hash_config), "--json", "--misses", str(misses))
    assert code == 0, err
    report = json.loads(out)
    rows = [json.loads(line) for line in misses.read_text(encoding="utf-8").splitlines()]
    wrong = [d for d in report["details"]
             if d["abstained"] != (d["category"] == "unanswerable")
             or (d["category"] != "unanswerable" and (d["hit@1"] == 0 or not d["answer_right"]))]
    assert rows and [r["id"] for r in rows] == [d["id"] for d in wrong]  # the hash embedder misses plenty
    for row in rows:
        assert row["searched"] and row["turns"] and "evidence" in row
        assert all(quote_matches_source(p["text"], p["source"], p["start"], p["end"]) for p in row["passages"])
        if row["category"] != "unanswerable":
            ranks = [p["rank"] for p in row["passages"] if p["relevant"]]
            assert row["evidence_rank"] == (ranks[0] if ranks else None)


@pytest.mark.parametrize("command", [[], ["index"], ["config"]])
def test_a_bare_command_prints_its_help(capsys, command: list[str]) -> None:
    code, out, _ = run(capsys, *command)
    assert code == 0 and out.startswith("usage: citebot") and ("COMMAND" in out or "ACTION" in out)


@pytest.mark.parametrize("command", [["index", "build"], ["index", "status"], ["ask"], ["chat"], ["eval"],
                                     ["serve"], ["config", "show"]])
def test_every_command_teaches_by_example(capsys, command: list[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "example" in out and f"citebot {' '.join(command)}" in out.replace("\n", " ")


def test_status_after_the_sources_folder_moved_prints_a_rebuild_that_works(
        capsys, monkeypatch, tmp_path: Path, seeds_copy: Path) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path)
    seeds_copy.rename(tmp_path / "articles")
    assert run(capsys, "index", "build", "--sources", "articles", "--index", "idx", "--config", str(config))[0] == 0
    (tmp_path / "articles").rename(tmp_path / "moved")
    code, out, _ = run(capsys, "index", "status", "--index", "idx", "--config", str(config))
    line = next(x for x in out.splitlines() if x.startswith("status"))
    assert code == 0 and "STALE" in line and "--sources DIR" in line and "--replace" in line, out
    command = line.split("run: ", 1)[1].split(" (DIR:")[0].replace("DIR", "moved")
    assert run(capsys, *shlex.split(command)[1:])[0] == 0  # pasted, DIR filled in
    code, out, _ = run(capsys, "index", "status", "--index", "idx", "--config", str(config))
    assert "up to date" in out, out
