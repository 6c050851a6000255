"""`citebot index build --ray`: the embedding runs as a Ray Data job on a local Ray started here, and the index
written is the one-machine build's, file for file. Skipped without the ray extra."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from citebot.config.settings import PROJECT_ROOT, Settings, load_settings
from citebot.index.build import build_index
from citebot.index.embedding.hashed import HashEmbedder
from tests.conftest import SEEDS, killed_after, write_config
from tests.test_incremental import data_files
from tests.test_resume import generated_folder

pytest.importorskip("ray.data", reason='Ray is not installed: pip install -e ".[ray]" runs the Ray build tests')

from citebot.index.embedding.ray_job import RayTarget  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data")  # Ray's own settings, read by Ray
CLI = [sys.executable, "-m", "citebot.bot.cli"]
ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}


@pytest.fixture(scope="module")
def local_ray() -> RayTarget:
    """A Ray of 2 CPUs in this process, for the module's tests; shut down after them."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield RayTarget("local")
    ray.shutdown()


def refusing(embedder):
    """embedder, of its own class (the same key prefix), refusing to embed here: every vector must come from Ray."""
    def encode(texts: list[str], *, progress: bool = False) -> np.ndarray:
        raise AssertionError(f"{len(texts)} texts embedded outside Ray")

    embedder.encode = encode
    return embedder


@pytest.mark.model
def test_a_ray_build_writes_the_one_machine_build_byte_for_byte(local_ray: RayTarget, real_settings: Settings,
                                                                 tmp_path: Path) -> None:
    from citebot.index.embedding.onnx_runtime import OnnxEmbedder

    generated = generated_folder(tmp_path / "generated", 8)
    for name, sources in (("seeds", SEEDS), ("generated", generated)):
        plain = build_index(sources, tmp_path / f"{name}-plain", real_settings)
        on_ray = build_index(sources, tmp_path / f"{name}-ray", real_settings,
                             embedder=refusing(OnnxEmbedder(real_settings.embedding)), ray=local_ray)
        assert on_ray.embedded == plain.embedded > 100 and on_ray.resumed == 0
        assert data_files(on_ray.path) == data_files(plain.path), name
        assert not list((tmp_path / f"{name}-ray").glob(".vectors-*.journal"))


def test_ray_takes_over_an_interrupted_build_and_embeds_only_the_rest(local_ray: RayTarget, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from citebot.index.embedding import ray_job

    monkeypatch.setattr(ray_job, "WINDOW_TEXTS", 50)  # several jobs, each run while the next window is planned
    sources = generated_folder(tmp_path / "articles", 12)
    settings = load_settings(write_config(tmp_path, sources=str(sources)))
    killed = HashEmbedder()
    done = killed_after(killed, 64)
    with pytest.raises(OSError, match="killed"):
        build_index(sources, settings.paths.index, settings, embedder=killed)
    report = build_index(sources, settings.paths.index, settings, embedder=refusing(HashEmbedder()), ray=local_ray)
    plain = build_index(sources, tmp_path / "plain", settings)
    assert report.resumed == len(done) > 0 and report.embedded == plain.embedded - len(done)
    assert data_files(report.path) == data_files(plain.path)


def test_the_command_line_builds_on_a_local_ray(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    run = subprocess.run([*CLI, "index", "build", "--config", str(config), "--ray", "local"], env=ENV,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "embedding on Ray (local)" in run.stderr
    said = re.search(r"; (\d+) texts embedded, 0 reused \(", run.stderr)
    plain = build_index(SEEDS, tmp_path / "plain", load_settings(config))
    assert said and int(said[1]) == plain.embedded
    assert data_files((tmp_path / "index" / "current").resolve()) == data_files(plain.path)


def test_a_failed_ray_job_is_one_line_and_keeps_the_last_index(local_ray: RayTarget, hash_settings: Settings,
                                                                seeds_copy: Path) -> None:
    from citebot.config.errors import CitebotError
    from tests.test_incremental import CountingEmbedder

    first = build_index(seeds_copy, hash_settings.paths.index, hash_settings)
    (seeds_copy / "zz_new.txt").write_text("A new headline\n\nA sentence no build has embedded yet.\n",
                                           encoding="utf-8")
    # The workers make the configured embedder (HashEmbedder), not this one: their vectors would not fit its keys.
    with pytest.raises(CitebotError, match=r"^the Ray job failed \(.*\); the vectors it computed are kept"):
        build_index(seeds_copy, hash_settings.paths.index, hash_settings, embedder=CountingEmbedder(),
                    ray=local_ray)
    assert (hash_settings.paths.index / "current").resolve() == first.path
