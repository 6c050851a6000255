"""The reference vectors the tests check the ONNX runtime against, so the test install needs no torch.

    python -m benchmarks.quality.reference_vectors            # compare ONNX with the committed reference (no torch)
    python -m benchmarks.quality.reference_vectors --write    # recompute it with sentence-transformers on torch
                                                              # (pip install -e ".[reference]"; CPU torch first)

--write embeds a fixed set of texts with the design's own loader (sentence-transformers on torch, the model package
by path) and writes tests/data/reference_vectors.json (the texts, their token counts, the versions that computed
them) and tests/data/reference_vectors.npy (one float32 unit vector a text, in the same order). tests/
test_embedders.py checks the ONNX runtime against them (cosine >= 0.9999, token counts equal); where torch is
installed, `pytest -m reference` checks the file against sentence-transformers again, and ONNX against torch on
1,000 more questions.

The texts: the edge cases of the embedder suite (empty, whitespace, non-ASCII, emoji, beyond the 256-token
limit), questions of varied shape and length built from the seeds' words, and lines and whole articles of the
seeds.
"""

from __future__ import annotations

import json
import random
import sys
from importlib import metadata

import numpy as np

from benchmarks.common import ROOT, parser
from benchmarks.common import command as command_line

SEEDS = ROOT / "seeds"
DATA = ROOT / "tests" / "data" / "reference_vectors.json"
VECTORS = DATA.with_suffix(".npy")
MIN_COSINE = 0.9999
EDGE_CASES = [
    "What did Theresa May say about racial hatred?",
    "Labour leader Jeremy Corbyn told to disown anti-Semitic supporters",
    "",
    "   spaced   out   ",
    "Ünïcödé café — naïve “quotes”, 日本語, emoji 👍 and numbers 3.14 £20m",
    "word " * 400,  # beyond the model's 256-token limit: truncated, not an error
    "a",
]


def varied_questions(count: int = 1000, seed: int = 11) -> list[str]:
    """Questions of every shape a user might ask: from the seeds' words, in many forms, deterministic."""
    rng = random.Random(seed)
    words = sorted({w.strip(".,\"'“”’()") for p in SEEDS.glob("*.txt") for w in p.read_text().split()} - {""})
    starts = ["What did", "Who is", "Why did", "How many", "When was", "Which", "Did", "Tell me about", "",
              "Is it true"]
    extras = ["?", "??", "!", " ...", "", " — really?", " (2018)", " £1.5bn?", " 👍", " naïve café?"]
    questions = []
    for i in range(count):
        body = " ".join(rng.choice(words) for _ in range(rng.choice([1, 2, 4, 8, 16, 40, 90])))
        question = f"{rng.choice(starts)} {body}{rng.choice(extras)}".strip()
        question = [question, question.lower(), question.upper(), question.title()][i % 4]
        questions.append(question[:500] or "?")
    return questions


def seed_lines() -> list[str]:
    """Every non-empty line of the seeds, in file order."""
    return [line for path in sorted(SEEDS.glob("*.txt")) for line in path.read_text().splitlines() if line.strip()]


def reference_texts() -> list[str]:
    """The fixed set: 7 edge cases, 33 questions, 21 seed lines of every length, the 3 seed articles whole."""
    lines = seed_lines()
    by_length = sorted(lines, key=len)
    spread = [by_length[round(i * (len(by_length) - 1) / 20)] for i in range(21)]
    articles = [path.read_text() for path in sorted(SEEDS.glob("*.txt"))]
    return EDGE_CASES + varied_questions(33, seed=29) + spread + articles


def _minilm_settings():
    from citebot.config.settings import load_settings

    return load_settings(None).embedding


def write() -> None:
    """Compute the reference with sentence-transformers on torch and write it under tests/data."""
    from dataclasses import replace

    from citebot.index.embedding.torch_runtime import SentenceTransformerEmbedder

    settings = _minilm_settings()
    embedder = SentenceTransformerEmbedder(replace(settings, runtime="torch"))
    texts = reference_texts()
    vectors = np.asarray(embedder.encode(texts), dtype=np.float32)
    record = {
        "what": "all-MiniLM-L6-v2 vectors of fixed texts from sentence-transformers on torch; tests/test_embedders.py "
                f"checks the ONNX runtime against them (cosine >= {MIN_COSINE}) with no torch installed",
        "command": command_line(),
        "model": embedder.name,
        "weights_sha256": embedder.weights_sha256,
        "computed_with": {name: metadata.version(name) for name in ("sentence-transformers", "torch", "transformers")},
        "vectors": f"{VECTORS.name}: float32, one unit vector a text, in this order",
        "token_counts": [embedder.count_tokens(text) for text in texts],
        "texts": texts,
    }
    DATA.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    np.save(VECTORS, vectors, allow_pickle=False)
    print(f"wrote {len(texts)} vectors: {DATA.relative_to(ROOT)}, {VECTORS.relative_to(ROOT)}")


def load_reference() -> tuple[dict, np.ndarray]:
    """The committed record and its vectors."""
    record = json.loads(DATA.read_text(encoding="utf-8"))
    return record, np.load(VECTORS, allow_pickle=False)


def compare() -> int:
    """The ONNX runtime against the committed reference: the lowest cosine, and the token counts."""
    from citebot.index.embedding.onnx_runtime import OnnxEmbedder

    record, reference = load_reference()
    embedder = OnnxEmbedder(_minilm_settings())
    texts = record["texts"]
    bulk = np.sum(embedder.encode(texts) * reference, axis=1)
    queries = np.sum(np.stack([embedder.encode_query(t) for t in texts]) * reference, axis=1)
    counts_equal = [embedder.count_tokens(t) for t in texts] == record["token_counts"]
    print(f"{len(texts)} texts; lowest cosine, build path {bulk.min():.7f}, question path {queries.min():.7f}; "
          f"token counts {'equal' if counts_equal else 'DIFFER'}")
    return 0 if min(bulk.min(), queries.min()) >= MIN_COSINE and counts_equal else 1


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--write", action="store_true", help="recompute the reference with sentence-transformers")
    args = cli.parse_args()
    if args.write:
        write()
        sys.exit(0)
    sys.exit(compare())


if __name__ == "__main__":
    main()
