"""``train()``: pair files in, a trained dual encoder out.

This is glue over ``SentenceTransformerTrainer``: it validates every input before touching the
output folder, builds the model (a Hub BERT, a local folder or the offline ``tiny-ja``), picks
the loss and batch sampler that fit each file's format, evaluates before and after, checkpoints
(with loss state such as class centres), resumes, and writes the final model atomically.

Under torch.distributed (``torchrun``, ``accelerate launch``, ``textmetric train --nproc N``)
every process runs :func:`train`; process 0 alone writes (see :mod:`.distributed`), losses with
in-batch negatives gather embeddings across processes, and every step holds one full batch per
process.

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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from textmetric.data.formats import PairData, load_pairs
from textmetric.errors import ConfigError, OutputExistsError, TrainingInterrupted
from textmetric.io import atomic_path, write_json
from textmetric.losses import build_loss, check_params, default_loss, get_loss, parse_loss_params
from textmetric.models.builder import build_dual_encoder
from textmetric.models.metadata import ModelMetadata
from textmetric.models.resources import check_device, out_of_memory_guard
from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja
from textmetric.training.config import TrainConfig

POSITIVE_PAIR_FORMATS = ("pairs", "triplets", "ntuples")

logger = logging.getLogger("textmetric")

CHECKPOINTS = "checkpoints"
TINY_BASE = "tiny-ja-base"


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
    precision: str = "fp32"  # what the run used (``auto`` resolved)


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
        check_params(name, parse_loss_params(config.loss_params))  # before the output folder is touched
        if spec.sampler == "group_by_label":
            _check_group_by_label(name, data, config.batch_size)
    return names


def _check_group_by_label(name: str, data: PairData, batch_size: int) -> None:
    """What sentence-transformers' GROUP_BY_LABEL sampler needs, as a clear error before training."""
    if batch_size < 4 or batch_size % 2:
        raise ConfigError(
            f"the '{name}' loss builds batches of 2 texts per label: --batch-size must be even and >= 4, "
            f"not {batch_size}"
        )
    from collections import Counter

    repeated = sum(1 for n in Counter(data.records.get("label", [])).values() if n >= 2)
    if repeated < 2:
        raise ConfigError(
            f"the '{name}' loss needs at least 2 labels with 2 or more texts each in "
            f"{data.path or 'the data'}; found {repeated}"
        )


def _checkpoint_dir(output: Path) -> Path:
    return output / CHECKPOINTS


def last_checkpoint(
    output: str | Path, *, loss_state: bool = False, weight_average: bool = False
) -> Path | None:
    """The newest complete ``checkpoint-N`` folder of a run, or ``None``.

    A checkpoint is complete once the trainer has written ``trainer_state.json``, its last file;
    one cut short by a kill is skipped in favour of the one before. ``loss_state``: the run's loss
    has training state (class centres, a classifier), so a complete checkpoint also holds
    ``loss_state.pt`` (written before ``trainer_state.json``; a checkpoint of an older textmetric
    that a kill cut between the two would resume with fresh centres). ``weight_average``: the run
    averages its weights (``ema_decay``), so a complete checkpoint also holds ``weight_average.pt``.
    """
    from textmetric.training.callbacks import LOSS_STATE_FILE, WEIGHT_AVERAGE_FILE

    folder = _checkpoint_dir(Path(output))
    if not folder.is_dir():
        return None
    needed = ["trainer_state.json"]
    if loss_state:
        needed.append(LOSS_STATE_FILE)
    if weight_average:
        needed.append(WEIGHT_AVERAGE_FILE)
    found = [
        p
        for p in folder.glob("checkpoint-*")
        if p.name.split("-")[-1].isdigit() and all((p / name).is_file() for name in needed)
    ]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def _prepare_output(config: TrainConfig, **needed: bool) -> Path:
    """The output folder, ready for a new run or a resumed one; ``needed``: see :func:`last_checkpoint`."""
    output = Path(config.output)
    if config.resume:
        if last_checkpoint(output, **needed) is None:
            detail = " (complete, with the loss state / weight average)" if last_checkpoint(output) else ""
            raise ConfigError(f"--resume: no checkpoint{detail} in {output / CHECKPOINTS} to resume from")
        return output
    if output.exists() and (output.is_file() or any(output.iterdir())):
        if not config.overwrite:
            hint = " (it holds checkpoints: pass --resume to continue)" if last_checkpoint(output) else ""
            raise OutputExistsError(f"{output} exists and is not empty{hint}; pass --overwrite to replace it")
        if output.is_file():
            output.unlink()
        else:
            # Only the old run state goes now; an old finished model stays usable until the new
            # one replaces the whole folder in one rename (see _finalize).
            shutil.rmtree(_checkpoint_dir(output), ignore_errors=True)
    output.mkdir(parents=True, exist_ok=True)
    return output


def build_model(config: TrainConfig, datasets: list[PairData], output: Path):
    """The dual encoder to train: ``tiny-ja`` is built (once, kept for resume) from the training texts.

    Under torch.distributed only the main process builds the tiny-ja base (see
    :func:`build_tiny_base`); the others load the folder it wrote.
    """
    base: str = config.model
    if config.is_tiny_ja:
        base = str(build_tiny_base(config, datasets, output))
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


def build_tiny_base(config: TrainConfig, datasets: list[PairData], output: Path) -> Path:
    """``DIR/checkpoints/tiny-ja-base``, built from the training texts by the main process."""
    from textmetric.training.distributed import is_main_process, rank, world_size

    base_dir = _checkpoint_dir(output) / TINY_BASE
    if (base_dir / "config.json").is_file():
        return base_dir
    if not is_main_process():
        raise ConfigError(
            f"process {rank()} of {world_size()} cannot see {base_dir}, which process 0 wrote: "
            "--output must be on a filesystem that every node shares"
        )
    build_tiny_ja(
        tiny_base_texts(datasets),
        base_dir,
        config=tiny_config(config),
        overwrite=True,
        pairs=tiny_base_pairs(datasets),
    )
    return base_dir


def tiny_base_texts(datasets: list[PairData]) -> list[str]:
    """The texts a tiny-ja base learns its vocabulary (and PPMI word vectors) from: every training text."""
    return [t for d in datasets for t in d.texts()]


def tiny_base_pairs(datasets: list[PairData]) -> list[tuple[str, str]]:
    """The positive pairs whose texts are PPMI contexts of a tiny-ja base: (anchor, positive) of
    every pair, triplet and n-tuple file (graded and labelled files say no pair is the same)."""
    pairs: list[tuple[str, str]] = []
    for data in datasets:
        if data.format in POSITIVE_PAIR_FORMATS:
            anchor, positive = data.text_columns[:2]
            pairs += zip(data.records[anchor], data.records[positive], strict=True)
    return pairs


def tiny_config(config: TrainConfig) -> TinyJaConfig:
    """The tiny-ja shape and seed of a run; recorded in ``textmetric.json`` so that the untrained
    base can be rebuilt (:func:`textmetric.models.tiny_ja.rebuild_tiny_ja`)."""
    return TinyJaConfig(
        vocab_size=config.tiny_vocab_size,
        hidden_size=config.tiny_hidden_size,
        num_layers=config.tiny_layers,
        num_heads=config.tiny_heads,
        intermediate_size=4 * config.tiny_hidden_size,
        seed=config.seed,
        word_init=config.tiny_word_init,
        ppmi_pair_weight=config.tiny_ppmi_pair_weight,
        dropout=config.tiny_dropout,
    )


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
    return choose_batch_sampler


def _length_grouped_sampler(config: TrainConfig, loss_names: list[str], specs: list):
    """``LengthGroupedBatchSampler`` when ``length_grouping`` is on and every loss tolerates it.

    Grouping by length makes a batch's rows alike; that is harmless for losses that score each
    pair or row on its own (cosent, contrastive, softmax...), but losses that take the other rows
    of the batch as negatives, or need their own sampler (no duplicates, 2 rows per label), keep
    random batches.
    """
    if not config.length_grouping:
        return None
    refused = [
        name
        for name, spec in zip(loss_names, specs, strict=True)
        if spec.in_batch_negatives or spec.sampler != "batch_sampler"
    ]
    if refused:
        logger.warning(
            "length grouping ignored: loss(es) %s compare rows across the batch or need their own "
            "sampler; random batches kept",
            ", ".join(dict.fromkeys(refused)),
        )
        return None
    from textmetric.training.sampling import LengthGroupedBatchSampler

    return LengthGroupedBatchSampler


def choose_batch_sampler(dataset, batch_size, drop_last, valid_label_columns=None, generator=None, seed=0):
    """The batch sampler a file's columns call for (module level: checkpoints pickle it)."""
    from sentence_transformers.base.sampler import (
        DefaultBatchSampler,
        GroupByLabelBatchSampler,
        NoDuplicatesBatchSampler,
    )
    from torch.utils.data import RandomSampler

    columns = set(dataset.column_names)
    kwargs = {"batch_size": batch_size, "drop_last": drop_last, "generator": generator, "seed": seed}
    if columns >= {"text", "label"}:
        return GroupByLabelBatchSampler(dataset, valid_label_columns=valid_label_columns, **kwargs)
    if "anchor" in columns:
        return NoDuplicatesBatchSampler(dataset, valid_label_columns=valid_label_columns, **kwargs)
    # The plain sampler takes an index sampler (given the dataset itself it would yield rows).
    return DefaultBatchSampler(
        RandomSampler(dataset, generator=generator), valid_label_columns=valid_label_columns, **kwargs
    )


def _precision(config: TrainConfig, *, on_cpu: bool) -> dict[str, bool]:
    """Trainer arguments for ``config.precision``: mixed precision with fp32 master weights.

    ``auto`` is bf16 (fp16 without it) on a GPU and fp32 on the CPU. bf16 on the CPU is opt-in:
    on CPUs with AVX512-BF16 or AMX it roughly halves a tiny-ja step (README, "Quality"); elsewhere
    it is emulated and slower, which gets a warning.
    """
    import torch

    if config.precision == "fp32" or (config.precision == "auto" and on_cpu):
        return {}
    if config.precision == "fp16":
        return {"fp16": True}
    if config.precision == "bf16" and on_cpu:
        if not cpu_has_native_bf16():
            logger.warning(
                "precision bf16 on a CPU without AVX512-BF16 or AMX-BF16: emulated, usually slower than fp32"
            )
        return {"bf16": True}
    if config.precision == "bf16" or torch.cuda.is_bf16_supported():
        return {"bf16": True}
    return {"fp16": True}


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX-BF16), as torch detects it."""
    import torch

    capabilities = torch.cpu.get_capabilities()
    return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))


def _has_accelerator() -> bool:
    import torch

    return torch.cuda.is_available() or torch.backends.mps.is_available()


def _check_device(config: TrainConfig) -> dict[str, Any]:
    from textmetric.training.distributed import is_distributed, wants_cpu

    check_device(config.device)
    if not is_distributed():
        # Name the CPU when it is all there is: transformers refuses bf16 otherwise ("doesn't support
        # bf16/gpu"), although autocast runs it on the CPU, and fast on AVX512-BF16 or AMX.
        return {"use_cpu": config.device == "cpu" or (config.device == "auto" and not _has_accelerator())}
    if wants_cpu(config.device):
        # Without use_cpu, accelerate sees no GPU and silently trains N independent copies.
        return {"use_cpu": True, "ddp_backend": "gloo"}
    return {"use_cpu": False}


def _check_global_batch(config: TrainConfig, datasets: list[PairData], processes: int) -> None:
    """Under N processes every step takes N full batches; refuse data that cannot fill one step."""
    if processes <= 1:
        return
    rounds = sum((len(d) // config.batch_size) // processes for d in datasets)
    if rounds == 0:
        rows = ", ".join(str(len(d)) for d in datasets)
        raise ConfigError(
            f"{rows} training row(s) cannot fill one step of {processes} processes x batch size "
            f"{config.batch_size} = {processes * config.batch_size} rows (per file); lower --batch-size "
            "(it is per device) or use fewer processes"
        )


def configure_gathering(losses: list, specs: list, config: TrainConfig) -> list[str]:
    """Switch cross-process gathering of in-batch negatives on or off; return the losses gathering.

    A loss with in-batch negatives compares each anchor with the other texts of its batch. Under N
    processes each process holds 1/N of the global batch, so without gathering a process sees only
    its own ``batch_size - 1`` negatives instead of ``N x batch_size - 1``.
    """
    from textmetric.training.distributed import is_distributed, is_main_process

    gathering: list[str] = []
    for loss, spec in zip(losses, specs, strict=True):
        if not spec.in_batch_negatives:
            continue
        can = hasattr(loss, "gather_across_devices")
        want = bool(config.gather_across_devices) and is_distributed()
        if can:
            loss.gather_across_devices = want
            if want:
                gathering.append(spec.name)
        elif want and is_main_process():
            logger.warning(
                "loss '%s' uses in-batch negatives but cannot gather them across processes: "
                "each process sees only its own batch",
                spec.name,
            )
    return gathering


def _watch_in_batch_scores(name: str, loss) -> None:
    """Debug log (``-v``) the shape of the in-batch score matrix each time it changes.

    Rows are this process's anchors, columns every candidate compared with them: with gathering
    on, the global batch (processes x per-device batch, times 1 + hard negatives).
    """
    import functools

    score = getattr(loss, "similarity_fct", None)
    if not callable(score):
        return
    seen: set[tuple[int, ...]] = set()

    @functools.wraps(score)
    def watched(a, b):
        scores = score(a, b)
        shape = tuple(scores.shape)
        if shape not in seen:
            seen.add(shape)
            logger.debug("%s in-batch scores: %s", name, " x ".join(str(n) for n in shape))
        return scores

    loss.similarity_fct = watched


def _trainer_class():
    """The sentence-transformers trainer, fixed for torch.distributed (see the methods)."""
    import torch
    from sentence_transformers import SentenceTransformerTrainer

    from textmetric.training import distributed
    from textmetric.training.callbacks import save_loss_state

    class TextmetricTrainer(SentenceTransformerTrainer):
        _extra: tuple[list, list] | None = None
        loss_state_required: bool = False
        """The loss is registered with training state: every checkpoint gets ``loss_state.pt``."""
        weight_average: Any = None
        """The run's ``WeightAverageCallback``, if any: every checkpoint gets its average."""

        def training_step(self, model, inputs, num_items_in_batch=None):
            loss = super().training_step(model, inputs, num_items_in_batch)
            if self.args.world_size > 1:
                params, buffers = self._loss_state()
                distributed.average_gradients(params)
                distributed.average_in_place(buffers)
            return loss

        def _loss_state(self) -> tuple[list, list]:
            """Trainable parameters and buffers of the loss(es) outside the encoder.

            DDP keeps the encoder identical on every process; a loss's classifier weights or
            class centres are outside it, so they are averaged here at every step.
            """
            if self._extra is None:
                own = {id(t) for t in self.model.parameters()} | {id(t) for t in self.model.buffers()}
                modules = self.loss.values() if isinstance(self.loss, dict) else [self.loss]
                params: list = []
                buffers: list = []
                seen: set[int] = set()
                for module in modules:
                    for param in module.parameters():
                        if param.requires_grad and id(param) not in own and id(param) not in seen:
                            seen.add(id(param))
                            params.append(param)
                    for buffer in module.buffers():
                        if id(buffer) not in own and id(buffer) not in seen:
                            seen.add(id(buffer))
                            buffers.append(buffer)
                self._extra = (params, buffers)
            return self._extra

        def _save_optimizer_and_scheduler(self, output_dir: str) -> None:
            """Also the loss's own state (centres, classifier), like the optimizer's: before
            ``trainer_state.json``, whose presence marks a checkpoint complete, so that a kill
            in between leaves an incomplete checkpoint rather than one resuming fresh centres."""
            super()._save_optimizer_and_scheduler(output_dir)
            if self.args.should_save:
                save_loss_state(self.loss, output_dir, required=self.loss_state_required)
                if self.weight_average is not None:
                    self.weight_average.save(output_dir)

        def _save(self, output_dir: str | None = None, state_dict=None) -> None:
            """Write the checkpoint's model from the main process only.

            transformers 5 calls ``_save`` on every process and checks inside it; the
            sentence-transformers override assumes it runs on process 0 alone, so without this
            every process writes the same model files into the same folder at once.
            """
            if not self.args.should_save:
                return
            super()._save(output_dir, state_dict=state_dict)

        def _save_rng_state(self, output_dir: str) -> None:
            """Every process's RNG state, written by the main process only.

            transformers has each process write its own ``rng_state_N.pth``; here the states are
            gathered so that no other process writes to the output folder.
            """
            if self.args.world_size <= 1:
                super()._save_rng_state(output_dir)
                return
            import random

            import numpy as np

            state = {
                "python": random.getstate(),
                "numpy": np.random.get_state(),
                "cpu": torch.random.get_rng_state(),
            }
            if torch.cuda.is_available():
                state["cuda"] = torch.cuda.random.get_rng_state_all()
            states = distributed.gather_objects(state)
            if self.args.process_index == 0:
                os.makedirs(output_dir, exist_ok=True)
                for index, one in enumerate(states):
                    torch.save(one, os.path.join(output_dir, f"rng_state_{index}.pth"))

    return TextmetricTrainer


def build_evaluators(config: TrainConfig):
    """Evaluators for ``--eval-sts`` / ``--eval-retrieval`` files, from :mod:`textmetric.evaluation`."""
    if not config.eval_sts and not config.eval_retrieval:
        return []
    from textmetric.evaluation import build_retrieval_evaluator, build_sts_evaluator

    evaluators = [build_sts_evaluator(path, nfkc=config.nfkc) for path in config.eval_sts]
    evaluators += [build_retrieval_evaluator(spec, nfkc=config.nfkc) for spec in config.eval_retrieval]
    return evaluators


def best_metric_names(evaluators, similarity: str = "cosine") -> list[str]:
    """The metric names ``--best-metric`` accepts for these evaluators (a textmetric model's
    similarity is cosine): ``{set}_spearman_cosine`` for an STS file, ``{set}_cosine_ndcg@10`` etc.
    for a retrieval set, where ``{set}`` is the file's stem."""
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    names: list[str] = []
    for evaluator in evaluators:
        if isinstance(evaluator, InformationRetrievalEvaluator):
            measures = [f"ndcg@{k}" for k in evaluator.ndcg_at_k] + [f"mrr@{k}" for k in evaluator.mrr_at_k]
            measures += [f"map@{k}" for k in evaluator.map_at_k]
            measures += [f"recall@{k}" for k in evaluator.precision_recall_at_k]
            measures += [f"accuracy@{k}" for k in evaluator.accuracy_at_k]
            names += [f"{evaluator.name}_{similarity}_{m}" for m in measures]
        else:
            names += [f"{evaluator.name}_{m}_{similarity}" for m in ("spearman", "pearson")]
    return names


def _check_best_metric(config: TrainConfig, evaluators) -> None:
    """A misspelt ``--best-metric`` fails now, not at the first evaluation hours into a run."""
    if not config.best_metric:
        return
    if not evaluators:
        raise ConfigError("--best-metric needs an evaluation set: add --eval-sts or --eval-retrieval")
    names = best_metric_names(evaluators)
    if config.best_metric.removeprefix("eval_") not in names:
        raise ConfigError(
            f"unknown --best-metric '{config.best_metric}'; with these evaluation sets it is one of "
            f"{', '.join(names)}"
        )


def _primary_metrics(evaluators, results: dict[str, float]) -> dict[str, float]:
    """Each evaluator's primary metric, plus Recall@1 next to a retrieval nDCG@10: the number a
    user reads first ("is the right answer on top?")."""
    keep: dict[str, float] = {}
    for evaluator in evaluators:
        key = evaluator.primary_metric
        full = f"{evaluator.name}_{key}" if evaluator.name and not key.startswith(evaluator.name) else key
        wanted = [full] + ([full.replace("ndcg@10", "recall@1")] if full.endswith("ndcg@10") else [])
        for name in wanted:
            bare = name.removeprefix(f"{evaluator.name}_") if evaluator.name else name
            for candidate in (name, bare, f"eval_{name}"):
                if candidate in results:
                    keep[name] = float(results[candidate])
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
    Under ``torchrun`` / ``accelerate launch`` every process calls this; process 0 writes.
    """
    from textmetric.training import distributed

    # Checked before joining the process group: the same answer on every process, no collective.
    device_args = _check_device(config)
    output = Path(config.output)
    created = not output.exists()
    distributed.setup(cpu=distributed.wants_cpu(config.device))
    failed = True
    try:
        result = _train(config, callbacks or [], device_args)
        failed = False
        return result
    except Exception as err:
        # A run that failed before its first checkpoint (base model not loadable, out of memory at
        # step 1...) leaves no output folder behind; one with checkpoints keeps them for --resume.
        if (
            created
            and not isinstance(err, TrainingInterrupted)
            and distributed.is_main_process()
            and output.is_dir()
            and last_checkpoint(output) is None
        ):
            shutil.rmtree(output, ignore_errors=True)
        raise
    finally:
        distributed.teardown(failed=failed)


def _train(config: TrainConfig, callbacks: list, device_args: dict[str, Any]) -> TrainResult:
    import torch
    from sentence_transformers import SentenceTransformerTrainingArguments
    from transformers.trainer_utils import set_seed

    from textmetric.training.callbacks import (
        InterruptCallback,
        LossHistoryCallback,
        RunLayoutCallback,
        WeightAverageCallback,
        loss_state_dict,
        restore_loss_state,
    )
    from textmetric.training.distributed import Agreement, is_main_process, world_size

    started = time.time()
    processes = world_size()
    main = is_main_process()
    # 1. Everything that can fail on bad input fails here, before the output folder is touched,
    #    on every process alike (and if one process fails, all stop with its message).
    with Agreement("reading the training data"):
        datasets = load_training_data(config)
        loss_names = resolve_losses(config, datasets)
        stateful = any(get_loss(name).has_training_state for name in loss_names)
        needed = {"loss_state": stateful, "weight_average": bool(config.ema_decay)}
        evaluators = build_evaluators(config)
        _check_best_metric(config, evaluators)
        _check_global_batch(config, datasets, processes)
    # 2. The main process prepares the output folder and the tiny-ja base; the others wait.
    with Agreement("preparing the output folder") as prepared:
        if main:
            output = _prepare_output(config, **needed)
            if config.is_tiny_ja:
                build_tiny_base(config, datasets, output)
            checkpoint = last_checkpoint(output, **needed) if config.resume else None
            prepared.value = str(checkpoint) if checkpoint else None
    output = Path(config.output)
    resume_from: str | None = prepared.value

    set_seed(config.seed)
    with Agreement("loading the base model"):
        model = build_model(config, datasets, output)
        if resume_from and not Path(resume_from).is_dir():
            raise ConfigError(
                f"this process cannot see the checkpoint {resume_from}: --output must be on a "
                "filesystem that every node shares"
            )
    params = parse_loss_params(config.loss_params)
    losses = [build_loss(name, model, data, params) for name, data in zip(loss_names, datasets, strict=True)]
    specs = [get_loss(name) for name in loss_names]
    gathering = configure_gathering(losses, specs, config)
    if main and logger.isEnabledFor(logging.DEBUG):
        for name, module in zip(loss_names, losses, strict=True):
            _watch_in_batch_scores(name, module)
    if len(datasets) == 1:
        train_dataset: Any = datasets[0].to_dataset()
        loss: Any = losses[0]
    else:
        train_dataset = {f"data{i}": d.to_dataset() for i, d in enumerate(datasets)}
        loss = {f"data{i}": lo for i, lo in enumerate(losses)}
    if processes > 1 and main:
        logger.info(
            "%d processes x batch size %d = global batch %d; in-batch negatives %s",
            processes,
            config.batch_size,
            processes * config.batch_size,
            f"gathered across processes ({', '.join(gathering)})" if gathering else "per process",
        )

    metrics_before = evaluate_all(model, evaluators) if evaluators and main else {}
    if metrics_before:
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
    distributed_args: dict[str, Any] = {}
    if processes > 1:
        distributed_args = {
            # Every step must hold a full batch on every process (gathering needs equal shapes,
            # DDP equal step counts); the sampler reshuffles each epoch, so no row is always left out.
            "dataloader_drop_last": True,
            "log_level_replica": "error",
        }
        if len(datasets) > 1:
            import functools

            from textmetric.training.sampling import LockstepBatchSampler

            distributed_args["multi_dataset_batch_sampler"] = functools.partial(
                LockstepBatchSampler, group=processes
            )

    precision = _precision(config, on_cpu=bool(device_args.get("use_cpu")))
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
        batch_sampler=(
            _length_grouped_sampler(config, loss_names, specs) or _batch_sampler([s.sampler for s in specs])
        ),
        router_mapping=_router_mapping(config, datasets),
        dataloader_num_workers=config.dataloader_workers,
        # Workers kept across epochs keep the fast tokenizer's word-split cache warm.
        dataloader_persistent_workers=config.dataloader_workers > 0,
        dataloader_pin_memory=torch.cuda.is_available(),  # pinning is for host-to-GPU copies only
        **{"dataloader_drop_last": False, **distributed_args},
        **precision,
        **device_args,
        **eval_args,
    )
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=train_dataset,
        loss=loss,
        evaluator=evaluators or None,
        callbacks=[history, RunLayoutCallback(processes, config.batch_size), *callbacks],
    )
    trainer.loss_state_required = stateful
    if config.ema_decay:
        trainer.weight_average = WeightAverageCallback(model, config.ema_decay, config.ema_start)
        trainer.add_callback(trainer.weight_average)
    if resume_from:
        if not restore_loss_state(loss, resume_from) and loss_state_dict(loss):
            logger.warning("%s has no loss state: the loss's classifier / centres start afresh", resume_from)
        if trainer.weight_average is not None:
            trainer.weight_average.load(resume_from)
        logger.info("resuming from %s", resume_from)
        _check_resume_layout(resume_from, processes, config.batch_size)
    interrupt = InterruptCallback()
    trainer.add_callback(interrupt)
    with _signals_to(interrupt), out_of_memory_guard("training", training=True):
        trainer.train(resume_from_checkpoint=resume_from)
    if interrupt.signal is not None:
        checkpoint = last_checkpoint(output, **needed)
        raise TrainingInterrupted(
            f"training interrupted by {signal.Signals(interrupt.signal).name} at step "
            f"{trainer.state.global_step}; checkpoint saved in {checkpoint}. "
            "Run the same command with --resume to continue."
        )
    result = TrainResult(
        output=output,
        metrics_before=metrics_before,
        loss_history=history.history,
        steps=trainer.state.global_step,
        data=[d.summary() for d in datasets],
        losses=loss_names,
        precision=next((name for name in ("bf16", "fp16") if precision.get(name)), "fp32"),
    )
    # 3. The main process evaluates and writes the finished model; the others wait for it.
    with Agreement("writing the trained model") as finished:
        if main:
            result.metrics_after = evaluate_all(model, evaluators) if evaluators else {}
            result.seconds = time.time() - started
            if result.metrics_after:
                logger.info("after training: %s", _fmt(result.metrics_after))
            _finalize(model, config, result, processes=processes)
            finished.value = (result.metrics_before, result.metrics_after, result.seconds)
    result.metrics_before, result.metrics_after, result.seconds = finished.value
    return result


def _check_resume_layout(checkpoint: str, processes: int, batch_size: int) -> None:
    from textmetric.training.callbacks import RunLayoutCallback
    from textmetric.training.distributed import is_main_process

    layout = RunLayoutCallback.read(checkpoint)
    if not layout or not is_main_process():
        return
    was, now = layout.get("global_batch_size"), processes * batch_size
    if was is not None and was != now:
        logger.warning(
            "the checkpoint was written by %s process(es) x batch %s (global %s); resuming with %d x %d "
            "(global %d): weights, optimizer and schedule continue, but the data position and the "
            "in-batch negatives differ. Keep processes x --batch-size at %s to resume exactly.",
            layout.get("processes"),
            layout.get("per_device_batch_size"),
            was,
            processes,
            batch_size,
            now,
            was,
        )


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


def _finalize(model, config: TrainConfig, result: TrainResult, *, processes: int = 1) -> None:
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
            "processes": processes,
            "global_batch_size": config.batch_size * processes,
            "learning_rate": config.learning_rate,
            "warmup": config.warmup,
            "precision": result.precision,
            **({"ema_decay": config.ema_decay, "ema_start": config.ema_start} if config.ema_decay else {}),
            "seed": config.seed,
            "loss_params": config.loss_params,
            "seconds": round(result.seconds, 1),
            **({"tiny_ja": asdict(tiny_config(config))} if config.is_tiny_ja else {}),
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
