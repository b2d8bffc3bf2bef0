"""Fusion of rankings from different retrievers: the hybrid lexical + dense search.

Two ways, both per query:

* **Reciprocal rank fusion** (``rrf``; Cormack, Clarke & Büttcher, SIGIR 2009): a document's
  fused score is ``sum over rankings of weight / (k + rank)`` with 1-based ranks, ``k = 60`` by
  default. BM25 scores and cosine similarities live on unrelated scales; ranks do not, so RRF
  needs no calibration and no tuning. A document missing from a ranking gets nothing from it.
* **Convex combination of normalised scores** (``convex``; Bruch, Gai & Ingber, "An Analysis of
  Fusion Functions for Hybrid Retrieval", ACM TOIS 2023): ``sum over rankings of weight *
  norm(score)``, each ranking's scores standardised over its own candidates (``zscore``, default)
  or scaled to [0, 1] (``minmax``). It keeps *how much* better a document scored, which ranks
  throw away, and the paper finds it beats RRF once the weight is tuned on a few hundred
  queries; untuned, RRF is the safer default. A document missing from a ranking is scored
  there at the ranking's floor (BM25: 0; otherwise its lowest listed score).

Ties in the fused score go to the smaller id (document index or id string), the same rule as
:mod:`textmetric.search.topk`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np

from textmetric.search.topk import TopK

DEFAULT_RRF_K = 60
FUSIONS = ("rrf", "convex")
NORMALIZATIONS = ("zscore", "minmax")
Fusion = Literal["rrf", "convex"]
Normalization = Literal["zscore", "minmax"]


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


def check_fusion(fusion: str, dense_weight: float | None) -> None:
    """A :class:`~textmetric.errors.ConfigError` for an unknown fusion or a weight outside [0, 1]."""
    from textmetric.errors import ConfigError

    if fusion not in FUSIONS:
        raise ConfigError(f"unknown fusion '{fusion}'; expected one of {', '.join(FUSIONS)}")
    if dense_weight is not None and not 0.0 <= dense_weight <= 1.0:
        raise ConfigError(f"the dense weight must be between 0 and 1, got {dense_weight}")


def _normalize(scores: np.ndarray, normalization: str) -> np.ndarray:
    scores = scores.astype(np.float64)
    if normalization == "zscore":
        spread = scores.std()
        return (scores - scores.mean()) / spread if spread > 0 else np.zeros_like(scores)
    if normalization == "minmax":
        low, high = scores.min(), scores.max()
        return (scores - low) / (high - low) if high > low else np.ones_like(scores)
    raise ValueError(f"unknown normalization '{normalization}'; expected {' or '.join(NORMALIZATIONS)}")


def convex_fusion(
    results: Sequence[tuple[Sequence[Hashable], Sequence[float]]],
    *,
    weights: Sequence[float] | None = None,
    normalization: Normalization = "zscore",
    floors: Sequence[float | None] | None = None,
    top_k: int | None = None,
) -> list[tuple[Hashable, float]]:
    """Fuse several scored rankings of one query, ``[(doc_ids, scores), ...]``, by normalised score.

    Every candidate (a document in any ranking) gets a score from every ranking: its own, or,
    where the ranking lacks it, the ranking's floor: ``floors[i]`` when known (0 for BM25, the
    score of a document sharing no word with the query), else the ranking's lowest score (a
    missing document scored at most that). Each ranking's scores over the candidates are then
    normalised and summed with ``weights`` (default equal). Returns ``[(doc_id, fused_score),
    ...]`` best first; a document listed twice in one ranking counts once, at its first score.
    """
    if weights is not None and len(weights) != len(results):
        raise ValueError(f"{len(weights)} weights for {len(results)} rankings")
    if floors is not None and len(floors) != len(results):
        raise ValueError(f"{len(floors)} floors for {len(results)} rankings")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization '{normalization}'; expected {' or '.join(NORMALIZATIONS)}")
    rankings: list[dict[Hashable, float]] = []
    for ids, scores in results:
        if len(ids) != len(scores):
            raise ValueError(f"{len(ids)} ids for {len(scores)} scores")
        first: dict[Hashable, float] = {}
        for doc, score in zip(ids, np.asarray(scores, dtype=np.float64).tolist(), strict=True):
            first.setdefault(doc, score)
        rankings.append(first)
    docs = list(dict.fromkeys(doc for ranking in rankings for doc in ranking))
    if not docs:
        return []
    fused = np.zeros(len(docs), dtype=np.float64)
    for number, ranking in enumerate(rankings):
        floor = floors[number] if floors is not None else None
        if floor is None:
            floor = min(ranking.values()) if ranking else 0.0
        column = np.fromiter((ranking.get(doc, floor) for doc in docs), np.float64, len(docs))
        fused += (1.0 if weights is None else float(weights[number])) * _normalize(column, normalization)
    ordered = sorted(zip(docs, fused.tolist(), strict=True), key=lambda item: (-item[1], item[0]))
    return ordered[:top_k] if top_k is not None else ordered


def fuse_topk(
    results: Sequence[TopK],
    *,
    fusion: Fusion = "rrf",
    weights: Sequence[float] | None = None,
    rrf_k: int = DEFAULT_RRF_K,
    normalization: Normalization = "zscore",
    floors: Sequence[float | None] | None = None,
    top_k: int | None = None,
) -> TopK:
    """Fuse per-query :class:`TopK` results of several retrievers over the same queries and corpus.

    ``fusion`` is ``rrf`` or ``convex`` (see the module doc; ``floors`` as in
    :func:`convex_fusion`). Returns a :class:`TopK` of fused
    scores; ``top_k`` defaults to the longest input depth. Rows shorter than ``top_k`` (fewer
    candidates) are padded with index -1 and score ``-inf``; index -1 in an input is padding and
    is ignored.
    """
    if fusion not in FUSIONS:
        raise ValueError(f"unknown fusion '{fusion}'; expected one of {', '.join(FUSIONS)}")
    if not results:
        raise ValueError("nothing to fuse")
    n_queries = len(results[0].indices)
    if any(len(r.indices) != n_queries for r in results):
        raise ValueError("all results must cover the same queries")
    depth = top_k if top_k is not None else max(r.indices.shape[1] for r in results)
    scores = np.full((n_queries, depth), -np.inf, dtype=np.float32)
    indices = np.full((n_queries, depth), -1, dtype=np.int64)
    for row in range(n_queries):
        kept = [r.indices[row] >= 0 for r in results]
        if fusion == "rrf":
            fused = reciprocal_rank_fusion(
                [r.indices[row][keep].tolist() for r, keep in zip(results, kept, strict=True)],
                k=rrf_k,
                weights=weights,
                top_k=depth,
            )
        else:
            fused = convex_fusion(
                [
                    (r.indices[row][keep].tolist(), r.scores[row][keep])
                    for r, keep in zip(results, kept, strict=True)
                ],
                weights=weights,
                normalization=normalization,
                floors=floors,
                top_k=depth,
            )
        for col, (doc, score) in enumerate(fused):
            indices[row, col] = doc
            scores[row, col] = score
    return TopK(scores, indices)


def rrf_topk(
    results: Sequence[TopK],
    *,
    k: int = DEFAULT_RRF_K,
    weights: Sequence[float] | None = None,
    top_k: int | None = None,
) -> TopK:
    """:func:`fuse_topk` by reciprocal rank fusion with constant ``k``."""
    return fuse_topk(results, fusion="rrf", rrf_k=k, weights=weights, top_k=top_k)


__all__ = [
    "DEFAULT_RRF_K",
    "FUSIONS",
    "NORMALIZATIONS",
    "check_fusion",
    "convex_fusion",
    "fuse_topk",
    "reciprocal_rank_fusion",
    "rrf_topk",
]
