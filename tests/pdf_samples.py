"""PDFs written byte by byte for the tests: pages with given content streams, and a decompression bomb."""

from __future__ import annotations

import zlib
from pathlib import Path

HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pdf_with_pages(contents: list[bytes], *, filter_name: bytes = b"/FlateDecode", font: bytes = HELVETICA) -> bytes:
    """A PDF whose pages have these content streams (already encoded by filter_name), in font as /F1."""
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 3: font}
    kids = []
    for i, data in enumerate(contents):
        page, stream = 4 + 2 * i, 5 + 2 * i
        kids.append(b"%d 0 R" % page)
        objects[page] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                         b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % stream)
        objects[stream] = (b"<< /Length %d /Filter %s >>\nstream\n" % (len(data), filter_name) + data
                           + b"\nendstream")
    objects[2] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % len(contents)
    out = bytearray(b"%PDF-1.7\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[number] for number in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def text_stream(*lines: str) -> bytes:
    """A compressed content stream showing lines of ASCII text, one under the other."""
    shown = b"".join(b"(%s) Tj 0 -16 Td " % line.encode("ascii") for line in lines)
    return zlib.compress(b"BT /F1 12 Tf 72 720 Td " + shown + b"ET")


def write_bomb(path: Path, pages: int = 60, mib: int = 70) -> None:
    """The probe's bomb: pages each drawing a word and then mib MiB of spaces (about 71 KB compressed per page;
    60 pages of 70 MiB make a 4.3 MB file)."""
    stream = zlib.compress(b"BT /F1 12 Tf 72 700 Td (Hello) Tj ET\n" + b" " * (mib << 20), 9)
    path.write_bytes(pdf_with_pages([stream] * pages))


def glyph_code_pdf(lines: list[str], seed: int = 1) -> bytes:
    """A PDF showing lines in a font with its own encoding: each letter drawn by a code whose glyph has a name of
    the font's own (/g0, /g1, ...), as subsetted fonts do, and no /ToUnicode map; a viewer shows the glyphs, a
    text extractor can only give their names or codes. Spaces stay spaces."""
    import random

    letters = sorted(set("".join(lines)) - {" "})
    codes = list(range(33, 33 + len(letters)))
    random.Random(seed).shuffle(codes)
    table = dict(zip(letters, codes, strict=True)) | {" ": 32}
    shown = b"".join(b"<%s> Tj 0 -16 Td " % bytes(table[c] for c in line).hex().encode() for line in lines)
    differences = b"[33 " + b" ".join(b"/g%d" % i for i in range(len(letters))) + b"]"
    font = (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding /Differences "
            + differences + b" >> >>")
    return pdf_with_pages([zlib.compress(b"BT /F1 12 Tf 72 720 Td " + shown + b"ET")], font=font)
