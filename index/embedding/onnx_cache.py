"""The ONNX export of the model's verified weights, cached on disk and checked on every load.

    <onnx_cache>/all-MiniLM-L6-v2-<weights sha256[:16]>-<precision>/
        model.onnx        the graph (index/onnx_export.py)
        model.onnx.data   its weights
        record.json       model, source weights sha256, precision, export version, sha256 of both files

A folder is exported beside its final name and renamed into place in one step, so a reader sees a
whole export or none. One that is missing, stale (other weights or export version) or corrupt (a file
whose sha256 differs from the record) is exported again from the verified safetensors (about 2 s).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citebot.config.errors import ModelError
from citebot.config.settings import EmbeddingSettings
from citebot.index.embedding.minilm import MINILM, verified_weights
from citebot.index.embedding.onnx_export import DATA_FILE, EXPORT_VERSION, MODEL_FILE, export
from citebot.index.hashing import file_sha256

log = logging.getLogger(__name__)

RECORD = "record.json"


@dataclass(frozen=True)
class Export:
    folder: Path
    record: dict[str, Any]

    @property
    def model(self) -> Path:
        return self.folder / MODEL_FILE


def export_folder(settings: EmbeddingSettings, precision: str) -> Path:
    return settings.onnx_cache / f"{MINILM}-{settings.weights_sha256[:16]}-{precision}"


def expected_record(settings: EmbeddingSettings, precision: str) -> dict[str, Any]:
    return {"model": MINILM, "source_weights_sha256": settings.weights_sha256, "precision": precision,
            "export_version": EXPORT_VERSION}


def read_export(settings: EmbeddingSettings, precision: str) -> Export | None:
    """The cached export when its record matches the settings (files not hashed yet), else None."""
    folder = export_folder(settings, precision)
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    expected = expected_record(settings, precision)
    if not isinstance(record, dict) or any(record.get(k) != v for k, v in expected.items()):
        return None
    return Export(folder, record)


def corrupt_files(export: Export) -> list[str]:
    """Files of the export whose sha256 differs from its record."""
    hashes = export.record.get("files", {})
    bad = []
    for name in (MODEL_FILE, DATA_FILE):
        path = export.folder / name
        try:
            if file_sha256(path) != hashes.get(name):
                bad.append(name)
        except OSError:
            bad.append(name)
    return bad


def export_model(settings: EmbeddingSettings, precision: str) -> Export:
    """Export the verified weights into the cache, replacing any export there; the new export."""
    weights = verified_weights(settings)
    final = export_folder(settings, precision)
    fix = 'set [embedding] onnx_cache to a writable folder, or use runtime = "torch" (pip install -e ".[reference]")'
    partial = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        partial.mkdir(parents=True)
        export(weights.parent, partial, int8=precision == "int8")
        record = {**expected_record(settings, precision),
                  "files": {name: file_sha256(partial / name) for name in (MODEL_FILE, DATA_FILE)}}
        (partial / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        for name in (MODEL_FILE, DATA_FILE, RECORD):
            with (partial / name).open("rb") as handle:
                os.fsync(handle.fileno())
        if final.exists():  # stale or corrupt: move it aside first (a rename cannot replace a folder)
            stale = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.stale")
            with contextlib.suppress(FileNotFoundError):
                final.rename(stale)
            shutil.rmtree(stale, ignore_errors=True)
        try:
            partial.rename(final)
        except OSError:
            other = read_export(settings, precision)  # another process's export, renamed in first
            if other is None:
                raise
            return other
    except OSError as exc:
        raise ModelError(f"cannot write the ONNX model to {final.parent} ({exc.strerror or exc}); {fix}") from None
    except ImportError as exc:
        raise ModelError(f"exporting the model to ONNX needs {exc.name}: pip install onnx safetensors") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    log.info("exported %s (%s) to %s", MINILM, precision, final)
    return Export(final, record)
