"""``train()``: pair files in, a trained dual encoder out.

This is glue over ``SentenceTransformerTrainer``: it validates every input before touching the
output folder, builds the model (a Hub BERT, a local folder or the offline ``tiny-ja``), picks
the loss and batch sampler that fit each file's format, evaluates before and after, checkpoints
(with loss state such as class centres), resumes, and writes the final model atomically.

Output folder layout while training: ``DIR/checkpoints/`` only. When training ends, the finished
model (``SentenceTransformer(DIR)`` loads it), ``textmetric.json``, ``train_config.json`` and
``metrics.json`` replace it in one rename, so ``DIR`` is either a run in progress or a finished
model, never a half-written one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textmetric.data.formats import PairData, load_pairs
from textmetric.errors import ConfigError, OutputExistsError, TrainingInterrupted
from textmetric.io import atomic_path, write_json
from textmetric.losses import build_loss, default_loss, get_loss, parse_loss_params
from textmetric.models.builder import build_dual_encoder
from textmetric.models.metadata import ModelMetadata
from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja
from textmetric.training.config import TrainConfig

logger = logging.getLogger("textmetric")

CHECKPOINTS = "checkpoints"
TINY_BASE = "tiny-ja-base"
LOSS_STATE_FILE = "loss_state.pt"


@dataclass
class TrainResult:
    """What a run produced: the model folder, metrics before / after, the loss curve."""

    output: Path
    metrics_before: dict[str, float] = field(default_factory=dict)
    metrics_after: dict[str, float] = field(default_factory=dict)
    loss_history: list[tuple[int, float]] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    data: list[dict[str, Any]] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)


def load_training_data(config: TrainConfig) -> list[PairData]:
    return [
        load_pairs(
            path,
            columns=config.columns,
            encoding=config.encoding,
            nfkc=config.nfkc,
            on_bad_row=config.on_bad_row,  # type: ignore[arg-type]
        )
        for path in config.data
    ]


def resolve_losses(config: TrainConfig, datasets: list[PairData]) -> list[str]:
    """One loss name per training file: given (one for all, or one per file) or the format's default."""
    names = list(config.loss)
    if not names:
        names = [default_loss(d.format) for d in datasets]
    elif len(names) == 1:
        names = names * len(datasets)
    elif len(names) != len(datasets):
        raise ConfigError(f"{len(names)} losses for {len(datasets)} data files; give one, or one per file")
    for name, data in zip(names, datasets, strict=True):
        spec = get_loss(name)
        if data.format not in spec.formats:
            build_loss(name, None, data)  # raises the specific format error
    return names


def _checkpoint_dir(output: Path) -> Path:
    return output / CHECKPOINTS


def last_checkpoint(output: str | Path) -> Path | None:
    """The newest complete ``checkpoint-N`` folder of a run, or ``None``.

    A checkpoint is complete once the trainer has written ``trainer_state.json``, its last file;
    one cut short by a kill is skipped in favour of the one before.
    """
    folder = _checkpoint_dir(Path(output))
    if not folder.is_dir():
        return None
    found = [
        p
        for p in folder.glob("checkpoint-*")
        if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").is_file()
    ]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def _prepare_output(config: TrainConfig) -> Path:
    output = Path(config.output)
    if config.resume:
        if last_checkpoint(output) is None:
            raise ConfigError(f"--resume: no checkpoint in {output / CHECKPOINTS} to resume from")
        return output
    if output.exists() and (output.is_file() or any(output.iterdir())):
        if not config.overwrite:
            hint = " (it holds checkpoints: pass --resume to continue)" if last_checkpoint(output) else ""
            raise OutputExistsError(f"{output} exists and is not empty{hint}; pass --overwrite to replace it")
        if output.is_file():
            output.unlink()
        else:
            shutil.rmtree(output)
    output.mkdir(parents=True, exist_ok=True)
    return output


def build_model(config: TrainConfig, datasets: list[PairData], output: Path):
    """The dual encoder to train: ``tiny-ja`` is built (once, kept for resume) from the training texts."""
    base: str = config.model
    if config.is_tiny_ja:
        base_dir = _checkpoint_dir(output) / TINY_BASE
        if not (base_dir / "config.json").is_file():
            texts = [t for d in datasets for t in d.texts()]
            tiny = TinyJaConfig(
                vocab_size=config.tiny_vocab_size,
                hidden_size=config.tiny_hidden_size,
                num_layers=config.tiny_layers,
                num_heads=config.tiny_heads,
                intermediate_size=4 * config.tiny_hidden_size,
                seed=config.seed,
            )
            build_tiny_ja(texts, base_dir, config=tiny, overwrite=True)
        base = str(base_dir)
    model = build_dual_encoder(
        base,
        structure=config.structure,  # type: ignore[arg-type]
        pooling=config.pooling,  # type: ignore[arg-type]
        normalize=config.normalize,
        max_seq_length=config.max_seq_length,
    )
    if config.fast_tokenizer:
        _try_fast_tokenizer(model)
    return model


def _try_fast_tokenizer(model) -> None:
    try:
        from textmetric.text.fast_tokenizer import use_fast_tokenizer
    except ImportError:  # the fast path is optional
        return
    use_fast_tokenizer(model)


def _router_mapping(
    config: TrainConfig, datasets: list[PairData]
) -> dict[str, str] | dict[str, dict[str, str]]:
    """For DSSM: the first column goes to the query tower, the others to the document tower."""
    if config.structure != "dssm":
        return {}
    mappings = []
    for data in datasets:
        texts = data.text_columns
        if data.format == "labelled":
            raise ConfigError(
                "a dssm model needs pairs (query, document); 'labelled' data has one text per row"
            )
        mappings.append({texts[0]: "query", **{c: "document" for c in texts[1:]}})
    if len(datasets) == 1:
        return mappings[0]
    return {f"data{i}": m for i, m in enumerate(mappings)}


def _batch_sampler(spec_samplers: list[str]):
    from sentence_transformers.base.sampler import BatchSamplers

    wanted = set(spec_samplers)
    if len(wanted) == 1:
        return BatchSamplers(wanted.pop())
    # Several files whose losses want different samplers: decide per dataset by its columns.
    from sentence_transformers.base.sampler import (
        DefaultBatchSampler,
        GroupByLabelBatchSampler,
        NoDuplicatesBatchSampler,
    )

    def choose(dataset, batch_size, drop_last, valid_label_columns=None, generator=None, seed=0):
        columns = set(dataset.column_names)
        kwargs = {"batch_size": batch_size, "drop_last": drop_last, "generator": generator, "seed": seed}
        if columns >= {"text", "label"}:
            return GroupByLabelBatchSampler(dataset, valid_label_columns=valid_label_columns, **kwargs)
        if "anchor" in columns:
            return NoDuplicatesBatchSampler(dataset, valid_label_columns=valid_label_columns, **kwargs)
        return DefaultBatchSampler(dataset, valid_label_columns=valid_label_columns, **kwargs)

    return choose


def _precision(config: TrainConfig) -> dict[str, bool]:
    import torch

    if config.precision == "fp32" or (config.precision == "auto" and not torch.cuda.is_available()):
        return {}
    if config.precision == "fp16":
        return {"fp16": True}
    if config.precision == "bf16" or torch.cuda.is_bf16_supported():
        return {"bf16": True}
    return {"fp16": True}


def _check_device(config: TrainConfig) -> dict[str, bool]:
    import torch

    if config.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "--device cuda was requested but no CUDA GPU is available (torch.cuda.is_available() is False)"
        )
    return {"use_cpu": config.device == "cpu"}


def build_evaluators(config: TrainConfig):
    """Evaluators for ``--eval-sts`` / ``--eval-retrieval`` files, from :mod:`textmetric.evaluation`."""
    if not config.eval_sts and not config.eval_retrieval:
        return []
    from textmetric.evaluation import build_retrieval_evaluator, build_sts_evaluator

    evaluators = [build_sts_evaluator(path, nfkc=config.nfkc) for path in config.eval_sts]
    evaluators += [build_retrieval_evaluator(spec, nfkc=config.nfkc) for spec in config.eval_retrieval]
    return evaluators


def _primary_metrics(evaluators, results: dict[str, float]) -> dict[str, float]:
    keep: dict[str, float] = {}
    for evaluator in evaluators:
        key = evaluator.primary_metric
        full = f"{evaluator.name}_{key}" if evaluator.name and not key.startswith(evaluator.name) else key
        for candidate in (full, key, f"eval_{full}"):
            if candidate in results:
                keep[full] = float(results[candidate])
                break
    return keep


def evaluate_all(model, evaluators) -> dict[str, float]:
    results: dict[str, float] = {}
    for evaluator in evaluators:
        results.update(evaluator(model))
    return _primary_metrics(evaluators, results)


def train(config: TrainConfig, *, callbacks: list | None = None) -> TrainResult:
    """Train a dual encoder as ``config`` says; see :class:`TrainConfig` for the options.

    ``callbacks`` are extra ``transformers.TrainerCallback`` objects (logging, early stopping).
    """
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers.trainer_utils import set_seed

    started = time.time()
    # 1. Everything that can fail on bad input fails here, before the output folder is touched.
    datasets = load_training_data(config)
    loss_names = resolve_losses(config, datasets)
    evaluators = build_evaluators(config)
    device_args = _check_device(config)
    output = _prepare_output(config)
    from textmetric.training.distributed import is_main_process

    set_seed(config.seed)
    model = build_model(config, datasets, output)
    params = parse_loss_params(config.loss_params)
    losses = [build_loss(name, model, data, params) for name, data in zip(loss_names, datasets, strict=True)]
    specs = [get_loss(name) for name in loss_names]
    if len(datasets) == 1:
        train_dataset: Any = datasets[0].to_dataset()
        loss: Any = losses[0]
    else:
        train_dataset = {f"data{i}": d.to_dataset() for i, d in enumerate(datasets)}
        loss = {f"data{i}": lo for i, lo in enumerate(losses)}

    metrics_before = evaluate_all(model, evaluators) if evaluators else {}
    if metrics_before and is_main_process():
        logger.info("before training: %s", _fmt(metrics_before))

    eval_args: dict[str, Any] = {}
    if evaluators:
        eval_steps = config.eval_steps or config.save_steps
        eval_args = {
            "eval_strategy": "steps",
            "eval_steps": eval_steps,
            "per_device_eval_batch_size": config.batch_size,
        }
        if config.best_metric:
            eval_args.update(
                load_best_model_at_end=True, metric_for_best_model=config.best_metric, greater_is_better=True
            )
    from textmetric.training.callbacks import InterruptCallback, LossHistoryCallback, LossStateCallback

    history = LossHistoryCallback()
    args = SentenceTransformerTrainingArguments(
        output_dir=str(_checkpoint_dir(output)),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup,
        weight_decay=config.weight_decay,
        seed=config.seed,
        data_seed=config.seed,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps,
        report_to="none",
        batch_sampler=_batch_sampler([s.sampler for s in specs]),
        router_mapping=_router_mapping(config, datasets),
        dataloader_num_workers=config.dataloader_workers,
        dataloader_drop_last=False,
        **_precision(config),
        **device_args,
        **eval_args,
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=train_dataset,
        loss=loss,
        evaluator=evaluators or None,
        callbacks=[history, LossStateCallback(loss), *(callbacks or [])],
    )
    resume_from = str(last_checkpoint(output)) if config.resume else None
    if resume_from:
        LossStateCallback.restore(loss, resume_from)
        logger.info("resuming from %s", resume_from)
    interrupt = InterruptCallback()
    trainer.add_callback(interrupt)
    with _signals_to(interrupt):
        trainer.train(resume_from_checkpoint=resume_from)
    if interrupt.signal is not None:
        checkpoint = last_checkpoint(output)
        raise TrainingInterrupted(
            f"training interrupted by {signal.Signals(interrupt.signal).name} at step "
            f"{trainer.state.global_step}; checkpoint saved in {checkpoint}. "
            "Run the same command with --resume to continue."
        )
    metrics_after = evaluate_all(model, evaluators) if evaluators else {}
    result = TrainResult(
        output=output,
        metrics_before=metrics_before,
        metrics_after=metrics_after,
        loss_history=history.history,
        steps=trainer.state.global_step,
        seconds=time.time() - started,
        data=[d.summary() for d in datasets],
        losses=loss_names,
    )
    if is_main_process():
        if metrics_after:
            logger.info("after training: %s", _fmt(metrics_after))
        _finalize(model, config, result)
    return result


@contextlib.contextmanager
def _signals_to(callback):
    """Route SIGINT / SIGTERM to ``callback`` while training (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, callback.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _fmt(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4f}" for k, v in metrics.items())


def _finalize(model, config: TrainConfig, result: TrainResult) -> None:
    """Write the finished model folder in one rename (checkpoints kept only if asked)."""
    from textmetric.models.builder import model_structure

    output = result.output
    base_model = config.model
    metadata = ModelMetadata(
        base_model=base_model,
        structure=model_structure(model),
        pooling=config.pooling,
        normalize_embeddings=config.normalize,
        nfkc=config.nfkc,
        max_seq_length=config.max_seq_length,
        loss=result.losses,
        training={
            "epochs": config.epochs,
            "steps": result.steps,
            "batch_size": config.batch_size,
            "learning_rate": config.learning_rate,
            "warmup": config.warmup,
            "seed": config.seed,
            "loss_params": config.loss_params,
            "seconds": round(result.seconds, 1),
        },
        data=result.data,
        metrics={"before": result.metrics_before, "after": result.metrics_after},
    )
    with atomic_path(output, overwrite=True, is_dir=True) as tmp:
        model.save(str(tmp))
        metadata.save(tmp)
        write_json(tmp / "train_config.json", config.to_dict())
        write_json(
            tmp / "metrics.json",
            {
                "before": result.metrics_before,
                "after": result.metrics_after,
                "loss_history": result.loss_history,
                "steps": result.steps,
                "seconds": round(result.seconds, 1),
            },
        )
        checkpoints = _checkpoint_dir(output)
        if config.keep_checkpoints and checkpoints.is_dir():
            os.replace(checkpoints, tmp / CHECKPOINTS)
