"""How far the build bar's total and time left are from the truth.

    python -m benchmarks.performance.bar_estimate ratio seeds var/bbc-sample DIR ...
    citebot index build --sources DIR --index IDX 2> build.log
    python -m benchmarks.performance.bar_estimate time-left build.log --label bbc-298

`ratio`: for each folder, the model tokens a build runs (passages and sentences, special tokens included) per
character of article text: the folder is built with the real tokenizer and a stand-in for the model's vectors
(what is counted does not depend on them), at config/default.toml's chunking. `time-left`: from the bar's lines
in a build's stderr, the time left it showed against the time the build really took from then, once a tenth of
the total was done; the largest and the median error. Both print and append to benchmarks/results/bar_estimate.json.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import parser, result_file

RESULTS = result_file("bar_estimate")
_BAR = re.compile(r"Embedding:\s+(\d+)%\|[^|]*\|\s*([\d.]+)([kM]?)/([\d.]+)([kM]?) \[(\d+):(\d+)(?::(\d+))?, "
                  r"[^,\]]*, (?:(\d+):(\d+)(?::(\d+))?|\?) left")


class _CountingOnly:
    """The real embedder's tokenizer, with unit vectors instead of its model (tokens counted, nothing run)."""

    def __init__(self, real) -> None:  # noqa: ANN001
        self.real = real
        self.name, self.weights_sha256, self.dimension = real.name, real.weights_sha256, real.dimension
        self.runtime = getattr(real, "runtime", "onnx")

    def count_tokens(self, text: str) -> int:
        return self.real.count_tokens(text)

    def warm_up(self) -> None:
        return None

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors


def ratio(folders: list[Path]) -> list[dict]:
    from citebot.config.settings import load_settings
    from citebot.index.build import build_index
    from citebot.index.embedding import make_embedder
    from citebot.index.ingest.corpus import read_corpus

    settings = load_settings()
    embedder = _CountingOnly(make_embedder(settings.embedding))
    found = []
    for folder in folders:
        characters = sum(len(a.text) for a in read_corpus(folder, settings.ingest).articles)
        with tempfile.TemporaryDirectory() as tmp:
            report = build_index(folder, Path(tmp) / "index", settings, embedder=embedder)  # type: ignore[arg-type]
            tokens = json.loads((report.path / "manifest.json").read_text())["vectors"]["tokens"]
        found.append({"folder": str(folder), "articles": report.articles, "characters": characters,
                      "tokens": tokens, "tokens_per_character": round(tokens / characters, 3)})
        print(f"{folder}: {report.articles} articles, {characters:,} characters, {tokens:,} tokens, "
              f"{tokens / characters:.3f} tokens per character")
    return found


def _seconds(h_or_m: str | None, m_or_s: str | None, s: str | None) -> int:
    parts = [int(x) for x in (h_or_m, m_or_s, s) if x is not None]
    total = 0
    for part in parts:
        total = total * 60 + part
    return total


def _number(value: str, scale: str) -> float:
    return float(value) * {"": 1, "k": 1e3, "M": 1e6}[scale]


def time_left(log: Path) -> dict:
    states = []
    for match in _BAR.finditer(log.read_text(encoding="utf-8", errors="replace")):
        done, total = _number(match[2], match[3]), _number(match[4], match[5])
        elapsed = _seconds(match[6], match[7], match[8])
        left = None if match[9] is None else _seconds(match[9], match[10], match[11])
        states.append((done, total, elapsed, left))
    end = states[-1][2]
    totals = sorted({total for _, total, _, _ in states})
    errors = [abs(left - (end - elapsed)) / (end - elapsed) for done, total, elapsed, left in states
              if left is not None and total and done >= total / 10 and end - elapsed >= 10]
    result = {"log": str(log), "totals_shown": totals, "build_seconds": end, "points": len(errors),
              "max_error": round(max(errors), 3), "median_error": round(statistics.median(errors), 3)}
    print(f"totals shown {totals}; build {end} s; time left off by at most {max(errors):.0%} "
          f"(median {statistics.median(errors):.0%}) over {len(errors)} redraws after a tenth was done")
    return result


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("what", choices=["ratio", "time-left"])
    cli.add_argument("paths", nargs="+", type=Path)
    cli.add_argument("--label", default="after")
    args = cli.parse_args()
    found = ratio(args.paths) if args.what == "ratio" else [time_left(p) for p in args.paths]
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    entry = {"label": args.label, "what": args.what, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             "results": found}
    RESULTS.write_text(json.dumps(previous + [entry], indent=2) + "\n")


if __name__ == "__main__":
    main()
