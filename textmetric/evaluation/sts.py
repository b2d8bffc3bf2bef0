"""Semantic textual similarity: correlation of a model's similarities with gold scores.

Each distinct sentence is encoded once; a pair's prediction is the similarity of its two
embeddings (``cosine`` by default; ``dot``, ``euclidean`` and ``manhattan`` on request, the last
two as negative distances so that higher is more similar, as in sentence-transformers). The
correlations come from :func:`textmetric.evaluation.metrics.sts_correlations`, the code that also
scores the lexical baselines.

:func:`build_sts_evaluator` wraps the same data in sentence-transformers'
``EmbeddingSimilarityEvaluator`` for use during training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from textmetric.evaluation.datasets import STSData, load_sts
from textmetric.evaluation.metrics import sts_correlations

STS_SIMILARITIES = ("cosine", "dot", "euclidean", "manhattan")


def encode_texts(model, texts: Sequence[str], *, batch_size: int = 64, kind: str | None = None) -> np.ndarray:
    """Float32 embeddings of ``texts`` (``kind`` = ``query`` / ``document`` picks a DSSM tower)."""
    encode = {"query": model.encode_query, "document": model.encode_document}.get(kind or "", model.encode)
    embeddings = encode(list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(embeddings, dtype=np.float32)


def pair_similarity(a: np.ndarray, b: np.ndarray, similarity: str) -> np.ndarray:
    """Row-wise similarity of two embedding arrays (higher = more similar)."""
    a = a.astype(np.float64, copy=False)
    b = b.astype(np.float64, copy=False)
    if similarity == "cosine":
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        return np.einsum("ij,ij->i", a, b) / np.maximum(norms, 1e-12)
    if similarity == "dot":
        return np.einsum("ij,ij->i", a, b)
    if similarity == "euclidean":
        return -np.linalg.norm(a - b, axis=1)
    if similarity == "manhattan":
        return -np.abs(a - b).sum(axis=1)
    raise ValueError(f"unknown similarity '{similarity}'; expected one of {', '.join(STS_SIMILARITIES)}")


def model_pair_similarities(
    model, data: STSData, similarities: Sequence[str] = ("cosine",), *, batch_size: int = 64
) -> dict[str, np.ndarray]:
    """Predicted similarity of every pair, per similarity function; each sentence encoded once."""
    index: dict[str, int] = {}
    for text in (*data.sentence1, *data.sentence2):
        index.setdefault(text, len(index))
    embeddings = encode_texts(model, list(index), batch_size=batch_size)
    left = embeddings[[index[t] for t in data.sentence1]]
    right = embeddings[[index[t] for t in data.sentence2]]
    return {name: pair_similarity(left, right, name) for name in similarities}


def sts_metrics(
    gold: Sequence[float], predictions: Mapping[str, np.ndarray], primary: str
) -> dict[str, float]:
    """``spearman`` / ``pearson`` of the primary similarity, ``spearman_<fn>`` etc. of the others."""
    metrics: dict[str, float] = {}
    for name, predicted in predictions.items():
        values = sts_correlations(gold, predicted)
        suffix = "" if name == primary else f"_{name}"
        metrics[f"spearman{suffix}"] = values["spearman"]
        metrics[f"pearson{suffix}"] = values["pearson"]
    return metrics


def evaluate_sts_model(
    model, data: STSData, similarities: Sequence[str] = ("cosine",), *, batch_size: int = 64
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Metrics and per-pair predictions of ``model`` on ``data``; the first similarity is the primary."""
    predictions = model_pair_similarities(model, data, similarities, batch_size=batch_size)
    return sts_metrics(data.scores, predictions, similarities[0]), predictions


def build_sts_evaluator(
    path: str | Path,
    *,
    name: str | None = None,
    nfkc: bool = True,
    batch_size: int = 32,
    similarity_fn_names: Sequence[str] | None = None,
    columns: str | Mapping[str, str] | None = None,
):
    """A sentence-transformers ``EmbeddingSimilarityEvaluator`` for an STS set, for use in training.

    ``path`` is anything ``--sts`` accepts. The evaluator's metrics are
    ``{name}_spearman_cosine`` / ``{name}_pearson_cosine`` (``primary_metric`` is
    ``{name}_spearman_cosine`` for a cosine model); ``name`` defaults to the file's short name
    (``jsts-valid``).
    """
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    data = load_sts(path, name=name, nfkc=nfkc, columns=columns)
    return EmbeddingSimilarityEvaluator(
        data.sentence1,
        data.sentence2,
        data.scores,
        batch_size=batch_size,
        name=data.name,
        similarity_fn_names=list(similarity_fn_names) if similarity_fn_names else None,
    )


__all__ = [
    "STS_SIMILARITIES",
    "build_sts_evaluator",
    "encode_texts",
    "evaluate_sts_model",
    "model_pair_similarities",
    "pair_similarity",
    "sts_metrics",
]
