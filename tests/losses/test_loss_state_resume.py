"""Loss state (center loss's centres, its classifier) is checkpointed, restored on resume, not exported."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
import torch

from textmetric.training import TrainConfig, last_checkpoint, train
from textmetric.training import callbacks as training_callbacks
from textmetric.training.callbacks import LOSS_STATE_FILE, loss_state_dict, save_loss_state

SMALL = {"tiny_vocab_size": 1500, "tiny_hidden_size": 32, "tiny_layers": 1, "tiny_heads": 2}


@pytest.fixture(scope="module")
def labelled_file(tmp_path_factory, shared_data):
    raw = json.loads((shared_data / "jsquad" / "valid.json").read_text("utf-8"))
    by_title: dict[str, list[str]] = defaultdict(list)
    for article in raw["data"]:
        for paragraph in article["paragraphs"]:
            by_title[article["title"]] += [qa["question"] for qa in paragraph["qas"]]
    titles = sorted(by_title, key=lambda t: -len(by_title[t]))[:4]
    rows = [{"text": q, "label": t} for t in titles for q in by_title[t][:12]]
    path = tmp_path_factory.mktemp("labelled") / "questions.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def config(data, output, **extra) -> TrainConfig:
    return TrainConfig(
        data=[str(data)],
        output=str(output),
        model="tiny-ja",
        loss="center",
        loss_params={"lambda": 0.1},
        max_steps=6,
        batch_size=8,
        save_steps=3,
        logging_steps=3,
        max_seq_length=24,
        seed=3,
        keep_checkpoints=True,
        **SMALL,
        **extra,
    )


def saved_centres(checkpoint) -> torch.Tensor:
    return torch.load(checkpoint / LOSS_STATE_FILE, weights_only=True)["0.centers"]


def test_centres_are_checkpointed_and_restored_on_resume(tmp_path, labelled_file, monkeypatch):
    from transformers.trainer_callback import TrainerState

    # loss_state.pt must be in place before trainer_state.json marks the checkpoint complete.
    had_loss_state = {}
    save_to_json = TrainerState.save_to_json

    def watch(state, json_path):
        folder = Path(json_path).parent
        if folder.name.startswith("checkpoint-"):
            had_loss_state[folder.name] = (folder / LOSS_STATE_FILE).is_file()
        return save_to_json(state, json_path)

    monkeypatch.setattr(TrainerState, "save_to_json", watch)
    full = train(config(labelled_file, tmp_path / "full")).output
    assert had_loss_state == {"checkpoint-3": True, "checkpoint-6": True}
    checkpoints = full / "checkpoints"
    at_3, at_6 = saved_centres(checkpoints / "checkpoint-3"), saved_centres(checkpoints / "checkpoint-6")
    assert at_3.abs().sum() > 0 and not torch.allclose(at_3, at_6)
    saved = torch.load(checkpoints / "checkpoint-6" / LOSS_STATE_FILE, weights_only=True)
    assert set(saved) == {"0.centers", "0.classifier.weight", "0.classifier.bias"}  # no encoder copy

    # A run killed while writing checkpoint-6 after its trainer_state.json but before its loss
    # state (as older versions wrote them) resumes from checkpoint-3, the last complete one, and
    # the centres start from checkpoint-3's, not from zero.
    partial = tmp_path / "partial"
    shutil.copytree(checkpoints, partial / "checkpoints")
    (partial / "checkpoints" / "checkpoint-6" / LOSS_STATE_FILE).unlink()
    assert last_checkpoint(partial).name == "checkpoint-6"
    assert last_checkpoint(partial, loss_state=True).name == "checkpoint-3"
    restored = {}
    original = training_callbacks.restore_loss_state

    def spy(loss, checkpoint):
        done = original(loss, checkpoint)
        restored["from"] = Path(checkpoint).name
        restored["centres"] = loss.centers.detach().clone()
        return done

    monkeypatch.setattr(training_callbacks, "restore_loss_state", spy)
    resumed = train(config(labelled_file, partial, resume=True)).output
    assert restored["from"] == "checkpoint-3"
    torch.testing.assert_close(restored["centres"], at_3)
    after = saved_centres(resumed / "checkpoints" / "checkpoint-6")
    torch.testing.assert_close(after, at_6, atol=1e-4, rtol=1e-3)  # same as the unbroken run

    # The exported encoder holds none of it.
    from safetensors.torch import load_file

    exported = load_file(resumed / "model.safetensors")
    assert not any("center" in name or "classifier" in name for name in exported)
    assert {p.name for p in resumed.iterdir()} >= {"modules.json", "model.safetensors"}


def test_loss_state_is_written_atomically_and_only_when_needed(tmp_path):
    loss = torch.nn.Linear(3, 2)
    target = save_loss_state(loss, tmp_path / "checkpoint-1")
    assert target == tmp_path / "checkpoint-1" / LOSS_STATE_FILE
    torch.nn.init.zeros_(loss.weight)
    save_loss_state(loss, tmp_path / "checkpoint-1")  # replaced in one rename
    assert [p.name for p in (tmp_path / "checkpoint-1").iterdir()] == [LOSS_STATE_FILE]
    assert torch.load(target, weights_only=True)["0.weight"].abs().sum() == 0
    stateless = torch.nn.Module()
    assert save_loss_state(stateless, tmp_path / "checkpoint-2") is None
    assert not (tmp_path / "checkpoint-2").exists()
    # A loss registered with training state but configured without any still marks its checkpoints.
    assert save_loss_state(stateless, tmp_path / "checkpoint-2", required=True) is not None
    assert torch.load(tmp_path / "checkpoint-2" / LOSS_STATE_FILE, weights_only=True) == {}


def test_resume_needs_a_checkpoint_with_the_loss_state(tmp_path, labelled_file):
    from textmetric.errors import ConfigError

    checkpoint = tmp_path / "run" / "checkpoints" / "checkpoint-3"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text("{}", "utf-8")
    with pytest.raises(ConfigError, match=r"no checkpoint \(complete, with the loss state"):
        train(config(labelled_file, tmp_path / "run", resume=True))


def test_batch_triplet_checkpoints_do_not_copy_the_encoder(tiny_model):
    from textmetric.losses.batch_triplet import build_batch_triplet

    assert loss_state_dict(build_batch_triplet("hard", tiny_model)) == {}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"batch_size": 6, "loss_params": {"margin": 0.1}}, "has no parameter"),
        ({"batch_size": 5}, "even and >= 4"),
    ],
)
def test_bad_label_loss_settings_fail_before_the_output_folder(tmp_path, labelled_file, extra, message):
    from textmetric.errors import ConfigError

    out = tmp_path / "never"
    with pytest.raises(ConfigError, match=message):
        train(
            TrainConfig(data=[str(labelled_file)], output=str(out), model="tiny-ja", loss="center", **extra)
        )
    assert not out.exists()


def test_group_by_label_needs_two_repeated_labels(tmp_path):
    from textmetric.errors import ConfigError

    data = tmp_path / "singletons.jsonl"
    rows = [
        {"text": "犬が走る。", "label": "犬"},
        {"text": "猫が寝る。", "label": "猫"},
        {"text": "猫が鳴く。", "label": "猫"},
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    with pytest.raises(ConfigError, match="at least 2 labels with 2 or more texts"):
        train(TrainConfig(data=[str(data)], output=str(tmp_path / "o"), model="tiny-ja", loss="softmax"))
    assert not (tmp_path / "o").exists()
