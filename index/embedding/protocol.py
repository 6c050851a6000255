"""The Embedder protocol: what a build and a search need of a model. Imports no implementation."""

from __future__ import annotations

from typing import Protocol

import numpy as np


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
