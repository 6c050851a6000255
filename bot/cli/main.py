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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citebot.bot.cli.arguments import OneLineParser, positive_int
from citebot.bot.cli.common import configured_model, display_path, where
from citebot.bot.cli.hints import did_you_mean, index_missing, likely_sources
from citebot.bot.display import PrintableLogs, json_text, printable
from citebot.config.errors import CitebotError, IndexInvalidError, IndexMissingError, QuestionError
from citebot.config.settings import Settings, load_settings
from citebot.index.store.hint import repeat_options

if TYPE_CHECKING:
    from citebot.retrieval.engine import Engine

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

QUESTION_LINE = ('{"id": "q1", "category": "plain", "turns": ["Who chairs the council?"], '
                 '"evidence": [{"source": "council-2024", "quote": "Jane Smith, who chairs the council"}]}')
EVAL_EPILOG = f"""\
examples:
  citebot eval                                      # the seeds' golden questions over the default index
  citebot eval --index ~/articles-index --golden ~/questions.jsonl --misses misses.jsonl
  citebot eval --dataset ~/beir/scifact --split test --json   # a BEIR folder (its index is cached)

question file: JSON Lines, each question on one line; for an article saved as ~/articles/council-2024.txt:
  {QUESTION_LINE}
  {{"id": "q2", "category": "unanswerable", "turns": ["What did the mayor earn?"], "evidence": []}}
  id        any name, unique in the file
  category  any label the figures are grouped by; "unanswerable" (no evidence) is right when citebot abstains
  turns     one conversation: the earlier turns are asked first, only the last one is scored
  evidence  source: the article's file name or its start (a collection's row: the file and "row": N, as
            citations number rows); quote: words copied from the article (whitespace and Markdown markup
            ignored). A passage is relevant when it covers half of a quote, the answer when it overlaps one.
At least half of the articles the file cites must be in the index. More: docs/evaluation.md
"""


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(getattr(args, "config", None))
    if getattr(args, "index", None):
        settings = settings.with_index(Path(args.index))
    if getattr(args, "store", None):
        settings = settings.with_store(args.store)
    return settings


def _build(settings: Settings, sources: Path, full: bool = False, ray: str | None = None) -> None:
    from citebot.index.build import build_store
    from citebot.index.ingest import reader_warnings
    from citebot.index.store import store_location
    from citebot.index.store.faiss.ownership import check_build_target

    location = store_location(settings)
    location.current_name()  # Milvus not installed or unreachable: one line, before anything else
    check_build_target(sources, location.folder)  # the same check as the build's, before the line below
    target = None
    if ray is not None:
        from citebot.index.embedding.ray_job import RayTarget, load_ray

        load_ray()  # not installed: one line, before anything is read
        target = RayTarget(ray)
    print(f"Indexing the articles in {sources} into {where(settings)} ...", file=sys.stderr)
    with reader_warnings.counting_files() as warned:
        report = build_store(sources, settings, progress=True, full=full, ray=target)
    for skipped in report.skipped:
        print(printable(f"skipped {sources / skipped.path}: {skipped.reason}"), file=sys.stderr)
    if summary := reader_warnings.summary(warned):
        print(summary, file=sys.stderr)
    print(f"Indexed {report.articles} article(s) as {report.chunks} passages in {report.seconds:.1f} s; "
          f"{_chunked(report.rechunked, report.articles)}; {report.embedded} texts embedded, "
          f"{report.reused} reused{_resumed(report.resumed)} ({display_path(report.path)})",
          file=sys.stderr)


def _resumed(texts: int) -> str:
    """The texts taken from an interrupted build's journal, when there were any."""
    return f", {texts} resumed from an interrupted build" if texts else ""


def _chunked(rechunked: int, articles: int) -> str:
    """How many articles a build chunked, and how many kept the chunks of the build before."""
    if rechunked >= articles:
        return "every article chunked" if articles != 1 else "the article chunked"
    if rechunked == 0:
        return "every article's chunks reused"
    return f"{rechunked} article(s) chunked, {articles - rechunked} kept their chunks"


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


def _is_default_index(args: argparse.Namespace, settings: Settings) -> bool:
    """Whether the command works on the configured index ([paths] index), not one named with --index."""
    given = getattr(args, "index", None)
    return not given or Path(given).resolve() == load_settings(getattr(args, "config", None)).paths.index.resolve()


def rebuild_command(args: argparse.Namespace, settings: Settings, sources: Path | None = None,
                    replace: bool = False) -> str:
    """The exact `citebot index build` that rebuilds this index (from sources when given)."""
    parts = ["citebot index build"]
    if sources is not None:
        parts.append(f"--sources {display_path(sources)}")
    if settings.store.kind == "milvus":
        parts.append("--store milvus")
    elif not _is_default_index(args, settings) or sources is not None:
        parts.append(f"--index {display_path(settings.paths.index)}")
    if getattr(args, "config", None):
        parts.append(f"--config {args.config}")
    if replace:
        parts.append("--replace")
    return " ".join(parts)


def no_index_message(args: argparse.Namespace, settings: Settings, built_on_first_use: bool = False) -> str:
    """Why there is no index where the command looked, with a command that fixes it when pasted: the same
    command at an index with a close name (a typo), else the build of this one (--sources guessed from the
    index's name, NAME-index from NAME, or DIR to fill in)."""
    where = display_path(settings.paths.index)
    default = _is_default_index(args, settings)
    sources = likely_sources(settings) or (settings.paths.sources if default else None)
    build = rebuild_command(args, settings, sources or Path("DIR"))
    fill_in = "" if sources else " (DIR: your folder of articles)"
    near = did_you_mean(args, settings)
    if near:
        return f"no index in {where}; {near} (or build an index there: {build}{fill_in})"
    if built_on_first_use:
        return f"no index in {where}; build it from your articles with: {build}{fill_in}"
    return f"no index in {where} yet; say which folder of articles to build it from: {build}{fill_in}"


def recorded_sources(settings: Settings) -> Path | None:
    """The sources folder the index was built from, or None when there is no index yet."""
    from citebot.index.store import store_location
    from citebot.index.store.checks import find_sources_root

    location = store_location(settings)
    if location.kind == "faiss" and not location.folder.exists():
        return None
    try:
        return find_sources_root(location.read_manifest(), location.folder)
    except IndexMissingError:
        return None


def _engine(args: argparse.Namespace, settings: Settings, build_if_missing: bool) -> Engine:
    """The engine over the index. Only the configured index is built on first use, from the configured sources,
    and only when its folder does not exist at all: building into a folder that exists but holds no good index,
    or into a mistyped --index, would silently answer from another corpus.
    """
    from citebot.retrieval.engine import Engine

    import_bm25s_lean()
    hint = rebuild_command(args, settings)
    try:
        return Engine(settings, rebuild_hint=hint)
    except IndexMissingError:
        default = _is_default_index(args, settings)
        if not build_if_missing or not default or (settings.store.kind == "faiss" and settings.paths.index.exists()):
            if not default and index_missing(settings):
                raise IndexMissingError(no_index_message(args, settings, built_on_first_use=True)) from None
            raise
    print(f"No index in {where(settings)} yet; building it first (once) from "
          f"{display_path(settings.paths.sources)}.", file=sys.stderr)
    _build(settings, display_path(settings.paths.sources))
    return Engine(settings, rebuild_hint=hint)


def cmd_index_build(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        recorded = recorded_sources(settings)
    except IndexInvalidError as exc:
        if not args.sources:  # its folder cannot be read back: the user names it (with --sources the build goes on)
            raise CitebotError(f"{str(exc).split(';')[0]}; rebuild it from its folder of articles with: "
                               f"{rebuild_command(args, settings, Path('DIR'))}") from None
        recorded = None
    if args.sources:
        sources = Path(args.sources)
        if recorded is not None and recorded.resolve() != sources.resolve() and not args.replace:
            raise CitebotError(
                f"{where(settings)} was built from {display_path(recorded)}, not {sources}; to replace its "
                f"articles with those of {sources}: {rebuild_command(args, settings, sources, replace=True)}")
    elif recorded is not None:
        sources = display_path(recorded)
    elif _is_default_index(args, settings):
        sources = display_path(settings.paths.sources)
    else:
        raise CitebotError(no_index_message(args, settings))
    _build(settings, sources, args.full, args.ray)
    return 0


def cmd_index_status(args: argparse.Namespace) -> int:
    from citebot.bot.cli.status import gather_status, render_status

    settings = _settings(args)
    if index_missing(settings):
        raise IndexMissingError(no_index_message(args, settings))
    status = gather_status(settings)
    rebuild = rebuild_command(args, settings)
    if not Path(status.sources_root).is_dir():  # moved or deleted: the build must be told where they are now
        rebuild = f"{rebuild_command(args, settings, Path('DIR'), replace=True)} (DIR: your folder of articles now)"
    print(json_text(status.to_json(), indent=2) if args.json else render_status(status, rebuild))
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
    from citebot.bot.cli.terminal import render_result
    from citebot.retrieval.engine import check_question

    settings = _settings(args)
    problem = _question_encoding_error(args.question)
    if problem:
        raise QuestionError(problem)
    check_question(args.question, settings.limits.max_question_chars)  # before loading anything
    result = _engine(args, settings, build_if_missing=True).ask(args.question, top_k=args.top_k)
    print(json_text(result.to_json()) if args.json else render_result(result))
    return 0


ECHO_CHARS = 200
"""How much of a refused question `chat --json` echoes: enough to tell which line it was."""


def _read_bounded(readline: Callable[[int], Any], limit: int) -> tuple[Any, bool]:
    """One line of at most limit bytes (or characters) and whether it was longer; the rest of a longer line is
    read in pieces of that size and dropped, so a 200 MB line never sits in memory whole."""
    line = readline(limit)
    if len(line) < limit or line[-1:] in (b"\n", "\n"):
        return line, False
    while True:
        rest = readline(limit)
        if not rest or rest[-1:] in (b"\n", "\n"):
            return line, True


def _lines(max_chars: int) -> Iterator[tuple[str, str | None]]:
    """Lines of stdin without their newline, each with why it cannot be a question (not UTF-8, or longer than
    max_chars) or None. A longer line is read in bounded pieces and only its start kept."""
    binary = getattr(sys.stdin, "buffer", None)
    limit = 4 * max_chars + 2  # a question of max_chars characters in UTF-8, and its line end, always fits
    while True:
        raw, too_long = _read_bounded(binary.readline if binary is not None else sys.stdin.readline, limit)
        if not raw:
            return
        line = raw.decode("utf-8", errors="surrogateescape") if isinstance(raw, bytes) else raw
        line = line.rstrip("\n").removesuffix("\r")
        if too_long:
            yield (line[:ECHO_CHARS].encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                   f"the question is longer than {max_chars} characters, the limit; ask something shorter")
            continue
        problem = _question_encoding_error(line)
        yield (line.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if problem else line), problem


def cmd_chat(args: argparse.Namespace) -> int:
    from citebot.bot.cli.terminal import render_result

    settings = _settings(args)
    engine = _engine(args, settings, build_if_missing=True)
    conversation = engine.new_conversation()
    interactive = sys.stdin.isatty() and not args.json
    if interactive:
        print("Ask about the articles; /reset forgets the conversation; Ctrl-D quits.", file=sys.stderr)

    def refuse(question: str, error: str) -> None:
        if args.json:  # the question echoed only as far as it takes to tell which line it was
            echoed = question if len(question) <= ECHO_CHARS else question[:ECHO_CHARS] + "…"
            print(json_text({"question": echoed, "error": error}), flush=True)
        else:
            print(f"citebot: {printable(error)}", file=sys.stderr, flush=True)

    if interactive:
        print("? ", end="", file=sys.stderr, flush=True)
    for question, problem in _lines(settings.limits.max_question_chars):
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
                print(json_text(result.to_json()) if args.json
                      else render_result(result) + "\n", flush=True)
        if interactive:
            print("? ", end="", file=sys.stderr, flush=True)
    return 0


def _eval_refusal(args: argparse.Namespace, settings: Settings, engine: Engine, golden: Path,
                  items: list[dict[str, Any]]) -> str | None:
    """None when the index holds at least half of the articles the question file cites; else why its figures
    would mean nothing, with the command that would measure something: the user's own questions about this
    index, or an index of the folder holding the cited articles."""
    from citebot.retrieval.evaluation.golden import articles_in_index, folder_holds

    found, cited = articles_in_index(items, engine)
    if 2 * found >= cited:
        return None
    problem = (f"only {found} of the {cited} articles that {display_path(golden)} cites are in the index "
               f"{where(settings)} (built from {display_path(engine.stored.sources_root)}), so its figures "
               f"would be near 0")
    config = f" --config {args.config}" if getattr(args, "config", None) else ""
    if not args.golden:
        index = "" if settings.store.kind != "faiss" or _is_default_index(args, settings) else \
            f" --index {display_path(settings.paths.index)}"
        return (f"{problem}; write questions about the index's own articles (format: citebot eval --help) "
                f"and run: citebot eval{index}{config} --golden QUESTIONS.jsonl")
    folder = display_path(settings.paths.sources) if folder_holds(settings.paths.sources, items) else Path("DIR")
    target = f"--index {str(folder).rstrip('/')}-index" + (" --store faiss" if settings.store.kind != "faiss" else "")
    return (f"{problem}; index the folder that holds them and evaluate that: citebot index build --sources "
            f"{folder} {target}{config} && citebot eval --golden {display_path(golden)} {target}{config}")


def cmd_eval(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.dataset:
        from citebot.retrieval.evaluation.beir import evaluate_beir, render_beir

        report = evaluate_beir(Path(args.dataset), args.split, settings)
        print(json.dumps(report, indent=2) if args.json else render_beir(report))
        return 0

    from citebot.retrieval.evaluation.golden import evaluate_golden, load_golden, render_report

    golden = Path(args.golden) if args.golden else settings.paths.golden
    items = load_golden(golden)
    engine = _engine(args, settings, build_if_missing=True)
    refusal = _eval_refusal(args, settings, engine, golden, items)
    if refusal:
        raise CitebotError(refusal)
    report = evaluate_golden(engine, golden, misses=Path(args.misses) if args.misses else None)
    print(json_text(report, indent=2) if args.json else printable(render_report(report), newlines=True))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from citebot.bot.discord import service

    token = os.environ.get("DISCORD_TOKEN", "").strip()
    settings = _settings(args)
    if args.check:
        no_index = no_index_message(args, settings) if index_missing(settings) else None
        try:
            print(service.check(settings, token, configured_model(settings), no_index))
        except service.ChecksFailed as failed:  # every problem, one line each, so one start fixes them all
            for problem in failed.problems:
                print(f"citebot: error: {printable(problem)}", file=sys.stderr)
            return 1
        return 0
    if index_missing(settings):  # the store's own message cannot know the command the user ran
        raise IndexMissingError(no_index_message(args, settings))
    import_bm25s_lean()
    service.run(settings, token, verbose=getattr(args, "verbose", False), rebuild_hint=rebuild_command(args, settings))
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    from citebot.bot.cli.config_show import config_as_data, render_config
    from citebot.config.settings import load_config

    loaded = load_config(getattr(args, "config", None))
    print(json.dumps(config_as_data(loaded), indent=2) if args.json else render_config(loaded))
    return 0


def _help_of(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """A command that prints parser's help: what a bare `citebot` or `citebot index` does."""

    def show_help(_: argparse.Namespace) -> int:
        parser.print_help()
        return 0

    return show_help


def _parser() -> OneLineParser:
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

    parser = OneLineParser(
        prog="citebot", parents=[common],
        description="Answers questions about a folder of articles with verbatim, checkable citations.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.set_defaults(run=_help_of(parser))

    index = commands.add_parser("index", help="build the index or show its status",
                                description="Build the search index from a folder of articles, or show it.")
    index_commands = index.add_subparsers(dest="index_command", metavar="ACTION")
    index.set_defaults(run=_help_of(index))
    build = index_commands.add_parser(
        "build", parents=[common, with_index], help="(re)build the index from the articles",
        description="Read every article under the sources folder (.txt, .html/.htm, .md, .pdf, and .jsonl/.csv "
                    "collections with title and text columns), chunk, embed and index it. The index remembers its "
                    "folder: later builds need only --index. Passages and sentences whose text the current build "
                    "already embedded keep their vectors; only new ones are embedded (--full: all). The new index is "
                    "written beside the old one and swapped in at the end, so an interrupted build changes nothing; "
                    "what it embedded is kept in the index folder and the next build resumes from it.",
        epilog="examples:\n"
               "  citebot index build                                  # seeds/ into var/index (the configured ones)\n"
               "  citebot index build --sources ~/articles --index ~/articles-index\n"
               "  citebot index build --index ~/articles-index         # again, from the folder it remembers\n"
               "  citebot index build --index ~/articles-index --sources ~/other --replace\n"
               "  citebot index build --index ~/articles-index --ray auto    # embed on the Ray cluster (.[ray] extra)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("--sources", metavar="DIR",
                       help="folder of articles (default: the folder the index was built from; for the configured "
                            "index before its first build, [paths] sources, seeds/)")
    build.add_argument("--replace", action="store_true",
                       help="rebuild an existing index from another --sources folder than the one it was built "
                            "from (without it, that is refused: a typo would swap your articles for others)")
    build.add_argument("--full", action="store_true",
                       help="embed every passage again instead of reusing the current build's vectors of the "
                            "texts that did not change (an interrupted build's vectors of the same model and "
                            "settings are still resumed: they were just computed the same way)")
    build.add_argument("--ray", metavar="WHERE",
                       help="embed on a Ray cluster (Ray Data; pip install -e \".[ray]\"): auto (the cluster this "
                            "machine belongs to, or RAY_ADDRESS), local (a Ray started for this build), or the head's "
                            "address (host:6379 or ray://host:10001); the articles are read and the index written "
                            "here, and it is the index a build without --ray writes")
    build.set_defaults(run=cmd_index_build)
    status = index_commands.add_parser(
        "status", parents=[common, with_index], help="what the index holds, and if it is stale",
        description="Show the index's model, settings, sources and whether they changed since the build; runs every "
                    "check a load makes and exits 1 on a damaged index.",
        epilog="examples:\n  citebot index status\n  citebot index status --index ~/articles-index --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(run=cmd_index_status)

    ask = commands.add_parser(
        "ask", parents=[common, with_index], help="answer one question with cited passages",
        description="Answer a question with the best verbatim quote and the top passages, each cited by file, "
                    "paragraph and character offsets. Builds the index first if there is none.",
        epilog='examples:\n  citebot ask "What did Theresa May tell MPs?"\n'
               '  citebot ask "Who signed the letter to Corbyn?" --top-k 3 --json\n'
               '  citebot ask "What did the report find?" --index ~/articles-index',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--top-k", type=positive_int("--top-k", 3), metavar="N",
                     help="number of passages to show (default: [retrieval] top_k, 5)")
    ask.add_argument("--json", action="store_true", help="print one JSON object (see the README for its fields)")
    ask.set_defaults(run=cmd_ask)

    chat = commands.add_parser(
        "chat", parents=[common, with_index], help="a conversation: one question per line on stdin",
        description="Read one question per line from stdin and answer each; follow-ups use the earlier turns. "
                    "A line '/reset' forgets the conversation. A line longer than [limits] max_question_chars is "
                    "refused (its first 200 characters echoed) without being held in memory whole.",
        epilog="example: printf 'Who is Ian Lavery?\\nWhat did he do at the meeting?\\n' | citebot chat --json",
    )
    chat.add_argument("--json", action="store_true", help="print one JSON object per input line")
    chat.set_defaults(run=cmd_chat)

    evaluate = commands.add_parser(
        "eval", parents=[common, with_index], help="measure retrieval on the golden question set",
        description="Run the golden questions (or your own question file) over the index and print hit@1, hit@3, "
                    "MRR@5 and nDCG@5 by category, answer-quote accuracy and abstention accuracy; or, with "
                    "--dataset, a BEIR benchmark. Refuses a question file most of whose articles are not in the "
                    "index.",
        epilog=EVAL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("--golden", metavar="FILE",
                          help="question file, JSON Lines as below (default: [paths] golden, the seeds' questions)")
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
        epilog="examples:\n  citebot index build                       # once: the bot answers from this index\n"
               "  DISCORD_TOKEN=... citebot serve\n  DISCORD_TOKEN=... citebot serve --index ~/articles-index\n"
               "  DISCORD_TOKEN=... citebot serve --check           # the setup, checked without connecting",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--check", action="store_true",
                       help="check the config, the index, the model, the data folder and the token's shape without "
                            "connecting; one line and exit 0, or a line for every problem found and exit 1 (a service "
                            "manager's pre-start check)")
    serve.set_defaults(run=cmd_serve)

    config = commands.add_parser(
        "config", help="show the effective settings",
        description="Settings come from config/default.toml, with your file (--config FILE or $CITEBOT_CONFIG) "
                    "over it; your file names only what it changes. Relative paths resolve from the folder of "
                    "the file that names them.",
    )
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION")
    config.set_defaults(run=_help_of(config))
    show = config_commands.add_parser(
        "show", parents=[common], help="print every setting and where its value came from",
        description="Print the effective settings as TOML, each line ending with where its value came from "
                    "(default, or the config file that set it).",
        epilog="examples:\n  citebot config show\n  printf '[retrieval]\\ntop_k = 3\\n' > mine.toml\n"
               "  citebot config show --config mine.toml --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("--json", action="store_true", help="print {section: {key: {value, from}}} as JSON")
    show.set_defaults(run=cmd_config_show)
    return parser


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="citebot: %(levelname)s: %(message)s" if not verbose else
                        "%(asctime)s %(name)s %(levelname)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "bm25s", "faiss", "httpx", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.ERROR)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, PrintableLogs) for f in handler.filters):
            handler.addFilter(PrintableLogs())
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main(argv: list[str] | None = None) -> int:
    try:
        parser = _parser()
        parser.argv = list(argv) if argv is not None else sys.argv[1:]
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a mistake already said in one line (bot/cli/arguments.py)
        return exc.code if isinstance(exc.code, int) else 2
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # for hints that repeat the command
    _configure_logging(getattr(args, "verbose", False))
    config = getattr(args, "config", None)  # a store's "rebuild it with" hint then rebuilds with the same settings
    try:
        with repeat_options(["--config", str(config)] if config else []):
            return args.run(args)
    except QuestionError as exc:
        print(f"citebot: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except CitebotError as exc:
        print(f"citebot: error: {printable(str(exc))}", file=sys.stderr)
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
        print(f"citebot: error: {printable(f'{exc.strerror or exc}{where}')}", file=sys.stderr)
        return 1

