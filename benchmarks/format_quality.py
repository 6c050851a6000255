"""The news dev set on the BBC folder written in each format: the same articles as .txt, as web pages wrapped in
site furniture, as Markdown, as PDFs and as one JSON Lines collection. Each folder is indexed and the news
questions run against it; the figures should match the .txt folder's (hit@1 per kind within 0.02), with no
citation that is not verbatim and no passage of page furniture.

    python benchmarks/format_quality.py                 # all formats (each index built once, under var/)
    python benchmarks/format_quality.py --formats html md

Writes benchmarks/results/format_quality.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval"
TXT = ROOT / "var" / "bbc"
QUESTIONS = SHARED / "news_dev.jsonl"
RESULT = ROOT / "benchmarks" / "results" / "format_quality.json"
FORMATS = ("txt", "html", "md", "pdf", "jsonl")
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def articles() -> list[tuple[str, str, list[str]]]:
    """(id, title, paragraphs) of every BBC article of the .txt folder."""
    if not TXT.is_dir() or sum(1 for _ in TXT.glob("*.txt")) != 2092:
        subprocess.run([sys.executable, str(SHARED / "bbc_folder.py"), str(TXT)], check=True)
    found = []
    for path in sorted(TXT.glob("*.txt")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        found.append((path.stem, lines[0], lines[1:]))
    return found


def write_folder(fmt: str, folder: Path) -> None:
    """The BBC articles written as fmt into folder (once)."""
    sys.path.insert(0, str(ROOT))
    from tests.format_samples import Story, heavy_page

    if folder.is_dir() and any(folder.iterdir()):
        return
    folder.mkdir(parents=True, exist_ok=True)
    stories = articles()
    if fmt == "jsonl":
        with (folder / "bbc.jsonl").open("w", encoding="utf-8") as out:
            for ident, title, paragraphs in stories:
                out.write(json.dumps({"title": title, "text": "\n\n".join(paragraphs),
                                      "url": f"https://news.example.org/{ident}"}) + "\n")
        return
    for seed, (ident, title, paragraphs) in enumerate(stories):
        if fmt == "html":
            story = Story(title, tuple(paragraphs), url=f"https://news.example.org/{ident}")
            (folder / f"{ident}.html").write_text(heavy_page(story, seed), encoding="utf-8")
        elif fmt == "md":
            (folder / f"{ident}.md").write_text(f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
        elif fmt == "pdf":
            write_pdf(folder / f"{ident}.pdf", title, paragraphs)


def write_pdf(path: Path, title: str, paragraphs: list[str]) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    if FONT.is_file():
        pdf.add_font("body", fname=str(FONT))
        font = "body"
    else:  # the core font: Latin-1 only
        font = "Helvetica"
        title = title.encode("latin-1", "replace").decode("latin-1")
        paragraphs = [p.encode("latin-1", "replace").decode("latin-1") for p in paragraphs]
    pdf.add_page()
    pdf.set_font(font, size=16)
    pdf.multi_cell(0, 9, title)
    pdf.ln(4)
    pdf.set_font(font, size=11)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 6, paragraph)
        pdf.ln(3)
    pdf.output(str(path))


def jsonl_questions(folder: Path, out: Path) -> Path:
    """The question set with each evidence article named by its row in the collection."""
    rows = {json.loads(line)["url"].rsplit("/", 1)[1]: n for n, line in
            enumerate((folder / "bbc.jsonl").read_text(encoding="utf-8").splitlines(), 1)}
    with out.open("w", encoding="utf-8") as handle:
        for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            for evidence in item["evidence"]:
                evidence["source"] = f"bbc.jsonl#row {rows[evidence['source']]}"
            handle.write(json.dumps(item) + "\n")
    return out


def furniture_passages(report: dict) -> int:
    """Returned passages holding a line of the pages' site furniture."""
    from tests.format_samples import BOILERPLATE

    lines = {line.casefold() for line in BOILERPLATE}
    return sum(any(line in p["text"].casefold() for line in lines)
               for detail in report["details"] for p in detail.get("passages", []))


def run(fmt: str) -> dict:
    from citebot.config.settings import load_settings
    from citebot.retrieval.engine import Engine
    from citebot.retrieval.evaluation.golden import evaluate_golden

    folder = TXT if fmt == "txt" else ROOT / "var" / f"bbc-{fmt}"
    index = ROOT / "var" / ("bbc-index" if fmt == "txt" else f"bbc-{fmt}-index")
    began = time.perf_counter()
    if fmt != "txt":
        write_folder(fmt, folder)
    written = time.perf_counter() - began
    build = subprocess.run([sys.executable, "-m", "citebot.bot.cli", "index", "build", "--sources", str(folder),
                            "--index", str(index)], capture_output=True, text=True)
    if build.returncode:
        raise SystemExit(f"building {index} failed: {build.stderr[-500:]}")
    questions = jsonl_questions(folder, ROOT / "var" / "news_dev.jsonl-rows.jsonl") if fmt == "jsonl" else QUESTIONS
    report = evaluate_golden(Engine(load_settings().with_index(index)), questions)
    summary = {k: v for k, v in report.items() if k != "details"}
    summary["furniture_passages"] = furniture_passages(report) if fmt == "html" else None
    summary["seconds_to_write_folder"] = round(written, 1)
    summary["build_last_line"] = build.stderr.strip().splitlines()[-1]
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    os.chdir(ROOT)
    results = json.loads(RESULT.read_text(encoding="utf-8")) if RESULT.is_file() else {}
    for fmt in args.formats:
        results[fmt] = run(fmt)
        hit = results[fmt]["by_category"] if "by_category" in results[fmt] else results[fmt]
        print(fmt, json.dumps(hit)[:400], flush=True)
    results["command"] = "python benchmarks/format_quality.py " + " ".join(sys.argv[1:])
    RESULT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
