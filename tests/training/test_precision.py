"""Mixed precision: bf16 autocast on the CPU when asked, fp32 by default, fp32 weights saved."""

from __future__ import annotations

import json
import logging

import pytest
from safetensors.torch import load_file
from transformers import TrainerCallback

from tests.training.test_resume import config_for
from textmetric.models.metadata import ModelMetadata
from textmetric.training import TrainConfig, train
from textmetric.training import trainer as trainer_module


class AutocastProbe(TrainerCallback):
    """Records the autocast state seen inside the model's forward passes during training."""

    def __init__(self) -> None:
        self.seen: set[tuple[bool, object]] = set()

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        import torch

        def hook(module, inputs, output):
            if module.training:
                self.seen.add((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))

        model[0].auto_model.encoder.register_forward_hook(hook)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory, jsts_rows):
    path = tmp_path_factory.mktemp("bf16") / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in jsts_rows[:256]) + "\n", "utf-8")
    return path


def _run(pairs, out, precision: str, device: str = "cpu") -> tuple[AutocastProbe, object]:
    probe = AutocastProbe()
    return probe, train(config_for(pairs, out, precision=precision, device=device), callbacks=[probe])


def test_bf16_on_the_cpu_runs_under_autocast_and_saves_fp32_weights(pairs, tmp_path):
    import torch

    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("device auto would pick the accelerator")
    # device auto on a CPU-only machine: transformers alone refuses bf16 there ("doesn't support bf16/gpu")
    probe, result = _run(pairs, tmp_path / "bf16", "bf16", device="auto")
    assert probe.seen == {(True, torch.bfloat16)}
    assert result.precision == "bf16"
    assert ModelMetadata.load(result.output).training["precision"] == "bf16"
    weights = load_file(str(result.output / "model.safetensors"))
    # mixed precision: the master weights stay fp32
    assert {tensor.dtype for tensor in weights.values() if tensor.is_floating_point()} == {torch.float32}


def test_auto_precision_stays_fp32_on_the_cpu(pairs, tmp_path):
    probe, result = _run(pairs, tmp_path / "auto", "auto")
    assert {enabled for enabled, _ in probe.seen} == {False}
    assert result.precision == "fp32"


def test_bf16_without_hardware_support_warns(monkeypatch, caplog):
    config = TrainConfig(data=["x.jsonl"], output="out", precision="bf16")
    monkeypatch.setattr(trainer_module, "cpu_has_native_bf16", lambda: False)
    with caplog.at_level(logging.WARNING, logger="textmetric"):
        assert trainer_module._precision(config, on_cpu=True) == {"bf16": True}
    assert "emulated" in caplog.text
    monkeypatch.setattr(trainer_module, "cpu_has_native_bf16", lambda: True)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="textmetric"):
        trainer_module._precision(config, on_cpu=True)
    assert "emulated" not in caplog.text
