"""A mixed folder of real formats written from real article text: the BBC articles of var/bbc (or any folder of
.txt articles) as saved web pages, Markdown posts, PDF reports, plain text, and CSV and JSON Lines exports.

    python -m benchmarks.performance.mixed_folder --articles var/bbc --out /tmp/mixed --files 400

Every file is written as tests/format_samples.py and tests/test_formats*.py write their formats (the page
templates are those of format_samples; PDFs by fpdf2, the test extra). The same arguments write the same folder.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

from benchmarks.common import parser
from tests.format_samples import FERRY, Story, div_page, heavy_page, semantic_page

SHARES = (("html", 0.30), ("md", 0.30), ("pdf", 0.08), ("txt", 0.26), ("csv", 0.03), ("jsonl", 0.03))
"""Share of the files in each format; each collection holds ROWS articles."""
ROWS = 20


def _story(path: Path) -> Story:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return replace(FERRY, title=lines[0], paragraphs=tuple(lines[1:]), url=f"https://news.example.org/{path.stem}")


def _pdf(story: Story, target: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(story.title)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, story.title.encode("latin-1", "replace").decode("latin-1"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for paragraph in story.paragraphs:
        pdf.multi_cell(0, 6, paragraph.encode("latin-1", "replace").decode("latin-1"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.output(str(target))


def write_mixed_folder(articles: Path, out: Path, files: int) -> int:
    """Write about `files` files to out (which must not exist) from the .txt articles under articles; how many
    articles they hold."""
    sources = sorted(articles.rglob("*.txt"))
    out.mkdir(parents=True)
    used = 0
    pages = (semantic_page, div_page, heavy_page)
    for kind, share in SHARES:
        for i in range(max(1, round(files * share))):
            if kind in ("csv", "jsonl"):
                stories = [_story(p) for p in sources[used:used + ROWS]]
                used += len(stories)
                rows = [{"title": s.title, "text": "\n\n".join(s.paragraphs), "url": s.url, "date": s.date}
                        for s in stories]
                target = out / f"export-{i:03d}.{kind}"
                if kind == "jsonl":
                    target.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
                else:
                    with target.open("w", newline="", encoding="utf-8") as handle:
                        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                        writer.writeheader()
                        writer.writerows(rows)
                continue
            source = sources[used % len(sources)]
            used += 1
            story = _story(source)
            target = out / kind / f"{source.stem}.{kind}"
            target.parent.mkdir(exist_ok=True)
            if kind == "html":
                target.write_text(pages[i % 3](story), encoding="utf-8")
            elif kind == "md":
                body = "\n\n".join(story.paragraphs)
                target.write_text(f"---\ntitle: \"{story.title}\"\ndate: {story.date}\n---\n\n# {story.title}\n\n"
                                  f"{body}\n", encoding="utf-8")
            elif kind == "pdf":
                _pdf(story, target)
            else:
                target.write_bytes(source.read_bytes())
    return used


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--articles", type=Path, required=True, help="a folder of .txt articles")
    cli.add_argument("--out", type=Path, required=True, help="the folder to write (must not exist)")
    cli.add_argument("--files", type=int, default=400)
    args = cli.parse_args()
    used = write_mixed_folder(args.articles, args.out, args.files)
    print(f"wrote {sum(1 for p in args.out.rglob('*') if p.is_file())} files holding {used} articles to {args.out}")


if __name__ == "__main__":
    main()
