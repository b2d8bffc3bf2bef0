"""Rank fusion (RRF) and convex score fusion: hand-computed scores, ties by id."""

from __future__ import annotations

import numpy as np
import pytest

from textmetric.search import TopK, convex_fusion, fuse_topk, reciprocal_rank_fusion, rrf_topk


def test_rrf_scores_by_hand():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "d"]], k=60)
    assert [doc for doc, _ in fused] == ["b", "c", "a", "d"]
    scores = dict(fused)
    assert scores["b"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 62 + 1 / 63)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["d"] == pytest.approx(1 / 63)


def test_ties_go_to_the_smaller_id_and_weights_apply():
    assert [d for d, _ in reciprocal_rank_fusion([["b", "a"], ["a", "b"]])] == ["a", "b"]
    weighted = reciprocal_rank_fusion([["b", "a"], ["a", "b"]], weights=[2.0, 1.0])
    assert weighted[0][0] == "b"
    assert reciprocal_rank_fusion([["a", "a", "b"]], k=0) == [("a", 1.0), ("b", 1 / 3)]
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 2.0])


def test_rrf_topk_over_index_arrays_with_padding():
    first = TopK(np.zeros((2, 3), np.float32), np.array([[0, 1, 2], [5, -1, -1]]))
    second = TopK(np.zeros((2, 3), np.float32), np.array([[2, 1, 0], [4, 5, -1]]))
    fused = rrf_topk([first, second], k=60, top_k=4)
    # 0 and 2 tie (1/61 + 1/63) ahead of 1 (2/62): the tie goes to the smaller index
    assert fused.indices[0].tolist() == [0, 2, 1, -1]
    assert fused.indices[1].tolist() == [5, 4, -1, -1]
    assert fused.scores[1, 0] == pytest.approx(1 / 61 + 1 / 62)
    assert np.isinf(fused.scores[1, 2])


def test_convex_fusion_by_hand_zscore_and_minmax():
    dense = (["a", "b", "c"], [0.9, 0.6, 0.3])
    lexical = (["b", "d"], [10.0, 2.0])
    # candidates a b c d; a missing document gets the ranking's lowest score:
    # dense [.9 .6 .3 .3]: mean .525, sd .24875 -> z 1.5076 .3015 -.9045 -.9045
    # lexical [2 10 2 2]: mean 4, sd 3.4641 -> z -.5774 1.7321 -.5774 -.5774
    fused = dict(convex_fusion([dense, lexical], weights=[0.25, 0.75]))
    assert fused["a"] == pytest.approx(0.25 * 1.5076 + 0.75 * -0.5774, abs=1e-4)
    assert fused["b"] == pytest.approx(0.25 * 0.3015 + 0.75 * 1.7321, abs=1e-4)
    assert fused["c"] == pytest.approx(0.25 * -0.9045 + 0.75 * -0.5774, abs=1e-4)
    order = [doc for doc, _ in convex_fusion([dense, lexical], weights=[0.25, 0.75])]
    assert order == ["b", "a", "c", "d"]  # c and d tie: the smaller id first
    # a known floor (BM25: 0 for a document sharing no word) instead of the lowest listed score:
    # lexical [0 10 0 2]: mean 3, sd 4.1231 -> z -.7276 1.6977 -.7276 -.2425
    floored = dict(convex_fusion([dense, lexical], weights=[0.25, 0.75], floors=[None, 0.0]))
    assert floored["d"] == pytest.approx(0.25 * -0.9045 + 0.75 * -0.2425, abs=1e-4)
    assert floored["d"] > floored["c"]  # d was matched by BM25, c was not
    minmax = dict(convex_fusion([dense, lexical], normalization="minmax"))
    assert minmax == pytest.approx({"a": 1.0 + 0.0, "b": 0.5 + 1.0, "c": 0.0, "d": 0.0})


def test_convex_fusion_weight_moves_the_ranking_between_retrievers():
    dense = ([1, 2], [0.8, 0.7])
    lexical = ([2, 1], [9.0, 1.0])
    assert next(d for d, _ in convex_fusion([dense, lexical], weights=[0.9, 0.1])) == 1
    assert next(d for d, _ in convex_fusion([dense, lexical], weights=[0.1, 0.9])) == 2
    # a single candidate (no spread) normalises to 0, not NaN; above the rest with a known floor
    assert convex_fusion([([7], [3.0])]) == [(7, 0.0)]
    runs = [([1, 2, 3], [0.5, 0.4, 0.3]), ([3], [3.0])]
    assert convex_fusion(runs, weights=[0.2, 0.8], floors=[None, 0.0])[0][0] == 3
    assert convex_fusion(runs, weights=[0.2, 0.8])[0][0] == 1  # floor 3.0: BM25 tells nothing
    assert convex_fusion([]) == []
    with pytest.raises(ValueError, match="normalization"):
        convex_fusion([dense], normalization="rank")
    with pytest.raises(ValueError, match="weights"):
        convex_fusion([dense], weights=[0.5, 0.5])


def test_fuse_topk_convex_over_index_arrays_with_padding():
    dense = TopK(np.array([[0.9, 0.5, -np.inf]], np.float32), np.array([[3, 1, -1]]))
    lexical = TopK(np.array([[4.0, 2.0, 0.0]], np.float32), np.array([[1, 0, 2]]))
    fused = fuse_topk([dense, lexical], fusion="convex", weights=[0.5, 0.5], top_k=5)
    assert sorted(fused.indices[0][:4].tolist()) == [0, 1, 2, 3]
    assert fused.indices[0, 0] == 1 and fused.indices[0, 4] == -1
    assert fuse_topk([dense, lexical]).indices.tolist() == rrf_topk([dense, lexical]).indices.tolist()
    with pytest.raises(ValueError, match="fusion"):
        fuse_topk([dense], fusion="max")
