"""am-softmax: s·(cos θ_y − m) in a softmax over normalised weights and embeddings (Wang et al. 2018)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tests.losses.stubs import Stub
from textmetric.losses import get_loss
from textmetric.losses.am_softmax import AMSoftmaxLoss


def test_value_equals_hand_computed_additive_margin_softmax():
    loss = AMSoftmaxLoss(Stub(2), num_classes=2, margin=0.35, scale=2.0)
    with torch.no_grad():
        loss.weight.copy_(torch.tensor([[3.0, 1.0], [0.0, 1.0]]))  # columns: class 0 (3, 0), 1 (1, 1)
    x = torch.tensor([[2.0, 0.0], [0.0, -1.0]])  # unnormalised on purpose
    labels = torch.tensor([0, 1])
    c = 1 / math.sqrt(2)
    # row 0 (class 0): cos = (1, 1/√2); row 1 (class 1): cos = (0, -1/√2)
    row0 = -(2 * (1 - 0.35)) + math.log(math.exp(2 * (1 - 0.35)) + math.exp(2 * c))
    row1 = -(2 * (-c - 0.35)) + math.log(math.exp(0.0) + math.exp(2 * (-c - 0.35)))
    value = loss.compute_loss_from_embeddings(x, labels)
    assert value.item() == pytest.approx((row0 + row1) / 2, rel=1e-5)


def test_zero_margin_is_scaled_normalised_softmax_cross_entropy():
    generator = torch.Generator().manual_seed(0)
    loss = AMSoftmaxLoss(Stub(5), num_classes=4, margin=0.0, scale=30.0)
    x = torch.randn(6, 5, generator=generator)
    labels = torch.tensor([0, 1, 2, 3, 1, 0])
    logits = 30.0 * F.normalize(x, dim=1) @ F.normalize(loss.weight.detach(), dim=0)
    torch.testing.assert_close(loss.compute_loss_from_embeddings(x, labels), F.cross_entropy(logits, labels))


def test_the_margin_raises_the_loss_of_a_correct_prediction():
    x = torch.tensor([[1.0, 0.9]])  # cos 0.74 to its class, 0.67 to the other
    values = []
    for margin in (0.0, 0.35):
        loss = AMSoftmaxLoss(Stub(2), num_classes=2, margin=margin, scale=30.0)
        with torch.no_grad():
            loss.weight.copy_(torch.eye(2))
        values.append(loss.compute_loss_from_embeddings(x, torch.tensor([0])).item())
    assert values[1] > values[0] + 5


def test_defaults_are_the_papers_and_weights_are_trainable_state():
    spec = get_loss("am-softmax")
    assert dict(spec.params) == {"margin": 0.35, "scale": 30.0}
    assert spec.has_training_state and spec.sampler == "group_by_label"
    loss = AMSoftmaxLoss(Stub(3), num_classes=4)
    assert dict(loss.named_parameters())["cosface.W"].shape == (3, 4)


def test_forward_through_a_model_reaches_the_encoder(tiny_bert_dir):
    from textmetric.models import build_dual_encoder

    model = build_dual_encoder(str(tiny_bert_dir), max_seq_length=16)
    loss = AMSoftmaxLoss(model, num_classes=2)
    features = model.preprocess(["犬が走る。", "猫が寝る。", "犬が吠える。", "猫が鳴く。"])
    loss([features], torch.tensor([0, 1, 0, 1])).backward()
    grads = {n: p.grad for n, p in loss.named_parameters()}
    assert grads["cosface.W"] is not None
    embedding = next(g for n, g in grads.items() if n.endswith("word_embeddings.weight"))
    assert float(embedding.abs().sum()) > 0
