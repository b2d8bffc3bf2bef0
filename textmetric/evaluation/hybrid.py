"""The BM25 + model hybrid of an evaluation, and an honest choice of its fusion weight.

``rrf`` (default) needs no weight. ``convex`` (:func:`textmetric.search.fusion.convex_fusion`)
does, and a weight picked on the very queries it is then scored on flatters it. With no weight
given, the weight is chosen by **two-fold cross-validation over the queries**: the queries are
split in two halves (a fixed shuffle), each half is ranked with the weight that scores best on
the *other* half, and the reported metrics are those of these held-out rankings. The weights
chosen (one per fold, and the one best on all queries, for ``textmetric index --dense-weight``)
are recorded in the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from textmetric.evaluation.datasets import RetrievalData
from textmetric.evaluation.metrics import evaluate_rankings
from textmetric.search.fusion import DEFAULT_RRF_K, check_fusion, fuse_topk
from textmetric.search.topk import TopK

DENSE_WEIGHT_GRID = tuple(round(0.05 * step, 2) for step in range(1, 20))  # 0.05 .. 0.95
SELECTION_METRIC = "ndcg@10"
FOLD_SEED = 0
BM25_FLOORS = (0.0, None)  # [bm25, model]: a document BM25 did not list shares no word with the query


def _weights(dense_weight: float | None) -> list[float] | None:
    """Fusion weights of ``[bm25, model]``."""
    return None if dense_weight is None else [1.0 - dense_weight, dense_weight]


def query_folds(query_ids: Sequence[str], folds: int = 2, seed: int = FOLD_SEED) -> np.ndarray:
    """Fold number of each query: a fixed shuffle cut into ``folds`` nearly equal parts."""
    order = np.random.default_rng(seed).permutation(len(query_ids))
    fold = np.empty(len(query_ids), dtype=np.int64)
    fold[order] = np.arange(len(query_ids)) % folds
    return fold


def hybrid_topk(
    data: RetrievalData,
    bm25: TopK,
    model: TopK,
    *,
    fusion: str = "rrf",
    dense_weight: float | None = None,
    rrf_k: int = DEFAULT_RRF_K,
    depth: int = 100,
    grid: Sequence[float] = DENSE_WEIGHT_GRID,
) -> tuple[TopK, dict[str, Any]]:
    """The hybrid's rankings and a description of how they were fused (for the report).

    ``convex`` without ``dense_weight``: the weight is cross-validated (see the module doc).
    """
    check_fusion(fusion, dense_weight)
    if fusion == "rrf" or dense_weight is not None:
        fused = fuse_topk(
            [bm25, model],
            fusion=fusion,  # type: ignore[arg-type]
            weights=_weights(dense_weight),
            rrf_k=rrf_k,
            floors=BM25_FLOORS,
            top_k=depth,
        )
        weight = "equal" if dense_weight is None else dense_weight
        return fused, {"fusion": fusion, "dense_weight": weight}
    runs = {
        w: fuse_topk([bm25, model], fusion="convex", weights=_weights(w), floors=BM25_FLOORS, top_k=depth)
        for w in grid
    }
    per_query = {
        w: evaluate_rankings(data.rankings(run.indices), data.qrels, [SELECTION_METRIC], keep_per_query=True)
        for w, run in runs.items()
    }
    qids = list(data.query_ids)
    fold = query_folds(qids)
    values = {
        w: np.array([scores.per_query.get(q, {}).get(SELECTION_METRIC, np.nan) for q in qids])
        for w, scores in per_query.items()
    }

    def best_on(mask: np.ndarray) -> float:
        # ties go to the smaller dense weight: the hybrid stays closest to BM25
        return max(grid, key=lambda w: (round(float(np.nanmean(values[w][mask])), 12), -w))

    chosen = [best_on(fold != f) for f in range(int(fold.max()) + 1)]
    scores = np.empty_like(runs[grid[0]].scores)
    indices = np.empty_like(runs[grid[0]].indices)
    for f, w in enumerate(chosen):
        rows = fold == f
        scores[rows], indices[rows] = runs[w].scores[rows], runs[w].indices[rows]
    return TopK(scores, indices), {
        "fusion": "convex",
        "dense_weight": "2-fold cross-validated on " + SELECTION_METRIC,
        "fold_weights": chosen,
        "best_weight_all_queries": best_on(np.ones(len(qids), dtype=bool)),
    }


def describe_hybrid(info: dict[str, Any]) -> str:
    """One line for people: how the hybrid of a report was fused."""
    if "fold_weights" in info:
        folds = " / ".join(f"{w:g}" for w in info["fold_weights"])
        return (
            f"convex fusion, model weight {folds} (each half of the queries ranked with the weight "
            f"best on the other half); {info['best_weight_all_queries']:g} on all queries "
            f"(for `textmetric index --fusion convex --dense-weight`)"
        )
    weight = info["dense_weight"]
    weights = "equal weights" if weight == "equal" else f"model weight {weight:g}"
    return f"{info['fusion']} fusion, {weights}"


__all__ = ["DENSE_WEIGHT_GRID", "describe_hybrid", "hybrid_topk", "query_folds"]
