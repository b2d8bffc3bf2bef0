"""A few dozen real training steps on labelled Japanese questions lower every supervised loss."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
import torch

from textmetric.data.formats import PairData
from textmetric.losses import build_loss

LABELS = 6
PER_LABEL = 16
STEPS = 20


@pytest.fixture(scope="module")
def questions(shared_data) -> PairData:
    """JSQuAD questions labelled by their article's title: 6 articles, 16 questions each."""
    raw = json.loads((shared_data / "jsquad" / "valid.json").read_text("utf-8"))
    by_title: dict[str, list[str]] = defaultdict(list)
    for article in raw["data"]:
        for paragraph in article["paragraphs"]:
            by_title[article["title"]] += [qa["question"] for qa in paragraph["qas"]]
    titles = sorted((t for t in by_title if len(by_title[t]) >= PER_LABEL), key=lambda t: -len(by_title[t]))
    names = sorted(titles[:LABELS])
    texts = [q for name in names for q in by_title[name][:PER_LABEL]]
    labels = [i for i in range(len(names)) for _ in range(PER_LABEL)]
    return PairData(
        format="labelled",
        path=None,
        columns=["text", "label"],
        records={"text": texts, "label": labels},
        rows_read=len(texts),
        label_names=names,
    )


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, questions):
    from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja

    config = TinyJaConfig(vocab_size=1500, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)
    return build_tiny_ja(questions.texts(), tmp_path_factory.mktemp("tiny") / "bert", config=config)


def compactness(model, data: PairData) -> float:
    """Mean distance between texts of one class over the mean distance between classes (lower: better)."""
    model.eval()
    with torch.no_grad():
        x = model.encode(data.records["text"], convert_to_tensor=True)
    model.train()
    labels = torch.tensor(data.records["label"])
    distances = torch.cdist(x, x)
    same = labels[:, None] == labels[None, :]
    other = ~torch.eye(len(labels), dtype=torch.bool)
    return float(distances[same & other].mean() / distances[~same].mean())


def full_loss(loss, model, data: PairData) -> float:
    model.eval()
    loss.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        features = model.preprocess(data.records["text"])
        value = float(loss([features], torch.tensor(data.records["label"])))
    model.train()
    loss.train()
    return value


@pytest.mark.parametrize("name", ["softmax", "center", "am-softmax", "margin-dw", "batch-hard-triplet"])
def test_training_lowers_the_loss(name, questions, tiny_dir):
    from sentence_transformers.base.sampler import GroupByLabelBatchSampler

    from textmetric.models import build_dual_encoder

    torch.manual_seed(0)
    model = build_dual_encoder(str(tiny_dir), max_seq_length=24)
    loss = build_loss(name, model, questions)
    before = full_loss(loss, model, questions)
    ratio_before = compactness(model, questions)
    optimizer = torch.optim.AdamW(loss.parameters(), lr=3e-3)  # the model's and the loss's own
    sampler = GroupByLabelBatchSampler(
        questions.to_dataset(),
        batch_size=12,
        drop_last=False,
        valid_label_columns=["label"],
        generator=torch.Generator(),
        seed=0,
    )
    texts, labels = questions.records["text"], questions.records["label"]
    step = 0
    while step < STEPS:
        sampler.set_epoch(step)
        for batch in sampler:
            features = model.preprocess([texts[i] for i in batch])
            value = loss([features], torch.tensor([labels[i] for i in batch]))
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            step += 1
            if step == STEPS:
                break
    after = full_loss(loss, model, questions)
    assert after < 0.8 * before, (name, before, after)
    # and the embedding itself got better for label retrieval, not only the loss (no collapse)
    assert compactness(model, questions) < 0.9 * ratio_before
    if name == "center":  # the centres followed the (moving) embeddings: close to the class means
        model.eval()
        with torch.no_grad():
            x = model.encode(texts, convert_to_tensor=True)
        means = torch.stack([x[torch.tensor(labels) == c].mean(0) for c in range(LABELS)])
        assert float((loss.centers - means).norm(dim=1).max()) < 0.5 * float(means.norm(dim=1).min())
