"""Environment failures become one clear message (exit 2), not a traceback."""

from __future__ import annotations

import json
import threading

import pytest
import torch
from typer.testing import CliRunner

from textmetric.cli import app
from textmetric.errors import ConfigError, DependencyError, ModelLoadError, OutOfMemory
from textmetric.models import ModelMetadata

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("env") / "model"
    tiny_model.save(str(folder))
    ModelMetadata(nfkc=True).save(folder)
    return folder


def _raise(*args, **kwargs):
    raise RuntimeError("Failed initializing MeCab. Please see the README for possible solutions")


def test_missing_mecab_dictionary_names_the_pip_command(monkeypatch):
    import fugashi

    from textmetric.models import tiny_ja
    from textmetric.text import words

    monkeypatch.setattr(fugashi, "Tagger", _raise)
    monkeypatch.setattr(fugashi, "GenericTagger", _raise)
    monkeypatch.setattr(words, "_local", threading.local())
    with pytest.raises(DependencyError, match="pip install fugashi unidic-lite"):
        words.word_tokenize("東京へ行く")
    with pytest.raises(DependencyError, match="pip install fugashi unidic-lite"):
        tiny_ja.mecab_word_tokenizer()


def test_missing_mecab_in_the_cli_is_exit_2(monkeypatch, tmp_path):
    import fugashi

    from textmetric.text import words

    monkeypatch.setattr(fugashi, "GenericTagger", _raise)
    monkeypatch.setattr(words, "_local", threading.local())
    data = tmp_path / "pairs.jsonl"
    data.write_text(json.dumps({"anchor": "東京", "positive": "大阪"}, ensure_ascii=False) + "\n", "utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["train", str(data), "--model", "tiny-ja", "--output", str(out)])
    assert result.exit_code == 2, result.output
    assert "pip install fugashi unidic-lite" in result.output and "Traceback" not in result.output
    assert not out.exists()  # the failed run leaves no folder behind


def test_out_of_memory_while_encoding_suggests_a_smaller_batch(model_dir, monkeypatch):
    from textmetric import TextMetric

    tm = TextMetric.load(model_dir)

    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(tm.model, "encode_document", oom)
    with pytest.raises(OutOfMemory, match="--batch-size"):
        tm.encode(["東京"])


def test_out_of_memory_while_training_is_exit_2_with_hints(monkeypatch, tmp_path):
    from transformers.models.bert import modeling_bert

    def oom(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")

    monkeypatch.setattr(modeling_bert.BertModel, "forward", oom)
    data = tmp_path / "pairs.jsonl"
    rows = [{"anchor": f"文{i}です", "positive": f"答え{i}です"} for i in range(4)]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "train",
            str(data),
            "--model",
            "tiny-ja",
            "--output",
            str(out),
            "--max-steps",
            "1",
            "--batch-size",
            "2",
        ],
    )
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "out of memory while training" in text
    assert "--batch-size" in text and "--max-seq-length" in text and "Cached" in text
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_a_gpu(model_dir, tmp_path):
    from textmetric import TextMetric
    from textmetric.evaluation.runner import load_model

    with pytest.raises(ConfigError, match="no CUDA GPU"):
        TextMetric.load(model_dir, device="cuda")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        load_model(model_dir, device="cuda:0")
    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({"text": "東京"}, ensure_ascii=False) + "\n", "utf-8")
    for args in (
        ["embed", str(model_dir), str(docs), "--out", str(tmp_path / "v.parquet"), "--device", "cuda"],
        ["train", str(docs), "--model", "tiny-ja", "--output", str(tmp_path / "m"), "--device", "cuda"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "no CUDA GPU" in result.output, result.output
    assert not (tmp_path / "v.parquet").exists() and not (tmp_path / "m").exists()


def test_hub_id_offline_says_how_to_use_a_local_folder(monkeypatch, tmp_path):
    from huggingface_hub import constants

    from textmetric import TextMetric
    from textmetric.models.builder import load_transformer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelLoadError, match="local"):
        TextMetric.load("no-such-org/no-such-model")
    with pytest.raises(ModelLoadError, match="--local-dir"):
        load_transformer("no-such-org/no-such-model", 32)
    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({"text": "東京"}, ensure_ascii=False) + "\n", "utf-8")
    result = runner.invoke(
        app, ["embed", "no-such-org/no-such-model", str(docs), "--out", str(tmp_path / "v.parquet")]
    )
    assert result.exit_code == 2 and "pass the path of its folder" in " ".join(result.output.split())
    assert not (tmp_path / "v.parquet").exists()
