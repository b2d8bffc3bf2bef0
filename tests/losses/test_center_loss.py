"""center: softmax + λ·½‖x − c_y‖², centres moved by the paper's rule (Wen et al. 2016, Eq. 4)."""

from __future__ import annotations

import math

import pytest
import torch

from tests.losses.stubs import Stub
from textmetric.errors import ConfigError
from textmetric.losses import get_loss
from textmetric.losses.center import CenterLoss


def make(dim=2, classes=3, **params) -> CenterLoss:
    loss = CenterLoss(Stub(dim), num_classes=classes, **params)
    with torch.no_grad():
        loss.classifier.weight.zero_()
        loss.classifier.bias.zero_()
    return loss


def test_value_equals_softmax_plus_lambda_half_squared_distance():
    loss = make(lambda_=0.1, alpha=0.5)
    loss.centers.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
    x = torch.tensor([[0.5, 0.5], [0.0, 2.0], [3.0, 4.0]])
    labels = torch.tensor([0, 1, 2])
    # zero classifier: every logit 0, cross-entropy log(3); distances² 0.5, 1.0, 25.0
    expected = math.log(3) + 0.1 * 0.5 * (0.5 + 1.0 + 25.0) / 3
    parts = loss.components(x, labels)
    assert parts["softmax"].item() == pytest.approx(math.log(3), rel=1e-6)
    assert parts["center"].item() == pytest.approx(0.1 * 0.5 * 26.5 / 3, rel=1e-6)
    with torch.no_grad():  # no centre update under no_grad
        assert loss.compute_loss_from_embeddings(x, labels).item() == pytest.approx(expected, rel=1e-6)
    assert torch.equal(loss.centers, torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))


def test_centres_move_toward_class_means_with_rate_alpha():
    alpha = 0.5
    loss = make(alpha=alpha)
    start = torch.tensor([[1.0, 1.0], [-2.0, 0.0], [5.0, 5.0]])
    loss.centers.copy_(start)
    x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [1.0, 1.0]], requires_grad=True)
    labels = torch.tensor([0, 0, 1, 0])
    loss.compute_loss_from_embeddings(x, labels)
    # Eq. 4: c_j <- c_j - alpha * sum_{y_i=j} (c_j - x_i) / (1 + n_j)
    mean0, n0 = torch.tensor([1.0, 1 / 3]), 3
    want0 = start[0] - alpha * n0 * (start[0] - mean0) / (1 + n0)
    want1 = start[1] - alpha * 1 * (start[1] - torch.tensor([0.0, 4.0])) / 2
    torch.testing.assert_close(loss.centers[0], want0)
    torch.testing.assert_close(loss.centers[1], want1)
    torch.testing.assert_close(loss.centers[2], start[2])  # absent from the batch: unchanged
    # the gap to the class mean shrinks by 1 - alpha * n / (1 + n)
    gap_before = (start[0] - mean0).norm()
    gap_after = (loss.centers[0] - mean0).norm()
    assert gap_after.item() == pytest.approx(gap_before.item() * (1 - alpha * n0 / (1 + n0)), rel=1e-5)


def test_repeated_batches_bring_centres_to_the_class_means():
    loss = make(dim=3, classes=2, alpha=0.5)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3, generator=generator)
    labels = torch.tensor([0, 1, 0, 1, 0, 1, 1, 1])
    for _ in range(40):
        loss.compute_loss_from_embeddings(x.clone().requires_grad_(), labels)
    torch.testing.assert_close(loss.centers[0], x[labels == 0].mean(0), atol=1e-5, rtol=0)
    torch.testing.assert_close(loss.centers[1], x[labels == 1].mean(0), atol=1e-5, rtol=0)


def test_centres_are_a_buffer_not_an_optimizer_parameter_and_eval_mode_freezes_them():
    loss = make()
    assert "centers" in dict(loss.named_buffers())
    assert "centers" not in dict(loss.named_parameters())
    x = torch.ones(2, 2, requires_grad=True)
    loss.eval()
    loss.compute_loss_from_embeddings(x, torch.tensor([0, 1]))
    assert float(loss.centers.abs().sum()) == 0.0
    loss.train()
    value = loss.compute_loss_from_embeddings(x, torch.tensor([0, 1]))
    assert float(loss.centers.abs().sum()) > 0.0
    value.backward()
    assert x.grad is not None and loss.centers.grad is None


def test_gradient_of_the_center_term_is_lambda_times_offset_over_batch():
    loss = make(lambda_=0.2)
    loss.eval()  # keep centres fixed
    loss.centers.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
    x = torch.tensor([[3.0, 0.0], [0.0, -1.0]], requires_grad=True)
    loss.components(x, torch.tensor([0, 1]))["center"].backward()
    torch.testing.assert_close(x.grad, 0.2 * torch.tensor([[2.0, 0.0], [0.0, -2.0]]) / 2)


def test_registry_defaults_are_the_papers():
    spec = get_loss("center")
    assert dict(spec.params) == {"lambda": 0.003, "alpha": 0.5, "bias": True}
    assert spec.sampler == "group_by_label" and spec.has_training_state
    with pytest.raises(ConfigError, match="alpha"):
        CenterLoss(Stub(2), 2, alpha=1.5)
    with pytest.raises(ConfigError, match="lambda"):
        CenterLoss(Stub(2), 2, lambda_="abc")
