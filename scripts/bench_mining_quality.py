"""Benchmark: do mined hard negatives train a better retriever than random negatives?

Same base, same budget, two training sets that differ only in their negatives:

* JSQuAD validation paragraphs as documents (article title = label); the articles are split by a
  seeded shuffle into training and held-out articles.
* Positives from the training articles: ``title-body`` + ``same-label`` (identical in both runs).
* (a) one **random** negative per pair; (b) one **BM25 hard** negative per pair (a random one where
  BM25 finds none that passes the rules). Both with the same false-negative rules (no same-article
  paragraph, margin 0.95).
* Both train the same tiny-ja base (built once from the training texts; ``TrainConfig(model=
  "tiny-ja")`` would learn a vocabulary from each run's own file, which differ) with MNRL, the same
  seed, steps and batch size.
* Evaluation on the held-out articles only: every JSQuAD question -> its paragraph among all
  held-out paragraphs (nDCG@10, MRR@10, recall@10 by :mod:`textmetric.evaluation.metrics`), and
  each held-out article title -> its paragraphs. The untrained base and BM25 are measured on the
  same split for scale, and a paired bootstrap over questions gives a 95% interval for (b) - (a).

Usage::

    python scripts/bench_mining_quality.py                 # about 10-15 min on 2 CPU cores
    python scripts/bench_mining_quality.py --steps 50      # quicker, noisier
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
JSQUAD = (REPO / ".." / "shared" / "data" / "jsquad" / "valid.json").resolve()
METRICS = ("ndcg@10", "mrr@10", "recall@10")


def split_articles(labels: list[str], holdout: float, seed: int) -> tuple[set[str], set[str]]:
    names = sorted(set(labels))
    rng = np.random.default_rng(seed)
    rng.shuffle(names)
    n_test = max(1, round(len(names) * holdout))
    return set(names[n_test:]), set(names[:n_test])


def rank_dense(model, queries: list[str], corpus: list[str], ids: list[str], k: int = 100) -> list[list[str]]:
    from textmetric.api import TextMetric
    from textmetric.search.topk import dense_topk

    tm = model if isinstance(model, TextMetric) else TextMetric(model)
    q = tm.encode(queries, role="query", batch_size=128)
    d = tm.encode(corpus, role="document", batch_size=128)
    top = dense_topk(q, d, min(k, len(corpus)), similarity=tm.similarity_fn)  # type: ignore[arg-type]
    return [[ids[j] for j in row] for row in top.indices]


def rank_bm25(queries: list[str], corpus: list[str], ids: list[str], k: int = 100) -> list[list[str]]:
    from textmetric.search.bm25 import BM25Retriever

    top = BM25Retriever().index(corpus).search(queries, k=min(k, len(corpus)))
    return [[ids[j] for j in row] for row in top.indices]


def score(rankings: list[list[str]], qrels: list[dict[str, float]]):
    from textmetric.evaluation.metrics import evaluate_rankings

    keys = [str(i) for i in range(len(qrels))]
    result = evaluate_rankings(
        dict(zip(keys, rankings, strict=True)),
        dict(zip(keys, qrels, strict=True)),
        METRICS,
        keep_per_query=True,
    )
    per_query = np.array([result.per_query[k]["ndcg@10"] for k in keys])
    return {m: round(v, 4) for m, v in result.metrics.items()}, per_query


def bootstrap(diff: np.ndarray, seed: int, rounds: int = 2000) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = rng.choice(diff, size=(rounds, len(diff)), replace=True).mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(JSQUAD), help="JSQuAD valid.json")
    parser.add_argument("--holdout", type=float, default=0.25, help="share of articles held out")
    parser.add_argument("--steps", type=int, default=150, help="training steps (both runs)")
    parser.add_argument("--depth", type=int, default=200, help="BM25 candidates per anchor")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128, help="tiny-ja hidden size")
    parser.add_argument("--layers", type=int, default=2, help="tiny-ja layers")
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", default=None, help="keep the mined files and models here")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from textmetric.data.jglue import load_jsquad_documents, load_jsquad_retrieval
    from textmetric.mining import mine
    from textmetric.models import build_dual_encoder
    from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja
    from textmetric.training import TrainConfig, train
    from textmetric.training.config import DEFAULT_LR_SCRATCH

    started = time.time()
    documents = load_jsquad_documents(args.data)
    retrieval = load_jsquad_retrieval(args.data)
    train_articles, test_articles = split_articles([d.label for d in documents], args.holdout, args.seed)
    train_docs = [d for d in documents if d.label in train_articles]
    test_docs = [d for d in documents if d.label in test_articles]
    test_ids = [d.id for d in test_docs]
    corpus = [d.text for d in test_docs]
    label_of = {d.id: d.label for d in test_docs}
    questions = [(q, rel) for qid, q in retrieval.queries.items() for rel in [retrieval.qrels[qid]]]
    questions = [(q, rel) for q, rel in questions if all(doc in label_of for doc in rel)]
    q_texts = [q for q, _ in questions]
    q_rels = [rel for _, rel in questions]
    titles = sorted(test_articles)
    t_rels = [{d.id: 1.0 for d in test_docs if d.label == t} for t in titles]
    print(
        f"articles: {len(train_articles)} train / {len(test_articles)} held out; paragraphs: "
        f"{len(train_docs)} train / {len(test_docs)} held out; held-out questions: {len(questions)}",
        flush=True,
    )

    context = tempfile.TemporaryDirectory(prefix="bench-mining-quality-") if args.work is None else None
    work = Path(args.work or context.name)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    docs_file = work / "train_docs.jsonl"
    docs_file.write_text(
        "".join(
            json.dumps({"id": d.id, "title": d.title, "text": d.text, "label": d.label}, ensure_ascii=False)
            + "\n"
            for d in train_docs
        ),
        encoding="utf-8",
    )
    common = {
        "positives": ["title-body", "same-label"],
        "num_negatives": 1,
        "depth": args.depth,
        "seed": args.seed,
        "overwrite": True,
    }
    mined = {
        "random": mine(docs_file, work / "random.jsonl", negatives=["random"], **common),
        "bm25": mine(docs_file, work / "bm25.jsonl", negatives=["bm25", "random"], **common),
    }
    for name, result in mined.items():
        neg = result.summary["negatives"]
        print(f"mined ({name}): {len(result)} rows; negatives {neg['per_miner']}; rejected {neg['rejected']}")

    base = work / "base"
    if not (base / "config.json").is_file():
        build_tiny_ja(
            [t for d in train_docs for t in (d.title, d.text)],
            base,
            config=TinyJaConfig(
                hidden_size=args.hidden,
                num_layers=args.layers,
                num_heads=max(1, args.hidden // 64),
                intermediate_size=4 * args.hidden,
                seed=args.seed,
            ),
            overwrite=True,
        )
    results: dict[str, dict] = {}
    per_query: dict[str, np.ndarray] = {}

    def evaluate(name: str, model) -> None:
        q_metrics, q_ndcg = score(rank_dense(model, q_texts, corpus, test_ids), q_rels)
        t_metrics, _ = score(rank_dense(model, titles, corpus, test_ids), t_rels)
        results[name] = {"questions": q_metrics, "titles": t_metrics}
        per_query[name] = q_ndcg
        print(f"{name:>22}: questions {q_metrics}  titles {t_metrics}", flush=True)

    bm25_q, bm25_ndcg = score(rank_bm25(q_texts, corpus, test_ids), q_rels)
    bm25_t, _ = score(rank_bm25(titles, corpus, test_ids), t_rels)
    results["bm25 (no training)"] = {"questions": bm25_q, "titles": bm25_t}
    print(f"{'bm25 (no training)':>22}: questions {bm25_q}  titles {bm25_t}", flush=True)
    evaluate("tiny-ja base (untrained)", build_dual_encoder(str(base), max_seq_length=args.max_seq_length))
    seconds: dict[str, float] = {}
    for name in ("random", "bm25"):
        step = time.time()
        config = TrainConfig(
            data=[str(work / f"{name}.jsonl")],
            output=str(work / f"model-{name}"),
            model=str(base),
            lr=DEFAULT_LR_SCRATCH,
            max_steps=args.steps,
            batch_size=args.batch_size,
            max_seq_length=args.max_seq_length,
            seed=args.seed,
            save_steps=10**9,
            logging_steps=max(1, args.steps // 5),
            overwrite=True,
        )
        trained = train(config)
        seconds[name] = round(time.time() - step, 1)
        first, last = trained.loss_history[0][1], trained.loss_history[-1][1]
        loss = f"loss {first:.3f} -> {last:.3f}"
        print(f"trained ({name} negatives): {trained.steps} steps in {seconds[name]} s, {loss}", flush=True)
        from sentence_transformers import SentenceTransformer

        evaluate(f"{name} negatives", SentenceTransformer(str(trained.output), device="cpu"))

    diff = per_query["bm25 negatives"] - per_query["random negatives"]
    low, high = bootstrap(diff, args.seed)
    a = results["random negatives"]["questions"]["ndcg@10"]
    b = results["bm25 negatives"]["questions"]["ndcg@10"]
    summary = {
        "split": {
            "train_articles": len(train_articles),
            "test_articles": len(test_articles),
            "train_paragraphs": len(train_docs),
            "test_paragraphs": len(test_docs),
            "questions": len(questions),
        },
        "budget": {
            "steps": args.steps,
            "batch_size": args.batch_size,
            "hidden": args.hidden,
            "layers": args.layers,
        },
        "results": results,
        "ndcg@10 questions: hard - random": round(b - a, 4),
        "ratio hard / random": round(b / a, 3) if a else None,
        "95% bootstrap interval of the difference": [round(low, 4), round(high, 4)],
        "bm25 ndcg per query mean": round(float(bm25_ndcg.mean()), 4),
        "train_seconds": seconds,
        "total_seconds": round(time.time() - started, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "results"}, ensure_ascii=False, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if context is not None:
        context.cleanup()


if __name__ == "__main__":
    main()
