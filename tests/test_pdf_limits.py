"""A PDF costs at most its allowance, and a PDF that cannot be read says why: real files written to tmp_path.

The bomb is the probe's (issue 26): 60 pages, each drawing a word and then 70 MiB of spaces, 4.3 MB on disk and
under pypdf's per-stream limit; it took 10 minutes and 4.5 GB and was skipped as "a scan?". It is read here in a
process of its own under an address-space limit and a timeout.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from citebot.config.settings import load_settings
from citebot.index.ingest.formats import Extraction, read_document
from tests.pdf_samples import pdf_with_pages, text_stream, write_bomb

INGEST = load_settings().ingest
SENTENCE = "The harbour board met eleven times during the year and approved a budget for dredging the basin."


def read(path: Path, settings=INGEST) -> Extraction | str:
    return read_document(path, path.read_bytes(), settings)


def run_isolated(code: str, *, memory_bytes: int = 1 << 30, timeout: float = 120) -> str:
    """What code prints when run in a fresh interpreter limited to memory_bytes of address space."""
    preamble = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({memory_bytes}, {memory_bytes}))
    """)
    done = subprocess.run([sys.executable, "-c", preamble + textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_a_decompression_bomb_is_skipped_within_its_allowance(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.pdf"
    write_bomb(bomb)
    assert bomb.stat().st_size < INGEST.max_file_bytes  # the size check alone lets it through
    printed = run_isolated(f"""
        import time
        from pathlib import Path
        from citebot.config.settings import load_settings
        from citebot.index.ingest.formats import read_document
        start = time.monotonic()
        path = Path({str(bomb)!r})
        print(read_document(path, path.read_bytes(), load_settings().ingest))
        print(round(time.monotonic() - start, 1))
    """)
    reason, seconds = printed.splitlines()
    assert reason.startswith("decompresses to over 50,000,000 bytes"), reason
    assert "pdf_max_decompressed_bytes" in reason
    assert float(seconds) < INGEST.pdf_max_seconds


def test_the_decompression_allowance_is_per_file_not_per_stream(tmp_path: Path) -> None:
    """Pages each well under the allowance, together over it."""
    path = tmp_path / "many.pdf"
    page = text_stream(SENTENCE)
    spaces = zlib.compress(b"BT /F1 12 Tf 72 700 Td (Hello) Tj ET\n" + b" " * 400_000)
    path.write_bytes(pdf_with_pages([page] + [spaces] * 10))
    assert isinstance(read(path), Extraction)  # 4 MB in all: well within the default
    small = replace(INGEST, pdf_max_decompressed_bytes=1_000_000)
    reason = read(path, small)
    assert isinstance(reason, str) and reason.startswith("decompresses to over 1,000,000 bytes"), reason


def test_a_pdf_that_reads_too_long_is_skipped_with_that_reason(tmp_path: Path) -> None:
    path = tmp_path / "slow.pdf"
    path.write_bytes(pdf_with_pages([text_stream(f"Page {n} opens.", SENTENCE, SENTENCE) for n in "abc"]))
    assert isinstance(read(path), Extraction)
    reason = read(path, replace(INGEST, pdf_max_seconds=0.0))
    assert reason == "took over 0 s of CPU to read (raise [ingest] pdf_max_seconds to read it)"


def test_pages_that_fail_are_named_not_taken_for_a_scan(tmp_path: Path) -> None:
    path = tmp_path / "odd-filter.pdf"
    path.write_bytes(pdf_with_pages([text_stream(SENTENCE)] * 2, filter_name=b"/XyzwvDecode"))
    reason = read(path)
    assert reason == ("could not be read on 2 of its 2 page(s) "
                      "(page 1: NotImplementedError: Unsupported filter /XyzwvDecode)")


def _encrypted(tmp_path: Path, algorithm: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = tmp_path / "plain.pdf"
    plain.write_bytes(pdf_with_pages([text_stream(SENTENCE)]))
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="", owner_password="owner", algorithm=algorithm)
    path = tmp_path / f"{algorithm}.pdf"
    with path.open("wb") as out:
        writer.write(out)
    return path


@pytest.mark.parametrize("algorithm", ["AES-128", "AES-256"])
def test_aes_with_an_empty_password_reads_or_says_what_to_install(tmp_path: Path, algorithm: str) -> None:
    pytest.importorskip("cryptography", reason="pypdf needs it to write AES")
    path = _encrypted(tmp_path, algorithm)
    found = read(path)
    assert isinstance(found, Extraction) and SENTENCE in found.articles[0].text
    # The same file where cryptography is not installed.
    printed = run_isolated(f"""
        import sys
        sys.modules["cryptography"] = None  # import cryptography fails, as where it is not installed
        from pathlib import Path
        from citebot.config.settings import load_settings
        from citebot.index.ingest.formats import read_document
        path = Path({str(path)!r})
        print(read_document(path, path.read_bytes(), load_settings().ingest))
    """)
    assert printed == ("is encrypted with AES (install the cryptography package to read it: "
                       "pip install cryptography)")
