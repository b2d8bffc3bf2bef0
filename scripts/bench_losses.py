"""Supervised losses on labelled Japanese questions: does the embedding put a class together?

JSQuAD valid (``../shared/data/jsquad/valid.json``): every question is labelled by the title of the
Wikipedia article it was asked about (59 articles). Paragraphs, not questions, are split into
train / dev / test within each article (60 / 20 / 20, by seed), so no held-out question shares a
paragraph with a training question. One tiny-ja base is built from the training questions and
saved; every loss starts from those same weights and trains for the same number of epochs with
the same learning rate, batch size and label-grouping batches (the papers' default loss
parameters; nothing is tuned). Then, on the held-out questions of each split:

* **MAP**: every held-out question queries the other held-out questions by cosine similarity; the
  relevant ones share its label (average precision over the full ranking, averaged).
* **R@1**: the share of questions whose nearest other question has the same label (Recall@1 in
  the metric-learning sense, as in Wu et al. 2017).
* **intra/inter**: mean Euclidean distance between two questions of one label over the mean
  distance between questions of different labels (lower = more compact classes).

All three are measured on L2-normalised embeddings (split:
``textmetric.evaluation.datasets.jsquad_labelled_questions``; metrics:
``textmetric.evaluation.metrics.label_metrics``). ``NAME@raw`` trains ``NAME`` on the model's
unnormalised embeddings (no Normalize layer), the setting of Wen et al. (2016) for softmax and
center loss; the plain names use textmetric's default, normalised embeddings.

Settings (and the default loss for ``labelled`` data) are chosen on **dev**; **test** is reported
once. Ratios are against ``softmax`` measured in the same run.

    .venv/bin/python scripts/bench_losses.py                     # ~12 min on 2 CPU cores
    .venv/bin/python scripts/bench_losses.py --losses softmax,center --epochs 2 --out bench.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "jsquad" / "valid.json"
DEFAULT_LOSSES = "softmax,center,am-softmax,batch-hard-triplet,softmax@raw,center@raw"
RAW = "@raw"


def evaluate(model_dir: Path, splits: dict[str, list[tuple[str, str]]]) -> dict[str, dict[str, float]]:
    from textmetric.api import TextMetric
    from textmetric.evaluation.metrics import label_metrics

    encoder = TextMetric.load(model_dir, device="cpu")
    results = {}
    for split in ("dev", "test"):
        texts, labels = zip(*splits[split], strict=True)
        results[split] = label_metrics(encoder.encode(list(texts), batch_size=64), list(labels))
    return results


def write_jsonl(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(
        "\n".join(json.dumps({"text": t, "label": label}, ensure_ascii=False) for t, label in rows) + "\n",
        encoding="utf-8",
    )
    return path


def build_base(train_rows: list[tuple[str, str]], folder: Path, args) -> Path:
    """One tiny-ja (tokenizer + random BERT) from the training questions, saved: every loss starts here."""
    from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja

    config = TinyJaConfig(
        vocab_size=args.vocab_size,
        hidden_size=args.hidden,
        num_layers=args.layers,
        num_heads=args.heads,
        intermediate_size=4 * args.hidden,
        seed=args.seed,
    )
    return build_tiny_ja([t for t, _ in train_rows], folder, config=config, overwrite=True)


def train_one(loss: str, train_file: Path, base: Path, output: Path, args) -> tuple[Path, float, list]:
    """Train ``loss`` from ``base``; ``NAME@raw`` trains on unnormalised embeddings (the model has no
    Normalize layer), the setting of Wen et al. for center loss; evaluation normalises either way."""
    from textmetric.training import TrainConfig, train

    config = TrainConfig(
        data=[str(train_file)],
        output=str(output),
        model=str(base),
        loss=loss.removesuffix(RAW),
        normalize=not loss.endswith(RAW),
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        max_seq_length=args.max_seq_length,
        seed=args.seed,
        save_steps=10**9,  # no checkpoints: a benchmark, not a run to resume
        logging_steps=25,
        overwrite=True,
    )
    started = time.time()
    result = train(config)
    return result.output, time.time() - started, result.loss_history


def table(rows: dict[str, dict], split: str, baseline: str) -> str:
    base = rows.get(baseline, {}).get(split)
    lines = [
        f"| loss ({split}) | MAP | R@1 | intra/inter | MAP ÷ {baseline} | intra/inter ÷ {baseline} | s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, result in rows.items():
        m = result[split]
        ratio_map = f"{m['map'] / base['map']:.3f}" if base else "-"
        ratio_comp = f"{m['intra/inter'] / base['intra/inter']:.3f}" if base else "-"
        seconds = f"{result['seconds']:.0f}" if result.get("seconds") else "-"
        lines.append(
            f"| {name} | {m['map']:.4f} | {m['r@1']:.4f} | {m['intra/inter']:.4f} | {ratio_map} | "
            f"{ratio_comp} | {seconds} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="JSQuAD (SQuAD v2 JSON)")
    parser.add_argument("--losses", default=DEFAULT_LOSSES, help="comma-separated loss names")
    parser.add_argument("--epochs", type=float, default=4.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-4, help="tiny-ja's default rate (from scratch)")
    parser.add_argument("--max-seq-length", type=int, default=48)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", default=None, help="folder for the base and the runs (default: temporary)")
    parser.add_argument("--out", default=None, help="write all numbers as JSON here")
    args = parser.parse_args(argv)
    logging.getLogger("textmetric").setLevel(logging.WARNING)

    from textmetric.evaluation.datasets import jsquad_labelled_questions

    started = time.time()
    splits = jsquad_labelled_questions(args.data, seed=args.seed)
    sizes = {s: (len(rows), len({label for _, label in rows})) for s, rows in splits.items()}
    print(f"JSQuAD questions (texts, labels): {sizes}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_losses.") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        train_file = write_jsonl(work / "train.jsonl", splits["train"])
        base = build_base(splits["train"], work / "tiny-ja-base", args)
        rows: dict[str, dict] = {"untrained base": {**evaluate(base, splits), "seconds": 0.0}}
        for loss in [name.strip() for name in args.losses.split(",") if name.strip()]:
            output, seconds, history = train_one(loss, train_file, base, work / f"run-{loss}", args)
            rows[loss] = {**evaluate(output, splits), "seconds": seconds, "loss_history": history}
            m = rows[loss]["dev"]
            print(
                f"{loss}: dev MAP {m['map']:.4f}  R@1 {m['r@1']:.4f}  intra/inter {m['intra/inter']:.4f}  "
                f"({seconds:.0f} s)",
                flush=True,
            )
    baseline = "softmax" if "softmax" in rows else next(iter(rows))
    trained = [name for name in rows if name != "untrained base"]
    best = max(trained, key=lambda name: rows[name]["dev"]["map"]) if trained else None
    print()
    print(table(rows, "dev", baseline))
    print()
    print(table(rows, "test", baseline))
    print()
    print(f"best on dev MAP: {best}; total {time.time() - started:.0f} s")
    if args.out:
        from textmetric.io import write_json

        write_json(args.out, {"args": vars(args), "sizes": sizes, "results": rows, "best_on_dev": best})
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
