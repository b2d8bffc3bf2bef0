"""Reciprocal rank fusion: hand-computed scores, ties by id."""

from __future__ import annotations

import numpy as np
import pytest

from textmetric.search import TopK, reciprocal_rank_fusion, rrf_topk


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
