"""Search at scale on synthetic 384-d unit vectors: FAISS flat, FAISS approximate (recall@10 against flat), Milvus Lite.

    nice -n 10 python -m benchmarks.performance.store_scale                  # 100k and 1M (about 15 minutes)
    nice -n 10 python -m benchmarks.performance.store_scale --sizes 100000   # one size

The vectors are a mixture of 2,000 Gaussian clusters (a corpus has topics; uniform random vectors in 384-d are
a worst case no real index meets), normalised like the model's. Queries are 100 corpus vectors plus noise
(cosine about 0.85 to their source), searched one at a time for the top 10 as the bot searches. Approximate indexes:
  100k: HNSW (M=32, efConstruction=40, efSearch=64) and IVF (nlist=1024, nprobe=16);
  1M:   IVF only (nlist=4096 trained on 100k vectors, nprobe=32): HNSW's build on 1M vectors takes tens of minutes
        on 2 cores, more than this benchmark's budget, and IVF's build is a k-means on a sample plus one pass.
Milvus Lite gets the same vectors in a fresh database under var/ (FLAT: the index type Milvus Lite serves).
Writes benchmarks/results/store_scale.json; stops starting new phases after --budget seconds (default 900).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import faiss
import numpy as np

from benchmarks.common import ROOT, command, parser, write_result

DIM = 384
QUERIES = 100
K = 10


def corpus(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, DIM)).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        out[start:stop] = centres[rng.integers(0, len(centres), stop - start)]
        out[start:stop] += 0.9 * rng.standard_normal((stop - start, DIM)).astype(np.float32)
    faiss.normalize_L2(out)
    return out


def queries(data: np.ndarray, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q = data[rng.integers(0, len(data), QUERIES)] + 0.03 * rng.standard_normal((QUERIES, DIM)).astype(np.float32)
    faiss.normalize_L2(q)
    return q


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def time_faiss(index: faiss.Index, q: np.ndarray) -> tuple[np.ndarray, list[float]]:
    found, took = [], []
    for vector in q:
        began = time.perf_counter()
        _, rows = index.search(vector.reshape(1, -1), K)
        took.append(time.perf_counter() - began)
        found.append(rows[0])
    return np.array(found), took


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return round(float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)])), 4)


def run_faiss(name: str, index: faiss.Index, data: np.ndarray, q: np.ndarray, truth: np.ndarray | None,
              train: np.ndarray | None = None) -> tuple[dict, np.ndarray]:
    began = time.perf_counter()
    if train is not None:
        index.train(train)
    for start in range(0, len(data), 100_000):
        index.add(data[start:start + 100_000])
    build = time.perf_counter() - began
    found, took = time_faiss(index, q)
    row = {"store": name, "build_s": round(build, 1), **percentiles(took)}
    row["recall@10"] = 1.0 if truth is None else recall(found, truth)
    print(json.dumps(row), flush=True)
    return row, found


def run_milvus(data: np.ndarray, q: np.ndarray, truth: np.ndarray, folder: Path) -> dict:
    from pymilvus import DataType, MilvusClient

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    client = MilvusClient(str(folder / "scale.db"))
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    params = client.prepare_index_params()
    params.add_index("vector", index_type="FLAT", metric_type="IP")
    began = time.perf_counter()
    client.create_collection("scale", schema=schema, index_params=params)
    step = 5_000
    for start in range(0, len(data), step):
        block = data[start:start + step]
        client.insert("scale", [{"id": start + i, "vector": v} for i, v in enumerate(block.tolist())])
    client.flush("scale")
    client.load_collection("scale")
    build = time.perf_counter() - began
    found, took = [], []
    for vector in q:
        began = time.perf_counter()
        hits = client.search("scale", data=[vector.tolist()], anns_field="vector", limit=K,
                             search_params={"metric_type": "IP"})
        took.append(time.perf_counter() - began)
        found.append([h["id"] for h in hits[0]])
    client.close()
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    row = {"store": "milvus-lite FLAT", "build_s": round(build, 1), **percentiles(took),
           "recall@10": recall(np.array(found), truth), "disk_mb": round(size / 1e6, 1)}
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(row), flush=True)
    return row


def main() -> int:
    cli = parser(__doc__)
    cli.add_argument("--sizes", default="100000,1000000", help="comma-separated corpus sizes")
    cli.add_argument("--budget", type=float, default=900, help="seconds after which no new phase starts")
    cli.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/store_scale.json")
    args = cli.parse_args()
    faiss.omp_set_num_threads(2)
    began = time.perf_counter()
    report: dict = {"dimension": DIM, "queries": QUERIES, "k": K, "threads": 2, "results": {}, "skipped": []}

    def budget_left(what: str) -> bool:
        if time.perf_counter() - began < args.budget:
            return True
        report["skipped"].append(what)
        print(f"skipped (over budget): {what}", flush=True)
        return False

    for n in (int(s) for s in args.sizes.split(",")):
        print(f"-- {n:,} vectors", flush=True)
        data = corpus(n)
        q = queries(data)
        rows = []
        flat, truth = run_faiss("faiss IndexFlatIP", faiss.IndexFlatIP(DIM), data, q, None)
        rows.append(flat)
        if n <= 200_000 and budget_left(f"{n} hnsw"):
            hnsw = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = 40
            hnsw.hnsw.efSearch = 64
            rows.append(run_faiss("faiss HNSW32 efC40 efS64", hnsw, data, q, truth)[0])
        nlist, nprobe = (1024, 16) if n <= 200_000 else (4096, 32)
        if budget_left(f"{n} ivf"):
            ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
            ivf.nprobe = nprobe
            rng = np.random.default_rng(2)
            sample = data[rng.choice(len(data), min(len(data), 100_000), replace=False)]
            rows.append(run_faiss(f"faiss IVF{nlist} nprobe{nprobe}", ivf, data, q, truth, train=sample)[0])
        if budget_left(f"{n} milvus-lite"):
            rows.append(run_milvus(data, q, truth, ROOT / "var" / "store-scale"))
        report["results"][str(n)] = rows
        del data
    report["seconds"] = round(time.perf_counter() - began, 1)
    report["command"] = f"nice -n 10 {command()}"
    if not args.no_save:
        write_result("store_scale", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
