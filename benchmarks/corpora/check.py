"""Check a question file of our own corpora against the text citebot extracted into its index, before it is
trusted as a benchmark:

- every evidence quote is found verbatim in the article it names (as `citebot eval` will look for it);
- which other articles hold the same quote (a candidate second evidence entry, or a sign the quote is too
  generic to name the answer);
- for an off-corpus question, every place its `absent` terms occur (whole words, any case), to be read and
  judged by hand: the folder must not answer the question.

    python -m benchmarks.corpora.check --index var/corpora/docs-index --golden benchmarks/corpora/questions_docs.jsonl

Exits 1 when a quote is missing.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from citebot.config.errors import CitebotError
from citebot.config.settings import load_settings
from citebot.retrieval.engine import Engine
from citebot.retrieval.evaluation.golden import evidence_spans, load_golden, names_article, source_texts


def other_holders(quote: str, source: str, texts: dict[str, str]) -> list[str]:
    return sorted(name for name, text in texts.items() if quote in text and not names_article(name, source))


def term_hits(term: str, texts: dict[str, str], context: int = 60) -> list[str]:
    pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)
    hits = []
    for name, text in sorted(texts.items()):
        for match in pattern.finditer(text):
            start, end = max(0, match.start() - context), match.end() + context
            hits.append(f"{name}: ...{' '.join(text[start:end].split())}...")
    return hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.corpora.check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--golden", type=Path, required=True)
    args = parser.parse_args(argv)
    engine = Engine(load_settings(None).with_index(args.index.resolve()))
    texts = source_texts(engine)
    missing = 0
    for item in load_golden(args.golden):
        for ev in item["evidence"]:
            try:
                if not evidence_spans([ev], texts):
                    raise CitebotError(f"no article named {ev['source']!r}")
            except CitebotError as exc:
                missing += 1
                print(f"MISSING {item['id']}: {exc}")
                continue
            others = other_holders(ev["quote"], ev["source"], texts)
            if others:
                print(f"also in {item['id']} {ev['quote']!r}: {', '.join(others[:5])}"
                      + (f" (+{len(others) - 5})" if len(others) > 5 else ""))
        for term in item.get("absent", []):
            for hit in term_hits(term, texts):
                print(f"absent? {item['id']} {term!r}: {hit}")
    print(f"{missing} quote(s) missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
