"""Follow-ups carry the conversation's topic, in any case: the real model over a small folder of real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from citebot.config.settings import load_settings
from tests.conftest import write_config

NGINX = """# nginx

nginx is a web server that can also be used as a reverse proxy, load balancer, mail proxy and HTTP cache.

It was written by Igor Sysoev, a Russian software engineer, who began work on it in 2002 to solve the C10k
problem of serving ten thousand clients at once.

The software was first publicly released in October 2004. It is free and open-source software, released under
the terms of the 2-clause BSD license.

## Architecture

nginx uses an asynchronous, event-driven approach rather than threads to handle requests, so its memory use
stays small and predictable under load.
"""

APACHE = """The Apache HTTP Server

The Apache HTTP Server is a free and open-source web server software. It was first released in April 1995 by a
group of webmasters who patched the NCSA HTTPd daemon, which gave the project its name.

Apache supports modules that add features such as server-side programming languages, authentication and
URL rewriting. Many hosting companies ran it as their default server for years.
"""

REDIS = """<html><head><title>Redis</title></head><body>
<h1>Redis</h1>
<p>Redis is an in-memory key-value database, used as a cache and a message broker. Salvatore Sanfilippo
started the project in 2009 to improve the scalability of his Italian startup's real-time web log analyser.</p>
<p>Redis keeps its whole dataset in memory and writes it to disk from time to time, so it can recover after a
restart.</p>
</body></html>
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    from citebot.index.build import build_index
    from citebot.retrieval.engine import Engine

    folder = tmp_path_factory.mktemp("topic")
    sources = folder / "articles"
    sources.mkdir()
    (sources / "nginx.md").write_text(NGINX, encoding="utf-8")
    (sources / "apache.txt").write_text(APACHE, encoding="utf-8")
    (sources / "redis.html").write_text(REDIS, encoding="utf-8")
    settings = load_settings(write_config(folder, model="all-MiniLM-L6-v2", sources=str(sources)))
    build_index(sources, settings.paths.index, settings)
    return Engine(settings)


def test_a_follow_up_searches_with_the_lowercase_topic_of_the_last_question(engine) -> None:
    conversation = engine.new_conversation()
    first = engine.ask("What is nginx?", conversation)
    assert first.answer is not None and Path(first.answer.source).name.startswith("nginx.md")
    follow_up = engine.ask("When was it first made public?", conversation)
    assert "nginx" in follow_up.searched
    assert Path(follow_up.passages[0].citation.source).name.startswith("nginx.md")
    assert follow_up.answer is not None and "October 2004" in follow_up.answer.text


def test_a_new_topic_replaces_the_old_one(engine) -> None:
    conversation = engine.new_conversation()
    engine.ask("What is nginx?", conversation)
    engine.ask("What is redis used for?", conversation)
    follow_up = engine.ask("Who started it?", conversation)
    assert "redis" in follow_up.searched and "nginx" not in follow_up.searched
    assert follow_up.answer is not None and "Salvatore Sanfilippo" in follow_up.answer.text
