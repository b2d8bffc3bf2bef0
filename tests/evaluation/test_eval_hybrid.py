"""The evaluation hybrid: fixed fusion weights, and the convex weight chosen on held-out queries only."""

from __future__ import annotations

import numpy as np
import pytest

from textmetric.errors import ConfigError
from textmetric.evaluation.datasets import RetrievalData
from textmetric.evaluation.hybrid import describe_hybrid, hybrid_topk, query_folds
from textmetric.evaluation.metrics import evaluate_rankings
from textmetric.search import TopK, rrf_topk

# Per query three documents: relevant r, distractor x, filler y (scores in that order).
BM25_RIGHT = {"bm25": (10.0, 2.0, 1.0), "dense": (0.85, 0.9, 0.1)}  # only BM25 puts r first
DENSE_RIGHT = {"bm25": (9.0, 10.0, 1.0), "dense": (0.9, 0.3, 0.2)}  # only the model does


def _data(n_queries: int = 20):
    qids = [f"q{i}" for i in range(n_queries)]
    fold = query_folds(qids)
    data = RetrievalData(
        name="toy",
        query_ids=qids,
        queries=[f"question {i}" for i in range(n_queries)],
        doc_ids=[f"d{j:03d}" for j in range(3 * n_queries)],
        documents=[f"doc {j}" for j in range(3 * n_queries)],
        qrels={q: {f"d{3 * i:03d}": 1.0} for i, q in enumerate(qids)},
        source="toy",
    )
    runs = {}
    for system in ("bm25", "dense"):
        scores = np.array([(BM25_RIGHT if f == 0 else DENSE_RIGHT)[system] for f in fold], np.float32)
        indices = np.array([[3 * i, 3 * i + 1, 3 * i + 2] for i in range(n_queries)])
        order = np.argsort(-scores, axis=1, kind="stable")
        runs[system] = TopK(np.take_along_axis(scores, order, 1), np.take_along_axis(indices, order, 1))
    return data, runs, fold


def _ndcg(data, topk) -> float:
    return evaluate_rankings(data.rankings(topk.indices), data.qrels, ["ndcg@10"]).metrics["ndcg@10"]


def test_folds_are_fixed_and_balanced():
    qids = [f"q{i}" for i in range(11)]
    fold = query_folds(qids)
    assert fold.tolist() == query_folds(qids).tolist()
    assert sorted(np.bincount(fold).tolist()) == [5, 6]


def test_convex_weight_is_chosen_on_the_other_fold():
    data, runs, fold = _data()
    assert 0 < fold.sum() < len(fold)
    hybrid, info = hybrid_topk(data, runs["bm25"], runs["dense"], fusion="convex", depth=3)
    # fold 0 (BM25 is right) is ranked with the weight best on fold 1 (the model is right), and
    # vice versa: fold 1 gets the smallest weight, which is too small for its queries
    assert info["fold_weights"][0] > info["fold_weights"][1] == 0.05
    assert info["best_weight_all_queries"] == 0.15
    in_sample, _ = hybrid_topk(data, runs["bm25"], runs["dense"], fusion="convex", dense_weight=0.15, depth=3)
    assert _ndcg(data, in_sample) == pytest.approx(1.0)  # the weight picked on all queries is flawless
    assert _ndcg(data, hybrid) < 1.0  # held out, it is not: the report does not flatter the hybrid
    wrong = hybrid.indices[fold == 1, 0]
    assert all(doc % 3 == 1 for doc in wrong)  # the distractor first, as BM25 put it
    assert info["fold_weights"] == [0.15, 0.05]
    line = describe_hybrid(info)
    assert "model weight 0.15 / 0.05" in line and "0.15 on all queries" in line


def test_fixed_weight_and_default_rrf():
    data, runs, _ = _data()
    rrf, info = hybrid_topk(data, runs["bm25"], runs["dense"], depth=3)
    assert info == {"fusion": "rrf", "dense_weight": "equal"}
    assert describe_hybrid(info) == "rrf fusion, equal weights"
    assert rrf.indices.tolist() == rrf_topk([runs["bm25"], runs["dense"]], top_k=3).indices.tolist()
    bm25_only, _ = hybrid_topk(data, runs["bm25"], runs["dense"], fusion="convex", dense_weight=0.0, depth=3)
    assert bm25_only.indices.tolist() == runs["bm25"].indices.tolist()
    with pytest.raises(ConfigError, match="between 0 and 1"):
        hybrid_topk(data, runs["bm25"], runs["dense"], fusion="convex", dense_weight=1.5)
    with pytest.raises(ConfigError, match="fusion"):
        hybrid_topk(data, runs["bm25"], runs["dense"], fusion="sum")
