"""Throughput against the plain stack: tokenizer, training samples/s and encoding sentences/s.

Everything is measured in one process on the same machine, base model folder, data and batch
size, and each pair of contenders is interleaved round by round (best round kept), so the ratios
hold on a busy machine:

* tokenizer: textmetric's fast tokenizer / ``BertJapaneseTokenizer`` (and fugashi's MeCab split
  alone, the limit), via ``scripts/bench_tokenizer.py``'s ``bench_tokenizers``;
* training: ``textmetric.training.train`` / a plain sentence-transformers script
  (``SentenceTransformer(modules=[Transformer(dir), Pooling])`` + ``SentenceTransformerTrainer``
  + ``CoSENTLoss``) on the same JSTS train subset, batch size, ``max_seq_length``, learning rate
  and number of steps. The training loop is timed by a callback from the end of the first
  ``--warmup-steps`` steps to the last (data loading, collation, forward, backward, optimizer);
  the end-to-end time of each call (loading, saving) is reported alongside;
* encoding: ``TextMetric.encode`` / ``SentenceTransformer.encode`` on the same trained model
  folder and the same distinct JSTS valid sentences (the fast tokenizer's caches are emptied
  before each round, so nothing is remembered between rounds).

    .venv/bin/python scripts/bench_throughput.py                          # CPU, small model, ~4 min
    .venv/bin/python scripts/bench_throughput.py --out throughput.json
    .venv/bin/python scripts/bench_throughput.py --device cuda --size base --bf16   # GPU, BERT-base size
    .venv/bin/python scripts/bench_throughput.py --with-bf16 --skip tokenizer encoding  # CPU bf16 / fp32

``--with-bf16`` adds a third training contender, textmetric with ``precision: bf16`` (autocast,
fp32 weights), timed against textmetric in fp32 in the same rounds: on CPUs with AVX512-BF16 or
AMX it is the cheapest speed-up there is.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tokenizer import SHARED_DATA, bench_tokenizers, jsts_sentences

SIZES = {
    # A small model: the case where the input pipeline matters most on CPU.
    "small": {
        "vocab_size": 16000,
        "hidden_size": 256,
        "num_layers": 4,
        "num_heads": 4,
        "intermediate_size": 1024,
    },
    # BERT-base shape (randomly initialised), for GPU runs.
    "base": {
        "vocab_size": 32768,
        "hidden_size": 768,
        "num_layers": 12,
        "num_heads": 12,
        "intermediate_size": 3072,
    },
}


def jsts_rows(split: str, limit: int | None = None) -> list[dict]:
    rows = []
    with (SHARED_DATA / "jsts" / f"{split}.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows.append(json.loads(line))
                if limit is not None and len(rows) >= limit:
                    break
    return rows


def build_base(texts: list[str], folder: Path, size: str) -> Path:
    """A randomly initialised tiny-ja BERT of ``size`` with a vocabulary learnt from ``texts``."""
    from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja

    return build_tiny_ja(texts, folder, config=TinyJaConfig(**SIZES[size]), overwrite=True)


def _clock_callback(warmup: int):
    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        """Wall and process CPU time from the end of step ``warmup`` to the end of the last step."""

        def __init__(self) -> None:
            self.start: tuple[float, float] | None = None
            self.end: tuple[float, float] | None = None
            self.steps = 0

        def on_step_end(self, args, state, control, **kwargs):
            now = (time.perf_counter(), time.process_time())
            if state.global_step == warmup:
                self.start = now
            elif state.global_step > warmup:
                self.end = now
                self.steps = state.global_step - warmup

        def rate(self, batch_size: int) -> tuple[float, float]:
            assert self.start is not None and self.end is not None, "too few steps to time"
            samples = self.steps * batch_size
            return samples / (self.end[0] - self.start[0]), samples / (self.end[1] - self.start[1])

    return Clock()


def _train_textmetric(
    base_dir: Path,
    data: Path,
    out: Path,
    opts: argparse.Namespace,
    *,
    length_grouping: bool = False,
    precision: str | None = None,
) -> dict[str, float]:
    from textmetric.training import TrainConfig, train

    clock = _clock_callback(opts.warmup_steps)
    config = TrainConfig(
        data=[str(data)],
        output=str(out),
        model=str(base_dir),
        loss=["cosent"],
        max_seq_length=opts.max_seq_length,
        batch_size=opts.batch_size,
        max_steps=opts.steps,
        lr=opts.lr,
        save_steps=10**6,
        logging_steps=10**6,
        overwrite=True,
        device=opts.device,
        precision=precision or ("bf16" if opts.bf16 else "fp32"),
        dataloader_workers=opts.workers,
        length_grouping=length_grouping,
    )
    start = time.perf_counter()
    train(config, callbacks=[clock])
    total = time.perf_counter() - start
    wall, cpu = clock.rate(opts.batch_size)
    return {"per_s": wall, "per_s_cpu": cpu, "end_to_end_s": total}


def _train_plain(base_dir: Path, data: Path, out: Path, opts: argparse.Namespace) -> dict[str, float]:
    """The plain sentence-transformers script a user would write for the same run."""
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import CoSENTLoss
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    clock = _clock_callback(opts.warmup_steps)
    start = time.perf_counter()
    rows = [json.loads(line) for line in data.read_text("utf-8").splitlines() if line.strip()]
    dataset = Dataset.from_dict(
        {
            "sentence1": [r["sentence1"] for r in rows],
            "sentence2": [r["sentence2"] for r in rows],
            "score": [float(r["label"]) for r in rows],
        }
    )
    transformer = Transformer(str(base_dir), max_seq_length=opts.max_seq_length)
    pooling = Pooling(transformer.get_embedding_dimension(), "mean")
    model = SentenceTransformer(modules=[transformer, pooling], device=opts.device)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out / "checkpoints"),
        max_steps=opts.steps,
        per_device_train_batch_size=opts.batch_size,
        learning_rate=opts.lr,
        warmup_steps=0.1,
        weight_decay=0.01,
        seed=42,
        data_seed=42,  # as textmetric's train(): the same batches on both sides
        save_strategy="no",
        logging_steps=10**6,
        report_to="none",
        use_cpu=opts.device == "cpu",
        bf16=opts.bf16,
        dataloader_num_workers=opts.workers,
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=dataset, loss=CoSENTLoss(model), callbacks=[clock]
    )
    trainer.train()
    model.save(str(out / "model"))
    total = time.perf_counter() - start
    wall, cpu = clock.rate(opts.batch_size)
    return {"per_s": wall, "per_s_cpu": cpu, "end_to_end_s": total}


def bench_training(base_dir: Path, data: Path, work: Path, opts: argparse.Namespace) -> dict[str, Any]:
    """Training samples/s of textmetric's train() and the plain script, interleaved."""
    best: dict[str, dict[str, float]] = {}
    runs: dict[str, Any] = {"textmetric": _train_textmetric, "plain": _train_plain}
    if opts.length_grouping:
        runs["textmetric_grouped"] = functools.partial(_train_textmetric, length_grouping=True)
    if opts.with_bf16:
        runs["textmetric_bf16"] = functools.partial(_train_textmetric, precision="bf16")
    for round_ in range(opts.train_rounds):
        # Alternate the order, so that neither side always runs first (caches, machine load).
        for name in list(runs) if round_ % 2 == 0 else list(runs)[::-1]:
            run = runs[name]
            out = work / f"train-{name}-{round_}"
            result = run(base_dir, data, out, opts)
            print(f"  training round {round_ + 1} {name:<10} {result['per_s']:8.1f} samples/s", flush=True)
            previous = best.get(name, result)
            best[name] = {
                "per_s": max(result["per_s"], previous["per_s"]),
                "per_s_cpu": max(result["per_s_cpu"], previous["per_s_cpu"]),
                "end_to_end_s": min(result["end_to_end_s"], previous["end_to_end_s"]),
            }
            if name == "plain":
                shutil.rmtree(out, ignore_errors=True)
    keep = work / f"train-textmetric-{opts.train_rounds - 1}"
    result: dict[str, Any] = {name: values for name, values in best.items()}
    result["ratio"] = best["textmetric"]["per_s"] / best["plain"]["per_s"]
    result["ratio_cpu"] = best["textmetric"]["per_s_cpu"] / best["plain"]["per_s_cpu"]
    result["ratio_end_to_end"] = best["plain"]["end_to_end_s"] / best["textmetric"]["end_to_end_s"]
    if "textmetric_grouped" in best:
        grouped = best["textmetric_grouped"]
        result["ratio_grouped"] = grouped["per_s"] / best["plain"]["per_s"]
        result["ratio_grouped_cpu"] = grouped["per_s_cpu"] / best["plain"]["per_s_cpu"]
        result["ratio_grouped_end_to_end"] = best["plain"]["end_to_end_s"] / grouped["end_to_end_s"]
    if "textmetric_bf16" in best:  # against textmetric itself: the same code, fp32 vs bf16
        bf16, fp32 = best["textmetric_bf16"], best["textmetric"]
        result["ratio_bf16_vs_fp32"] = bf16["per_s"] / fp32["per_s"]
        result["ratio_bf16_vs_fp32_cpu"] = bf16["per_s_cpu"] / fp32["per_s_cpu"]
    result["model_dir"] = str(keep)
    return result


def bench_encoding(model_dir: Path, texts: list[str], opts: argparse.Namespace) -> dict[str, Any]:
    """Sentences/s of TextMetric.encode and SentenceTransformer.encode on the same folder and texts."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from textmetric.api import TextMetric
    from textmetric.text.fast_tokenizer import FastBertJapaneseTokenizer

    textmetric = TextMetric.load(model_dir, device=opts.device, batch_size=opts.batch_size)
    plain = SentenceTransformer(str(model_dir), device=opts.device)
    if opts.bf16:
        textmetric.model.to(torch.bfloat16)
        plain.to(torch.bfloat16)
    fast = [
        m
        for m in textmetric.model.modules()
        if isinstance(getattr(m, "processor", None), FastBertJapaneseTokenizer)
    ]

    def run_textmetric():
        for module in fast:
            module.processor.cache_clear()
            module.processor._fast_word_ids.clear()
        return textmetric.encode(texts, batch_size=opts.batch_size)

    def run_plain():
        return plain.encode(texts, batch_size=opts.batch_size, convert_to_numpy=True)

    runs = {"textmetric": run_textmetric, "plain": run_plain}
    run_plain()  # warm up both (allocator, kernels)
    run_textmetric()
    best = dict.fromkeys(runs, float("inf"))
    best_cpu = dict.fromkeys(runs, float("inf"))
    outputs: dict[str, Any] = {}
    for round_ in range(opts.encode_rounds):
        for name in list(runs) if round_ % 2 == 0 else list(runs)[::-1]:
            run = runs[name]
            start, start_cpu = time.perf_counter(), time.process_time()
            outputs[name] = run()
            best[name] = min(best[name], time.perf_counter() - start)
            best_cpu[name] = min(best_cpu[name], time.process_time() - start_cpu)
    a = np.asarray(outputs["textmetric"], dtype=np.float32)
    b = np.asarray(outputs["plain"], dtype=np.float32)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)  # the folder normalises; be safe either way
    cosine = float(np.min((a * b).sum(axis=1) / np.linalg.norm(a, axis=1)))
    result: dict[str, Any] = {
        "texts": len(texts),
        "fast_tokenizer": bool(fast),
        "min_cosine_textmetric_vs_plain": cosine,
    }
    for name in runs:
        result[name] = {"per_s": len(texts) / best[name], "per_s_cpu": len(texts) / best_cpu[name]}
    result["ratio"] = result["textmetric"]["per_s"] / result["plain"]["per_s"]
    result["ratio_cpu"] = result["textmetric"]["per_s_cpu"] / result["plain"]["per_s_cpu"]
    return result


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    setup = result["setup"]
    table = Table(
        title=(
            f"textmetric vs plain stack: {setup['size']} model, {setup['device']}"
            f"{' bf16' if setup['bf16'] else ''}, batch {setup['batch_size']}, "
            f"max_seq_length {setup['max_seq_length']}, torch threads {setup['torch_threads']}"
        )
    )
    for column in ("measure", "baseline", "baseline /s", "textmetric /s", "ratio", "ratio (CPU time)"):
        table.add_column(column, justify="left" if column in ("measure", "baseline") else "right")
    tok = result.get("tokenizer")
    if tok:
        _tokenizer_rows(table, tok)
    tr = result.get("training")
    if tr:
        _training_rows(table, tr, setup)
    enc = result.get("encoding")
    if enc:
        _encoding_rows(table, enc)
    Console().print(table)
    if tok:
        print(f"tokenizer ids identical: {tok['identical']}")
    if enc:
        print(f"encoding min cosine textmetric vs plain: {enc['min_cosine_textmetric_vs_plain']:.6f}")


def _tokenizer_rows(table, tok: dict[str, Any]) -> None:
    table.add_row(
        f"tokenizer ({tok['texts']} sentences)",
        "BertJapaneseTokenizer",
        f"{tok['slow_per_s']:,.0f}",
        f"{tok['fast_per_s']:,.0f}",
        f"{tok['fast_vs_slow']:.2f}x",
        f"{tok['fast_vs_slow_cpu']:.2f}x",
    )
    table.add_row(
        "tokenizer",
        "fugashi MeCab split only",
        f"{tok['mecab_only_per_s']:,.0f}",
        f"{tok['fast_per_s']:,.0f}",
        f"{tok['fast_vs_mecab_only']:.2f}x",
        f"{tok['fast_vs_mecab_only_cpu']:.2f}x",
    )


def _training_rows(table, tr: dict[str, Any], setup: dict[str, Any]) -> None:
    table.add_row(
        f"training samples ({setup['steps']} steps)",
        "ST Trainer + CoSENTLoss",
        f"{tr['plain']['per_s']:,.1f}",
        f"{tr['textmetric']['per_s']:,.1f}",
        f"{tr['ratio']:.2f}x",
        f"{tr['ratio_cpu']:.2f}x",
    )
    table.add_row(
        "training, end to end (s)",
        "same, incl. load + save",
        f"{tr['plain']['end_to_end_s']:,.1f}",
        f"{tr['textmetric']['end_to_end_s']:,.1f}",
        f"{tr['ratio_end_to_end']:.2f}x",
        "",
    )
    if "textmetric_grouped" in tr:
        table.add_row(
            "training, --group-by-length",
            "ST Trainer + CoSENTLoss",
            f"{tr['plain']['per_s']:,.1f}",
            f"{tr['textmetric_grouped']['per_s']:,.1f}",
            f"{tr['ratio_grouped']:.2f}x",
            f"{tr['ratio_grouped_cpu']:.2f}x",
        )
    if "textmetric_bf16" in tr:
        table.add_row(
            "training, --precision bf16",
            "textmetric, fp32",
            f"{tr['textmetric']['per_s']:,.1f}",
            f"{tr['textmetric_bf16']['per_s']:,.1f}",
            f"{tr['ratio_bf16_vs_fp32']:.2f}x",
            f"{tr['ratio_bf16_vs_fp32_cpu']:.2f}x",
        )


def _encoding_rows(table, enc: dict[str, Any]) -> None:
    table.add_row(
        f"encoding ({enc['texts']} sentences)",
        "SentenceTransformer.encode",
        f"{enc['plain']['per_s']:,.0f}",
        f"{enc['textmetric']['per_s']:,.0f}",
        f"{enc['ratio']:.2f}x",
        f"{enc['ratio_cpu']:.2f}x",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1...")
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument(
        "--bf16", action="store_true", help="train and encode in bfloat16 (GPU, or CPU with AVX512-BF16/AMX)"
    )
    parser.add_argument(
        "--with-bf16",
        action="store_true",
        help="also time textmetric training with precision bf16, against textmetric in fp32",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30, help="training steps per run")
    parser.add_argument("--warmup-steps", type=int, default=3, help="steps not timed at the start")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--workers", type=int, default=0, help="data-loader workers, both sides")
    parser.add_argument("--train-rows", type=int, default=3000, help="JSTS train pairs to train on")
    parser.add_argument("--train-rounds", type=int, default=2)
    parser.add_argument("--encode-texts", type=int, default=2000, help="distinct JSTS valid sentences")
    parser.add_argument("--encode-rounds", type=int, default=3)
    parser.add_argument("--tokenizer-texts", type=int, default=8000, help="JSTS train sentences")
    parser.add_argument("--tokenizer-rounds", type=int, default=3)
    parser.add_argument(
        "--no-length-grouping",
        dest="length_grouping",
        action="store_false",
        help="skip the textmetric run with length_grouping (bucketed shuffle by length)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["tokenizer", "training", "encoding"])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    opts = parser.parse_args(argv)
    if opts.bf16 and opts.with_bf16:
        parser.error("--with-bf16 compares bf16 with fp32; leave out --bf16")
    logging.getLogger("textmetric").setLevel(logging.WARNING)
    import torch
    import transformers

    if opts.threads:
        torch.set_num_threads(opts.threads)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    import datasets

    datasets.disable_progress_bars()

    started = time.perf_counter()
    train_rows = jsts_rows("train", opts.train_rows)
    valid = list(dict.fromkeys(t for r in jsts_rows("valid") for t in (r["sentence1"], r["sentence2"])))
    result: dict[str, Any] = {
        "setup": {
            "size": opts.size,
            **SIZES[opts.size],
            "device": opts.device,
            "bf16": opts.bf16,
            "with_bf16": opts.with_bf16,
            "batch_size": opts.batch_size,
            "max_seq_length": opts.max_seq_length,
            "steps": opts.steps,
            "warmup_steps": opts.warmup_steps,
            "workers": opts.workers,
            "threads": opts.threads,
            "train_rows": len(train_rows),
            "torch_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        }
    }
    with tempfile.TemporaryDirectory(prefix="textmetric-throughput-") as tmp:
        work = Path(tmp)
        # Vocabulary from the training texts only: the valid sentences carry unseen words.
        base_dir = build_base(
            [t for r in train_rows for t in (r["sentence1"], r["sentence2"])], work / "base", opts.size
        )
        data = work / "train.jsonl"
        data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in train_rows), "utf-8")
        if "tokenizer" not in opts.skip:
            print("tokenizer ...", flush=True)
            texts = jsts_sentences("train")[: opts.tokenizer_texts]
            result["tokenizer"] = bench_tokenizers(
                texts, base_dir, rounds=opts.tokenizer_rounds, batch_size=opts.batch_size
            )
        model_dir = base_dir
        if "training" not in opts.skip:
            print("training ...", flush=True)
            result["training"] = bench_training(base_dir, data, work, opts)
            model_dir = Path(result["training"].pop("model_dir"))
        if "encoding" not in opts.skip:
            print("encoding ...", flush=True)
            if model_dir == base_dir:  # no trained folder: wrap the base as a dual encoder
                from textmetric.models import build_dual_encoder

                model_dir = work / "encoder"
                build_dual_encoder(str(base_dir), max_seq_length=opts.max_seq_length).save(str(model_dir))
            result["encoding"] = bench_encoding(model_dir, valid[: opts.encode_texts], opts)
    result["setup"]["seconds"] = round(time.perf_counter() - started, 1)
    print_table(result)
    if opts.out:
        from textmetric.io import write_json

        write_json(opts.out, result, overwrite=True)
        print(f"wrote {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
