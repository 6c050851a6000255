"""What citebot makes of a folder of real PDFs: each file's title or skip reason, the time it took, the bytes its
streams decompress to, and the "is this language?" share of its text layer (index/ingest/language.py).

    python -m benchmarks.corpora.pdfs                 # rebuild var/corpora/pdfs from the snapshots first
    nice python -m benchmarks.corpora.pdf_report [--folder var/corpora/pdfs]

The share is taken from pypdf's plain text of every page (what the reader sees before judging it), the bytes
counted with the reader's own budget opened without limits. Writes benchmarks/results/pdf_corpus.json.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

from pypdf import PdfReader

from benchmarks.common import ROOT, parser, write_result
from citebot.config.settings import load_settings
from citebot.index.ingest.formats import Extraction, read_document
from citebot.index.ingest.formats.pdf_budget import PdfLimits, decode_budget
from citebot.index.ingest.language import MIN_WORD_SHARE, language_score


def measure(path: Path, raw: bytes) -> dict[str, object]:
    """One file's figures."""
    settings = load_settings().ingest
    start = time.process_time()
    found = read_document(path, raw, settings)
    seconds = time.process_time() - start
    with decode_budget(PdfLimits(1 << 60, 1e9)) as budget:
        try:
            text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(raw)).pages)
        except Exception as exc:  # an unreadable file still has its outcome above
            text = f"({type(exc).__name__})"
    score = language_score(text)
    row: dict[str, object] = {"file": path.name, "bytes": len(raw), "decompressed": budget.decoded,
                              "cpu_seconds": round(seconds, 2), "words": score.words,
                              "word_share": round(score.share, 3)}
    if isinstance(found, Extraction):
        row["title"] = found.articles[0].title
    else:
        row["skipped"] = found
    return row


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--folder", type=Path, default=ROOT / "var" / "corpora" / "pdfs", help="PDFs to read")
    args = cli.parse_args()
    rows = []
    for path in sorted(args.folder.rglob("*.pdf")):
        row = measure(path, path.read_bytes())
        rows.append({"source": path.parent.name, **row})
        shown = row.get("title") or f"SKIPPED: {row['skipped']}"
        print(f"{row['word_share']:.2f} {row['cpu_seconds']:6.1f}s {row['decompressed']:>11,} {path.name[:45]:45} "
              f"{shown}", flush=True)
    shares = sorted(row["word_share"] for row in rows)
    kept = [row for row in rows if "title" in row]
    summary = {"files": len(rows), "sources": sorted({row["source"] for row in rows}),
               "threshold": MIN_WORD_SHARE, "min_share_kept": min((r["word_share"] for r in kept), default=None),
               "shares_below_threshold": [s for s in shares if s < MIN_WORD_SHARE],
               "max_decompressed": max(row["decompressed"] for row in rows),
               "max_cpu_seconds": max(row["cpu_seconds"] for row in rows)}
    print(summary)
    write_result("pdf_corpus", {"summary": summary, "files": rows})


if __name__ == "__main__":
    main()
