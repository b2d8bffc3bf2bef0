"""MLM warm-up: the loss falls on a tiny model, and the folder is a base that train() accepts."""

from __future__ import annotations

import json
import random

import pytest

from textmetric.errors import ConfigError
from textmetric.models.tiny_ja import TinyJaConfig
from textmetric.training import TrainConfig, pretrain_mlm, train
from textmetric.training.pretrain import length_grouped_batches, read_texts

TINY = TinyJaConfig(vocab_size=1500, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)


@pytest.fixture(scope="module")
def warmed(tmp_path_factory, japanese_texts):
    out = tmp_path_factory.mktemp("pretrain") / "base"
    result = pretrain_mlm(
        japanese_texts[:600], out, tiny=TINY, max_steps=40, batch_size=16, lr=3e-3, log_every=10, seed=7
    )
    return out, result


def test_mlm_loss_falls(warmed):
    out, result = warmed
    losses = [loss for _, loss in result.loss_history]
    assert result.steps == 40
    assert losses[-1] < losses[0] - 0.5, losses
    info = json.loads((out / "pretrain.json").read_text("utf-8"))
    assert info["steps"] == 40 and info["objective"] == "mlm"
    assert (out / "vocab.txt").is_file() and (out / "config.json").is_file()
    assert not (out / "_base").exists()


def test_warmed_folder_trains(warmed, tmp_path, jsts_rows):
    out, _ = warmed
    data = tmp_path / "pairs.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in jsts_rows[:64]) + "\n", "utf-8")
    config = TrainConfig(
        data=[str(data)],
        output=str(tmp_path / "model"),
        model=str(out),
        max_steps=2,
        batch_size=16,
        max_seq_length=32,
        lr=1e-3,
        save_steps=1000,
    )
    result = train(config)
    assert result.steps == 2
    assert (tmp_path / "model" / "textmetric.json").is_file()


def test_length_grouped_batches_cover_every_text_once():
    lengths = [random.Random(0).randint(3, 60) for _ in range(1000)]
    batches = length_grouped_batches(lengths, 16, random.Random(1), window=4)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 15  # sorted inside windows: little padding


def test_read_texts_and_errors(tmp_path, shared_data):
    txt = tmp_path / "t.txt"
    txt.write_text("犬が走っている。\n\n猫が寝ている。\n", "utf-8")
    assert read_texts([txt]) == ["犬が走っている。", "猫が寝ている。"]
    squad = read_texts([shared_data / "jsquad" / "valid.json"])
    assert len(squad) > 5000
    with pytest.raises(ConfigError):
        read_texts([tmp_path / "missing.txt"])
    with pytest.raises(ConfigError):
        pretrain_mlm(["a"], tmp_path / "x", model=str(tmp_path), max_steps=1)
