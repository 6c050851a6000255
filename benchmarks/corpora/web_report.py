"""What citebot reads from the folder benchmarks/corpora/web.py rebuilds: skipped files and reasons, titles,
origin URLs, paragraphs (the lines passages are cut from) that are only links, and paragraphs with a heading
or byline glued in front.

    python -m benchmarks.corpora.web_report [--folder var/corpora/web] [--label after]

Each file is read with read_document as a build reads it. The two checks look at the source, not at the reader:
a link-only paragraph is an extracted line that is the whole text of a Markdown list item or paragraph made of
one link (`- [Read more](...)`), or of an HTML <li> holding only an <a>, and not also a heading's; a glued
heading is an extracted line that starts with the text of a heading (h1-h4, Markdown #) or a byline element
and goes on with more words. Writes benchmarks/results/web_corpus.json under the label (run it on the old code
with --label before), and every title and URL beside the folder (var/corpora/web_report_LABEL.json).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

from lxml import html as lxml_html

from citebot.index.ingest.formats import Extraction, read_document
from citebot.index.ingest.formats.extracted import clean_line

ROOT = Path(__file__).resolve().parents[2]
RESULT = ROOT / "benchmarks/results/web_corpus.json"
_MD_LINK_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])?\s*\[([^\]]+)\]\([^)]*\)\s*$", re.MULTILINE)
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def source_marks(path: Path, raw: bytes) -> tuple[set[str], set[str]]:
    """(the texts of link-only items, the texts of headings and bylines) in the file's source; a heading that
    the source itself repeats at the start of a paragraph ("New Zealand is ...") is left out."""
    if path.suffix == ".md":
        text = raw.decode("utf-8", "replace")
        links = {clean_line(m[1]) for m in _MD_LINK_ITEM.finditer(text)}
        heads = {clean_line(m[1]) for m in _MD_HEADING.finditer(text)}
        blocks = [clean_line(line) for line in text.split("\n") if not line.startswith("#")]
    else:
        try:
            tree = lxml_html.fromstring(raw)
        except Exception:  # noqa: BLE001 - a page lxml cannot parse has no marks
            return set(), set()
        links = {clean_line(li.text_content()) for li in tree.iter("li") if len(li) == 1 and li[0].tag == "a"
                 and not (li.text or "").strip() and not (li[0].tail or "").strip()}
        heads = {clean_line(h.text_content()) for tag in ("h1", "h2", "h3", "h4") for h in tree.iter(tag)}
        heads |= {clean_line(e.text_content()) for e in tree.xpath('//*[contains(@class,"byline")]')}
        blocks = [clean_line(e.text_content()) for tag in ("p", "li", "td") for e in tree.iter(tag)]
        blocks += [clean_line(div.text or "") for div in tree.iter("div")]
    links = {t for t in links if t and t not in heads}  # a table of contents names the headings it links to
    heads = {h for h in heads if h and not any(b.startswith(h) for b in blocks)}
    return links, heads


def report(folder: Path) -> dict:
    skipped: dict[str, str] = {}
    titles: dict[str, str | None] = {}
    urls: dict[str, str | None] = {}
    link_lines: list[str] = []
    glued: list[str] = []
    paragraphs: Counter[str] = Counter()
    cpu = 0.0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        raw = path.read_bytes()
        start = time.process_time()
        found = read_document(path, raw)
        cpu += time.process_time() - start
        if not isinstance(found, Extraction):
            skipped[name] = found
            continue
        links, heads = source_marks(path, raw) if path.suffix in (".md", ".html") else (set(), set())
        for item in found.articles:
            key = f"{name}#{item.key}" if item.key else name
            titles[key], urls[key] = item.title, item.url
            lines = [line for line in item.text.split("\n") if line][1 if item.title else 0:]
            paragraphs[path.suffix] += len(lines)
            link_lines += [f"{key}: {line}" for line in lines if line in links]
            glued += [f"{key}: {line[:120]}" for line in lines
                      if any(line.startswith(h + " ") and len(line) > len(h) + 20 for h in heads)]
    return {
        "files": len(skipped) + len({k.split("#")[0] for k in titles}),
        "articles": len(titles), "paragraphs": sum(paragraphs.values()), "paragraphs_by_suffix": dict(paragraphs),
        "read_cpu_seconds": round(cpu, 1),
        "skipped": skipped, "skip_reasons": Counter(r.split("(")[0].strip() for r in skipped.values()),
        "untitled": sorted(k for k, t in titles.items() if not t),
        "titles": titles, "urls": {k: u for k, u in urls.items() if u},
        "link_only_paragraphs": link_lines, "glued_heading_paragraphs": glued,
    }


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--folder", type=Path, default=ROOT / "var/corpora/web")
    cli.add_argument("--label", default="after")
    cli.add_argument("--out", type=Path, default=RESULT)
    args = cli.parse_args()
    found = report(args.folder)
    details = args.folder.parent / f"{args.folder.name}_report_{args.label}.json"  # under var/, not committed
    details.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n")
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results[args.label] = {key: value for key, value in found.items() if key not in ("titles", "urls")} | {
        "with_url": len(found["urls"]), "untitled": found["untitled"]}
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(f"{args.label}: {found['files']} files, {found['articles']} articles, {found['paragraphs']} paragraphs "
          f"{found['paragraphs_by_suffix']} read in {found['read_cpu_seconds']} s CPU; "
          f"{len(found['skipped'])} skipped {dict(found['skip_reasons'])}; {len(found['untitled'])} untitled; "
          f"{len(found['urls'])} with a URL; {len(found['link_only_paragraphs'])} link-only paragraphs; "
          f"{len(found['glued_heading_paragraphs'])} with a glued heading")


if __name__ == "__main__":
    main()
