"""Retrieval metrics over ranked lists and STS correlations: one implementation for every system.

The fine-tuned model, the base model, BM25, TF-IDF and the hybrid all produce, per query, a
ranked list of document ids; the metrics below take those lists, so every system is scored by
exactly the same code. (sentence-transformers' ``InformationRetrievalEvaluator`` computes
the same numbers from a model; a test checks that the two agree.)

Conventions (those of sentence-transformers' ``InformationRetrievalEvaluator``, and of BEIR /
``trec_eval`` except where said):

* **Relevance.** ``qrels[qid][doc_id]`` is a graded relevance; a document is relevant when its
  grade is > 0. nDCG uses the grade as gain (linear gain, as ``trec_eval`` / BEIR), every other
  metric only relevant / not relevant.
* **Ties.** Rankings are produced by :func:`rank_by_score`: score descending, equal scores by
  ascending document id (string order), the rule of ``InformationRetrievalEvaluator``. The
  metric functions themselves take the list order as given.
* **Duplicates** in a ranking count once, at their first position (later copies are dropped
  and the documents after them move up).
* ``ndcg@k``: DCG with gain ``grade / log2(rank + 1)`` over the top ``k``, divided by the DCG of the
  ideal ordering of the query's grades (truncated at ``k``).
* ``mrr@k``: ``1 / rank`` of the first relevant document in the top ``k``, else 0.
* ``map@k``: sum of precision@r at each relevant rank ``r <= k``, divided by
  ``min(k, number of relevant documents)`` (trec_eval divides by the number of relevant documents;
  the two agree whenever a query has at most ``k`` relevant documents).
* ``recall@k``: relevant documents in the top ``k`` / relevant documents.
* ``precision@k``: relevant documents in the top ``k`` / ``k``.
* ``accuracy@k``: 1 if any relevant document is in the top ``k`` (also called hit rate / success).
* Queries without any relevant document are left out of the averages; a query with relevant
  documents but no ranking counts as all zeros.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

Qrels = Mapping[str, Mapping[str, float]]
Rankings = Mapping[str, Sequence[str]]

DEFAULT_RETRIEVAL_METRICS: tuple[str, ...] = (
    "ndcg@10",
    "mrr@10",
    "map@100",
    "recall@1",
    "recall@5",
    "recall@10",
    "recall@100",
    "accuracy@1",
)
_METRIC_NAME = re.compile(r"^(ndcg|mrr|map|recall|precision|accuracy)@(\d+)$")


def rank_by_score(scores: Mapping[str, float] | Iterable[tuple[str, float]]) -> list[str]:
    """Document ids by score, highest first; equal scores by ascending id (the tie rule)."""
    items = scores.items() if isinstance(scores, Mapping) else scores
    cleaned = [(doc, -math.inf if s is None or math.isnan(s) else float(s)) for doc, s in items]
    return [doc for doc, _ in sorted(cleaned, key=lambda item: (-item[1], item[0]))]


def _dedupe(ranking: Sequence[str], k: int | None = None) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for doc in ranking:
        if doc not in seen:
            seen.add(doc)
            out.append(doc)
            if k is not None and len(out) >= k:
                break
    return out


def _relevant(relevance: Mapping[str, float]) -> set[str]:
    return {doc for doc, grade in relevance.items() if grade > 0}


def dcg_at_k(gains: Sequence[float], k: int) -> float:
    """Discounted cumulative gain of the first ``k`` gains: ``sum gain_i / log2(i + 1)``, i from 1."""
    return float(sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k])))


def ndcg_at_k(ranking: Sequence[str], relevance: Mapping[str, float], k: int) -> float:
    """Normalised DCG with graded gains (``relevance[doc]``; missing or <= 0 is no gain)."""
    ideal = sorted((g for g in relevance.values() if g > 0), reverse=True)
    best = dcg_at_k(ideal, k)
    if best == 0:
        return 0.0
    gains = [max(0.0, float(relevance.get(doc, 0.0))) for doc in _dedupe(ranking, k)]
    return dcg_at_k(gains, k) / best


def reciprocal_rank_at_k(ranking: Sequence[str], relevance: Mapping[str, float], k: int) -> float:
    """``1 / rank`` of the first relevant document within the top ``k``, else 0."""
    relevant = _relevant(relevance)
    for rank, doc in enumerate(_dedupe(ranking, k), start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def average_precision_at_k(ranking: Sequence[str], relevance: Mapping[str, float], k: int) -> float:
    """Average precision over the top ``k``, normalised by ``min(k, number relevant)``."""
    relevant = _relevant(relevance)
    if not relevant:
        return 0.0
    hits = 0
    total = 0.0
    for rank, doc in enumerate(_dedupe(ranking, k), start=1):
        if doc in relevant:
            hits += 1
            total += hits / rank
    return total / min(k, len(relevant))


def recall_at_k(ranking: Sequence[str], relevance: Mapping[str, float], k: int) -> float:
    """Share of the relevant documents found in the top ``k``."""
    relevant = _relevant(relevance)
    if not relevant:
        return 0.0
    return sum(doc in relevant for doc in _dedupe(ranking, k)) / len(relevant)


def precision_at_k(ranking: Sequence[str], relevance: Mapping[str, float], k: int) -> float:
    """Relevant documents in the top ``k``, divided by ``k``."""
    relevant = _relevant(relevance)
    return sum(doc in relevant for doc in _dedupe(ranking, k)) / k


def accuracy_at_k(ranking: Sequence[str], relevance: Mapping[str, float], k: int) -> float:
    """1.0 if a relevant document is in the top ``k``, else 0.0."""
    relevant = _relevant(relevance)
    return float(any(doc in relevant for doc in _dedupe(ranking, k)))


METRIC_FUNCTIONS: dict[str, Callable[[Sequence[str], Mapping[str, float], int], float]] = {
    "ndcg": ndcg_at_k,
    "mrr": reciprocal_rank_at_k,
    "map": average_precision_at_k,
    "recall": recall_at_k,
    "precision": precision_at_k,
    "accuracy": accuracy_at_k,
}


def parse_metric(name: str) -> tuple[str, int]:
    """``"ndcg@10"`` -> ``("ndcg", 10)``; raises ``ValueError`` for an unknown name."""
    match = _METRIC_NAME.match(name.strip().lower())
    if match is None or int(match.group(2)) < 1:
        raise ValueError(
            f"unknown retrieval metric '{name}'; expected NAME@K with NAME in {', '.join(METRIC_FUNCTIONS)}"
        )
    return match.group(1), int(match.group(2))


def max_depth(metrics: Iterable[str]) -> int:
    """The ranking depth the metrics need (the largest ``k``)."""
    return max(parse_metric(name)[1] for name in metrics)


@dataclass
class RetrievalScores:
    """Mean metrics over the evaluated queries, and the per-query values behind them."""

    metrics: dict[str, float]
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    num_queries: int = 0


def evaluate_rankings(
    rankings: Rankings,
    qrels: Qrels,
    metrics: Sequence[str] = DEFAULT_RETRIEVAL_METRICS,
    *,
    keep_per_query: bool = False,
) -> RetrievalScores:
    """Mean of each metric over the queries of ``qrels`` that have a relevant document.

    Args:
        rankings: ``{query_id: [doc_id, ...]}``, best first (see :func:`rank_by_score`).
        qrels: ``{query_id: {doc_id: grade}}``; grade > 0 is relevant, the grade is nDCG's gain.
        metrics: names like ``ndcg@10``, ``mrr@10``, ``map@100``, ``recall@5``, ``precision@5``,
            ``accuracy@1``.
        keep_per_query: also return every query's values (for significance tests, error analysis).
    """
    parsed = [(name, *parse_metric(name)) for name in metrics]
    totals = dict.fromkeys(metrics, 0.0)
    per_query: dict[str, dict[str, float]] = {}
    count = 0
    for qid, relevance in qrels.items():
        if not _relevant(relevance):
            continue
        ranking = rankings.get(qid, ())
        values = {name: METRIC_FUNCTIONS[kind](ranking, relevance, k) for name, kind, k in parsed}
        for name, value in values.items():
            totals[name] += value
        if keep_per_query:
            per_query[qid] = values
        count += 1
    means = {name: (total / count if count else 0.0) for name, total in totals.items()}
    return RetrievalScores(metrics=means, per_query=per_query, num_queries=count)


def recall_curve(rankings: Rankings, qrels: Qrels, max_k: int = 100) -> np.ndarray:
    """Mean recall@k for k = 1 .. ``max_k`` (index ``k - 1``), in one pass over the rankings."""
    curve = np.zeros(max_k, dtype=np.float64)
    count = 0
    for qid, relevance in qrels.items():
        relevant = _relevant(relevance)
        if not relevant:
            continue
        count += 1
        found = np.zeros(max_k, dtype=np.float64)
        for rank, doc in enumerate(_dedupe(rankings.get(qid, ()), max_k)):
            if doc in relevant:
                found[rank] += 1
        curve += np.cumsum(found) / len(relevant)
    return curve / count if count else curve


def sts_correlations(gold: Sequence[float], predicted: Sequence[float]) -> dict[str, float]:
    """Spearman and Pearson correlation of predicted similarities with gold scores.

    NaN when either side is constant (a correlation is undefined there).
    """
    from scipy.stats import pearsonr, spearmanr

    gold_arr = np.asarray(gold, dtype=np.float64)
    pred_arr = np.asarray(predicted, dtype=np.float64)
    if gold_arr.shape != pred_arr.shape:
        raise ValueError(f"{len(gold_arr)} gold scores but {len(pred_arr)} predictions")
    if len(gold_arr) < 2 or np.ptp(gold_arr) == 0 or np.ptp(pred_arr) == 0:
        return {"spearman": math.nan, "pearson": math.nan}
    return {
        "spearman": float(spearmanr(gold_arr, pred_arr)[0]),
        "pearson": float(pearsonr(gold_arr, pred_arr)[0]),
    }


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else math.nan


def label_metrics(embeddings: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """How well embeddings keep classes together: same-label retrieval and class compactness.

    For labelled data (``text, label``), where a trained model should put texts of one label
    together: every text queries all the others by cosine similarity, and the relevant ones share
    its label. Returns

    * ``map``: average precision over the full ranking, averaged over the texts whose label has
      another text;
    * ``r@1``: share of those texts whose nearest other text has the same label (Recall@1 in the
      metric-learning sense, Wu et al. 2017);
    * ``intra`` / ``inter``: mean Euclidean distance between two texts of one label / of different
      labels, and ``intra/inter`` their ratio (lower = more compact classes).

    Computed on L2-normalised embeddings (ties: the earlier text first); NaN where undefined (no
    label with two texts, or a single label). Memory is ``n x n``: meant for held-out sets.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(labels):
        raise ValueError(f"{len(x)} embeddings but {len(labels)} labels")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    y = np.asarray(labels)
    similarity = x @ x.T
    distances = np.sqrt(np.maximum(2.0 - 2.0 * similarity, 0.0))
    same = y[:, None] == y[None, :]
    off_diagonal = ~np.eye(len(y), dtype=bool)
    keep = (same & off_diagonal).any(axis=1)  # a query needs another text of its label
    np.fill_diagonal(similarity, -np.inf)
    order = np.argsort(-similarity, axis=1, kind="stable")[:, :-1]  # self ranks last: dropped
    relevant = y[order] == y[:, None]
    hits = np.cumsum(relevant, axis=1)
    ranks = np.arange(1, relevant.shape[1] + 1)
    ap = (relevant * hits / ranks).sum(axis=1) / np.maximum(relevant.sum(axis=1), 1)
    intra, inter = _mean(distances[same & off_diagonal]), _mean(distances[~same])
    return {
        "map": _mean(ap[keep]),
        "r@1": _mean(relevant[keep, 0]) if relevant.shape[1] else math.nan,
        "intra/inter": intra / inter if inter else math.nan,
        "intra": intra,
        "inter": inter,
    }


__all__ = [
    "DEFAULT_RETRIEVAL_METRICS",
    "METRIC_FUNCTIONS",
    "Qrels",
    "Rankings",
    "RetrievalScores",
    "accuracy_at_k",
    "average_precision_at_k",
    "dcg_at_k",
    "evaluate_rankings",
    "label_metrics",
    "max_depth",
    "ndcg_at_k",
    "parse_metric",
    "precision_at_k",
    "rank_by_score",
    "recall_at_k",
    "recall_curve",
    "reciprocal_rank_at_k",
    "sts_correlations",
]
