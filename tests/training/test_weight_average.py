"""The moving average of the weights: its formula, its checkpoint, and what train() saves."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
import torch
from transformers import TrainerCallback

from tests.training.test_resume import config_for
from textmetric.training import TrainConfig, train
from textmetric.training.callbacks import WEIGHT_AVERAGE_FILE, WeightAverageCallback


def _step(callback: WeightAverageCallback, model: torch.nn.Module, step: int, value: float) -> None:
    with torch.no_grad():
        model.weight.fill_(value)
    callback.on_step_end(None, SimpleNamespace(global_step=step, max_steps=4), None)


def test_average_matches_the_formula_from_the_start_step():
    model = torch.nn.Linear(2, 1, bias=False)
    callback = WeightAverageCallback(model, decay=0.5, start=0.5)  # starts at step ceil(0.5 * 4) = 2
    for step, value in enumerate([1.0, 2.0, 4.0, 8.0], start=1):
        _step(callback, model, step, value)
    # step 1 skipped; step 2 copies 2; step 3: 0.5*2 + 0.5*4 = 3; step 4: 0.5*3 + 0.5*8 = 5.5
    assert callback.updates == 3
    assert torch.equal(callback.averaged.module.weight, torch.full((1, 2), 5.5))
    assert torch.equal(model.weight, torch.full((1, 2), 8.0))  # training weights untouched
    callback.on_train_end(None, SimpleNamespace(global_step=4, max_steps=4), None)
    assert torch.equal(model.weight, torch.full((1, 2), 5.5))


def test_checkpointed_average_continues_exactly(tmp_path):
    model = torch.nn.Linear(2, 1, bias=False)
    callback = WeightAverageCallback(model, decay=0.5, start=0.5)
    for step, value in enumerate([1.0, 2.0, 4.0], start=1):
        _step(callback, model, step, value)
    callback.save(tmp_path)
    assert (tmp_path / WEIGHT_AVERAGE_FILE).is_file()
    assert not [p for p in tmp_path.iterdir() if p.name != WEIGHT_AVERAGE_FILE]  # no temporary left

    resumed = WeightAverageCallback(model, decay=0.5, start=0.5)
    assert resumed.load(tmp_path) and resumed.updates == 2
    _step(resumed, model, 4, 8.0)
    assert torch.equal(resumed.averaged.module.weight, torch.full((1, 2), 5.5))

    assert not WeightAverageCallback(model, decay=0.5).load(tmp_path / "elsewhere")
    other = torch.nn.Linear(2, 1)  # has a bias too
    with pytest.raises(ValueError, match="different model"):
        WeightAverageCallback(other, decay=0.5).load(tmp_path)


@pytest.mark.parametrize("decay, start", [(0.0, 0.5), (1.0, 0.5), (0.9, 1.0), (0.9, -0.1)])
def test_bad_settings_are_refused(decay, start):
    with pytest.raises(ValueError):
        WeightAverageCallback(torch.nn.Linear(1, 1), decay=decay, start=start)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"ema_decay": 1.0}, "ema_decay must be in [0, 1)"),
        ({"ema_decay": -0.1}, "ema_decay must be in [0, 1)"),
        ({"ema_decay": 0.99, "ema_start": 1.0}, "ema_start is a fraction of the steps"),
        ({"ema_decay": 0.99, "best_metric": "jsts_spearman_cosine"}, "use one of them"),
    ],
)
def test_config_refuses_bad_averages(options, message):
    from textmetric.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        TrainConfig(data=["x.jsonl"], output="out", **options)


class RecordWeights(TrainerCallback):
    """The raw weights after every optimizer step."""

    def __init__(self) -> None:
        self.steps: list[dict[str, torch.Tensor]] = []

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.steps.append({n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad})


def test_train_saves_the_moving_average_of_its_steps(tmp_path, pairs_file):
    from sentence_transformers import SentenceTransformer

    recorder = RecordWeights()
    config = config_for(pairs_file, tmp_path / "ema", ema_decay=0.8, ema_start=0.5)
    result = train(config, callbacks=[recorder])
    assert len(recorder.steps) == 12
    expected = dict(recorder.steps[5])  # step 6 = ceil(0.5 * 12) starts the average
    for weights in recorder.steps[6:]:
        expected = {n: 0.8 * expected[n] + 0.2 * weights[n] for n in expected}

    saved = dict(SentenceTransformer(str(result.output), device="cpu").named_parameters())
    assert saved.keys() == expected.keys()
    for name, value in expected.items():
        torch.testing.assert_close(saved[name], value, rtol=1e-5, atol=1e-6, msg=name)
    last = recorder.steps[-1]
    assert any(not torch.allclose(saved[n], last[n]) for n in last)  # not simply the last weights
    training = json.loads((result.output / "textmetric.json").read_text("utf-8"))["training"]
    assert training["ema_decay"] == 0.8 and training["ema_start"] == 0.5


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory, jsts_rows):
    path = tmp_path_factory.mktemp("ema") / "sts.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in jsts_rows[:160]) + "\n", "utf-8")
    return path
