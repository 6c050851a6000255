"""The abstention floor of one index: where questions about other subjects land against it.

A fixed bank of general questions (off_topic.BANK: cooking, gardening, astronomy, sport, law ...) is asked of
the index once (at its first load; the answer is kept in the build's folder); each question's best similarity
(any passage or sentence) is what a question the folder cannot answer reaches here. A folder of software docs,
whose short how-to sentences meet any how-to question, lifts them higher than a folder of news; the floor
follows. The engine abstains below max([retrieval] abstain_below, the bank's `abstain_bank_quantile` quantile +
`abstain_bank_margin`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from citebot.index.embedding.protocol import Embedder
from citebot.index.store.protocol import SearchStore
from citebot.retrieval.off_topic import BANK

log = logging.getLogger(__name__)

CALIBRATION_FILE = "abstention.json"
"""Written into a build's folder by the first load that asks the bank, so that later loads need not."""


def bank_fingerprint() -> str:
    """sha256 of the bank's questions: a calibration made with another bank is asked again."""
    return hashlib.sha256("\n".join(BANK).encode()).hexdigest()


@dataclass(frozen=True)
class Calibration:
    """The bank's best similarities against one index, sorted."""

    similarities: tuple[float, ...]
    model: str

    def floor(self, quantile: float, margin: float) -> float:
        """The similarity below which a question lands among the bank's (its `quantile`, plus `margin`)."""
        if not self.similarities or quantile <= 0:
            return -1.0
        return float(np.quantile(np.array(self.similarities), min(quantile, 1.0))) + margin

    def to_json(self) -> str:
        return json.dumps({"model": self.model, "bank": bank_fingerprint(),
                           "similarities": [round(s, 4) for s in self.similarities]})


def best_similarities(store: SearchStore, embedder: Embedder, questions: tuple[str, ...] = BANK) -> list[float]:
    """Each question's best cosine similarity with any passage or sentence of the store."""
    if not questions:
        return []
    vectors = np.asarray(embedder.encode(list(questions)), dtype=np.float32)
    best = []
    for vector in vectors:
        scores = [float(r.scores[0]) for r in (store.search_passages(vector, 1), store.search_sentences(vector, 1))
                  if len(r.scores)]
        best.append(max(scores, default=-1.0))
    return best


def calibrate(store: SearchStore, embedder: Embedder) -> Calibration:
    """Ask the bank of the store."""
    return Calibration(tuple(sorted(round(s, 4) for s in best_similarities(store, embedder))), embedder.name)


def keep_calibration(folder: Path, calibration: Calibration) -> None:
    """Keep a calibration in its build's folder (written whole, then renamed); a folder that cannot be written
    (a shared, read-only index, or a Milvus build) is left alone and asked again at the next load."""
    if not folder.is_dir():
        return
    path = folder / CALIBRATION_FILE
    partial = path.with_name(f".{CALIBRATION_FILE}.{os.getpid()}")
    try:
        partial.write_text(calibration.to_json() + "\n", encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        with contextlib.suppress(OSError):  # a read-only file system refuses the clean-up too
            partial.unlink(missing_ok=True)


def load_calibration(folder: Path, store: SearchStore, embedder: Embedder) -> Calibration:
    """The build's calibration: read from its folder when it was made with this bank and model, else asked now
    (2 s on the BBC folder on a busy 2-core machine) and kept there."""
    path = folder / CALIBRATION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["model"] == embedder.name and data["bank"] == bank_fingerprint():
            return Calibration(tuple(float(s) for s in data["similarities"]), data["model"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    log.info("calibrating abstention on %s (%d general questions)", folder, len(BANK))
    calibration = calibrate(store, embedder)
    keep_calibration(folder, calibration)
    return calibration
