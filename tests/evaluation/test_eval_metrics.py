"""Every retrieval metric against a hand-computed value: ties, several relevant docs, graded nDCG."""

from __future__ import annotations

import math

import numpy as np
import pytest

from textmetric.evaluation.metrics import (
    accuracy_at_k,
    average_precision_at_k,
    evaluate_rankings,
    ndcg_at_k,
    parse_metric,
    precision_at_k,
    rank_by_score,
    recall_at_k,
    recall_curve,
    reciprocal_rank_at_k,
    sts_correlations,
)

RANKING = ["d1", "d2", "d3", "d4"]
BINARY = {"d2": 1, "d4": 1, "d5": 1}  # three relevant documents, d5 never retrieved
GRADED = {"d2": 2, "d4": 1, "d5": 1, "d3": 0}  # d3 judged non-relevant


def test_ndcg_graded_by_hand():
    # DCG@3 = 2/log2(3); ideal gains 2,1,1 -> 2/1 + 1/log2(3) + 1/2
    expected = (2 / math.log2(3)) / (2 + 1 / math.log2(3) + 0.5)
    assert ndcg_at_k(RANKING, GRADED, 3) == pytest.approx(expected)
    assert ndcg_at_k(RANKING, GRADED, 3) == pytest.approx(0.403030, abs=1e-6)
    assert ndcg_at_k(["d2", "d4", "d5"], GRADED, 3) == pytest.approx(1.0)
    assert ndcg_at_k(["d4", "d2", "d5"], GRADED, 3) < 1.0
    assert ndcg_at_k(RANKING, {"d9": 0}, 3) == 0.0


def test_ndcg_binary_several_relevant_by_hand():
    # hits at ranks 2 and 4: 1/log2(3) + 1/log2(5); ideal: three hits at 1..3
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    assert ndcg_at_k(RANKING, BINARY, 10) == pytest.approx(expected)


def test_mrr_by_hand():
    assert reciprocal_rank_at_k(RANKING, BINARY, 10) == 0.5
    assert reciprocal_rank_at_k(RANKING, BINARY, 1) == 0.0
    assert reciprocal_rank_at_k(RANKING, GRADED, 10) == 0.5  # grade 0 is not relevant


def test_map_by_hand():
    # precision 1/2 at rank 2 and 2/4 at rank 4, over min(k, 3 relevant)
    assert average_precision_at_k(RANKING, BINARY, 100) == pytest.approx((0.5 + 0.5) / 3)
    assert average_precision_at_k(RANKING, BINARY, 2) == pytest.approx(0.5 / 2)
    assert average_precision_at_k(["d2"], {"d2": 1}, 100) == 1.0


def test_recall_precision_accuracy_by_hand():
    assert recall_at_k(RANKING, BINARY, 1) == 0.0
    assert recall_at_k(RANKING, BINARY, 2) == pytest.approx(1 / 3)
    assert recall_at_k(RANKING, BINARY, 4) == pytest.approx(2 / 3)
    assert precision_at_k(RANKING, BINARY, 4) == 0.5
    assert precision_at_k(RANKING, BINARY, 10) == 0.2
    assert accuracy_at_k(RANKING, BINARY, 1) == 0.0
    assert accuracy_at_k(RANKING, BINARY, 2) == 1.0


def test_duplicates_count_once():
    assert recall_at_k(["d2", "d2", "d2"], BINARY, 3) == pytest.approx(1 / 3)
    assert precision_at_k(["d2", "d2", "d4"], BINARY, 2) == 1.0  # repeats removed: top 2 are d2, d4


def test_ties_are_broken_by_ascending_id():
    assert rank_by_score({"b": 1.0, "a": 1.0, "c": 2.0, "z": float("nan")}) == ["c", "a", "b", "z"]
    assert rank_by_score([("d10", 0.5), ("d9", 0.5)]) == ["d10", "d9"]  # string order
    ranking = rank_by_score({"b": 1.0, "a": 1.0, "c": 2.0})
    assert reciprocal_rank_at_k(ranking, {"b": 1}, 10) == pytest.approx(1 / 3)  # a wins the tie


def test_evaluate_rankings_means_skips_unjudged_and_zeroes_missing():
    rankings = {"q1": RANKING, "q2": ["d7", "d8"], "q3": ["d1"]}
    qrels = {"q1": BINARY, "q2": {"d8": 1}, "q3": {"d1": 0}, "q4": {"d1": 1}}
    result = evaluate_rankings(rankings, qrels, ["mrr@10", "recall@1", "accuracy@2"], keep_per_query=True)
    assert result.num_queries == 3  # q3 has no relevant document; q4 has no ranking (all zeros)
    assert result.metrics["mrr@10"] == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    assert result.metrics["recall@1"] == 0.0
    assert result.metrics["accuracy@2"] == pytest.approx(2 / 3)
    assert result.per_query["q4"] == {"mrr@10": 0.0, "recall@1": 0.0, "accuracy@2": 0.0}


def test_recall_curve_equals_recall_at_each_k():
    rankings = {"q1": RANKING, "q2": ["d8", "d7"]}
    qrels = {"q1": BINARY, "q2": {"d7": 1}}
    curve = recall_curve(rankings, qrels, max_k=5)
    for k in range(1, 6):
        assert curve[k - 1] == pytest.approx(
            evaluate_rankings(rankings, qrels, [f"recall@{k}"]).metrics[f"recall@{k}"]
        )


def test_metric_names():
    assert parse_metric("nDCG@10") == ("ndcg", 10)
    with pytest.raises(ValueError, match="unknown retrieval metric"):
        parse_metric("f1@3")


def test_sts_correlations_by_hand():
    # one swapped pair among four: Spearman = 1 - 6*2/(4*15) = 0.8; Pearson also 4/5
    values = sts_correlations([1, 2, 3, 4], [1, 2, 4, 3])
    assert values["spearman"] == pytest.approx(0.8)
    assert values["pearson"] == pytest.approx(0.8)
    assert math.isnan(sts_correlations([1, 2, 3], [5, 5, 5])["spearman"])
    with pytest.raises(ValueError):
        sts_correlations([1, 2], np.array([1.0]))


def test_label_metrics_by_hand():
    from textmetric.evaluation.metrics import label_metrics

    # Two tight classes on perpendicular axes, and a singleton (no partner: not a query).
    embeddings = np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.0, 1.0, 0.0], [0.0, 2.0, 0.1], [0, 0, 1.0]])
    labels = ["a", "a", "b", "b", "c"]
    result = label_metrics(embeddings, labels)
    assert result["map"] == pytest.approx(1.0) and result["r@1"] == pytest.approx(1.0)
    assert 0 < result["intra"] < result["inter"] and result["intra/inter"] < 0.2
    # Mixed up: each text's nearest neighbour is of the other label.
    mixed = label_metrics(embeddings[:4], ["a", "b", "b", "a"])
    assert mixed["r@1"] == 0.0
    # The partner ranks 2nd for texts 1 and 2, 3rd for 3 and for 0 (whose 2nd and 3rd tie at
    # similarity 0: the earlier text first): AP = (1/3 + 1/2 + 1/2 + 1/3) / 4.
    assert mixed["map"] == pytest.approx(5 / 12)
    assert mixed["intra/inter"] > 1.0
    # Scale does not matter (cosine), nor do ties crash; undefined values are NaN.
    np.testing.assert_allclose(list(label_metrics(embeddings * 7, labels).values()), list(result.values()))
    lonely = label_metrics(embeddings[:2], ["a", "b"])
    assert math.isnan(lonely["map"]) and math.isnan(lonely["intra"])
    with pytest.raises(ValueError, match="labels"):
        label_metrics(embeddings, labels[:2])
