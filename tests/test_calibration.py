"""Each index's own abstention floor: where a bank of general questions about other subjects lands on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citebot.config.settings import load_settings
from citebot.index.build import build_index
from citebot.retrieval.abstain import Evidence, abstain_reason, key_cover
from citebot.retrieval.calibration import CALIBRATION_FILE, Calibration
from citebot.retrieval.engine import Engine
from citebot.retrieval.off_topic import BANK
from tests.conftest import write_config

ARTICLES = {
    "otters.txt": "Otters return to the river\n\nOtters have returned to the river Wensum after forty years. "
                  "Volunteers counted twelve otters in March.\n",
    "budget.txt": "Council budget approved\n\nThe council approved a budget of four million pounds. "
                  "Libraries will stay open on Sundays.\n",
}


def _engine(tmp_path: Path, **overrides: object) -> Engine:
    folder = tmp_path / "articles"
    if not folder.exists():
        folder.mkdir()
        for name, text in ARTICLES.items():
            (folder / name).write_text(text, encoding="utf-8")
    settings = load_settings(write_config(tmp_path, sources=str(folder), **overrides))
    if not (settings.paths.index / "current").exists():
        build_index(folder, settings.paths.index, settings)
    return Engine(settings)


def test_the_floor_is_a_quantile_of_the_bank_plus_a_margin() -> None:
    calibration = Calibration((0.1, 0.2, 0.3, 0.4, 0.5), "m")
    assert calibration.floor(0.5, 0.0) == pytest.approx(0.3)
    assert calibration.floor(1.0, 0.05) == pytest.approx(0.55)
    assert calibration.floor(0.0, 0.05) == -1.0  # off


def test_an_index_gets_its_own_floor_kept_in_its_build(tmp_path: Path) -> None:
    engine = _engine(tmp_path, abstain_below=0.0, abstain_bank_quantile=1.0, abstain_bank_margin=0.01)
    kept = engine.stored.path / CALIBRATION_FILE
    stored = json.loads(kept.read_text(encoding="utf-8"))
    assert len(stored["similarities"]) == len(BANK)
    assert engine.abstain_below == pytest.approx(max(stored["similarities"]) + 0.01, abs=1e-4)
    # Every question of the bank lands below its own floor: declined, whatever the configured one says.
    assert engine.ask(BANK[0]).abstained
    # A later load reads the kept answer rather than asking the bank again.
    before = kept.stat().st_mtime_ns
    assert _engine(tmp_path, abstain_below=0.0, abstain_bank_quantile=1.0, abstain_bank_margin=0.01).abstain_below \
        == engine.abstain_below
    assert kept.stat().st_mtime_ns == before
    # Switched off, the configured floor alone holds.
    assert _engine(tmp_path, abstain_below=0.0, abstain_bank_quantile=0.0).abstain_below == 0.0


def test_a_build_that_cannot_keep_it_is_calibrated_in_memory(tmp_path: Path) -> None:
    bank_floor = {"abstain_bank_quantile": 0.25, "abstain_bank_margin": 0.15}  # off by default
    engine = _engine(tmp_path, **bank_floor)
    kept = engine.stored.path / CALIBRATION_FILE
    kept.unlink()
    kept.mkdir()  # neither readable nor replaceable as a file (a read-only folder, but also for root)
    again = _engine(tmp_path, **bank_floor)
    assert kept.is_dir() and again.calibration.similarities == engine.calibration.similarities
    assert not [p for p in engine.stored.path.iterdir() if p.name.startswith(f".{CALIBRATION_FILE}")]


def test_key_cover_weighs_rare_words() -> None:
    weight = {"wall": 3.0, "berlin": 2.0, "year": 0.5}.__getitem__
    assert key_cover(["year", "berlin", "wall"], {"berlin"}, weight) == pytest.approx(2.0 / 5.5)
    assert key_cover([], {"berlin"}, weight) == 1.0


def test_too_few_key_words_or_unknown_words_abstain_when_asked_to() -> None:
    evidence = Evidence(0.6, (), (), 0, key_cover=0.1, unknown_share=0.6)
    assert abstain_reason(evidence, 0.38, 0) is None  # both rules off by default
    assert "too few" in abstain_reason(evidence, 0.38, 0, min_cover=0.2)
    assert "in no article" in abstain_reason(evidence, 0.38, 0, max_unknown=0.5)


def test_words_no_passage_uses_decline_only_in_a_folder_big_enough_to_say_so(tmp_path: Path) -> None:
    question = "How many otters returned to the sourdough river?"  # "sourdough" is in no article: 1 key word of 4
    small = _engine(tmp_path, abstain_below=0.0, abstain_bank_quantile=0.0, abstain_max_unknown=0.2,
                    abstain_unknown_min_passages=500)
    result = small.ask(question)
    assert result.evidence.unknown_share == pytest.approx(0.25)
    assert not result.abstained  # two articles: a word they lack says little
    big_enough = _engine(tmp_path, abstain_below=0.0, abstain_bank_quantile=0.0, abstain_max_unknown=0.2,
                         abstain_unknown_min_passages=2)
    declined = big_enough.ask(question)
    assert declined.abstained and "in no article" in declined.abstain_reason
    assert not big_enough.ask("How many otters returned to the river?").abstained
