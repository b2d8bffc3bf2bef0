"""softmax: cross-entropy of a linear head; hand-computed value, gradients, registry wiring."""

from __future__ import annotations

import math

import pytest
import torch

from tests.losses.stubs import Stub
from textmetric.data.formats import PairData
from textmetric.errors import ConfigError
from textmetric.losses import build_loss, get_loss
from textmetric.losses.softmax import SoftmaxLoss


def labelled(labels: list[int], names: list[str]) -> PairData:
    return PairData(
        format="labelled",
        path=None,
        columns=["text", "label"],
        records={"text": [f"文{i}" for i in range(len(labels))], "label": labels},
        rows_read=len(labels),
        label_names=names,
    )


def test_value_equals_hand_computed_cross_entropy():
    loss = SoftmaxLoss(Stub(2), num_classes=3)
    with torch.no_grad():
        loss.classifier.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
        loss.classifier.bias.copy_(torch.tensor([0.0, 0.5, 0.0]))
    x = torch.tensor([[0.6, 0.8], [1.0, 0.0]])
    labels = torch.tensor([1, 2])
    # logits: row 0 = [0.6, 1.3, -1.4], row 1 = [1.0, 0.5, -1.0]
    expected = 0.5 * (
        -(1.3 - math.log(math.exp(0.6) + math.exp(1.3) + math.exp(-1.4)))
        - (-1.0 - math.log(math.exp(1.0) + math.exp(0.5) + math.exp(-1.0)))
    )
    assert loss.compute_loss_from_embeddings(x, labels).item() == pytest.approx(expected, rel=1e-6)


def test_out_of_range_label_is_a_clear_error():
    loss = SoftmaxLoss(Stub(2), num_classes=3)
    with pytest.raises(ValueError, match=r"0\.\.2"):
        loss.compute_loss_from_embeddings(torch.zeros(2, 2), torch.tensor([0, 3]))


def test_registry_builds_it_from_labelled_data_only():
    spec = get_loss("softmax")
    assert spec.sampler == "group_by_label" and spec.has_training_state
    loss = build_loss("softmax", Stub(4), labelled([0, 1, 2, 1], ["a", "b", "c"]))
    assert loss.classifier.weight.shape == (3, 4)
    pairs = PairData(
        format="pairs",
        path=None,
        columns=["anchor", "positive"],
        records={"anchor": ["a"], "positive": ["b"]},
        rows_read=1,
    )
    with pytest.raises(ConfigError, match="needs labelled data"):
        build_loss("softmax", Stub(4), pairs)
    with pytest.raises(ConfigError, match="no parameter"):
        build_loss("softmax", Stub(4), labelled([0, 1], ["a", "b"]), {"margin": 0.1})


def test_forward_through_a_model_reaches_the_encoder(tiny_bert_dir):
    from textmetric.models import build_dual_encoder

    model = build_dual_encoder(str(tiny_bert_dir), max_seq_length=16)
    loss = build_loss("softmax", model, labelled([0, 1, 0, 1], ["犬", "猫"]))
    features = model.preprocess(["犬が走る。", "猫が寝る。", "犬が吠える。", "猫が鳴く。"])
    value = loss([features], torch.tensor([0, 1, 0, 1]))
    value.backward()
    assert reaches_encoder(loss)
    assert loss.classifier.weight.grad is not None


def reaches_encoder(loss) -> bool:
    """Non-zero gradients on the word embeddings and on the last transformer layer."""
    grads = {n: p.grad for n, p in loss.named_parameters() if n.startswith("model.")}
    nonzero = {n for n, g in grads.items() if g is not None and float(g.abs().sum()) > 0}
    last = max(int(n.split("layer.")[1].split(".")[0]) for n in grads if "layer." in n)
    return any("word_embeddings" in n for n in nonzero) and any(f"layer.{last}." in n for n in nonzero)


def test_every_format_default_is_registered_for_that_format():
    from textmetric.losses import DEFAULT_LOSS_FOR_FORMAT, default_loss

    for data_format, name in DEFAULT_LOSS_FOR_FORMAT.items():
        assert data_format in get_loss(name).formats
    assert default_loss("labelled") == "softmax"  # chosen on dev data by scripts/bench_losses.py
