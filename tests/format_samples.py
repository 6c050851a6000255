"""Invented articles and the site furniture a real page wraps them in, for the format tests and benchmark."""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class Story:
    title: str
    paragraphs: tuple[str, ...]
    date: str = "2024-03-14"
    url: str = "https://news.example.org/coast/tidal-ferry-trial"
    author: str = "Morwenna Pascoe"


FERRY = Story(
    "Tidal ferry trial begins in Porthmellin",
    (
        "A small ferry powered by the tide began carrying passengers across the estuary at Porthmellin on "
        "Thursday, in a trial the harbour board says could last until the autumn.",
        "The boat, named Gwynn, stores energy from the incoming tide in a bank of batteries, and crosses the "
        "400-metre channel in a little under six minutes.",
        "\u201cWe have wanted something quieter than the old diesel launch for twenty years,\u201d said harbour "
        "master Jory Trelawny. \u201cNow the water does the work, and the gulls can hear themselves think.\u201d",
        "Fares will stay at \u00a32 for adults & \u00a31 for children during the trial, the board said, and "
        "bicycles will travel free.",
        "Some residents have asked whether the vessel can cope with winter storms, when the crossing is at its "
        "roughest and the ebb runs hardest against the quay.",
        "Engineers from the builder, Kernow Marine, said the hull had been tested in swells of up to two metres, "
        "and that the diesel launch would be kept in reserve for the worst days.",
    ),
)

# Lines of page furniture; none may reach an article's text.
BOILERPLATE = (
    "We use cookies to improve your experience on our site",
    "Accept all cookies",
    "Manage preferences",
    "Skip to content",
    "Weather",
    "Sign in",
    "Related stories",
    "Harbour dredging to start in May",
    "Council approves new slipway at Polgwidden",
    "Lifeboat crew honoured for night rescue",
    "Share this article",
    "Share on Facebook",
    "Copy link",
    "Most read",
    "Sign up to our morning newsletter",
    "All rights reserved",
    "Terms of use",
    "Contact us",
    "Follow us on Instagram",
)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def semantic_page(story: Story) -> str:
    """A page with landmarks (header, nav, main, article, aside, footer) and metadata in the head."""
    body = "\n".join(f"<p>{_e(p)}</p>" for p in story.paragraphs[:4])
    rest = "\n".join(f"<p>{_e(p)}</p>" for p in story.paragraphs[4:])
    return f"""<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>{_e(story.title)} - Coast Gazette</title>
<meta property="og:title" content="{_e(story.title)}">
<meta property="og:url" content="{_e(story.url)}">
<link rel="canonical" href="{_e(story.url)}">
<meta name="author" content="{_e(story.author)}">
<meta property="article:published_time" content="{story.date}T08:30:00Z">
<script>window.dataLayer = [{{"page": "article", "section": "coast"}}];</script>
<style>.cookie-consent {{ position: fixed; bottom: 0; }}</style>
</head><body>
<div id="cookie-banner" class="cookie-consent" role="dialog"><p>We use cookies to improve your experience on our
site. By continuing to browse you agree to our cookie policy.</p><button>Accept all cookies</button>
<a href="/privacy">Manage preferences</a></div>
<a class="skip" href="#main">Skip to content</a>
<header><a href="/" class="logo">Coast Gazette</a><nav class="main-nav"><ul><li><a href="/">Home</a></li>
<li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li><li><a href="/weather">Weather</a></li>
<li><a href="/account">Sign in</a></li></ul></nav></header>
<main id="main">
<article>
<h1>{_e(story.title)}</h1>
<p class="byline">By <a href="/people/mp" rel="author">{_e(story.author)}</a>,
<time datetime="{story.date}">{story.date}</time></p>
<figure><img src="/img/ferry.jpg" alt="The ferry at the quay"><figcaption>The ferry at the quay</figcaption></figure>
{body}
<h2>Winter service</h2>
{rest}
</article>
<div class="share-tools"><span>Share this article</span><ul><li><a href="#">Share on Facebook</a></li>
<li><a href="#">Share on X</a></li><li><button>Copy link</button></li></ul></div>
<aside class="related"><h3>Related stories</h3><ul>
<li><a href="/a">Harbour dredging to start in May</a></li>
<li><a href="/b">Council approves new slipway at Polgwidden</a></li>
<li><a href="/c">Lifeboat crew honoured for night rescue</a></li></ul></aside>
<aside class="most-read"><h3>Most read</h3><ol><li><a href="/d">Storm warning for the weekend</a></li>
<li><a href="/e">New bus timetable from Monday</a></li></ol></aside>
</main>
<footer><div class="newsletter"><p>Sign up to our morning newsletter</p><input type="email"></div>
<p>&copy; 2024 Coast Gazette. All rights reserved.</p><a href="/terms">Terms of use</a>
<a href="/contact">Contact us</a> <a href="https://instagram.example">Follow us on Instagram</a></footer>
</body></html>"""


def div_page(story: Story) -> str:
    """The same article in nested divs with no landmarks, share buttons and related links inside its column."""
    paragraphs = "\n".join(f'<div class="text-block"><p>{_e(p)}</p></div>' for p in story.paragraphs)
    return f"""<html><head><title>{_e(story.title)} | Coast Gazette</title>
<meta name="description" content="A trial of a tidal ferry.">
<meta property="og:url" content="{_e(story.url)}">
<meta name="date" content="{story.date}">
<meta name="author" content="{_e(story.author)}"></head>
<body><div class="wrapper">
<div class="consent-overlay"><div class="consent-box">We use cookies to improve your experience on our site
<a class="btn" href="#">Accept all cookies</a> <a href="/prefs">Manage preferences</a></div></div>
<div class="top-bar"><a href="/">Home</a> | <a href="/news">News</a> | <a href="/weather">Weather</a> |
<a href="/login">Sign in</a></div>
<div class="page"><div class="col-main"><div class="story">
<div class="headline"><h1>{_e(story.title)}</h1></div>
<div class="social"><a href="#">Share on Facebook</a> <a href="#">Copy link</a></div>
<div class="story-body">
{paragraphs}
</div>
<div class="related-links"><div class="related-title">Related stories</div>
<a href="/a">Harbour dredging to start in May</a><br><a href="/b">Council approves new slipway at Polgwidden</a>
<br><a href="/c">Lifeboat crew honoured for night rescue</a></div>
<div class="share-bottom">Share this article <a href="#">Share on Facebook</a></div>
</div></div>
<div class="col-side"><div class="widget"><div class="widget-title">Most read</div>
<ul><li><a href="/d">Storm warning for the weekend</a></li><li><a href="/e">New bus timetable</a></li></ul></div>
<div class="widget promo">Sign up to our morning newsletter <a href="/nl">Sign up</a></div></div></div>
<div class="footer">&copy; Coast Gazette. All rights reserved. <a href="/terms">Terms of use</a> |
<a href="/contact">Contact us</a> | <a href="/ig">Follow us on Instagram</a></div>
</div></body></html>"""


def heavy_page(story: Story, seed: int = 0) -> str:
    """semantic_page grown to the size of a real news page (~150 KB): a mega-menu of 300 links, inline
    scripts and styles, and a sidebar of 40 teasers."""
    menu = "".join(f'<li><a href="/section/{seed}/{i}">Section {i} news and features</a></li>' for i in range(300))
    script = "".join(f'window.cfg{i} = {{"slot": "ad-{i}", "sizes": [[300, 250], [728, 90]], "seed": {seed}}};\n'
                     for i in range(1200))
    style = "".join(f".c{i} {{ margin: {i % 7}px; padding: {i % 5}px; color: #{i % 999:03d}; }}\n" for i in range(600))
    teasers = "".join(f'<div class="teaser"><a href="/story/{seed}/{i}"><img src="/t/{i}.jpg" alt="">'
                      f"<span>Teaser headline number {i} about the coast</span></a></div>" for i in range(40))
    page = semantic_page(story)
    page = page.replace("</head>", f"<style>{style}</style><script>{script}</script></head>", 1)
    page = page.replace('<ul><li><a href="/">Home</a></li>', f'<ul class="mega">{menu}<li><a href="/">Home</a></li>', 1)
    return page.replace("</main>", f'<aside class="teasers">{teasers}</aside></main>', 1)
