"""Trainer callbacks, and the training state that checkpoints must carry besides the trainer's.

Some losses carry trainable state outside the encoder: a classifier head (softmax, AM-Softmax)
or class centres (center loss). The Hugging Face trainer checkpoints the model and the optimizer
but not that state, so a resumed run would restart it from scratch. :func:`save_loss_state`
writes it into each checkpoint (the trainer calls it with the optimizer state, before
``trainer_state.json`` marks the checkpoint complete) and :func:`restore_loss_state` reads it
back on ``--resume``; it is never part of the exported encoder. :class:`WeightAverageCallback`
(an exponential moving average of the weights) checkpoints its average the same way.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch
from transformers import TrainerCallback

LOSS_STATE_FILE = "loss_state.pt"
WEIGHT_AVERAGE_FILE = "weight_average.pt"

logger = logging.getLogger("textmetric")


def _save_atomically(state: dict, path: Path) -> Path:
    """``torch.save`` through a temporary file and a rename: a kill mid-write never leaves a
    truncated file that a resumed run would load."""
    from textmetric.io import atomic_path

    with atomic_path(path, overwrite=True) as tmp:
        torch.save(state, tmp)
    return path


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

    ``required``: write it even when empty (a loss registered with training state, configured
    without any), since complete checkpoints of such losses are told by this file.
    """
    state = loss_state_dict(loss)
    if not state and not required:
        return None
    return _save_atomically(state, Path(checkpoint) / LOSS_STATE_FILE)


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


class WeightAverageCallback(TrainerCallback):
    """Keep an exponential moving average (EMA) of the encoder's weights; save it, not the last step.

    The last weights of a run carry the noise of its last batches; an average over the final
    stretch of training sits nearer the centre of the minimum the run is circling and usually
    generalises better (Polyak & Juditsky 1992; the EMA form as in Tarvainen & Valpola 2017). On
    tiny-ja's offline recipe it raised JSTS valid Spearman at no extra training cost (README,
    "Quality").

    After every optimizer step from ``start`` (a fraction of the run's steps) on::

        average <- decay * average + (1 - decay) * weights

    starting from the weights at that step; ``1 / (1 - decay)`` steps is roughly the window it
    averages (1,000 for 0.999). At the end of training the average is copied into the model, so
    the "after" metrics and the saved model are the average's; evaluations during training see the
    raw weights. Each checkpoint holds the average (``weight_average.pt``, written with the
    optimizer state, before the file that marks a checkpoint complete), so ``--resume`` continues
    it exactly. Under torch.distributed every process keeps the same average of the same weights.
    """

    def __init__(self, model: torch.nn.Module, decay: float, start: float = 0.5) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), not {decay}")
        if not 0.0 <= start < 1.0:
            raise ValueError(f"start must be in [0, 1), not {start}")
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        self.decay = decay
        self.start = start
        self.model = model
        # torch's own EMA: a copy of the model, whose first update copies the weights
        self.averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))

    @property
    def updates(self) -> int:
        """Steps averaged so far (the first one copies the weights)."""
        return int(self.averaged.n_averaged)

    def start_step(self, max_steps: int) -> int:
        """The first step averaged: ``ceil(start * max_steps)``, at least 1."""
        return max(1, math.ceil(self.start * max_steps))

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.start_step(state.max_steps):
            self.averaged.update_parameters(self.model)

    def on_train_end(self, args, state, control, **kwargs):
        if not self.updates:
            logger.warning("training ended before the weight average started; the last weights are saved")
            return
        self.copy_to_model()
        first, last = state.global_step - self.updates + 1, state.global_step
        logger.info("the model now holds the average (decay %s) of steps %d-%d", self.decay, first, last)

    def copy_to_model(self) -> None:
        with torch.no_grad():
            averages = self.averaged.module.parameters()
            for param, average in zip(self.model.parameters(), averages, strict=True):
                param.copy_(average)

    def save(self, checkpoint: str | Path) -> Path:
        state = {"decay": self.decay, "start": self.start, "averaged": self.averaged.state_dict()}
        return _save_atomically(state, Path(checkpoint) / WEIGHT_AVERAGE_FILE)

    def load(self, checkpoint: str | Path) -> bool:
        """Continue the average saved in ``checkpoint``; False when it holds none."""
        path = Path(checkpoint) / WEIGHT_AVERAGE_FILE
        if not path.is_file():
            return False
        saved = torch.load(path, map_location="cpu", weights_only=True)
        try:
            self.averaged.load_state_dict(saved["averaged"])
        except RuntimeError as err:
            raise ValueError(f"{path}: the saved weight average is of a different model ({err})") from None
        if saved["decay"] != self.decay or saved["start"] != self.start:
            logger.warning(
                "%s was averaged with decay %s from %s of the steps; it continues with decay %s from %s",
                path,
                saved["decay"],
                saved["start"],
                self.decay,
                self.start,
            )
        return True
