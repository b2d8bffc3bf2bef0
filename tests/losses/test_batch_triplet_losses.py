"""Batch triplet losses (FaceNet-style online mining) and the pair / triplet losses: values by hand."""

from __future__ import annotations

import pytest
import torch

from tests.losses.stubs import Stub
from textmetric.data.formats import PairData
from textmetric.errors import ConfigError
from textmetric.losses import build_loss, get_loss


def data(fmt: str) -> PairData:
    columns = {
        "labelled": ["text", "label"],
        "binary": ["sentence1", "sentence2", "label"],
        "triplets": ["anchor", "positive", "negative"],
        "pairs": ["anchor", "positive"],
        "scored": ["sentence1", "sentence2", "score"],
    }[fmt]
    records = {c: ["a", "b"] for c in columns}
    if "label" in columns:
        records["label"] = [0, 1]
    if "score" in columns:
        records["score"] = [0.0, 1.0]
    return PairData(
        format=fmt,
        path=None,
        columns=columns,
        records=records,
        rows_read=2,
        label_names=["x", "y"] if fmt == "labelled" else None,
    )


# Squared distances: d(0,1)=1, d(0,2)=4, d(0,3)=9, d(1,2)=5, d(1,3)=4, d(2,3)=13.
POINTS = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])
LABELS = torch.tensor([0, 0, 1, 1])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # hardest positive / closest negative per anchor: 0, 0, 13-4+.2, 13-4+.2
        ("batch-hard-triplet", (9.2 + 9.2) / 4),
        # all valid triplets, mean over those with non-zero loss: (2,3,0) (2,3,1) (3,2,0) (3,2,1)
        ("batch-all-triplet", (9.2 + 8.2 + 4.2 + 9.2) / 4),
        # per positive pair, closest negative farther than the positive, else the farthest negative
        ("batch-semi-hard-triplet", (0 + 0 + (13 - 5 + 0.2) + (13 - 9 + 0.2)) / 4),
    ],
)
def test_batch_triplet_values(name, expected):
    loss = build_loss(name, Stub(), data("labelled"), {"distance": "squared_euclidean"})
    value = loss.compute_loss_from_embeddings([POINTS], LABELS)
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_batch_hard_with_plain_euclidean_distance():
    loss = build_loss("batch-hard-triplet", Stub(), data("labelled"))  # Hermans et al.: not squared
    value = loss.compute_loss_from_embeddings([POINTS], LABELS)
    # anchors 2 and 3: hardest positive √13, closest negative 2; anchors 0 and 1: no loss
    assert value.item() == pytest.approx(2 * (13**0.5 - 2 + 0.2) / 4, rel=1e-5)


def test_batch_triplet_defaults_are_the_papers():
    defaults = {"all": "squared_euclidean", "hard": "euclidean", "semi-hard": "squared_euclidean"}
    for kind, distance in defaults.items():
        spec = get_loss(f"batch-{kind}-triplet")
        assert dict(spec.params) == {"margin": 0.2, "distance": distance}
        assert spec.formats == ("labelled",) and spec.sampler == "group_by_label"
    with pytest.raises(ConfigError, match="unknown distance"):
        build_loss("batch-hard-triplet", Stub(), data("labelled"), {"distance": "manhattan"})


def test_cosine_distance_option():
    loss = build_loss("batch-hard-triplet", Stub(), data("labelled"), {"distance": "cosine", "margin": 0.5})
    x = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    d = 1 - torch.nn.functional.cosine_similarity(x[:, None], x[None], dim=-1)
    want = torch.stack(
        [
            torch.relu(d[0, 1] - d[0, 2:].min() + 0.5),
            torch.relu(d[1, 0] - d[1, 2:].min() + 0.5),
            torch.relu(d[2, 3] - d[2, :2].min() + 0.5),
            torch.relu(d[3, 2] - d[3, :2].min() + 0.5),
        ]
    ).mean()
    torch.testing.assert_close(loss.compute_loss_from_embeddings([x], LABELS), want)


def test_contrastive_is_hadsells_with_euclidean_distance():
    spec = get_loss("contrastive")
    assert dict(spec.params) == {"margin": 1.0, "distance": "euclidean"}
    loss = build_loss("contrastive", Stub(), data("binary"))
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    b = torch.tensor([[0.6, 0.8], [0.3, 0.4]])
    # similar pair at d=1: ½·1²; dissimilar pair at d=0.5 inside margin 1: ½·(1−0.5)²
    value = loss.compute_loss_from_embeddings([a, b], torch.tensor([1, 0]))
    assert value.item() == pytest.approx((0.5 + 0.125) / 2, rel=1e-5)  # pairwise_distance adds eps 1e-6


def test_triplet_is_facenets_squared_distance_with_alpha_0_2():
    spec = get_loss("triplet")
    assert dict(spec.params) == {"margin": 0.2, "distance": "squared_euclidean"}
    loss = build_loss("triplet", Stub(), data("triplets"))
    anchor = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    positive = torch.tensor([[0.3, 0.4], [0.0, 1.0]])
    negative = torch.tensor([[0.6, 0.0], [1.0, 0.1]])
    # max(0, ‖a−p‖² − ‖a−n‖² + 0.2): 0.25 − 0.36 + 0.2 and 2 − 0.01 + 0.2
    value = loss.compute_loss_from_embeddings([anchor, positive, negative], torch.zeros(2))
    assert value.item() == pytest.approx((0.09 + 2.19) / 2, rel=1e-5)


def test_mnrl_symmetric_averages_both_directions():
    """anchor -> positive over the batch's positives, and positive -> anchor over its anchors."""
    import torch.nn.functional as F

    anchors = F.normalize(torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]), dim=-1)
    positives = F.normalize(torch.tensor([[0.8, 0.6], [1.0, 1.0], [-0.2, 1.0]]), dim=-1)
    scores = 20.0 * anchors @ positives.T
    target = torch.arange(3)
    forward = F.cross_entropy(scores, target)
    backward = F.cross_entropy(scores.T, target)
    symmetric = build_loss("mnrl-symmetric", Stub(), data("pairs"))
    one_way = build_loss("mnrl", Stub(), data("pairs"))
    got = symmetric.compute_loss_from_embeddings([anchors, positives], None)
    torch.testing.assert_close(got, (forward + backward) / 2)
    torch.testing.assert_close(one_way.compute_loss_from_embeddings([anchors, positives], None), forward)
    assert get_loss("mnrl-symmetric").sampler == "no_duplicates"


def test_angle_ranks_pairs_by_the_angle_difference_not_the_cosine():
    """AnglE = CoSENT's log(1 + Σ exp(scale·(s_low − s_high))) with s = |cos + sin| (Li & Li 2024).

    Pair 1: (1, 0) and (1, 0): cos 1, sin 0 -> s = 1. Pair 2: (1, 0) and (0.6, 0.8): cos 0.6,
    sin = 0·0.6 − 1·0.8 = −0.8 -> s = |0.6 − 0.8| = 0.2. Gold says pair 2 is the more similar, so
    the loss is log(1 + exp(20·(1 − 0.2))); CoSENT would use the cosines: log(1 + exp(20·(1 − 0.6))).
    """
    import math

    first = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    second = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    gold = torch.tensor([1.0, 5.0])
    angle = build_loss("angle", Stub(), data("scored"))
    cosent = build_loss("cosent", Stub(), data("scored"))
    got = angle.compute_loss_from_embeddings([first, second], gold)
    assert got.item() == pytest.approx(math.log1p(math.exp(20 * 0.8)), rel=1e-5)
    assert cosent.compute_loss_from_embeddings([first, second], gold).item() == pytest.approx(
        math.log1p(math.exp(20 * 0.4)), rel=1e-5
    )
    assert get_loss("angle").formats == ("scored",)
