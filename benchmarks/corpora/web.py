"""Rebuild a folder of real web pages, Markdown posts and collections from public repositories' snapshots.

    python -m benchmarks.corpora.web [--out var/corpora/web] [--mirrors /work/.mirror]

Nothing here is committed but this script: the documents come from git snapshots (bare repositories, as the
search tool's `fetch` brings them: github:rust-lang/blog.rust-lang.org, github:jekyll/jekyll,
github:mozilla/readability, github:sarabander/sicp, github:jekyll/jekyll-redirect-from) and are written under --out:

- md/rust-blog/     every 8th post of the Rust blog (TOML front matter, Zola)
- md/jekyll/        every 2nd release post of Jekyll's own blog (YAML front matter)
- html/readability/ the 130 pages saved from news sites and blogs that Readability tests on (some with
                    Chromium's `<!-- saved from url=(...)... -->`)
- html/sicp/        the chapters of SICP's HTML edition (.xhtml saved as .html)
- html/redirects/   the redirect stubs of jekyll-redirect-from and of the Rust blog's Zola template, filled in
- html/singlefile/  two Readability pages as SingleFile saves them (its header comment with `url:` put first,
                    the page's canonical link and og:url taken out)
- collections/      exports of real texts with the column names real exports use: a news CSV of the Readability
                    pages' expected text and metadata (headline, raw_text, published_date_gmt, byline, link), a
                    JSON Lines of Jekyll posts (title, body, pubdate, authors, url), and one CSV whose columns no
                    default names (story_title, story_body) for the [ingest] columns setting.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


def _files(repo: Path, under: str) -> list[str]:
    return _git(repo, "ls-tree", "-r", "--name-only", "HEAD", under).decode().split("\n")[:-1]


def _show(repo: Path, path: str) -> bytes:
    return _git(repo, "show", f"HEAD:{path}")


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def markdown(mirrors: Path, out: Path) -> None:
    rust = mirrors / "rust-lang+blog.rust-lang.org/repo"
    posts = [p for p in _files(rust, "content") if p.endswith(".md") and not p.endswith("_index.md")]
    for path in posts[::8]:
        _write(out / "md/rust-blog" / path.removeprefix("content/").replace("/", "__"), _show(rust, path))
    jekyll = mirrors / "jekyll+jekyll/repo"
    for path in _files(jekyll, "docs/_posts")[::2]:
        _write(out / "md/jekyll" / Path(path).name, _show(jekyll, path))


def pages(mirrors: Path, out: Path) -> None:
    readability = mirrors / "mozilla+readability/repo"
    for path in _files(readability, "test/test-pages"):
        if path.endswith("/source.html"):
            _write(out / "html/readability" / f"{path.split('/')[-2]}.html", _show(readability, path))
    sicp = mirrors / "sarabander+sicp/repo"
    for path in _files(sicp, "html"):
        if path.endswith(".xhtml"):
            _write(out / "html/sicp" / (Path(path).stem + ".html"), _show(sicp, path))
    stub = _show(mirrors / "jekyll+jekyll-redirect-from/repo", "lib/jekyll-redirect-from/redirect.html").decode()
    for name, target in (("old-post", "https://jekyllrb.com/news/releases/"), ("docs-home", "/docs/")):
        _write(out / f"html/redirects/{name}.html", stub.replace("{{ page.redirect.to }}", target))
    zola = _show(mirrors / "rust-lang+blog.rust-lang.org/repo", "templates/latest.html").decode()
    zola = re.sub(r"\{%.*?%\}", "", zola).replace("{{ page.path | safe }}", "/2025/01/09/Rust-1.84.0/")
    _write(out / "html/redirects/latest.html", zola.strip() + "\n")
    for name, url in (("002", "https://hacks.mozilla.org/2015/03/this-api-is-so-fetching/"),
                      ("ars-1", "https://arstechnica.com/information-technology/2015/05/"
                                "the-windows-10-technical-preview-build-10074/")):
        page = _show(readability, f"test/test-pages/{name}/source.html").decode()
        header = f"<!--\n Page saved with SingleFile \n url: {url} \n saved date: Mon Dec 07 2026\n-->"
        # the page's own canonical and og:url go, as in the saves the issue met: only the comment names the page
        page = re.sub(r'<(?:link[^>]*rel="canonical"|meta[^>]*property="og:url")[^>]*>', "", page, flags=re.I)
        page = re.sub(r"(<html[^>]*>)", lambda m, header=header: m[1] + header, page, count=1, flags=re.IGNORECASE)
        _write(out / f"html/singlefile/{name}.html", page)


def _plain(fragment: str) -> str:
    """Readability's expected.html as paragraphs of text."""
    blocks = re.split(r"</(?:p|h[1-6]|li|pre|blockquote|div)>", fragment, flags=re.IGNORECASE)
    texts = (" ".join(html.unescape(re.sub(r"<[^>]+>", " ", block)).split()) for block in blocks)
    return "\n\n".join(text for text in texts if text)


def collections(mirrors: Path, out: Path) -> None:
    readability = mirrors / "mozilla+readability/repo"
    rows = []
    for path in _files(readability, "test/test-pages"):
        if path.endswith("/expected-metadata.json"):
            meta = json.loads(_show(readability, path))
            body = _plain(_show(readability, path.replace("expected-metadata.json", "expected.html")).decode())
            if meta.get("title") and meta.get("lang", "en") and str(meta.get("lang") or "en").startswith("en"):
                rows.append([len(rows) + 1, meta["title"], body, meta.get("publishedTime") or "",
                             meta.get("byline") or "", ""])
    (out / "collections").mkdir(parents=True, exist_ok=True)
    with open(out / "collections/news_export.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "headline", "raw_text", "published_date_gmt", "byline", "link"])
        writer.writerows(rows[:40])
    with open(out / "collections/stories.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["story_id", "story_title", "story_body"])
        writer.writerows([row[0], row[1], row[2]] for row in rows[40:60])
    jekyll = mirrors / "jekyll+jekyll/repo"
    with open(out / "collections/jekyll_posts.jsonl", "w", encoding="utf-8") as file:
        for path in _files(jekyll, "docs/_posts")[1::4]:
            text = _show(jekyll, path).decode()
            front, _, body = text.partition("\n---\n")
            title = re.search(r'^title:\s*"?(.*?)"?\s*$', front, re.MULTILINE)
            date = re.search(r'^date:\s*"?(.*?)"?\s*$', front, re.MULTILINE)
            author = re.search(r"^author:\s*(.*?)\s*$", front, re.MULTILINE)
            slug = Path(path).stem[11:]
            file.write(json.dumps({"title": title[1] if title else slug, "body": body,
                                   "pubdate": date[1] if date else None,
                                   "authors": [author[1]] if author else [],
                                   "url": f"https://jekyllrb.com/news/{slug}/"}) + "\n")


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--out", type=Path, default=ROOT / "var/corpora/web")
    cli.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    args = cli.parse_args()
    for make in (markdown, pages, collections):
        make(args.mirrors, args.out)
    count = sum(1 for p in args.out.rglob("*") if p.is_file())
    print(f"{count} files under {args.out}")


if __name__ == "__main__":
    main()
