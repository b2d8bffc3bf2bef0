"""A short real training run: the loss falls, STS Spearman rises, the folder loads unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr
from sentence_transformers import SentenceTransformer

from textmetric.errors import ConfigError, InputError, OutputExistsError
from textmetric.models.metadata import ModelMetadata
from textmetric.training import TrainConfig, train

TINY = {"tiny_vocab_size": 4000, "tiny_hidden_size": 64, "tiny_layers": 2, "tiny_heads": 2}


def spearman(model, rows) -> float:
    a = model.encode([r["sentence1"] for r in rows], normalize_embeddings=True)
    b = model.encode([r["sentence2"] for r in rows], normalize_embeddings=True)
    return float(spearmanr((a * b).sum(axis=1), [r["label"] for r in rows]).statistic)


@pytest.fixture(scope="module")
def jsts_small(tmp_path_factory, jsts_rows):
    folder = tmp_path_factory.mktemp("jsts")
    train_path = folder / "train.jsonl"
    train_path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in jsts_rows[:1600]) + "\n", "utf-8"
    )
    return train_path, jsts_rows[-400:]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, jsts_small):
    train_path, _ = jsts_small
    out = tmp_path_factory.mktemp("runs") / "sts"
    config = TrainConfig(
        data=[str(train_path)],
        output=str(out),
        model="tiny-ja",
        epochs=4,
        batch_size=32,
        lr=5e-4,
        logging_steps=10,
        save_steps=50,
        max_seq_length=64,
        **TINY,
    )
    return config, train(config)


def test_training_lowers_loss_and_raises_spearman(trained, jsts_small):
    config, result = trained
    _, held_out = jsts_small
    losses = [loss for _, loss in result.loss_history]
    assert len(losses) >= 5
    assert np.mean(losses[-3:]) < np.mean(losses[:2]) - 0.05
    assert not (result.output / "checkpoints").exists()  # removed from the finished folder by default
    trained_model = SentenceTransformer(str(result.output))
    after = spearman(trained_model, held_out)
    from textmetric.models import build_dual_encoder, build_tiny_ja
    from textmetric.models.tiny_ja import TinyJaConfig

    rows = [json.loads(line) for line in Path(config.data[0]).read_text("utf-8").splitlines()]
    texts = [t for r in rows for t in (r["sentence1"], r["sentence2"])]
    untrained_dir = build_tiny_ja(
        texts,
        result.output.parent / "untrained",
        config=TinyJaConfig(
            vocab_size=4000, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=256
        ),
    )
    before = spearman(build_dual_encoder(str(untrained_dir), max_seq_length=64), held_out)
    assert after > before + 0.07, (before, after)


def test_output_folder_is_a_plain_sentence_transformer_with_metadata(trained):
    _, result = trained
    names = {p.name for p in result.output.iterdir()}
    assert {
        "modules.json",
        "model.safetensors",
        "vocab.txt",
        "textmetric.json",
        "train_config.json",
        "metrics.json",
    } <= names
    meta = ModelMetadata.load(result.output)
    assert meta.structure == "siamese" and meta.loss == ["cosent"] and meta.nfkc is True
    assert meta.data[0]["format"] == "scored"
    assert json.loads((result.output / "train_config.json").read_text())["model"] == "tiny-ja"


def test_refuses_non_empty_output_and_bad_input_writes_nothing(trained, tmp_path, jsts_small):
    config, result = trained
    with pytest.raises(OutputExistsError, match="--overwrite"):
        train(TrainConfig(data=config.data, output=str(result.output), model="tiny-ja"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"sentence1": "a", "sentence2": "b", "label": "x"}\n', encoding="utf-8")
    out = tmp_path / "never"
    with pytest.raises(InputError):
        train(TrainConfig(data=[str(bad)], output=str(out), model="tiny-ja"))
    assert not out.exists()
    with pytest.raises(ConfigError, match="needs binary data"):
        train(TrainConfig(data=config.data, output=str(out), model="tiny-ja", loss="contrastive"))
    assert not out.exists()


def test_dssm_on_anchor_positive_pairs(tmp_path):
    rows = [
        {"anchor": f"質問{i}はどうすればいいですか", "positive": f"回答{i}です。手続きをしてください。"}
        for i in range(64)
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = train(
        TrainConfig(
            data=[str(path)],
            output=str(tmp_path / "dssm"),
            model="tiny-ja",
            structure="dssm",
            epochs=1,
            batch_size=16,
            logging_steps=1,
            max_seq_length=32,
            **TINY,
        )
    )
    model = SentenceTransformer(str(result.output))
    q = model.encode_query(["質問3はどうすればいいですか"])
    d = model.encode_document(["質問3はどうすればいいですか"])
    assert not np.allclose(q, d, atol=1e-5)  # the two towers were trained apart
    assert ModelMetadata.load(result.output).structure == "dssm"


def test_best_metric_is_checked_before_training_and_keeps_the_best(tmp_path, jsts_small, jsts_rows):
    train_path, held = jsts_small
    sts = tmp_path / "sts_dev.jsonl"
    sts.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in held[:100]) + "\n", "utf-8")
    base = {
        "data": [str(train_path)],
        "model": "tiny-ja",
        "eval_sts": [str(sts)],
        "max_steps": 6,
        "batch_size": 16,
        "max_seq_length": 32,
        "save_steps": 3,
        **TINY,
    }
    out = tmp_path / "never"
    with pytest.raises(ConfigError, match="one of sts_dev_spearman_cosine, sts_dev_pearson_cosine"):
        train(TrainConfig(output=str(out), best_metric="sts_spearman", **base))
    assert not out.exists()
    with pytest.raises(ConfigError, match="needs an evaluation set"):
        train(TrainConfig(output=str(out), best_metric="sts_dev_spearman_cosine", **{**base, "eval_sts": []}))

    result = train(
        TrainConfig(
            output=str(tmp_path / "best"),
            best_metric="sts_dev_spearman_cosine",
            keep_checkpoints=True,
            **base,
        )
    )
    states = sorted((result.output / "checkpoints").glob("checkpoint-*/trainer_state.json"))
    history = json.loads(states[-1].read_text("utf-8"))["log_history"]
    scores = [e["eval_sts_dev_spearman_cosine"] for e in history if "eval_sts_dev_spearman_cosine" in e]
    assert len(scores) == 2  # steps 3 and 6
    # The final model is the best checkpoint's, not the last step's.
    assert result.metrics_after["sts_dev_spearman_cosine"] == pytest.approx(max(scores), abs=1e-5)
