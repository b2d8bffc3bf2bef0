"""Exact top-k search over score blocks and dense embeddings, in bounded memory, deterministic ties.

Scoring 10,000 queries against 100,000 documents as one matrix takes 4 GB (float32); the
functions here never build it. :func:`dense_topk` walks the query set in chunks of
``query_chunk_size`` rows and the corpus in chunks of ``corpus_chunk_size`` columns, keeps the
best ``k`` per query so far, and merges each new block into it, so that peak memory is one
``query_chunk_size x corpus_chunk_size`` block plus the ``n_queries x k`` result.

**Tie rule.** Results are ordered by score, highest first, and equal scores by the lower document
index first, both inside a block and across blocks, so the selection does not depend on the
chunk sizes or on the order ``torch.topk`` happens to return among equal scores. (NaN scores rank
last.) The scores themselves come from BLAS, which may round the same dot product differently
(by ~1e-7) in blocks of different shapes; that can swap two documents whose similarities are
equal to within rounding, never two that differ by more. Callers that want ties broken by
document id keep their corpus sorted by id, as :mod:`textmetric.evaluation` does.

:func:`select_topk` and :class:`TopKAccumulator` work on any score block, so lexical scorers
(BM25, TF-IDF) use the same selection and the same tie rule as dense search.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

Similarity = Literal["cosine", "dot", "euclidean"]
SIMILARITIES = ("cosine", "dot", "euclidean")
DEFAULT_QUERY_CHUNK = 1024
DEFAULT_CORPUS_CHUNK = 16384


@dataclass
class TopK:
    """The best ``k`` documents per query: ``indices[i, r]`` is the document at rank ``r`` of query ``i``.

    Both arrays have shape ``(n_queries, k)``, with ``k`` capped at the corpus size.
    """

    scores: np.ndarray
    indices: np.ndarray

    def __iter__(self) -> Iterator[np.ndarray]:  # allows ``scores, indices = dense_topk(...)``
        return iter((self.scores, self.indices))

    def __len__(self) -> int:
        return len(self.indices)


def _as_tensor(array: np.ndarray | torch.Tensor, device: torch.device | str | None = None) -> torch.Tensor:
    tensor = array if isinstance(array, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(array))
    if tensor.dtype not in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        tensor = tensor.float()
    if tensor.dtype in (torch.float16, torch.bfloat16) and (device is None or str(device) == "cpu"):
        tensor = tensor.float()
    return tensor.to(device) if device is not None else tensor


def _order_by_score_then_index(
    values: torch.Tensor, indices: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reorder each row to (score descending, index ascending)."""
    by_index = torch.sort(indices, dim=1).indices
    indices = indices.gather(1, by_index)
    values = values.gather(1, by_index)
    order = torch.sort(values, dim=1, descending=True, stable=True).indices
    return values.gather(1, order), indices.gather(1, order)


def select_topk(
    scores: np.ndarray | torch.Tensor, k: int, *, offset: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` best columns of each row of a score block, with the module's tie rule.

    ``offset`` is added to the column numbers (the block's first document index), so results
    from several corpus blocks can be merged with :func:`merge_topk`.
    """
    block = _as_tensor(scores)
    if block.ndim != 2:
        raise ValueError(f"expected a 2-D score block, got shape {tuple(block.shape)}")
    k = min(k, block.shape[1])
    if k <= 0 or block.shape[0] == 0:
        empty = block.new_empty((block.shape[0], 0))
        return empty, torch.empty((block.shape[0], 0), dtype=torch.long, device=block.device)
    # NaN would sort first in torch.topk; the cheap reduction finds out whether there is any.
    if not bool(torch.isfinite(block.sum())) and bool(torch.isnan(block).any()):
        block = torch.nan_to_num(block, nan=-torch.inf)  # a copy: the block may be the caller's array
    # One extra column tells whether the k-th score is tied with a score left out, without a
    # full-size comparison mask. torch.topk picks arbitrarily among such ties; those rows are
    # redone with a stable sort, which keeps equal scores in column (index) order.
    width = min(k + 1, block.shape[1])
    values, indices = torch.topk(block, width, dim=1, largest=True, sorted=True)
    if width > k:
        boundary_ties = values[:, k] == values[:, k - 1]
        values, indices = values[:, :k], indices[:, :k]
        if bool(boundary_ties.any()):
            rows = boundary_ties.nonzero(as_tuple=True)[0]
            stable = torch.sort(block[rows], dim=1, descending=True, stable=True)
            values[rows] = stable.values[:, :k]
            indices[rows] = stable.indices[:, :k]
    values, indices = _order_by_score_then_index(values, indices)
    return values, indices + offset


def merge_topk(
    values_a: torch.Tensor,
    indices_a: torch.Tensor,
    values_b: torch.Tensor,
    indices_b: torch.Tensor,
    k: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge two per-row top-k lists (each already in tie-rule order) into the best ``k``."""
    values = torch.cat([values_a, values_b], dim=1)
    indices = torch.cat([indices_a, indices_b], dim=1)
    k = min(k, values.shape[1])
    values, indices = _order_by_score_then_index(values, indices)
    return values[:, :k], indices[:, :k]


class TopKAccumulator:
    """Running top-k for one block of queries while the corpus is scanned block by block.

    Example::

        acc = TopKAccumulator(k=100)
        for start in range(0, n_docs, 4096):
            acc.add(score_block(queries, docs[start:start + 4096]), offset=start)
        values, indices = acc.result()
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self.values: torch.Tensor | None = None
        self.indices: torch.Tensor | None = None

    def add(self, scores: np.ndarray | torch.Tensor, *, offset: int) -> None:
        values, indices = select_topk(scores, self.k, offset=offset)
        if self.values is None or self.indices is None:
            self.values, self.indices = values, indices
        else:
            self.values, self.indices = merge_topk(self.values, self.indices, values, indices, self.k)

    def result(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.values is None or self.indices is None:
            raise ValueError("no score block was added")
        return self.values, self.indices


def _similarity_block(
    queries: torch.Tensor, docs: torch.Tensor, similarity: Similarity, query_sq: torch.Tensor | None
) -> torch.Tensor:
    if similarity == "cosine":
        docs = torch.nn.functional.normalize(docs, dim=1)
        return queries @ docs.T
    if similarity == "dot":
        return queries @ docs.T
    # Negative Euclidean distance, so that higher is more similar like the others.
    doc_sq = (docs * docs).sum(dim=1)
    squared = query_sq[:, None] + doc_sq[None, :] - 2.0 * (queries @ docs.T)  # type: ignore[index]
    return -torch.sqrt(torch.clamp(squared, min=0.0))


def dense_topk(
    queries: np.ndarray | torch.Tensor,
    corpus: np.ndarray | torch.Tensor,
    k: int = 10,
    *,
    similarity: Similarity = "cosine",
    query_chunk_size: int = DEFAULT_QUERY_CHUNK,
    corpus_chunk_size: int = DEFAULT_CORPUS_CHUNK,
    device: str | torch.device | None = None,
) -> TopK:
    """Exact top-``k`` documents for every query by ``similarity``, never holding the full score matrix.

    Args:
        queries: ``(n_queries, dim)`` embeddings (numpy or torch).
        corpus: ``(n_docs, dim)`` embeddings; may stay on CPU while ``device`` is a GPU (chunks are
            moved one at a time).
        k: results per query (capped at ``n_docs``).
        similarity: ``cosine`` (default), ``dot`` or ``euclidean`` (returned as negative distance).
        query_chunk_size, corpus_chunk_size: block shape; peak extra memory is about
            ``query_chunk_size * corpus_chunk_size * 4`` bytes (64 MB with the defaults).
        device: where to compute (default: where ``queries`` is).

    Returns:
        :class:`TopK` with numpy ``scores`` (float32) and ``indices`` (int64), shape ``(n_queries, k)``,
        in score order with ties by lower index.
    """
    if similarity not in SIMILARITIES:
        raise ValueError(f"unknown similarity '{similarity}'; expected one of {', '.join(SIMILARITIES)}")
    if query_chunk_size < 1 or corpus_chunk_size < 1:
        raise ValueError("chunk sizes must be positive")
    q_all = _as_tensor(queries)
    d_all = _as_tensor(corpus)
    if q_all.ndim != 2 or d_all.ndim != 2 or q_all.shape[1] != d_all.shape[1]:
        raise ValueError(
            f"queries {tuple(q_all.shape)} and corpus {tuple(d_all.shape)} must be 2-D with the same width"
        )
    device = torch.device(device) if device is not None else q_all.device
    n_queries, n_docs = q_all.shape[0], d_all.shape[0]
    k = min(k, n_docs)
    out_scores = np.zeros((n_queries, k), dtype=np.float32)
    out_indices = np.zeros((n_queries, k), dtype=np.int64)
    if n_queries == 0 or k == 0:
        return TopK(out_scores, out_indices)
    dtype = torch.promote_types(q_all.dtype, d_all.dtype)
    with torch.inference_mode():
        for q_start in range(0, n_queries, query_chunk_size):
            q = q_all[q_start : q_start + query_chunk_size].to(device=device, dtype=dtype)
            if similarity == "cosine":
                q = torch.nn.functional.normalize(q, dim=1)
            q_sq = (q * q).sum(dim=1) if similarity == "euclidean" else None
            acc = TopKAccumulator(k)
            for d_start in range(0, n_docs, corpus_chunk_size):
                d = d_all[d_start : d_start + corpus_chunk_size].to(device=device, dtype=dtype)
                acc.add(_similarity_block(q, d, similarity, q_sq), offset=d_start)
            values, indices = acc.result()
            out_scores[q_start : q_start + len(q)] = values.float().cpu().numpy()
            out_indices[q_start : q_start + len(q)] = indices.cpu().numpy()
    return TopK(out_scores, out_indices)


__all__ = [
    "DEFAULT_CORPUS_CHUNK",
    "DEFAULT_QUERY_CHUNK",
    "SIMILARITIES",
    "Similarity",
    "TopK",
    "TopKAccumulator",
    "dense_topk",
    "merge_topk",
    "select_topk",
]
