"""Search building blocks shared by evaluation, mining and the index: exact batched top-k,
BM25 over Japanese words, rank and score fusion.

All of them rank by score, highest first, and break ties by the lower document index, so that
every retriever in textmetric is deterministic and comparable.
"""

from textmetric.search.bm25 import BM25Retriever
from textmetric.search.fusion import (
    DEFAULT_RRF_K,
    FUSIONS,
    convex_fusion,
    fuse_topk,
    reciprocal_rank_fusion,
    rrf_topk,
)
from textmetric.search.topk import (
    SIMILARITIES,
    TopK,
    TopKAccumulator,
    dense_topk,
    merge_topk,
    select_topk,
)

__all__ = [
    "DEFAULT_RRF_K",
    "FUSIONS",
    "SIMILARITIES",
    "BM25Retriever",
    "TopK",
    "TopKAccumulator",
    "convex_fusion",
    "dense_topk",
    "fuse_topk",
    "merge_topk",
    "reciprocal_rank_fusion",
    "rrf_topk",
    "select_topk",
]
