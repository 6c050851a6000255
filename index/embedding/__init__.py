"""Embedders: the factory over the protocol (protocol.py), the real model's runtimes and the test embedder.

Implementations of the real model, all-MiniLM-L6-v2 (same weights, interchangeable vectors):
  onnx_runtime.py   onnxruntime + tokenizers, no torch (the default runtime: fast to start)
  torch_runtime.py  sentence-transformers on torch
Each is imported only when chosen, so the question side never imports torch unless configured to.
"""

from __future__ import annotations

from functools import cache

from citebot.config.errors import ModelError
from citebot.config.settings import EmbeddingSettings
from citebot.index.embedding.hashed import HashEmbedder
from citebot.index.embedding.minilm import MINILM
from citebot.index.embedding.protocol import Embedder

RUNTIMES = ("onnx", "torch")


@cache
def _cached_minilm(settings: EmbeddingSettings) -> Embedder:
    if settings.runtime == "torch":
        from citebot.index.embedding.torch_runtime import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(settings)
    from citebot.index.embedding.onnx_runtime import OnnxEmbedder

    return OnnxEmbedder(settings)


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder the settings name, on the configured runtime; the real model is loaded once per process."""
    if settings.model == MINILM:
        return _cached_minilm(settings)
    hashed = HashEmbedder.named(settings.model)
    if hashed is not None:
        return hashed
    raise ModelError(f"unknown embedding model {settings.model!r} in config [embedding] (use {MINILM!r})")
