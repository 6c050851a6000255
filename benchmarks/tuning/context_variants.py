"""Measure ranking-context and BM25 variants ([context], [lexical], [retrieval] settings) one by one.

    python -m benchmarks.tuning.context_variants --news-index var/bbc-index            # every variant
    python -m benchmarks.tuning.context_variants --news-index var/bbc-index --only base,stem_off

Each variant is `python -m benchmarks.tuning.tune_rerank --no-scifact --ascent --set ...` with its overrides:
the first stage alone (fused ranking, no second stage) on the golden and news dev sets, and the full pipeline on
each held-out half of the news articles with the second stage's weights refitted on the other half (and the
golden set).
Results, with each variant's command, go to benchmarks/results/context_variants.json (merged with earlier
runs of other variants).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import ROOT, add_news_index, parser, require_index, result_file, shown_path

RESULTS = result_file("context_variants")
TUNE_RERANK = "benchmarks.tuning.tune_rerank"

VARIANTS: dict[str, list[str]] = {
    "base": [],
    # [lexical]: how BM25 makes terms
    "stem_off": ["lexical.stem=false"],
    "stopwords_none": ["lexical.stopwords=none"],
    "stopwords_question": ["lexical.stopwords=question"],
    "numbers": ["lexical.numbers=true"],
    "names": ["lexical.names=true"],
    "bigrams": ["lexical.bigrams=true"],
    # title as a BM25 field: left out, once (base), twice, three times
    "title_off": ["retrieval.lexical_title=false"],
    "title_x2": ["lexical.title_repeat=2"],
    "title_x3": ["lexical.title_repeat=3"],
    # [lexical] context: article text before the passage indexed with it
    "lex_previous": ["lexical.context=previous"],
    "lex_names": ["lexical.context=names"],
    "lex_lead": ["lexical.context=lead"],
}


def run(overrides: list[str], news_index: Path, splits: int = 0, ascent: bool = True) -> dict:
    """One variant through tune_rerank (in its own process): its first-stage and held-out figures."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        flags = ["--no-scifact"] + (["--ascent"] if ascent else []) + (["--splits", str(splits)] if splits else [])
        command = [sys.executable, "-m", TUNE_RERANK, *flags, "--news-index", str(news_index),
                   "--out", str(out)] + [a for o in overrides for a in ("--set", o)]
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        report = json.loads(out.read_text(encoding="utf-8"))
    shown = " ".join([f"python -m {TUNE_RERANK}", *flags, "--news-index", shown_path(news_index),
                      *[f"--set {o}" for o in overrides]])
    result = {"overrides": overrides, "command": shown, "first_stage": report["first_stage"],
              "held_out": report["held_out"]["news"], "held_out_folds": report["held_out_folds"]["news"]}
    if "held_out_splits" in report:
        result["held_out_splits"] = report["held_out_splits"]
    return result


def main() -> int:
    cli = parser(__doc__)
    add_news_index(cli)
    cli.add_argument("--only", help="comma-separated variant names (default: all)")
    cli.add_argument("--variant", action="append", default=[], metavar="NAME:SECTION.KEY=VALUE[;...]",
                     help="an extra variant, e.g. 'mix:lexical.names=true;lexical.numbers=true'")
    cli.add_argument("--splits", type=int, default=0, help="passed to tune_rerank: more random halvings")
    cli.add_argument("--no-ascent", action="store_true", help="fit by logistic regression alone")
    cli.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default: {RESULTS.relative_to(ROOT)})")
    args = cli.parse_args()
    require_index(args.news_index)
    variants = dict(VARIANTS)
    for spec in args.variant:
        name, _, sets = spec.partition(":")
        variants[name] = [s for s in sets.split(";") if s]
    names = args.only.split(",") if args.only else list(variants)
    out = args.out
    results = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    for name in names:
        result = run(variants[name], args.news_index, args.splits, not args.no_ascent)
        results[name] = result
        fs, ho = result["first_stage"], result["held_out"]
        line = (f"{name:<22} first stage news {fs['news']['plain']:.3f}/{fs['news']['paraphrase']:.3f}/"
                f"{fs['news']['followup']:.3f} golden {fs['golden']['main']:.3f} | held-out news "
                f"{ho['plain']:.3f}/{ho['paraphrase']:.3f}/{ho['followup']:.3f} main {ho['main']:.3f}")
        if "held_out_splits" in result:
            sp = result["held_out_splits"]
            line += f" | {args.splits} splits {sp['plain']:.3f}/{sp['paraphrase']:.3f}/{sp['followup']:.3f} " \
                    f"main {sp['main']:.3f}"
        print(line, flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
