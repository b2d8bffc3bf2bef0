"""Self-supervised warm-up (masked language modelling) before metric-learning fine-tuning.

A BERT trained from scratch (``tiny-ja``) starts with random word embeddings: a pair loss on a
few thousand labelled pairs then has to learn the words and the similarity at once. A few
minutes of masked language modelling (BERT's own objective, ``BertForMaskedLM`` with
transformers' ``DataCollatorForLanguageModeling``) on whatever unlabelled text is at hand gives
the encoder word and context statistics first. Whether that pays off depends on the budget:
``scripts/bench_quality.py`` measures it against the same run without warm-up (at 400 steps on
a 128-hidden model it did not help on JSTS). The same function continues the pre-training of a
local BERT folder on in-domain text (domain adaptation), where it is the usual practice.

The result is a plain Hugging Face model folder (``BertModel`` weights, the tokenizer files)
that ``textmetric train --model DIR`` and ``build_dual_encoder(DIR)`` load like any base.

Batches are length-grouped (texts sorted by length inside shuffled windows of 50 batches), so
little compute goes to padding. The run is reproducible for a seed; ``max_seconds`` is a safety
stop that makes the step count depend on the machine.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textmetric.errors import ConfigError
from textmetric.io import atomic_path
from textmetric.models.builder import TINY_JA
from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja

logger = logging.getLogger("textmetric")

PRETRAIN_FILE = "pretrain.json"
GROUP_WINDOW = 50  # batches per length-sorting window


@dataclass
class PretrainResult:
    """What a warm-up produced: the folder, the MLM loss curve, steps and time."""

    output: Path
    loss_history: list[tuple[int, float]] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    texts: int = 0
    tokens: int = 0


def read_texts(paths: Iterable[str | Path], *, nfkc: bool = True, min_chars: int = 2) -> list[str]:
    """Unlabelled texts from files: ``.txt`` (one text a line), SQuAD JSON (paragraphs split into
    sentences, and questions), or any pair / scored / labelled file (every text column)."""
    from textmetric.data.formats import load_pairs
    from textmetric.data.jglue import is_squad_json, split_title
    from textmetric.text.normalize import normalize_text
    from textmetric.text.sentences import split_sentences

    texts: list[str] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"text file not found: {path}")
        if path.suffix.lower() == ".txt":
            lines = path.read_text("utf-8").splitlines()
            texts += [normalize_text(line, nfkc=nfkc) for line in lines]
        elif path.suffix.lower() == ".json" and is_squad_json(path):
            data = json.loads(path.read_text("utf-8"))
            for article in data.get("data", []):
                for para in article.get("paragraphs", []):
                    title, body = split_title(para.get("context", ""))
                    texts.append(normalize_text(title, nfkc=nfkc))
                    texts += [normalize_text(s, nfkc=nfkc) for s in split_sentences(body)]
                    texts += [normalize_text(q.get("question", ""), nfkc=nfkc) for q in para.get("qas", [])]
        else:
            texts += load_pairs(path, nfkc=nfkc, on_bad_row="skip").texts()
    return [t.strip() for t in texts if t and len(t.strip()) >= min_chars]


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random, window: int = GROUP_WINDOW
) -> list[list[int]]:
    """Shuffled batches of similar-length texts: sort inside windows of ``window`` batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    span = batch_size * window
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _masked_loss(mlm, batch) -> Any:
    """MLM loss with the vocabulary projection applied to the masked positions only.

    ``BertForMaskedLM`` projects every position onto the vocabulary; for a small encoder that
    projection (hidden x vocab per token) costs more than the encoder itself, and only the ~15%
    masked positions count in the loss. Same loss, several times fewer FLOPs.
    """
    import torch

    labels = batch.pop("labels")
    head = getattr(mlm, "cls", None)
    if head is None:  # not a BERT-style head: the model's own (full) computation
        return mlm(**batch, labels=labels).loss
    hidden = mlm.base_model(**batch).last_hidden_state
    where = labels != -100
    logits = head(hidden[where])
    return torch.nn.functional.cross_entropy(logits, labels[where])


def pretrain_mlm(
    texts: Sequence[str],
    output: str | Path,
    *,
    model: str | Path = TINY_JA,
    tiny: TinyJaConfig | None = None,
    vocab_texts: Sequence[str] | None = None,
    max_seq_length: int = 64,
    epochs: float = 1.0,
    max_steps: int = -1,
    max_seconds: float | None = None,
    batch_size: int = 64,
    lr: float = 5e-4,
    warmup: float = 0.06,
    weight_decay: float = 0.01,
    mlm_probability: float = 0.15,
    seed: int = 42,
    log_every: int = 50,
    overwrite: bool = False,
) -> PretrainResult:
    """Masked-language-model warm-up of ``model`` on ``texts``; writes a base folder to ``output``.

    Args:
        texts: unlabelled training texts (see :func:`read_texts`).
        model: ``tiny-ja`` (built here, its vocabulary learned from ``vocab_texts`` or ``texts``)
            or a local BERT folder to continue pre-training.
        tiny: size of the tiny-ja model (default :class:`TinyJaConfig` with ``seed``).
        max_seq_length: tokens kept per text (short sentences: 64 is plenty).
        epochs / max_steps: length of the run (``max_steps`` wins when positive).
        max_seconds: stop early after this long (the schedule still follows the planned steps).
        warmup: linear warm-up, a ratio of the steps (< 1) or a step count.
    """
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer, DataCollatorForLanguageModeling
    from transformers.trainer_utils import set_seed

    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise ConfigError("pretraining needs at least one non-empty text")
    if batch_size < 2:
        raise ConfigError("batch size must be at least 2")
    if epochs <= 0 and max_steps <= 0:
        raise ConfigError("epochs must be positive (or give max_steps)")
    started = time.time()
    set_seed(seed)
    with atomic_path(output, overwrite=overwrite, is_dir=True) as tmp:
        tmp.mkdir(parents=True, exist_ok=True)
        if str(model) == TINY_JA:
            base = tmp / "_base"
            config = tiny or TinyJaConfig(seed=seed)
            build_tiny_ja(list(vocab_texts or texts), base, config=config, overwrite=True)
        else:
            base = Path(model)
            if not (base / "config.json").is_file():
                raise ConfigError(
                    f"--model must be 'tiny-ja' or a local BERT folder; {base} has no config.json"
                )
        tokenizer = AutoTokenizer.from_pretrained(str(base))
        encoder_tokenizer = tokenizer
        try:
            from textmetric.text.fast_tokenizer import build_fast_tokenizer

            encoder_tokenizer = build_fast_tokenizer(tokenizer)
        except Exception:  # the fast path is optional (non-MeCab tokenizers)
            pass
        mlm = AutoModelForMaskedLM.from_pretrained(str(base))
        encoded = encoder_tokenizer(list(texts), truncation=True, max_length=max_seq_length)["input_ids"]
        lengths = [len(ids) for ids in encoded]
        logger.info(
            "mlm: %d texts, %d tokens (mean %.1f), ready after %.0f s",
            len(encoded),
            sum(lengths),
            sum(lengths) / len(lengths),
            time.time() - started,
        )
        collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mlm_probability)
        per_epoch = math.ceil(len(encoded) / batch_size)
        total = max_steps if max_steps > 0 else max(1, round(per_epoch * epochs))
        warmup_steps = int(warmup * total) if warmup < 1 else int(warmup)
        no_decay = ("bias", "LayerNorm.weight", "LayerNorm.bias")
        groups = [
            {
                "params": [p for n, p in mlm.named_parameters() if not any(k in n for k in no_decay)],
                "weight_decay": weight_decay,
            },
            {
                "params": [p for n, p in mlm.named_parameters() if any(k in n for k in no_decay)],
                "weight_decay": 0.0,
            },
        ]
        optimizer = torch.optim.AdamW(groups, lr=lr)

        def factor(step: int) -> float:
            if step < warmup_steps:
                return (step + 1) / max(1, warmup_steps)
            return max(0.0, (total - step) / max(1, total - warmup_steps))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        rng = random.Random(seed)
        result = PretrainResult(output=Path(output), texts=len(encoded), tokens=sum(lengths))
        mlm.train()
        step, running, counted = 0, 0.0, 0
        while step < total:
            for batch_ids in length_grouped_batches(lengths, batch_size, rng):
                batch = collator([{"input_ids": encoded[i]} for i in batch_ids])
                loss = _masked_loss(mlm, batch)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(mlm.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                running += float(loss.detach())
                counted += 1
                if step % log_every == 0 or step == total:
                    result.loss_history.append((step, running / counted))
                    logger.info("mlm step %d/%d loss %.4f", step, total, running / counted)
                    running, counted = 0.0, 0
                if step >= total or (max_seconds and time.time() - started > max_seconds):
                    break
            if max_seconds and time.time() - started > max_seconds:
                break
        if counted:
            result.loss_history.append((step, running / counted))
        result.steps = step
        mlm.eval()
        encoder = mlm.base_model
        encoder.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        if (base / "tiny_ja.json").is_file():
            (tmp / "tiny_ja.json").write_text((base / "tiny_ja.json").read_text("utf-8"), encoding="utf-8")
        if base.parent == tmp:
            import shutil

            shutil.rmtree(base)
        result.seconds = time.time() - started
        info: dict[str, Any] = {
            "objective": "mlm",
            "model": str(model),
            "texts": result.texts,
            "tokens": result.tokens,
            "steps": step,
            "planned_steps": total,
            "batch_size": batch_size,
            "lr": lr,
            "max_seq_length": max_seq_length,
            "mlm_probability": mlm_probability,
            "seed": seed,
            "seconds": round(result.seconds, 1),
            "loss_history": result.loss_history,
        }
        (tmp / PRETRAIN_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return result


__all__ = ["PretrainResult", "length_grouped_batches", "pretrain_mlm", "read_texts"]
