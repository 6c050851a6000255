"""`citebot`: build the index, ask questions, chat, evaluate and serve, from the command line.

Heavy libraries (onnxruntime, FAISS, bm25s) are imported only by the commands that need them, so
`citebot --help` answers at once; torch and sentence-transformers only with [embedding] runtime = "torch".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from index.errors import CitebotError, IndexInvalidError, IndexMissingError, QuestionError
from index.settings import Settings, load_settings

if TYPE_CHECKING:
    from retrieval.engine import Engine

EXAMPLES = """\
examples:
  citebot ask "What did Theresa May tell MPs?"
  citebot ask "Who signed the letter to Corbyn?" --top-k 3 --json
  printf 'What did Theresa May tell MPs?\\nWhich kinds of hatred did she name?\\n' | citebot chat --json
  citebot index build --sources ~/articles --index ~/articles-index
  citebot ask "..." --index ~/articles-index
  citebot index build --store milvus      # the same sources into Milvus ([store] in the config)
  citebot eval
"""


def _display_path(path: Path) -> Path:
    """A configured path as the user would type it: relative to the working directory when inside it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return Path(os.path.relpath(path)) if path.is_absolute() and Path.cwd().anchor == path.anchor else path


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(getattr(args, "config", None))
    if getattr(args, "index", None):
        settings = settings.with_index(Path(args.index))
    if getattr(args, "store", None):
        settings = settings.with_store(args.store)
    return settings


def _where(settings: Settings) -> str:
    """Where the index lives, as messages name it."""
    if settings.store.kind == "milvus":
        return f"Milvus collection {settings.store.collection!r} at {settings.store.uri}"
    return str(_display_path(settings.paths.index))


def _build(settings: Settings, sources: Path, full: bool = False) -> None:
    from index.build import build_store
    from index.stores import store_location

    store_location(settings).current_name()  # Milvus not installed or unreachable: one line, before anything else
    print(f"Indexing the articles in {sources} into {_where(settings)} ...", file=sys.stderr)
    report = build_store(sources, settings, progress=True, full=full)
    for skipped in report.skipped:
        print(f"skipped {sources / skipped.path}: {skipped.reason}", file=sys.stderr)
    print(f"Indexed {report.articles} article(s) as {report.chunks} passages in {report.seconds:.1f} s; "
          f"{report.rechunked} article(s) chunked, the others' chunks reused; {report.embedded} texts embedded, "
          f"{report.reused} reused ({_display_path(report.path)})",
          file=sys.stderr)


def import_bm25s_lean() -> None:
    """Import bm25s before the engine does, without scipy or tqdm: a cold `citebot ask` spends about a third
    of its time importing scipy.sparse otherwise (it pulls in numpy.f2py). bm25s then builds its index with
    its numpy backend, which gives the same arrays (tests/test_lean_startup.py checks it)."""
    if "bm25s" in sys.modules or "scipy.sparse" in sys.modules:
        return
    tqdm_setting = os.environ.get("DISABLE_TQDM")
    sys.modules["scipy.sparse"] = None  # type: ignore[assignment]  # `import scipy.sparse` raises ImportError
    os.environ["DISABLE_TQDM"] = "1"  # read once by bm25s at import: its progress bars are off anyway
    try:
        import bm25s  # noqa: F401
    finally:
        del sys.modules["scipy.sparse"]
        if tqdm_setting is None:
            os.environ.pop("DISABLE_TQDM", None)
        else:
            os.environ["DISABLE_TQDM"] = tqdm_setting


def _engine(settings: Settings, build_if_missing: bool) -> Engine:
    """The engine over the index; built first only when the index folder does not exist at all.

    A folder that exists but holds no good index is an error that says how to rebuild: building the
    configured sources into it would silently answer from another corpus.
    """
    from retrieval.engine import Engine

    import_bm25s_lean()

    try:
        return Engine(settings)
    except IndexMissingError:
        if not build_if_missing or (settings.store.kind == "faiss" and settings.paths.index.exists()):
            raise
    print(f"No index in {_where(settings)} yet; building it first (once).", file=sys.stderr)
    _build(settings, _display_path(settings.paths.sources))
    return Engine(settings)


def cmd_index_build(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _build(settings, Path(args.sources) if args.sources else _display_path(settings.paths.sources), args.full)
    return 0


def _configured_model(settings: Settings) -> tuple[str, str, int | None]:
    """The model an index must have been built with (name, weights sha256, dimension if known without loading)."""
    from index.embed import HashEmbedder

    if settings.embedding.model == HashEmbedder.name:
        hashed = HashEmbedder()
        return hashed.name, hashed.weights_sha256, hashed.dimension
    return settings.embedding.model, settings.embedding.weights_sha256, None


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def cmd_index_status(args: argparse.Namespace) -> int:
    from index.build import changed_settings, source_changes
    from index.store import build_running, leftovers, remove_leftovers
    from index.stores import open_index, store_location
    from retrieval.freshness import corrupt_passages

    settings = _settings(args)
    location = store_location(settings)
    index_dir = location.folder
    running = build_running(index_dir)
    found = leftovers(index_dir)
    removed = {left.path for left in remove_leftovers(index_dir)} if found and not running else set()
    name, weights, dimension = _configured_model(settings)
    stored = open_index(settings, model_name=name, weights_sha256=weights, dimension=dimension,
                        with_lexical=False)  # every check a load makes
    bad = corrupt_passages(stored.chunks, stored.sources)
    if bad:
        raise IndexInvalidError(
            f"index in {stored.path} is corrupt: {len(bad)} passage(s) do not match their unchanged source "
            f"(first: {bad[0].id} in {bad[0].source}); rebuild it with: citebot index build "
            f"{'--store milvus' if location.kind == 'milvus' else f'--index {index_dir}'}")
    manifest = stored.manifest
    changes = source_changes(manifest, stored.sources_root, settings.ingest) + changed_settings(manifest, settings)
    vectors = manifest.get("vectors") if isinstance(manifest.get("vectors"), dict) else {}
    status = {
        "index": _where(settings),
        "store": stored.store.describe(),
        "build": stored.path.name,
        "built_at": manifest["built_at"],
        "model": manifest["model"]["name"],
        "weights_sha256": manifest["model"]["weights_sha256"],
        "runtime": manifest["model"].get("runtime"),
        "sources_root": str(_display_path(stored.sources_root)),
        "articles": len(manifest["sources"]),
        "passages": manifest["chunk_count"],
        "chunking": manifest["chunking"],
        "vectors": {k: vectors.get(k) for k in ("embedded", "reused", "reused_from")},
        "skipped": manifest["skipped"],
        "up_to_date": not changes,
        "changes": changes,
        "leftovers": [{"path": left.path.name, "bytes": left.size, "removed": left.path in removed} for left in found],
        "build_running": running,
    }
    if location.kind == "milvus":
        status["rollback"] = sorted(location.kept() - {stored.path.name})  # type: ignore[attr-defined]
        status["leftover_builds"] = location.leftovers()  # type: ignore[attr-defined]
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
        return 0
    print(f"index      {status['index']} ({status['build']}, built {status['built_at']})")
    print(f"store      {', '.join(f'{k} {v}' for k, v in status['store'].items() if k not in ('uri', 'folder'))}")
    runtime = f", built on {status['runtime']}" if status["runtime"] else ""
    print(f"model      {status['model']} (weights sha256 {str(status['weights_sha256'])[:12]}…{runtime})")
    print(f"sources    {status['sources_root']}: {status['articles']} article(s), {status['passages']} passages")
    print(f"chunking   {status['chunking']}")
    if status["vectors"]["embedded"] is not None:
        reused_from = status["vectors"]["reused_from"] or ""  # a Milvus build's first: the FAISS folder's build
        source = Path(reused_from).name if location.kind == "milvus" and "/" in reused_from else "the build before"
        print(f"vectors    {status['vectors']['embedded']} texts embedded, {status['vectors']['reused']} reused "
              f"from {source}")
    for skipped in status["skipped"]:
        print(f"skipped    {skipped['path']}: {skipped['reason']}")
    if running:
        print("build      a build is running now")
    for left in found:
        fate = "removed" if left.path in removed else "kept: a build is running"
        print(f"leftover   {left.path.name} ({_megabytes(left.size)}, from an interrupted build): {fate}")
    for name in status.get("rollback", []):
        print(f"rollback   {name} (the build before, kept)")
    for name in status.get("leftover_builds", []):
        print(f"leftover   {name} (collections of an interrupted build; the next build drops them)")
    print("status     up to date" if not changes else "status     STALE, run: citebot index build")
    for change in changes:
        print(f"           {change}")
    return 0


def _question_encoding_error(question: str) -> str | None:
    """Why a question cannot be searched as text (bytes that are not UTF-8), or None."""
    bad = next((i for i, ch in enumerate(question) if "\ud800" <= ch <= "\udfff"), None)
    if bad is None:
        return None
    byte = ord(question[bad]) - 0xDC00 if question[bad] >= "\udc80" else None
    what = f"byte 0x{byte:02x}" if byte is not None and byte < 0x100 else "a character"
    return f"the question is not valid UTF-8 ({what} at position {bad}); send it as UTF-8 text"


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.terminal import render_result
    from retrieval.engine import check_question

    settings = _settings(args)
    problem = _question_encoding_error(args.question)
    if problem:
        raise QuestionError(problem)
    check_question(args.question, settings.limits.max_question_chars)  # before loading anything
    if args.top_k is not None and args.top_k < 1:
        raise QuestionError(f"--top-k must be at least 1, got {args.top_k}")
    result = _engine(settings, build_if_missing=True).ask(args.question, top_k=args.top_k)
    print(json.dumps(result.to_json(), ensure_ascii=False) if args.json else render_result(result))
    return 0


def _lines() -> Iterator[tuple[str, str | None]]:
    """Lines of stdin without their newline, each with why it cannot be a question (not UTF-8) or None."""
    binary = getattr(sys.stdin, "buffer", None)
    while True:
        if binary is not None:
            raw = binary.readline()
            if not raw:
                return
            line = raw.decode("utf-8", errors="surrogateescape")
        else:
            line = sys.stdin.readline()
            if not line:
                return
        line = line.rstrip("\n").removesuffix("\r")
        problem = _question_encoding_error(line)
        yield (line.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if problem else line), problem


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.terminal import render_result

    settings = _settings(args)
    engine = _engine(settings, build_if_missing=True)
    conversation = engine.new_conversation()
    interactive = sys.stdin.isatty() and not args.json
    if interactive:
        print("Ask about the articles; /reset forgets the conversation; Ctrl-D quits.", file=sys.stderr)

    def refuse(question: str, error: str) -> None:
        if args.json:
            print(json.dumps({"question": question, "error": error}, ensure_ascii=False), flush=True)
        else:
            print(f"citebot: {error}", file=sys.stderr, flush=True)

    if interactive:
        print("? ", end="", file=sys.stderr, flush=True)
    for question, problem in _lines():
        if problem:
            refuse(question, problem)
        elif question.strip() == "/reset":
            conversation.reset()
            print(json.dumps({"reset": True}) if args.json else "(conversation forgotten)", flush=True)
        else:
            try:
                result = engine.ask(question, conversation)
            except CitebotError as exc:
                refuse(question, str(exc))
            except Exception as exc:  # one bad line must not end the session for every later one
                logging.getLogger(__name__).debug("question %r failed", question, exc_info=True)
                refuse(question, f"internal error ({type(exc).__name__}: {exc}); the session goes on")
            else:
                print(json.dumps(result.to_json(), ensure_ascii=False) if args.json
                      else render_result(result) + "\n", flush=True)
        if interactive:
            print("? ", end="", file=sys.stderr, flush=True)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.dataset:
        from retrieval.beir import evaluate_beir, render_beir

        report = evaluate_beir(Path(args.dataset), args.split, settings)
        print(json.dumps(report, indent=2) if args.json else render_beir(report))
        return 0

    from retrieval.evaluate import evaluate_golden, render_report

    golden = Path(args.golden) if args.golden else settings.paths.golden
    engine = _engine(settings, build_if_missing=True)
    report = evaluate_golden(engine, golden, misses=Path(args.misses) if args.misses else None)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else render_report(report))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot import service

    token = os.environ.get("DISCORD_TOKEN", "").strip()
    settings = _settings(args)
    if args.check:
        print(service.check(settings, token, _configured_model(settings)))
        return 0
    import_bm25s_lean()
    service.run(settings, token, verbose=getattr(args, "verbose", False))
    return 0


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: given before or after the command, the flag is kept (argparse would reset it otherwise).
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="settings file (default: $CITEBOT_CONFIG or config/default.toml)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log what happens, for debugging")
    with_index = argparse.ArgumentParser(add_help=False)
    with_index.add_argument("--index", metavar="DIR",
                            help="index folder (default: [paths] index in the config, var/index)")
    with_index.add_argument("--store", choices=("faiss", "milvus"),
                            help="where the vectors live (default: [store] kind in the config, faiss); milvus "
                                 "uses [store] uri and collection")

    parser = argparse.ArgumentParser(
        prog="citebot", parents=[common],
        description="Answers questions about a folder of articles with verbatim, checkable citations.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    index = commands.add_parser("index", help="build the index or show its status",
                                description="Build the search index from a folder of *.txt articles, or show it.")
    index_commands = index.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    build = index_commands.add_parser(
        "build", parents=[common, with_index], help="(re)build the index from the articles",
        description="Read every *.txt under the sources folder, chunk, embed and index it. Passages and sentences "
                    "whose text the current build already embedded keep their vectors; only new ones are embedded "
                    "(--full: all). The new index is written beside the old one and swapped in at the end, so an "
                    "interrupted build changes nothing.",
    )
    build.add_argument("--sources", metavar="DIR", help="folder of *.txt articles (default: [paths] sources, seeds/)")
    build.add_argument("--full", action="store_true",
                       help="embed every passage again instead of reusing the current build's vectors of the "
                            "texts that did not change")
    build.set_defaults(run=cmd_index_build)
    status = index_commands.add_parser(
        "status", parents=[common, with_index], help="what the index holds, and if it is stale",
        description="Show the index's model, settings, sources and whether they changed since the build.")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(run=cmd_index_status)

    ask = commands.add_parser(
        "ask", parents=[common, with_index], help="answer one question with cited passages",
        description="Answer a question with the best verbatim quote and the top passages, each cited by file, "
                    "paragraph and character offsets. Builds the index first if there is none.",
        epilog='example: citebot ask "What did Theresa May tell MPs?" --json',
    )
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--top-k", type=int, metavar="N",
                     help="number of passages to show (default: [retrieval] top_k, 5)")
    ask.add_argument("--json", action="store_true", help="print one JSON object (see the README for its fields)")
    ask.set_defaults(run=cmd_ask)

    chat = commands.add_parser(
        "chat", parents=[common, with_index], help="a conversation: one question per line on stdin",
        description="Read one question per line from stdin and answer each; follow-ups use the earlier turns. "
                    "A line '/reset' forgets the conversation.",
        epilog="example: printf 'Who is Ian Lavery?\\nWhat did he do at the meeting?\\n' | citebot chat --json",
    )
    chat.add_argument("--json", action="store_true", help="print one JSON object per input line")
    chat.set_defaults(run=cmd_chat)

    evaluate = commands.add_parser(
        "eval", parents=[common, with_index], help="measure retrieval on the golden question set",
        description="Run the golden questions over the index and print hit@1, hit@3, MRR@5 and nDCG@5 by "
                    "category, answer-quote accuracy and abstention accuracy; or, with --dataset, a BEIR benchmark.",
        epilog=("examples:\n  citebot eval\n"
                "  citebot eval --golden news_questions.jsonl --index var/bbc-index --misses var/misses.jsonl\n"
                "  citebot eval --dataset ../shared/data/scifact --split test"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("--golden", metavar="FILE", help="golden set JSONL (default: [paths] golden)")
    evaluate.add_argument("--dataset", metavar="DIR",
                          help="a BEIR-format folder (corpus.jsonl[.gz], queries.jsonl, qrels/SPLIT.tsv) to evaluate "
                               "instead: nDCG@10, recall@10/100, MRR@10 for dense, lexical and fused rankings; its "
                               "index is cached under [paths] data/beir and reused")
    evaluate.add_argument("--misses", metavar="FILE",
                          help="write every question missed at rank 1, wrongly answered or wrongly refused to FILE "
                               "(JSONL: what was searched, the passages returned, where the evidence ranked)")
    evaluate.add_argument("--split", default="test", help="qrels split for --dataset (default: test)")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.set_defaults(run=cmd_eval)

    serve = commands.add_parser(
        "serve", parents=[common, with_index], help="run the Discord bot",
        description="Run the Discord bot: /ask, mentions (answered in a thread), follow-ups, /reset and buttons. "
                    "The token is read from the DISCORD_TOKEN environment variable; channels, the development "
                    "guild and the rate limit from the [bot] section of the config. Needs a built index. Logs one "
                    "event a line with time and level, never the token; SIGTERM or Ctrl-C lets answers in flight "
                    "finish (10 s at most) and exits 0. docs/operations.md runs it as a systemd service.",
        epilog="examples:\n  DISCORD_TOKEN=... citebot serve\n  DISCORD_TOKEN=... citebot serve --check",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--check", action="store_true",
                       help="check the config, the index, the model, the data folder and the token's shape without "
                            "connecting; one line, exit 0 or 1 (a service manager's pre-start check)")
    serve.set_defaults(run=cmd_serve)
    return parser


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="citebot: %(levelname)s: %(message)s" if not verbose else
                        "%(asctime)s %(name)s %(levelname)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "bm25s", "faiss", "httpx", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.ERROR)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging(getattr(args, "verbose", False))
    try:
        return args.run(args)
    except QuestionError as exc:
        print(f"citebot: error: {exc}", file=sys.stderr)
        return 2
    except CitebotError as exc:
        print(f"citebot: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("citebot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (| head): nothing to say to it
        with contextlib.suppress(OSError, ValueError):  # no flush error at exit either
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a path that cannot be read or written: say which, not a traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(f"citebot: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
