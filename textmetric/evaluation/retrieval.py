"""Dense retrieval evaluation: encode queries and corpus, batched exact top-k, metrics over the rankings.

Queries go through ``model.encode_query`` and documents through ``model.encode_document`` (the
two towers of a DSSM model; the same encoder for a siamese one). The top ``k`` documents per query
come from :func:`textmetric.search.topk.dense_topk`, which never holds the full query x corpus
matrix: 10,000 queries against 100,000 documents need one 1024 x 16384 block at a time, not 4 GB.
The rankings are then scored by :mod:`textmetric.evaluation.metrics`, like every baseline's.

:func:`build_retrieval_evaluator` wraps the same data in sentence-transformers'
``InformationRetrievalEvaluator`` for use during training.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from textmetric.evaluation.datasets import RetrievalData, load_retrieval
from textmetric.evaluation.sts import encode_texts
from textmetric.search.topk import SIMILARITIES, TopK, dense_topk

logger = logging.getLogger(__name__)


@dataclass
class DenseRun:
    """A dense model's results on a retrieval set, with what the similarity plots need."""

    topk: TopK
    relevant_scores: np.ndarray
    nonrelevant_scores: np.ndarray
    similarity: str


def model_similarity(model) -> str:
    """The model's similarity function if top-k search supports it, else cosine (with a warning)."""
    name = str(getattr(model, "similarity_fn_name", None) or "cosine")
    name = {"dot_product": "dot", "cos_sim": "cosine"}.get(name, name)
    if name not in SIMILARITIES:
        logger.warning("similarity '%s' is not supported for retrieval; using cosine", name)
        return "cosine"
    return name


def _row_similarity(q: np.ndarray, d: np.ndarray, similarity: str) -> np.ndarray:
    if similarity == "cosine":
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    if similarity == "euclidean":
        return -np.linalg.norm(q - d, axis=1)
    return np.einsum("ij,ij->i", q, d)


def similarity_samples(
    data: RetrievalData,
    query_embeddings: np.ndarray,
    doc_embeddings: np.ndarray,
    similarity: str,
    *,
    negatives_per_query: int = 5,
    max_pairs: int = 20000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Similarities of relevant (query, document) pairs and of random non-relevant ones (for histograms)."""
    rng = np.random.default_rng(seed)
    doc_index = {doc: i for i, doc in enumerate(data.doc_ids)}
    rel_q: list[int] = []
    rel_d: list[int] = []
    neg_q: list[int] = []
    neg_d: list[int] = []
    n_docs = len(data.doc_ids)
    for qi, qid in enumerate(data.query_ids):
        relevant = {doc_index[d] for d, g in data.qrels[qid].items() if g > 0 and d in doc_index}
        for di in sorted(relevant):
            rel_q.append(qi)
            rel_d.append(di)
        if n_docs > len(relevant):
            candidates = rng.integers(0, n_docs, size=negatives_per_query * 2)
            picked = [int(c) for c in candidates if int(c) not in relevant][:negatives_per_query]
            neg_q.extend([qi] * len(picked))
            neg_d.extend(picked)

    def scores(qs: list[int], ds: list[int]) -> np.ndarray:
        if len(qs) > max_pairs:
            keep = np.sort(rng.choice(len(qs), size=max_pairs, replace=False))
            qs = [qs[i] for i in keep]
            ds = [ds[i] for i in keep]
        if not qs:
            return np.zeros(0, dtype=np.float64)
        return _row_similarity(query_embeddings[qs], doc_embeddings[ds], similarity)

    return scores(rel_q, rel_d), scores(neg_q, neg_d)


def dense_retrieval(
    model,
    data: RetrievalData,
    k: int = 100,
    *,
    batch_size: int = 64,
    similarity: str | None = None,
    device: str | None = None,
    query_chunk_size: int = 1024,
    corpus_chunk_size: int = 16384,
) -> DenseRun:
    """Encode ``data`` with ``model`` and take the exact top ``k`` per query in bounded memory."""
    similarity = similarity or model_similarity(model)
    query_embeddings = encode_texts(model, data.queries, batch_size=batch_size, kind="query")
    doc_embeddings = encode_texts(model, data.documents, batch_size=batch_size, kind="document")
    topk = dense_topk(
        query_embeddings,
        doc_embeddings,
        k,
        similarity=similarity,  # type: ignore[arg-type]
        query_chunk_size=query_chunk_size,
        corpus_chunk_size=corpus_chunk_size,
        device=device,
    )
    relevant, nonrelevant = similarity_samples(data, query_embeddings, doc_embeddings, similarity)
    return DenseRun(
        topk=topk, relevant_scores=relevant, nonrelevant_scores=nonrelevant, similarity=similarity
    )


def build_retrieval_evaluator(
    spec: str | Path,
    *,
    name: str | None = None,
    nfkc: bool = True,
    batch_size: int = 32,
    split: str = "test",
    columns: str | Mapping[str, str] | None = None,
    max_score_elements: int = 1 << 24,
    accuracy_at_k: Sequence[int] = (1, 5, 10),
    precision_recall_at_k: Sequence[int] = (1, 5, 10, 100),
):
    """A sentence-transformers ``InformationRetrievalEvaluator`` for a retrieval set, for use in training.

    ``spec`` is anything ``--retrieval`` accepts. The corpus is passed sorted by id, so that the
    evaluator's tie rule matches :mod:`textmetric.evaluation.metrics`; its corpus chunk is sized
    so that one ``queries x chunk`` score block has at most ``max_score_elements`` entries. The
    metrics are ``{name}_cosine_ndcg@10``, ``{name}_cosine_mrr@10``, ``{name}_cosine_map@100``,
    ``{name}_cosine_recall@k``, ``{name}_cosine_accuracy@k`` (``cosine`` is the model's similarity
    function name); ``primary_metric`` is ``{name}_cosine_ndcg@10``.
    Relevance is binary there (grade > 0); graded nDCG is what ``textmetric evaluate`` reports.
    """
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    data = load_retrieval(spec, name=name, nfkc=nfkc, split=split, columns=columns)
    relevant = {qid: {d for d, g in rel.items() if g > 0} for qid, rel in data.qrels.items()}
    chunk = max(1, min(50000, max_score_elements // max(1, len(data.queries))))
    return InformationRetrievalEvaluator(
        queries=dict(zip(data.query_ids, data.queries, strict=True)),
        corpus=dict(zip(data.doc_ids, data.documents, strict=True)),
        relevant_docs=relevant,
        corpus_chunk_size=chunk,
        mrr_at_k=[10],
        ndcg_at_k=[10],
        accuracy_at_k=list(accuracy_at_k),
        precision_recall_at_k=list(precision_recall_at_k),
        map_at_k=[100],
        batch_size=batch_size,
        name=data.name,
    )


__all__ = [
    "DenseRun",
    "build_retrieval_evaluator",
    "dense_retrieval",
    "model_similarity",
    "similarity_samples",
]
