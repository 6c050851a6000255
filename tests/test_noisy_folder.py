"""Scraped-page furniture inserted at random places in real articles never becomes a passage.

The folder is generated here: the seeds, and (when the evaluation data is on the machine) 40 BBC
articles, with consent walls, sign-up and social prompts, adverts, share buttons, related-article
teasers, "Read more" tails and doubled captions inserted between paragraphs by a seeded RNG.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import pytest

from citebot.config.settings import Settings
from citebot.index.build import build_index
from citebot.index.ingest.corpus import normalise_line
from citebot.retrieval.engine import Engine
from tests.conftest import PROJECT_ROOT, SEEDS

BBC = PROJECT_ROOT.parent / "shared" / "data" / "bbc_news" / "articles.jsonl.gz"

NOISE = [
    "We use cookies to give you the best experience on our website. By continuing to browse the site you agree "
    "to our use of cookies. You can change your cookie settings at any time. Accept all cookies",
    "We use cookies. Accept all cookies",
    "Accept all cookies | Manage preferences",
    "Sign up to our daily newsletter",
    "Sign up for our free morning briefing newsletter and get the news delivered to your inbox every day",
    "Get the Evening Standard newsletter",
    "Follow us on Twitter",
    "Follow us on Facebook, Instagram and YouTube",
    "Advertisement",
    "ADVERTISEMENT",
    "Share this article",
    "Share this story",
    "Share on Facebook",
    "Read more at TheGuardian.com",
    "Read more: {title}",
    "Related articles: {title} | {title} | {title}",
    "Related: {title}",
    "More on this story: {title}",
    "Most read: {title}",
    "Image caption: {title}",
    "Image copyright Getty Images",
]


def _articles(bbc: bool) -> list[tuple[str, str]]:
    if not bbc:
        return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))]
    out = []
    with gzip.open(BBC, "rt", encoding="utf-8") as rows:
        for line in rows:
            row = json.loads(line)
            out.append((f"{row['_id']}.txt", f"{row['title']}\n\n{row['text'].strip()}\n"))
            if len(out) == 40:
                break
    return out


def _noisy(text: str, titles: list[str], rng: random.Random) -> tuple[str, list[str]]:
    """The article with 3-6 noise lines (and one doubled caption) between its paragraphs; the lines inserted."""
    head, _, body = text.partition("\n")
    paragraphs = [p for p in body.split("\n") if p.strip()]
    inserted = []
    for _ in range(rng.randint(3, 6)):
        line = rng.choice(NOISE).replace("{title}", rng.choice(titles))
        line = re.sub(r"\{title\}", lambda _: rng.choice(titles), line)
        paragraphs.insert(rng.randint(0, len(paragraphs)), line)
        inserted.append(line)
    caption = f"Picture: {rng.choice(titles)} (Getty Images)"
    at = rng.randint(0, len(paragraphs))
    paragraphs[at:at] = [caption, caption]
    inserted.append(caption)
    return head + "\n\n" + "\n\n".join(paragraphs) + "\n", inserted


@pytest.mark.parametrize("bbc", [False, True], ids=["seeds", "bbc"])
def test_inserted_furniture_is_never_a_passage(bbc: bool, tmp_path: Path, hash_settings: Settings) -> None:
    if bbc and not BBC.is_file():
        pytest.skip(f"{BBC} is not on this machine")
    rng = random.Random(7)
    articles = _articles(bbc)
    titles = [text.partition("\n")[0] for _, text in articles]
    folder = tmp_path / "noisy"
    folder.mkdir()
    inserted: set[str] = set()
    for name, text in articles:
        noisy, lines = _noisy(text, titles, rng)
        (folder / name).write_text(noisy, encoding="utf-8")
        inserted.update(lines)
    settings = hash_settings.with_index(tmp_path / "index")
    build_index(folder, settings.paths.index, settings)
    engine = Engine(settings)
    # No stored passage holds an inserted line: none can ever be returned.
    offenders = [(c.source, line) for c in engine.stored.chunks for line in inserted
                 if re.search(rf"(?m)^{re.escape(line)}$", c.text)]
    assert not offenders, offenders[:5]
    # And the reporting is all still there: every original paragraph starts some passage's line.
    texts = {Path(c.source).name: "" for c in engine.stored.chunks}
    for c in engine.stored.chunks:
        texts[Path(c.source).name] += c.text + "\n"
    for name, text in articles:
        for paragraph in [p for p in text.partition("\n")[2].split("\n") if len(p.split()) > 25]:
            assert normalise_line(paragraph)[:60] in normalise_line(texts[name]), (name, paragraph[:80])
    # Asking for the furniture itself finds no furniture.
    for query in ("Accept all cookies", "Sign up to our newsletter", "Share this article on Facebook"):
        result = engine.ask(query)
        assert not any(line in p.text for p in result.passages for line in inserted if len(line.split()) < 12)
