"""Batched exact top-k: same answer as the full matrix, deterministic ties, any chunk size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textmetric.search.topk import TopKAccumulator, dense_topk, merge_topk, select_topk


def brute_force(scores: np.ndarray, k: int) -> np.ndarray:
    """Reference: sort each row by (-score, index)."""
    return np.array(
        [sorted(range(scores.shape[1]), key=lambda j: (-scores[i, j], j))[:k] for i in range(len(scores))]
    )


@pytest.mark.parametrize(("q_chunk", "c_chunk"), [(7, 13), (1, 1000), (64, 5), (1000, 1000)])
def test_dot_with_many_exact_ties_matches_brute_force(q_chunk, c_chunk):
    rng = np.random.default_rng(0)
    queries = rng.integers(0, 3, (40, 4)).astype(np.float32)  # small integers: many exactly tied scores
    corpus = rng.integers(0, 3, (250, 4)).astype(np.float32)
    result = dense_topk(
        queries, corpus, k=20, similarity="dot", query_chunk_size=q_chunk, corpus_chunk_size=c_chunk
    )
    full = queries @ corpus.T
    np.testing.assert_array_equal(result.indices, brute_force(full, 20))
    np.testing.assert_allclose(result.scores, np.take_along_axis(full, result.indices, axis=1))


@pytest.mark.parametrize("similarity", ["cosine", "euclidean"])
def test_cosine_and_euclidean_match_the_full_matrix(similarity):
    rng = np.random.default_rng(1)
    queries = rng.normal(size=(30, 8)).astype(np.float32)
    corpus = rng.normal(size=(200, 8)).astype(np.float32)
    if similarity == "cosine":
        qn = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        cn = corpus / np.linalg.norm(corpus, axis=1, keepdims=True)
        full = qn @ cn.T
    else:
        full = -np.linalg.norm(queries[:, None, :] - corpus[None, :, :], axis=2)
    result = dense_topk(
        queries, corpus, k=15, similarity=similarity, query_chunk_size=8, corpus_chunk_size=33
    )
    np.testing.assert_array_equal(result.indices, brute_force(full, 15))
    np.testing.assert_allclose(result.scores, np.take_along_axis(full, result.indices, axis=1), atol=1e-5)


def test_k_larger_than_corpus_torch_input_and_unpacking():
    corpus = torch.eye(3)
    scores, indices = dense_topk(torch.ones(2, 3), corpus, k=10, similarity="dot")
    assert indices.shape == (2, 3)
    np.testing.assert_array_equal(indices, [[0, 1, 2], [0, 1, 2]])  # all tied: lower index first
    np.testing.assert_allclose(scores, 1.0)


def test_select_topk_resolves_ties_at_the_boundary_by_index():
    block = torch.tensor(
        [[1.0, 3.0, 1.0, 1.0, 3.0], [0.0, 0.0, 0.0, 0.0, 0.0], [float("nan"), 2.0, 1.0, 2.0, 0.5]]
    )
    values, indices = select_topk(block, 3, offset=100)
    assert indices.tolist() == [[101, 104, 100], [100, 101, 102], [101, 103, 102]]
    assert values[0].tolist() == [3.0, 3.0, 1.0]


def test_merge_and_accumulator_equal_one_pass():
    rng = np.random.default_rng(2)
    block = rng.integers(0, 4, (5, 60)).astype(np.float32)
    acc = TopKAccumulator(k=7)
    for start in range(0, 60, 11):
        acc.add(block[:, start : start + 11], offset=start)
    _, indices = acc.result()
    np.testing.assert_array_equal(indices.numpy(), brute_force(block, 7))
    one_values, one_indices = select_topk(block, 7)
    merged = merge_topk(one_values, one_indices, one_values[:, :0], one_indices[:, :0], 7)
    assert torch.equal(merged[1], one_indices)


def test_bad_shapes_and_similarity_are_rejected():
    with pytest.raises(ValueError, match="same width"):
        dense_topk(np.zeros((2, 3)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="unknown similarity"):
        dense_topk(np.zeros((2, 3)), np.zeros((4, 3)), similarity="manhattan")  # type: ignore[arg-type]


def test_empty_queries():
    result = dense_topk(np.zeros((0, 3), dtype=np.float32), np.ones((4, 3), dtype=np.float32), k=2)
    assert result.indices.shape == (0, 2)
