"""PPMI + SVD word vectors: counts, the PPMI formula on a hand case, and what the vectors encode."""

from __future__ import annotations

import math

import numpy as np
import pytest

from textmetric.models.word_vectors import (
    cooccurrence_counts,
    pair_context_counts,
    ppmi_matrix,
    ppmi_svd_vectors,
)


def test_cooccurrences_are_symmetric_and_weighted_by_distance():
    counts = cooccurrence_counts([[0, 1, 2], [2, 1]], 4, window=2).toarray()
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[1, 0] = 1.0  # distance 1 in the first text
    expected[1, 2] = expected[2, 1] = 2.0  # distance 1, in both texts
    expected[0, 2] = expected[2, 0] = 0.5  # distance 2
    np.testing.assert_allclose(counts, expected)
    # Outside the window: nothing.
    assert cooccurrence_counts([[0, 1, 2]], 3, window=1).toarray()[0, 2] == 0
    with pytest.raises(ValueError, match="window"):
        cooccurrence_counts([[0, 1]], 2, window=0)


def test_ppmi_matches_the_formula_with_context_smoothing():
    counts = cooccurrence_counts([[0, 1, 2], [2, 1]], 3, window=2)
    ppmi = ppmi_matrix(counts, smoothing=0.75).toarray()
    n = counts.toarray()
    total = n.sum()
    # Hand case: P(w=1, c=0) = 1 / 7; P(w=1) = 3 / 7; P_a(c=0) = 1.5^.75 / (1.5^.75 + 3^.75 + 2.5^.75).
    context = np.array([1.5, 3.0, 2.5]) ** 0.75
    assert total == 7.0
    expected_10 = math.log((1 / 7) / ((3 / 7) * (context[0] / context.sum())))
    assert ppmi[1, 0] == pytest.approx(max(0.0, expected_10))
    for w in range(3):
        for c in range(3):
            if n[w, c] == 0:
                assert ppmi[w, c] == 0
                continue
            pmi = math.log((n[w, c] / total) / ((n[w].sum() / total) * (context[c] / context.sum())))
            assert ppmi[w, c] == pytest.approx(max(0.0, pmi))


def test_tokens_sharing_contexts_get_the_same_direction():
    # 2 and 4 both sit between 1 and 3; 6 and 8 both between 5 and 7; the two groups never meet.
    # (Unequal counts: a degenerate spectrum would leave the SVD's basis arbitrary.)
    texts = [[1, 2, 3]] * 4 + [[1, 4, 3]] * 3 + [[5, 6, 7]] * 2 + [[5, 8, 7]]
    vectors, has_context = ppmi_svd_vectors(texts, 9, 4, window=1)
    assert vectors.shape == (9, 4)
    assert has_context.tolist() == [False] + [True] * 8
    assert not vectors[0].any()
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    assert unit[2] @ unit[4] == pytest.approx(1.0, abs=1e-6)
    assert unit[6] @ unit[8] == pytest.approx(1.0, abs=1e-6)
    assert abs(unit[2] @ unit[6]) < 1e-6
    again, _ = ppmi_svd_vectors(texts, 9, 4, window=1)
    np.testing.assert_array_equal(vectors, again)  # reproducible


def test_no_cooccurrence_gives_no_vectors():
    vectors, has_context = ppmi_svd_vectors([[1], [2]], 4, 3)
    assert not has_context.any() and not vectors.any()


def test_pair_contexts_mark_the_distinct_tokens_of_both_texts():
    counts = pair_context_counts([([0, 1, 1], [2]), ([3], [3, 0])], 5).toarray()
    expected = np.zeros((5, 2))
    expected[[0, 1, 2], 0] = 1.0  # a token twice in a pair is one occurrence
    expected[[3, 0], 1] = 1.0
    np.testing.assert_array_equal(counts, expected)
    assert pair_context_counts([], 3).shape == (3, 0)


def test_pairs_are_contexts_of_their_tokens():
    """A token never next to another (9, a one-word text) still gets a vector from the pair it is in.

    Whether pair contexts make better vectors is measured on real text in
    tests/models/test_tiny_ja.py (static STS of the word vectors).
    """
    texts = [[1, 2, 3]] * 4 + [[1, 4, 3]] * 3 + [[5, 6, 7]] * 2 + [[5, 8, 7], [9]]
    pairs = [([1, 2, 3], [9]), ([5, 6, 7], [5, 8, 7])]
    alone, seen_alone = ppmi_svd_vectors(texts, 10, 4, window=1)
    together, seen = ppmi_svd_vectors(texts, 10, 4, window=1, pairs=pairs, pair_weight=1.0)
    assert not seen_alone[9] and not alone[9].any()
    assert seen[9] and together[9].any()
    assert not seen[0]  # in no text and no pair
    off, _ = ppmi_svd_vectors(texts, 10, 4, window=1, pairs=pairs, pair_weight=0.0)
    np.testing.assert_array_equal(off, alone)
    with pytest.raises(ValueError, match="pair_weight"):
        ppmi_svd_vectors(texts, 10, 4, window=1, pairs=pairs, pair_weight=-1.0)
