"""Benchmark the Python API: encode throughput against plain sentence-transformers, and search latency.

1. **Encode.** ``TextMetric.encode`` against ``SentenceTransformer.encode`` on the same model folder
   and the same texts (unique JSTS sentences, all shorter than ``max_seq_length``, so both do the
   same model work), same batch size, in the same process, rounds alternating the order. The
   models are tiny-ja builds (random weights: speed does not depend on training): ``tiny`` (256
   hidden, 4 layers) and ``base`` (768 hidden, 12 layers, the shape of
   ``tohoku-nlp/bert-base-japanese-v3``). The fast tokenizer's word-split cache is cleared before
   every timed round, so repeated rounds do not profit from it. Also reported: TextMetric with the
   slow tokenizer (the API's own overhead) and the largest difference between the embeddings.
2. **Search.** ``SimilarityIndex`` over synthetic unit vectors (a 64-dimensional Gaussian mixture
   of ``n / 50`` clusters mapped linearly to ``--dim`` dimensions plus noise: clustered like real
   embeddings, with overlapping clusters so that approximate search is not trivially exact, and
   the same density at every size), for each ``--sizes``: latency of one query and per query in a batch of 100
   (k = 10), build time, and recall@10 of the approximate backends against exact search.

Times are CPU times of the benchmark process with one torch / faiss thread (``--threads``), so
that a busy shared machine does not decide the result; wall times are printed too.

Run: ``.venv/bin/python scripts/bench_api.py`` (about 15 minutes on an idle 2-core machine);
``--quick`` for a smoke run (small sizes).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared" / "data").resolve()

MODEL_SHAPES = {
    "tiny": {"hidden_size": 256, "num_layers": 4, "num_heads": 4, "intermediate_size": 1024},
    "base": {"hidden_size": 768, "num_layers": 12, "num_heads": 12, "intermediate_size": 3072},
}


def load_texts(limit: int) -> list[str]:
    texts: list[str] = []
    for name in ("train.jsonl", "valid.jsonl"):
        with (SHARED / "jsts" / name).open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                texts += [row["sentence1"], row["sentence2"]]
    return list(dict.fromkeys(texts))[:limit]


def build_model(shape: str, texts: list[str], folder: Path, max_seq_length: int) -> Path:
    from textmetric.models import ModelMetadata, build_dual_encoder
    from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja

    config = TinyJaConfig(vocab_size=16000, **MODEL_SHAPES[shape])
    base = build_tiny_ja(texts, folder / f"{shape}-base", config=config)
    model = build_dual_encoder(str(base), max_seq_length=max_seq_length)
    out = folder / shape
    model.save(str(out))
    ModelMetadata(base_model=str(base), nfkc=True, max_seq_length=max_seq_length).save(out)
    return out


def timed(fn) -> tuple[float, float, object]:
    """``(wall seconds, CPU seconds of this process, result)``.

    CPU time is what the ratios use: on a shared machine wall time mostly measures the neighbours
    (with ``--threads 1``, CPU time is the work done, whoever else runs).
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def clear_word_cache(model) -> None:
    for module in model.modules():
        processor = getattr(module, "processor", None)
        if hasattr(processor, "cache_clear"):
            processor.cache_clear()


def bench_encode(shape: str, texts: list[str], folder: Path, rounds: int, batch_size: int) -> dict:
    from sentence_transformers import SentenceTransformer

    from textmetric import TextMetric

    model_dir = build_model(shape, texts, folder, max_seq_length=128)
    plain = SentenceTransformer(str(model_dir))
    fast = TextMetric.load(model_dir, batch_size=batch_size)
    slow = TextMetric.load(model_dir, batch_size=batch_size, fast_tokenizer=False)
    tokenizer = type(fast._transformer("document").tokenizer).__name__
    runners = {
        "sentence-transformers": lambda: plain.encode(texts, batch_size=batch_size),
        "TextMetric": lambda: fast.encode(texts, batch_size=batch_size),
        "TextMetric (slow tokenizer)": lambda: slow.encode(texts, batch_size=batch_size),
    }
    plain.encode(texts[:64], batch_size=batch_size)  # warm-up
    fast.encode(texts[:64])
    slow.encode(texts[:64])
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    wall: dict[str, list[float]] = {name: [] for name in runners}
    outputs = {}
    for number in range(rounds):
        order = list(runners) if number % 2 == 0 else list(reversed(runners))
        for name in order:
            clear_word_cache(fast.model)
            gc.collect()
            seconds, cpu_seconds, outputs[name] = timed(runners[name])
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
    base = "sentence-transformers"
    return {
        "model": shape,
        "shape": MODEL_SHAPES[shape],
        "texts": len(texts),
        "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
        "batch_size": batch_size,
        "rounds": rounds,
        "fast_tokenizer": tokenizer,
        "texts_per_cpu_s": {name: round(len(texts) / statistics.median(ts), 1) for name, ts in cpu.items()},
        "texts_per_wall_s": {name: round(len(texts) / statistics.median(ts), 1) for name, ts in wall.items()},
        "ratio_vs_sentence_transformers": {
            name: round(statistics.median(b / t for b, t in zip(cpu[base], ts, strict=True)), 3)
            for name, ts in cpu.items()
            if name != base
        },
        "wall_ratio": round(
            statistics.median(b / t for b, t in zip(wall[base], wall["TextMetric"], strict=True)), 3
        ),
        "per_round_ratio": [round(b / t, 3) for b, t in zip(cpu[base], cpu["TextMetric"], strict=True)],
        "max_abs_diff": float(np.abs(outputs["TextMetric"] - outputs[base]).max()),
    }


SPREAD = 0.6
POINTS_PER_CLUSTER = 50


def synthetic(n: int, dim: int, seed: int, *, clusters: int, latent: int = 64) -> np.ndarray:
    """Unit vectors: latent Gaussian mixture (``clusters`` centres, spread ``SPREAD``), mapped to ``dim``."""
    basis_rng = np.random.default_rng(12345)  # shared by corpus and queries
    basis = (basis_rng.normal(size=(latent, dim)) / np.sqrt(latent)).astype(np.float32)
    centres = basis_rng.normal(size=(clusters, latent)).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        z = centres[rng.integers(0, clusters, m)] + SPREAD * rng.normal(size=(m, latent)).astype(np.float32)
        x = z @ basis + 0.1 * rng.normal(size=(m, dim)).astype(np.float32)
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def _latency(index, queries: np.ndarray, k: int = 10) -> tuple[float, float, float, list]:
    """Median CPU and wall ms of one query, CPU ms per query in a batch of 100, and the batch's results."""
    cpu, wall = [], []
    for query in queries[:30]:
        seconds, cpu_seconds, _ = timed(lambda q=query: index.search_embeddings(q[None], k))
        wall.append(seconds)
        cpu.append(cpu_seconds)
    _, batch_cpu, results = timed(lambda: index.search_embeddings(queries[:100], k))
    per_query = batch_cpu / len(queries[:100])
    return statistics.median(cpu) * 1000, statistics.median(wall) * 1000, per_query * 1000, results


def bench_search(tm, n: int, dim: int, hnsw_max: int, flat: bool) -> dict:
    from textmetric.index import SimilarityIndex

    clusters = max(100, n // POINTS_PER_CLUSTER)  # same density at every size
    vectors = synthetic(n, dim, seed=1, clusters=clusters)
    queries = synthetic(100, dim, seed=2, clusters=clusters)
    index = SimilarityIndex(tm, backend="exact", store_text=False)
    index.add_embeddings(vectors)
    del vectors
    gc.collect()
    rows = {}
    single, single_wall, batch, exact = _latency(index, queries)
    truth = [set(r.ids) for r in exact]
    rows["exact"] = {
        "build_s": 0.0,
        "single_ms": round(single, 2),
        "single_wall_ms": round(single_wall, 2),
        "batch_ms_per_query": round(batch, 3),
    }
    kinds = (["flat"] if flat else []) + ["ivf"] + (["hnsw"] if n <= hnsw_max else [])
    for kind in kinds:
        index.backend = kind
        index._ann = None
        gc.collect()
        _, build, _ = timed(index.rebuild)
        single, single_wall, batch, found = _latency(index, queries)
        recall = float(np.mean([len(t & set(r.ids)) / 10 for t, r in zip(truth, found, strict=True)]))
        settings = index._ann.settings()
        rows[kind] = {
            "build_s": round(build, 1),
            "single_ms": round(single, 2),
            "single_wall_ms": round(single_wall, 2),
            "batch_ms_per_query": round(batch, 3),
            "recall@10": round(recall, 4),
            **({"nlist": settings["nlist"], "nprobe": settings["nprobe"]} if kind == "ivf" else {}),
            **({"m": settings["m"], "ef_search": settings["ef_search"]} if kind == "hnsw" else {}),
        }
    return {"vectors": n, "dim": dim, "backends": rows}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--models", default="tiny,base", help="model shapes: tiny, base")
    parser.add_argument("--texts", type=int, default=2000, help="texts for the tiny model")
    parser.add_argument("--base-texts", type=int, default=500, help="texts for the base-shaped model")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch and faiss threads (0: their default)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="largest size to build HNSW for")
    parser.add_argument("--no-flat", action="store_true", help="skip faiss IndexFlatIP")
    parser.add_argument("--skip-encode", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.texts, args.base_texts, args.rounds, args.sizes, args.models = 400, 100, 1, "5000,20000", "tiny"

    import faiss
    import torch

    from textmetric import TextMetric

    if args.threads:
        torch.set_num_threads(args.threads)
        faiss.omp_set_num_threads(args.threads)

    report: dict = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)",
        "encode": [],
        "search": [],
    }
    texts = load_texts(max(args.texts, args.base_texts))
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        folder = Path(tmp)
        if not args.skip_encode:
            for shape in args.models.split(","):
                subset = texts[: args.base_texts if shape == "base" else args.texts]
                row = bench_encode(shape, subset, folder, args.rounds, args.batch_size)
                report["encode"].append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
        if not args.skip_search:
            from textmetric.models import build_dual_encoder
            from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja

            config = TinyJaConfig(
                vocab_size=2000, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64
            )
            base = build_tiny_ja(texts[:500], folder / "search-base", config=config)
            tm = TextMetric(build_dual_encoder(str(base), max_seq_length=32))
            for size in (int(s) for s in args.sizes.split(",")):
                row = bench_search(tm, size, args.dim, args.hnsw_max, not args.no_flat)
                report["search"].append(row)
                print(json.dumps(row), flush=True)
    print_report(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


def print_report(report: dict) -> None:
    print(f"\n# bench_api  ({report['machine']})\n$ {report['command']}\n")
    if report["encode"]:
        print("## encode throughput: texts per CPU second; ratio = sentence-transformers CPU time / ours")
        print("## (median of per-round ratios); wall ratio = the same on wall-clock time")
        print(
            "| model | texts | sentence-transformers | TextMetric | ratio | wall ratio "
            "| slow-tokenizer ratio | max diff |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for row in report["encode"]:
            speed, ratio = row["texts_per_cpu_s"], row["ratio_vs_sentence_transformers"]
            slow, diff, wall = ratio["TextMetric (slow tokenizer)"], row["max_abs_diff"], row["wall_ratio"]
            print(
                f"| {row['model']} | {row['texts']} | {speed['sentence-transformers']} | "
                f"{speed['TextMetric']} | {ratio['TextMetric']:.2f} | {wall:.2f} | {slow:.2f} | {diff:.1e} |"
            )
    if report["search"]:
        print("\n## search (k = 10; CPU ms of one query (wall in brackets), per query in a batch of 100)")
        print("| vectors | dim | backend | build CPU s | 1 query ms | batched ms/query | recall@10 |")
        print("|---|---|---|---|---|---|---|")
        for row in report["search"]:
            for name, values in row["backends"].items():
                recall = values.get("recall@10")
                extra = f" (nlist {values['nlist']}, nprobe {values['nprobe']})" if name == "ivf" else ""
                print(
                    f"| {row['vectors']:,} | {row['dim']} | {name}{extra} | {values['build_s']} | "
                    f"{values['single_ms']} ({values['single_wall_ms']}) | {values['batch_ms_per_query']} | "
                    f"{'exact' if recall is None else f'{recall:.3f}'} |"
                )


if __name__ == "__main__":
    main()
