"""Trainer callbacks, and the loss's own training state in checkpoints.

Some losses carry trainable state outside the encoder: a classifier head (softmax, AM-Softmax)
or class centres (center loss). The Hugging Face trainer checkpoints the model and the optimizer
but not that state, so a resumed run would restart it from scratch. :func:`save_loss_state`
writes it into each checkpoint (the trainer calls it with the optimizer state, before
``trainer_state.json`` marks the checkpoint complete) and :func:`restore_loss_state` reads it
back on ``--resume``; it is never part of the exported encoder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from transformers import TrainerCallback

LOSS_STATE_FILE = "loss_state.pt"


def _encoder_tensor_ids(module) -> set[int]:
    """Ids of the encoder's parameters and buffers inside a loss, under any attribute name.

    sentence-transformers' batch triplet losses keep the model as ``sentence_embedder``, not
    ``model``; without this their checkpoints carried a second copy of the whole encoder.
    """
    from sentence_transformers.base.model import BaseModel

    model = getattr(module, "model", None)
    ids: set[int] = set()
    for sub in module.modules():
        if isinstance(sub, BaseModel) or (model is not None and sub is model):
            ids.update(id(t) for t in sub.state_dict(keep_vars=True).values())
    return ids


def loss_state_dict(loss) -> dict[str, torch.Tensor]:
    """The loss module's parameters and buffers that are not the encoder's."""
    modules = loss.values() if isinstance(loss, dict) else [loss]
    state: dict[str, torch.Tensor] = {}
    for index, module in enumerate(modules):
        encoder_ids = _encoder_tensor_ids(module)
        for name, tensor in module.state_dict(keep_vars=True).items():
            if name.startswith("model.") or id(tensor) in encoder_ids:
                continue
            state[f"{index}.{name}"] = tensor.detach().clone()
    return state


def save_loss_state(loss, checkpoint: str | Path, *, required: bool = False) -> Path | None:
    """Write the loss's extra state into ``checkpoint`` atomically; ``None`` when it has none.

    Written to a temporary file and renamed, so a kill mid-write never leaves a truncated
    ``loss_state.pt`` that a resumed run would load. ``required``: write it even when empty (a
    loss registered with training state, configured without any), since complete checkpoints of
    such losses are told by this file.
    """
    state = loss_state_dict(loss)
    if not state and not required:
        return None
    folder = Path(checkpoint)
    folder.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{LOSS_STATE_FILE}.", suffix=".tmp", dir=folder)
    os.close(handle)
    try:
        torch.save(state, tmp)
        os.replace(tmp, folder / LOSS_STATE_FILE)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return folder / LOSS_STATE_FILE


def restore_loss_state(loss, checkpoint: str | Path) -> bool:
    """Load a checkpoint's ``loss_state.pt`` into ``loss``; False when the checkpoint has none."""
    path = Path(checkpoint) / LOSS_STATE_FILE
    if not path.is_file():
        return False
    saved = torch.load(path, map_location="cpu", weights_only=True)
    modules = list(loss.values()) if isinstance(loss, dict) else [loss]
    with torch.no_grad():
        for index, module in enumerate(modules):
            own = module.state_dict(keep_vars=True)
            for key, value in saved.items():
                prefix, name = key.split(".", 1)
                if int(prefix) == index and name in own:
                    own[name].copy_(value.to(own[name].device))
    return True


class LossHistoryCallback(TrainerCallback):
    """Keep ``(step, loss)`` of every logging step, for reports and the before / after checks."""

    def __init__(self) -> None:
        self.history: list[tuple[int, float]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.history.append((state.global_step, float(logs["loss"])))


class InterruptCallback(TrainerCallback):
    """Turn Ctrl-C / SIGTERM into "save a checkpoint, then stop" at the end of the current step.

    A preemptible job gets SIGTERM some seconds before SIGKILL; saving then means a resumed run
    loses no steps. A second signal while saving is ignored rather than corrupting the checkpoint.
    Under torch.distributed the processes agree on it at every step end (one tiny all-reduce), so
    that all of them stop and save at the same step even when only one got the signal.
    """

    def __init__(self) -> None:
        self.signal: int | None = None

    def request_stop(self, signum: int, _frame=None) -> None:
        self.signal = signum

    def on_step_end(self, args, state, control, **kwargs):
        from textmetric.training.distributed import agree_on_signal

        self.signal = agree_on_signal(self.signal)
        if self.signal is not None:
            control.should_save = True
            control.should_training_stop = True
        return control


RUN_LAYOUT_FILE = "run_layout.json"


class RunLayoutCallback(TrainerCallback):
    """Record the process count and batch sizes in each checkpoint (main process only).

    A checkpoint resumes under any number of processes (weights, optimizer and schedule are the
    same); the data position and the in-batch negatives match exactly only when the global batch
    (per-device batch x processes) is the same, which the resumed run checks and reports.
    """

    def __init__(self, processes: int, per_device_batch_size: int) -> None:
        self.layout = {
            "processes": processes,
            "per_device_batch_size": per_device_batch_size,
            "global_batch_size": processes * per_device_batch_size,
        }

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        from textmetric.io import write_json

        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            write_json(folder / RUN_LAYOUT_FILE, self.layout)

    @staticmethod
    def read(checkpoint: str | Path) -> dict | None:
        import json

        path = Path(checkpoint) / RUN_LAYOUT_FILE
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text("utf-8"))
        except ValueError:
            return None
