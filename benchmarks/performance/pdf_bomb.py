"""What the probe's PDF bomb costs now: 60 pages, each a word and 70 MiB of spaces (4.3 MB on disk, 71 KB a page
compressed, under pypdf's per-stream limit), read by read_document in a fresh process.

    nice python -m benchmarks.performance.pdf_bomb [--pages 60] [--mib 70]

Before the per-file budget it took 10 minutes and 4.5 GB and was skipped as "a scan?". Reports the skip reason,
wall-clock seconds and the child's peak RSS; writes benchmarks/results/pdf_bomb.json.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import parser, write_result
from tests.pdf_samples import write_bomb  # run from the project root, tests/ is importable

READ = """
import sys
from pathlib import Path
from citebot.config.settings import load_settings
from citebot.index.ingest.formats import read_document
path = Path(sys.argv[1])
print(read_document(path, path.read_bytes(), load_settings().ingest))
"""


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--pages", type=int, default=60, help="pages of the bomb (default 60)")
    cli.add_argument("--mib", type=int, default=70, help="MiB of spaces a page (default 70)")
    args = cli.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bomb = Path(folder) / "bomb.pdf"
        write_bomb(bomb, args.pages, args.mib)
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-c", READ, str(bomb)], capture_output=True, text=True, check=True)
        seconds = time.monotonic() - start
        size = bomb.stat().st_size
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = {"pages": args.pages, "mib_per_page": args.mib, "file_bytes": size, "reason": done.stdout.strip(),
              "seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb, 1)}
    print(report)
    write_result("pdf_bomb", report)


if __name__ == "__main__":
    main()
