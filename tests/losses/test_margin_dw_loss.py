"""margin-dw: margin loss with a learned β, negatives drawn by distance-weighted sampling (Wu et al. 2017)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tests.losses.stubs import Stub
from textmetric.losses import get_loss
from textmetric.losses.margin_dw import MarginDistanceWeightedLoss, distance_weighted_miner


def unit(angle: float) -> list[float]:
    return [math.cos(angle), math.sin(angle)]


def test_value_equals_hand_computed_margin_loss_with_class_betas():
    loss = MarginDistanceWeightedLoss(Stub(), num_classes=2, margin=0.2, beta=1.2)
    with torch.no_grad():
        loss.beta.copy_(torch.tensor([1.2, 1.0]))
    x = torch.tensor([unit(0.0), unit(0.3), unit(1.0), unit(math.pi / 2), unit(math.pi)])
    labels = torch.tensor([0, 0, 1, 1, 1])
    triplets = (torch.tensor([0, 3]), torch.tensor([1, 4]), torch.tensor([2, 0]))
    d_ap0, d_an0 = 2 * math.sin(0.15), 2 * math.sin(0.5)  # chords on the unit circle
    d_ap1, d_an1 = math.sqrt(2), math.sqrt(2)
    terms = [
        max(0.0, 0.2 + (d_ap0 - 1.2)),  # 0: positive close enough
        max(0.0, 0.2 - (d_an0 - 1.2)),  # 0.441: negative inside β + α
        max(0.0, 0.2 + (d_ap1 - 1.0)),  # 0.614: class-1 β = 1.0
        max(0.0, 0.2 - (d_an1 - 1.0)),  # 0
    ]
    expected = sum(terms) / sum(t > 0 for t in terms)  # averaged over pairs with non-zero loss
    value = loss.compute_loss_from_embeddings(x, labels, triplets)
    assert value.item() == pytest.approx(expected, rel=1e-5)
    value.backward()
    assert loss.beta.grad is not None and float(loss.beta.grad.abs().sum()) > 0  # β is learned


def inverse_density(d: float, n: int) -> float:
    """The paper's weight: 1 / q(d), q(d) = d^(n-2) (1 - d²/4)^((n-3)/2), d clamped at 0.5, 0 past 1.4."""
    if d >= 1.4:
        return 0.0
    d = max(d, 0.5)
    return 1.0 / (d ** (n - 2) * (1 - d * d / 4) ** ((n - 3) / 2))


def test_miner_draws_negatives_with_the_papers_distance_weights():
    n = 4
    distances = [0.3, 0.7, 0.9, 1.1, 1.3, 1.5]
    anchor = torch.tensor([1.0, 0.0, 0.0, 0.0])
    copies = 20  # identical anchors of class 0: each draws one negative per positive
    rows = [anchor] * copies
    for k, d in enumerate(distances):
        theta = 2 * math.asin(d / 2)
        phi = k * 0.5
        sin = math.sin(theta)
        rows.append(torch.tensor([math.cos(theta), sin * math.cos(phi), sin * math.sin(phi), 0.0]))
    x = torch.stack(rows)
    labels = torch.tensor([0] * copies + [1] * len(distances))
    miner = distance_weighted_miner()
    torch.manual_seed(0)
    counts = torch.zeros(len(distances))
    for _ in range(30):
        a, _, neg = miner(x, labels)
        picked = neg[a < copies] - copies
        counts += torch.bincount(picked, minlength=len(distances)).float()
    total = float(counts.sum())
    assert total == 30 * copies * copies
    weights = [inverse_density(d, n) for d in distances]
    expected = [w / sum(weights) for w in weights]
    assert expected[-1] == 0.0 and counts[-1] == 0  # beyond nonzero_loss_cutoff: never drawn
    for k, p in enumerate(expected[:-1]):
        sigma = math.sqrt(p * (1 - p) / total)
        assert abs(float(counts[k]) / total - p) < 4 * sigma, (k, float(counts[k]) / total, p)


def test_high_dimensional_anchors_are_not_dropped():
    """In 256-d the batch-wide normalisation of pytorch-metric-learning underflowed to all-zero rows."""
    generator = torch.Generator().manual_seed(0)
    base = F.normalize(torch.randn(6, 256, generator=generator), dim=1)
    x = torch.cat([base, F.normalize(base + 0.05 * torch.randn(6, 256, generator=generator), dim=1)])
    x[6] = F.normalize(x[1] + 0.02 * torch.randn(256, generator=generator), dim=0)  # one very close negative
    labels = torch.tensor([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5])
    labels[6] = 0  # x[6] is near x[1] (class 1) but of class 0
    distances = torch.cdist(x, x)
    usable = (labels[:, None] != labels[None, :]) & (distances < 1.4)
    anchors_with_negatives = {i for i in range(len(x)) if usable[i].any() and (labels == labels[i]).sum() > 1}
    torch.manual_seed(0)
    a, _, _ = distance_weighted_miner()(x, labels)
    assert set(a.tolist()) == anchors_with_negatives


def test_defaults_are_the_papers():
    spec = get_loss("margin-dw")
    assert dict(spec.params) == {
        "margin": 0.2,
        "beta": 1.2,
        "nu": 0.0,
        "learn_beta": True,
        "class_beta": True,
        "cutoff": 0.5,
        "nonzero_loss_cutoff": 1.4,
    }
    assert spec.has_training_state and spec.in_batch_negatives


def test_forward_through_a_model_reaches_the_encoder(tiny_bert_dir):
    from textmetric.models import build_dual_encoder

    model = build_dual_encoder(str(tiny_bert_dir), max_seq_length=16)
    loss = MarginDistanceWeightedLoss(model, num_classes=2)
    features = model.preprocess(["犬が走る。", "猫が寝る。", "犬が吠える。", "猫が鳴く。"])
    torch.manual_seed(0)
    loss([features], torch.tensor([0, 1, 0, 1])).backward()
    grads = {n: p.grad for n, p in loss.named_parameters()}
    embedding = next(g for n, g in grads.items() if n.endswith("word_embeddings.weight"))
    assert float(embedding.abs().sum()) > 0
