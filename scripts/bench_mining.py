"""Benchmark: documents/s and peak memory of ``textmetric mine`` on a synthetic corpus.

The corpus is short Japanese documents (a 2-5 word title, a 12-40 word body; about 70 characters)
built from the word distribution of JSTS sentences, with one of ``docs / 50`` labels each; a label
prefers its own 30 topic words, so BM25 and the model have real near-duplicates to find (and the
label rule has same-label candidates to refuse). Each size runs in a fresh process, so the peak RSS
is that size's own; mining is end to end: read the Parquet file, validate, positives (title-body
and same-label), negatives, write the rows and the summary.

BM25 and dense search score every anchor against (a share of) every document in blocks, so their
time grows with ``anchors x documents`` while memory stays linear. ``--bm25-max-df 0.05`` (what
``bm25_max_df="auto"`` uses from 100,000 documents) keeps a BM25 query from touching most
documents, and ``--dense-index ivf`` (the default here) scans about a tenth of the documents per
query; both stay quadratic, with smaller constants. The report extrapolates each stage to
``--target`` documents (1,000,000 by default) from the two largest sizes run: the search stages as
``c * n^e`` (the exponent is printed), the linear stages and peak memory from their marginal cost per
document. Read it as an estimate, and mind the load average printed with each size: wall times on a
shared machine are inflated, CPU seconds less so.

Full runs at 1,000,000 documents take hours on 2 cores, so ``--probe-docs`` measures what does not
fit: at each probe size the whole BM25 index is built (all documents tokenized and indexed) and the
search is timed on ``--probe-anchors`` sampled anchors; dense search (exact blocked top-k and faiss
IVF) is timed on random unit vectors of the model's width, since search time does not depend on
what the vectors mean. The final estimate combines the linear stages of the full runs with the
probes' search cost per anchor times the anchors expected.

Baseline in the same run: ``random`` negatives only (no search) at the same sizes.

Usage::

    # what the report quotes: about 10 minutes on 2 cores
    python scripts/bench_mining.py --docs 10000,30000 --dense-docs 2000,6000 --probe-docs 100000,1000000
    python scripts/bench_mining.py --docs 1000000      # everything end to end at 1M (hours)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared" / "data").resolve()


def _vocabulary(seed: int):
    """Words and their frequencies from JSTS sentences (MeCab surface words, particles kept)."""
    import numpy as np

    from textmetric.text.words import word_tokenize

    texts: list[str] = []
    source = SHARED / "jsts" / "train.jsonl"
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts += [row["sentence1"], row["sentence2"]]
    counts: dict[str, int] = {}
    for text in texts:
        for word in word_tokenize(text):
            counts[word] = counts.get(word, 0) + 1
    words = sorted(counts, key=lambda w: (-counts[w], w))
    freq = np.array([counts[w] for w in words], dtype=np.float64)
    content = np.array([len(w) >= 2 for w in words])  # topic words: 2+ characters, not particles
    return words, freq / freq.sum(), np.flatnonzero(content)


def synthetic_corpus(n: int, path: Path, seed: int = 0) -> dict[str, float]:
    """Write ``n`` documents (id, title, text, label) to ``path`` (Parquet)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    words, p, content = _vocabulary(seed)
    n_labels = max(2, n // 50)
    topics = rng.choice(content[:5000], size=(n_labels, 30))
    label = rng.integers(0, n_labels, size=n)
    title_len = rng.integers(2, 6, size=n)
    body_len = rng.integers(12, 41, size=n)
    total = int(body_len.sum())
    background = rng.choice(len(words), size=total, p=p)
    topical = topics[np.repeat(label, body_len), rng.integers(0, 30, size=total)]
    body_words = np.where(rng.random(total) < 0.3, topical, background)
    title_words = topics[np.repeat(label, title_len), rng.integers(0, 30, size=int(title_len.sum()))]
    ends = np.cumsum(body_len)
    t_ends = np.cumsum(title_len)
    vocab = np.array(words, dtype=object)
    bodies = ["".join(vocab[body_words[e - k : e]]) + "。" for e, k in zip(ends, body_len, strict=True)]
    titles = ["".join(vocab[title_words[e - k : e]]) for e, k in zip(t_ends, title_len, strict=True)]
    table = pa.table(
        {
            "id": [f"d{i}" for i in range(n)],
            "title": titles,
            "text": bodies,
            "label": [f"L{x}" for x in label],
        }
    )
    pq.write_table(table, path)
    return {"mean_chars": float(np.mean([len(b) for b in bodies])), "labels": n_labels}


def _model(folder: Path, hidden: int, layers: int):
    """An untrained tiny-ja dual encoder (speed does not depend on the weights)."""
    from textmetric.models import build_dual_encoder
    from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja

    if not (folder / "bert" / "config.json").is_file():
        words, _, _ = _vocabulary(0)
        texts = ["".join(words[i : i + 12]) for i in range(0, len(words), 12)]
        config = TinyJaConfig(
            vocab_size=8000, hidden_size=hidden, num_layers=layers, num_heads=4, intermediate_size=4 * hidden
        )
        build_tiny_ja(texts, folder / "bert", config=config, overwrite=True)
        model = build_dual_encoder(str(folder / "bert"), max_seq_length=64)
        model.save(str(folder / "model"))
    return folder / "model"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_one(args) -> dict:
    """One size in this process: corpus, mining, timings, peak RSS."""
    from textmetric.mining import mine

    work = Path(args.work)
    corpus = work / f"docs-{args.one}.parquet"
    started = time.perf_counter()
    info = synthetic_corpus(args.one, corpus, seed=args.seed)
    generate = time.perf_counter() - started
    miners = args.miners.split(",")
    model = str(_model(work / "tiny", args.hidden, args.layers)) if "dense" in miners else None
    out = work / f"pairs-{args.one}-{args.miners.replace(',', '+')}.parquet"
    result = mine(
        corpus,
        out,
        positives=["title-body", "same-label"],
        negatives=miners,
        num_negatives=args.num_negatives,
        model=model,
        dense_index=args.dense_index,
        bm25_max_df=_max_df(args),
        # The model is untrained (all similarities near 1), so the margin rule would refuse every
        # dense candidate; it costs the same either way.
        margin_ratio=None if "dense" in miners else 0.95,
        batch_size=128,
        overwrite=True,
        plot=False,
    )
    s = result.summary
    return {
        "docs": args.one,
        "miners": args.miners,
        "pairs": s["positives"]["total"],
        "anchors": len(set(result.positives.anchors)),
        "rows": s["output"]["rows"],
        "negatives_found": s["negatives"]["found"],
        "pairs_short": s["negatives"]["pairs_short"],
        "seconds": {**s["negatives"]["seconds"], **s["seconds"]},
        "generate_seconds": round(generate, 1),
        "docs_per_second": s["documents_per_second"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_seconds": round(_cpu(), 1),
        "dense_index": s["negatives"]["settings"].get("dense_index_used"),
        "mean_chars": round(info["mean_chars"], 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


def probe_bm25(args) -> dict:
    """BM25 search cost per anchor at ``args.one`` documents, on a sample of ``args.probe_anchors``."""
    from textmetric.mining import NegativeSettings, Positives, mine_positives, read_documents
    from textmetric.mining.negatives import _unique_anchors, bm25_candidates

    work = Path(args.work)
    corpus = work / f"docs-{args.one}.parquet"
    synthetic_corpus(args.one, corpus, seed=args.seed)
    docs = read_documents(corpus)
    pairs = mine_positives(docs, ["title-body", "same-label"])
    n_anchors = len(set(pairs.anchors))
    rows = np.unique(np.linspace(0, len(pairs) - 1, args.probe_anchors).astype(np.int64))
    sample = Positives(
        anchors=[pairs.anchors[i] for i in rows],
        positives=[pairs.positives[i] for i in rows],
        anchor_doc=pairs.anchor_doc[rows],
        positive_doc=pairs.positive_doc[rows],
        strategy=pairs.strategy[rows],
        anchor_is_doc=pairs.anchor_is_doc[rows],
        positive_is_doc=pairs.positive_is_doc[rows],
    )
    anchors = _unique_anchors(sample)
    settings = NegativeSettings(miners=("bm25",), num_negatives=args.num_negatives, bm25_max_df=_max_df(args))
    seconds: dict[str, float] = {}
    cpu = _cpu()
    bm25_candidates(docs, sample, anchors, np.arange(len(docs)), settings, seconds)
    per_anchor = seconds["bm25_search"] / len(anchors.texts)
    return {
        "docs": args.one,
        "miners": "probe-bm25",
        "anchors": n_anchors,
        "sampled_anchors": len(anchors.texts),
        "index_seconds": round(seconds["bm25_index"], 1),
        "search_ms_per_anchor": round(1000 * per_anchor, 3),
        "search_seconds_all_anchors": round(per_anchor * n_anchors, 1),
        "cpu_seconds": round(_cpu() - cpu, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


def probe_dense(args) -> dict:
    """Dense search cost per anchor at ``args.one`` documents: random unit vectors of the model's
    width (search time does not depend on what the vectors mean), exact blocked top-k and faiss IVF."""
    from textmetric.search.ann import AnnIndex
    from textmetric.search.topk import dense_topk

    rng = np.random.default_rng(args.seed)
    docs = rng.standard_normal((args.one, args.hidden), dtype=np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    queries = docs[rng.choice(args.one, args.probe_anchors, replace=False)]
    started = time.perf_counter()
    dense_topk(queries, docs, 50)
    exact = (time.perf_counter() - started) / len(queries)
    started = time.perf_counter()
    ann = AnnIndex(args.hidden, "ivf", seed=args.seed).build(docs, np.arange(args.one, dtype=np.int64))
    build = time.perf_counter() - started
    started = time.perf_counter()
    ann.search(queries, 50)
    ivf = (time.perf_counter() - started) / len(queries)
    return {
        "docs": args.one,
        "miners": "probe-dense",
        "exact_ms_per_anchor": round(1000 * exact, 3),
        "ivf_build_seconds": round(build, 1),
        "ivf_ms_per_anchor": round(1000 * ivf, 3),
        "ivf_nlist": ann.nlist,
        "ivf_nprobe": ann.nprobe,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


def _max_df(args) -> float | None:
    return None if args.bm25_max_df in ("none", "exact") else float(args.bm25_max_df)


def _child(n: int, miners: str, args, work: str) -> dict:
    command = [
        sys.executable, __file__, "--one", str(n), "--miners", miners, "--work", work,
        "--dense-index", args.dense_index, "--bm25-max-df", args.bm25_max_df,
        "--hidden", str(args.hidden), "--layers", str(args.layers),
        "--num-negatives", str(args.num_negatives), "--seed", str(args.seed),
        "--probe-anchors", str(args.probe_anchors),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"size {n} ({miners}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


SEARCH_STAGES = ("bm25_search", "dense_search")
"""Stages whose cost grows faster than linearly (anchors x documents); the others are linear."""


def _power(points: list[tuple[int, float]], target: int) -> tuple[float, float] | None:
    """Exponent and value at ``target`` of ``y = c * n^e`` through the two largest sizes."""
    points = [(n, y) for n, y in sorted(points) if y > 0]
    if len(points) < 2:
        return None
    (n1, y1), (n2, y2) = points[-2], points[-1]
    e = math.log(y2 / y1) / math.log(n2 / n1)
    return e, y2 * (target / n2) ** e


def _linear(points: list[tuple[int, float]], target: int) -> tuple[float, float] | None:
    """Marginal cost per document between the two largest sizes, and the value at ``target``
    (fixed costs such as loading a model do not grow)."""
    points = sorted(points)
    if len(points) < 2:
        return None
    (n1, y1), (n2, y2) = points[-2], points[-1]
    slope = max(0.0, (y2 - y1) / (n2 - n1))
    return slope, y2 + slope * (target - n2)


def _stages(result: dict) -> dict[str, float]:
    """Wall seconds per stage, with writing and overheads as ``other``."""
    seconds = dict(result["seconds"])
    total = seconds.pop("total")
    seconds.pop("negatives", None)
    seconds["other"] = max(0.0, total - sum(seconds.values()))
    return seconds


def extrapolate(results: list[dict], target: int) -> None:
    print(
        f"\nextrapolation to {target:,} documents from the two largest sizes: search stages as "
        "c * n^e, the others (and memory) linearly from their marginal cost:"
    )
    for miners in ("random", "bm25", "dense"):
        rows = [r for r in results if r["miners"] == miners]
        if len(rows) < 2:
            continue
        total = 0.0
        for stage in sorted({k for r in rows for k in _stages(r)}):
            points = [(r["docs"], _stages(r).get(stage, 0.0)) for r in rows]
            if stage in SEARCH_STAGES:
                fit = _power(points, target)
                how = f"exponent {fit[0]:4.2f}" if fit else ""
            else:
                fit = _linear(points, target)
                how = f"{fit[0] * 1000:6.3f} ms/doc" if fit else ""
            if fit:
                total += fit[1]
                print(f"  {miners:>6} {stage:<13} {how:>16} -> {fit[1] / 60:9.1f} min")
        print(f"  {miners:>6} {'TOTAL':<13} {'':>16} -> {total / 60:9.1f} min ({target / total:,.0f} docs/s)")
        memory = _linear([(r["docs"], r["peak_rss_mb"]) for r in rows], target)
        if memory:
            per_doc = f"{memory[0] * 1024:10.2f} KB/doc"
            print(f"  {miners:>6} {'peak RSS':<13} {per_doc:>16} -> {memory[1] / 1024:9.1f} GB")


def estimate(results: list[dict], target: int) -> None:
    """Totals at ``target`` documents using the probes' search cost per anchor (at the largest probe
    size, scaled linearly in the corpus size: a query scores a fixed share of the documents, for BM25
    those sharing a word with it, for IVF ``nprobe / nlist`` of them) times the anchors expected."""
    probes = {kind: max((r for r in results if r["miners"] == kind), key=lambda r: r["docs"], default=None)
              for kind in ("probe-bm25", "probe-dense")}  # fmt: skip
    bm25 = probes["probe-bm25"]
    if bm25 is None:
        return
    anchors = bm25["anchors"] / bm25["docs"] * target
    scale = target / bm25["docs"]
    print(f"\nestimate at {target:,} documents ({anchors:,.0f} anchors), search cost from the probes:")
    for miners, linear_skip in (("bm25", ("bm25_search", "bm25_index")), ("dense", ("dense_search",))):
        rows = [r for r in results if r["miners"] == miners]
        linear = 0.0
        for stage in sorted({k for r in rows for k in _stages(r)} - set(linear_skip)):
            fit = _linear([(r["docs"], _stages(r).get(stage, 0.0)) for r in rows], target)
            linear += fit[1] if fit else 0.0
        if miners == "bm25":
            linear += bm25["index_seconds"] * scale
            search_s = bm25["search_ms_per_anchor"] / 1000 * scale * anchors
            detail = f"{bm25['search_ms_per_anchor']:.2f} ms/anchor at {bm25['docs']:,} docs"
        else:
            dense = probes["probe-dense"]
            if dense is None or not rows:
                continue
            d_scale = target / dense["docs"]
            search_s = (
                dense["ivf_build_seconds"] * d_scale + dense["ivf_ms_per_anchor"] / 1000 * d_scale * anchors
            )
            exact_s = dense["exact_ms_per_anchor"] / 1000 * d_scale * anchors
            detail = (
                f"IVF {dense['ivf_ms_per_anchor']:.2f} ms/anchor at {dense['docs']:,} docs "
                f"(exact would take {exact_s / 3600:.1f} h)"
            )
        total = linear + search_s
        print(
            f"  {miners:>6}: linear stages {linear / 60:7.1f} min + search {search_s / 60:7.1f} min "
            f"({detail}) = {total / 3600:5.1f} h, {target / total:,.0f} docs/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", default="1000000", help="comma-separated corpus sizes for bm25 (+ random)")
    parser.add_argument("--dense-docs", default=None, help="sizes for dense negatives (default: --docs)")
    parser.add_argument("--target", type=int, default=1_000_000, help="size to extrapolate to")
    parser.add_argument("--dense-index", default="ivf", help="auto, exact, ivf or hnsw (ivf: what 1M needs)")
    parser.add_argument(
        "--bm25-max-df", default="0.05", help="query words in more than this share of documents are skipped"
    )
    parser.add_argument("--hidden", type=int, default=256, help="tiny-ja hidden size (tiny-ja default 256)")
    parser.add_argument("--layers", type=int, default=4, help="tiny-ja layers (tiny-ja default 4)")
    parser.add_argument("--num-negatives", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--probe-docs",
        default="",
        help="sizes at which only the search stages are timed, on --probe-anchors sampled anchors",
    )
    parser.add_argument("--probe-anchors", type=int, default=2000)
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--miners", default="bm25", help=argparse.SUPPRESS)
    parser.add_argument("--work", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.one is not None:
        runner = {"probe-bm25": probe_bm25, "probe-dense": probe_dense}.get(args.miners, run_one)
        print(json.dumps(runner(args)))
        return

    sizes = [int(x) for x in args.docs.split(",") if x]
    dense_sizes = [int(x) for x in (args.dense_docs or args.docs).split(",") if x]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-mining-") as work:
        for miners, plan in (("random", sizes), ("bm25", sizes), ("dense", dense_sizes)):
            for n in plan:
                result = _child(n, miners, args, work)
                results.append(result)
                print(
                    f"{miners:>6} {n:>9,} docs: {result['seconds']['total']:8.1f} s  "
                    f"{result['docs_per_second']:9.1f} docs/s  CPU {result['cpu_seconds']:8.1f} s  "
                    f"peak RSS {result['peak_rss_mb']:8.1f} MB  "
                    f"stages {result['seconds']}  (load {result['load_average']})",
                    flush=True,
                )
        for n in [int(x) for x in args.probe_docs.split(",") if x]:
            for kind in ("probe-bm25", "probe-dense"):
                result = _child(n, kind, args, work)
                results.append(result)
                shown = {k: v for k, v in result.items() if k not in ("docs", "miners")}
                print(f"{kind:>11} {n:>9,} docs: {shown}", flush=True)
    extrapolate(results, args.target)
    estimate(results, args.target)
    baseline = {r["docs"]: r["seconds"]["total"] for r in results if r["miners"] == "random"}
    print("\nratio to the random-negatives baseline (same size, same run):")
    for r in results:
        if r["miners"] != "random" and r["docs"] in baseline:
            ratio = r["seconds"]["total"] / baseline[r["docs"]]
            print(f"  {r['miners']:>6} {r['docs']:>9,} docs: {ratio:6.1f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
