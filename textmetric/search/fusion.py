"""Reciprocal rank fusion (RRF): combine rankings from different retrievers without calibrating scores.

Cormack, Clarke & Büttcher (SIGIR 2009): a document's fused score is
``sum over rankings of weight / (k + rank)`` with 1-based ranks, ``k = 60`` by default. BM25
scores and cosine similarities live on unrelated scales; ranks do not, which is why RRF is the
usual way to build a hybrid lexical + dense retriever. A document missing from a ranking gets
nothing from it.

Ties in the fused score go to the smaller id (document index or id string), the same rule as
:mod:`textmetric.search.topk`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from textmetric.search.topk import TopK

DEFAULT_RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Hashable]],
    *,
    k: int = DEFAULT_RRF_K,
    weights: Sequence[float] | None = None,
    top_k: int | None = None,
) -> list[tuple[Hashable, float]]:
    """Fuse several rankings of one query (best first) into ``[(doc_id, fused_score), ...]``.

    Ids must be comparable with each other (all ``int`` or all ``str``) for the tie rule.
    """
    if k < 0:
        raise ValueError("the RRF constant k must be >= 0")
    if weights is not None and len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    fused: dict[Hashable, float] = {}
    for number, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else float(weights[number])
        seen: set[Hashable] = set()
        for rank, doc in enumerate(ranking, start=1):
            if doc in seen:  # a document counts once per ranking, at its best rank
                continue
            seen.add(doc)
            fused[doc] = fused.get(doc, 0.0) + weight / (k + rank)
    ordered = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return ordered[:top_k] if top_k is not None else ordered


def rrf_topk(
    results: Sequence[TopK],
    *,
    k: int = DEFAULT_RRF_K,
    weights: Sequence[float] | None = None,
    top_k: int | None = None,
) -> TopK:
    """Fuse per-query :class:`TopK` results of several retrievers over the same queries and corpus.

    Returns a :class:`TopK` whose scores are the fused RRF scores; ``top_k`` defaults to the
    longest input depth. Rows shorter than ``top_k`` (fewer candidates) are padded with index -1
    and score ``-inf``; index -1 in an input is padding and is ignored.
    """
    if not results:
        raise ValueError("nothing to fuse")
    n_queries = len(results[0].indices)
    if any(len(r.indices) != n_queries for r in results):
        raise ValueError("all results must cover the same queries")
    depth = top_k if top_k is not None else max(r.indices.shape[1] for r in results)
    scores = np.full((n_queries, depth), -np.inf, dtype=np.float32)
    indices = np.full((n_queries, depth), -1, dtype=np.int64)
    for row in range(n_queries):
        fused = reciprocal_rank_fusion(
            [[doc for doc in r.indices[row].tolist() if doc >= 0] for r in results],
            k=k,
            weights=weights,
            top_k=depth,
        )
        for col, (doc, score) in enumerate(fused):
            indices[row, col] = doc
            scores[row, col] = score
    return TopK(scores, indices)


__all__ = ["DEFAULT_RRF_K", "reciprocal_rank_fusion", "rrf_topk"]
