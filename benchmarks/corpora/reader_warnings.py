"""How many lines the reading libraries print for a folder, and how many citebot prints, where fontTools is not
installed (the default install; the test extra brings it through fpdf2).

    nice python -m benchmarks.corpora.reader_warnings [--folder var/corpora/pdfs]

Two fresh interpreters with `import fontTools` failing: one reads every page of every PDF with pypdf under the
CLI's logging (what reached the terminal before the warnings were funnelled), one reads the folder as a build
does (scan_corpus) and prints what the build prints of it: the skips and the count. Writes
benchmarks/results/reader_warnings.json.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.common import ROOT, parser, write_result

PREAMBLE = """
import sys
sys.modules["fontTools"] = None  # import fontTools fails, as where it is not installed
from pathlib import Path
from citebot.bot.cli.main import _configure_logging
_configure_logging(False)
folder = Path(sys.argv[1])
"""
RAW = PREAMBLE + """
from pypdf import PdfReader
for path in sorted(folder.rglob("*.pdf")):
    try:
        for page in PdfReader(path).pages:
            page.extract_text()
    except Exception:
        pass
"""
FUNNELLED = PREAMBLE + """
from citebot.config.settings import load_settings
from citebot.index.ingest import reader_warnings
from citebot.index.ingest.corpus import scan_corpus
with reader_warnings.counting_files() as warned:
    scan = scan_corpus(folder, load_settings().ingest)
for skipped in scan.skipped:
    print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
print(reader_warnings.summary(warned), file=sys.stderr)
"""


def stderr_lines(code: str, folder: Path) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, check=True)
    return done.stderr.splitlines()


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--folder", type=Path, default=ROOT / "var" / "corpora" / "pdfs", help="PDFs to read")
    args = cli.parse_args()
    raw = stderr_lines(RAW, args.folder)
    funnelled = stderr_lines(FUNNELLED, args.folder)
    report = {"files": len(list(args.folder.rglob("*.pdf"))), "raw_lines": len(raw),
              "raw_fonttools_lines": sum("fontTools is required" in line for line in raw),
              "citebot_lines": len(funnelled), "citebot_printed": funnelled}
    print(report)
    write_result("reader_warnings", report)


if __name__ == "__main__":
    main()
