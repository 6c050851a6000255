"""Token counting with tiktoken's cl100k_base, from the copy shipped in index/assets (no network)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from citebot.config.errors import ModelError

TIKTOKEN_DIR = Path(__file__).resolve().parent / "assets" / "tiktoken"
ENCODING = "cl100k_base"


@cache
def encoding():  # -> tiktoken.Encoding
    """The cl100k_base encoding, read from the shipped cache file."""
    # tiktoken reads a cache folder holding files named by the sha1 of their URL,
    # and checks the file's sha256 itself before use.
    os.environ["TIKTOKEN_CACHE_DIR"] = str(TIKTOKEN_DIR)
    import tiktoken

    try:
        return tiktoken.get_encoding(ENCODING)
    except Exception as exc:  # tiktoken raises network or hash errors of several kinds
        raise ModelError(
            f"cannot load the shipped tiktoken {ENCODING} file in {TIKTOKEN_DIR} ({exc}); reinstall citebot"
        ) from None


def count_tokens(text: str) -> int:
    return len(encoding().encode_ordinary(text))
