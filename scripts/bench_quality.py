"""Benchmark: the offline quality recipe for tiny-ja on JSTS / JSQuAD, against the usual alternatives.

One run measures, on the same machine:

* lexical baselines: TF-IDF and BM25 (JSTS valid Spearman, JSQuAD valid nDCG@10);
* **the recipe** (``configs/recipe-tiny-ja.yaml`` for its supervised stage):

  1. a MeCab + WordPiece vocabulary (tiny-ja) from all the unlabelled Japanese text at hand:
     JSTS train sentences, JNLI valid sentences and the JSQuAD valid paragraphs (split into
     sentences; the questions, which are the retrieval queries, are not used);
  2. a masked-language-model warm-up on that text (:func:`textmetric.training.pretrain_mlm`,
     length-grouped batches, 64 tokens);
  3. supervised multi-task training with :func:`textmetric.training.train`: CoSENT on the graded
     JSTS train pairs + MNRL (in-batch negatives) on positive pairs (JSTS train pairs scored
     >= 4 and JNLI entailment pairs), max_seq_length 64;

* the recipe with one ingredient removed at a time (ablations);
* a plain sentence-transformers CoSENT script on the same (random) tiny-ja base and budget.

Held out: JSTS valid and JNLI valid come from the same YJ Captions images, and 267 JSTS valid
sentences also occur in JNLI valid: every JNLI pair sharing a sentence or a caption id with JSTS
valid is dropped from training and from the warm-up text. Nothing is tuned on a test split (JGLUE
publishes none); settings were chosen on JSTS valid / JSQuAD valid.

Usage::

    python scripts/bench_quality.py --out results.json                  # everything: baselines, recipe,
                                                                        # 4 ablations, plain script
    python scripts/bench_quality.py --variants recipe --out r.json      # the recipe only
    python scripts/bench_quality.py --variants recipe --seeds 1,2,3     # seed spread
    python scripts/bench_quality.py --variants recipe,no-warmup --hidden 128 --layers 2 \
        --mlm-steps 400 --epochs 2                                      # shorter, smaller
    python scripts/bench_quality.py --prepare-only --work runs/recipe   # files for the CLI recipe

Each row reports wall-clock seconds and CPU seconds (``*_cpu_seconds``): on a machine shared with
other jobs the CPU time is what a dedicated machine would spend (divided by the threads used).
Run with ``OMP_NUM_THREADS=1`` to run variants side by side on separate cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
DATA = (REPO / ".." / "shared" / "data").resolve()
JSTS_TRAIN = DATA / "jsts" / "train.jsonl"
JSTS_VALID = DATA / "jsts" / "valid.jsonl"
JNLI_VALID = DATA / "jnli" / "valid.jsonl"
JSQUAD_VALID = DATA / "jsquad" / "valid.json"
CONFIG = REPO / "configs" / "recipe-tiny-ja.yaml"
POSITIVE_SCORE = 4.0  # JSTS pairs at or above this score are MNRL positives

logger = logging.getLogger("bench_quality")


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def prepare(work: Path, *, jnli: bool = True, jsquad_text: bool = True) -> dict[str, Any]:
    """Training files and warm-up text, with everything that touches JSTS valid left out."""
    from textmetric.data.jglue import split_title
    from textmetric.text.normalize import normalize_text
    from textmetric.text.sentences import split_sentences

    valid = _rows(JSTS_VALID)
    held_sentences = {normalize_text(r[k]) for r in valid for k in ("sentence1", "sentence2")}
    held_captions = {r["yjcaptions_id"] for r in valid}
    train = _rows(JSTS_TRAIN)
    nli = [
        r
        for r in _rows(JNLI_VALID)
        if r.get("yjcaptions_id") not in held_captions
        and normalize_text(r["sentence1"]) not in held_sentences
        and normalize_text(r["sentence2"]) not in held_sentences
    ]
    positives = [
        {"anchor": r["sentence1"], "positive": r["sentence2"]}
        for r in train
        if float(r["label"]) >= POSITIVE_SCORE
    ]
    nli_positives = [
        {"anchor": r["sentence1"], "positive": r["sentence2"]} for r in nli if r["label"] == "entailment"
    ]
    if jnli:
        positives += nli_positives
    corpus: list[str] = [r[k] for r in train for k in ("sentence1", "sentence2")]
    if jnli:
        corpus += [r[k] for r in nli for k in ("sentence1", "sentence2")]
    if jsquad_text:
        squad = json.loads(JSQUAD_VALID.read_text("utf-8"))
        for article in squad["data"]:
            for para in article["paragraphs"]:
                title, body = split_title(para["context"])
                corpus += [title, *split_sentences(body)]
    corpus = [t for t in dict.fromkeys(normalize_text(t).strip() for t in corpus) if len(t) >= 2]
    corpus = [t for t in corpus if t not in held_sentences]
    work.mkdir(parents=True, exist_ok=True)
    return {
        "jsts_train": str(JSTS_TRAIN),
        "positives": str(
            _write_jsonl(work / ("positives.jsonl" if jnli else "positives-nojnli.jsonl"), positives)
        ),
        "corpus": corpus,
        "counts": {
            "jsts_train_pairs": len(train),
            "jnli_rows_kept": len(nli),
            "jnli_entailment_pairs": len(nli_positives) if jnli else 0,
            "mnrl_positive_pairs": len(positives),
            "warmup_texts": len(corpus),
        },
    }


# ----------------------------------------------------------------------------------------- stages


def recipe_settings(path: Path = CONFIG) -> dict[str, Any]:
    """The supervised settings of the recipe (a plain ``TrainConfig`` file)."""
    import yaml

    return yaml.safe_load(path.read_text("utf-8")) or {}


def cpu_seconds() -> float:
    """CPU time of this process, all threads: on a shared machine, what a dedicated one would spend."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build_base(work: Path, corpus: list[str], args, seed: int, *, mlm: bool) -> tuple[Path, float, dict]:
    """tiny-ja vocabulary from ``corpus``; with ``mlm`` the MLM warm-up on it, else random weights."""
    from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja
    from textmetric.training.pretrain import pretrain_mlm

    tiny = TinyJaConfig(
        vocab_size=args.vocab_size,
        hidden_size=args.hidden,
        num_layers=args.layers,
        num_heads=max(1, args.hidden // 64),
        intermediate_size=4 * args.hidden,
        seed=seed,
    )
    started, cpu = time.time(), cpu_seconds()
    folder = work / f"base-{'mlm' if mlm else 'random'}-{args.hidden}-s{seed}"
    info: dict[str, Any] = {}
    if mlm:
        result = pretrain_mlm(
            corpus,
            folder,
            tiny=tiny,
            max_seq_length=64,
            max_steps=args.mlm_steps,
            batch_size=args.mlm_batch_size,
            lr=args.mlm_lr,
            seed=seed,
            overwrite=True,
        )
        info = {
            "mlm_steps": result.steps,
            "mlm_loss": result.loss_history[-1][1] if result.loss_history else None,
        }
    else:
        build_tiny_ja(corpus, folder, config=tiny, overwrite=True)
    info["base_cpu_seconds"] = round(cpu_seconds() - cpu, 1)
    return folder, time.time() - started, info


def supervised(
    base: Path, files: list[str], losses: list[str], output: Path, args, seed: int
) -> tuple[Path, float]:
    """Stage 3: ``train()`` with the recipe config, on the given base and files."""
    from textmetric.training import TrainConfig, train

    config = TrainConfig.from_file(
        CONFIG,
        data=files,
        loss=losses,
        model=str(base),
        output=str(output),
        seed=seed,
        overwrite=True,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
    )
    started, cpu = time.time(), cpu_seconds()
    train(config)
    logger.info("supervised stage: %.0f s wall, %.0f s CPU", time.time() - started, cpu_seconds() - cpu)
    return output, time.time() - started


def plain_st(base: Path, output: Path, seconds: float, seed: int, args) -> tuple[Path, float]:
    """A plain sentence-transformers CoSENT script on the same base, stopped at the same budget."""
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import CoSENTLoss
    from transformers import TrainerCallback

    class Budget(TrainerCallback):
        def __init__(self) -> None:
            self.start = time.time()

        def on_step_end(self, args_, state, control, **kwargs):
            if time.time() - self.start > seconds:
                control.should_training_stop = True

    started = time.time()
    rows = _rows(JSTS_TRAIN)
    data = Dataset.from_dict(
        {
            "sentence1": [r["sentence1"] for r in rows],
            "sentence2": [r["sentence2"] for r in rows],
            "score": [float(r["label"]) / 5.0 for r in rows],
        }
    )
    model = SentenceTransformer(str(base))
    targs = SentenceTransformerTrainingArguments(
        output_dir=str(output / "checkpoints"),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.lr,
        warmup_steps=0.1,
        seed=seed,
        save_strategy="no",
        report_to="none",
        logging_steps=100,
        use_cpu=True,
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=targs, train_dataset=data, loss=CoSENTLoss(model), callbacks=[Budget()]
    )
    trainer.train()
    model.save(str(output))
    return output, time.time() - started


def measure(model_dir: Path | None, *, baselines: str, retrieval_max_seq_length: int) -> dict[str, float]:
    """JSTS valid Spearman and JSQuAD valid nDCG@10 of a model (and / or the lexical baselines)."""
    from textmetric.evaluation import evaluate

    model: Any = None
    if model_dir is not None:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(model_dir))
    out: dict[str, float] = {}
    if model is not None or baselines:
        sts = evaluate(
            model, sts=[JSTS_VALID], baselines=baselines.replace("hybrid", "").strip(",") or None, plots=False
        )
        for system, values in sts["jsts-valid"].systems.items():
            out[f"{system}:jsts_spearman"] = values["spearman"]
    if model is not None:
        model.max_seq_length = retrieval_max_seq_length
    ret = evaluate(model, retrieval=[JSQUAD_VALID], baselines=baselines or None, plots=False)
    for system, values in ret["jsquad-valid"].systems.items():
        out[f"{system}:jsquad_ndcg@10"] = values["ndcg@10"]
    return out


# ------------------------------------------------------------------------------------------ main

VARIANTS = {
    # name: (mlm warm-up, JNLI pairs, MNRL multi-task, JSQuAD text in the vocabulary / warm-up)
    "recipe": {"mlm": True, "jnli": True, "mnrl": True, "jsquad_text": True},
    "no-warmup": {"mlm": False, "jnli": True, "mnrl": True, "jsquad_text": True},
    "no-jnli": {"mlm": True, "jnli": False, "mnrl": True, "jsquad_text": True},
    "no-mnrl": {"mlm": True, "jnli": False, "mnrl": False, "jsquad_text": True},
    "no-jsquad-text": {"mlm": True, "jnli": True, "mnrl": True, "jsquad_text": False},
}
ALL = [*VARIANTS, "plain-st"]


def run_variant(name: str, seed: int, args, work: Path) -> dict[str, Any]:
    spec = VARIANTS[name]
    prep = prepare(work / "data", jnli=spec["jnli"], jsquad_text=spec["jsquad_text"])
    base, base_s, info = build_base(work / name, prep["corpus"], args, seed, mlm=spec["mlm"])
    files, losses = [prep["jsts_train"]], ["cosent"]
    if spec["mnrl"]:
        files.append(prep["positives"])
        losses.append("mnrl")
    cpu = cpu_seconds()
    model, train_s = supervised(base, files, losses, work / name / f"model-s{seed}", args, seed)
    info["train_cpu_seconds"] = round(cpu_seconds() - cpu, 1)
    row = {
        "variant": name,
        "seed": seed,
        "base_seconds": round(base_s, 1),
        "train_seconds": round(train_s, 1),
        "total_seconds": round(base_s + train_s, 1),
        **info,
        **prep["counts"],
        **measure(model, baselines="hybrid", retrieval_max_seq_length=args.retrieval_max_seq_length),
    }
    return row


def table(rows: list[dict[str, Any]], lexical: dict[str, float]) -> str:
    lines = [
        "| system | seed | JSTS valid Spearman | JSQuAD nDCG@10 (dense) | hybrid with BM25 | minutes |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| TF-IDF | - | {lexical.get('tfidf:jsts_spearman', float('nan')):.4f} | "
        f"{lexical.get('tfidf:jsquad_ndcg@10', float('nan')):.4f} | - | - |",
        f"| BM25 | - | {lexical.get('bm25:jsts_spearman', float('nan')):.4f} | "
        f"{lexical.get('bm25:jsquad_ndcg@10', float('nan')):.4f} | - | - |",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['seed']} | {r['model:jsts_spearman']:.4f} | "
            f"{r['model:jsquad_ndcg@10']:.4f} | "
            f"{r.get('hybrid:jsquad_ndcg@10', float('nan')):.4f} | {r['total_seconds'] / 60:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, help="results JSON")
    parser.add_argument("--work", type=Path, default=Path("/tmp/textmetric-bench-quality"))
    parser.add_argument("--variants", default=",".join(ALL), help=f"comma-separated: {', '.join(ALL)}")
    parser.add_argument("--seeds", default="42")
    parser.add_argument(
        "--prepare-only", action="store_true", help="write positives.jsonl and warmup-texts.txt"
    )
    parser.add_argument("--no-baselines", action="store_true")
    # warm-up and model size (the supervised settings come from configs/recipe-tiny-ja.yaml)
    parser.add_argument("--mlm-steps", type=int, default=800)
    parser.add_argument("--mlm-batch-size", type=int, default=64)
    parser.add_argument("--mlm-lr", type=float, default=5e-4)
    parser.add_argument("--vocab-size", type=int, default=16000)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--epochs", type=float, default=None, help="override the config")
    parser.add_argument("--lr", type=float, default=None, help="override the config")
    parser.add_argument("--batch-size", type=int, default=None, help="override the config")
    parser.add_argument("--retrieval-max-seq-length", type=int, default=256)
    parser.add_argument("--plain-st-seconds", type=float, default=None, help="default: the recipe's time")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    work = args.work
    if args.prepare_only:
        prep = prepare(work)
        (work / "warmup-texts.txt").write_text("\n".join(prep["corpus"]) + "\n", encoding="utf-8")
        print(json.dumps({**prep["counts"], "positives": prep["positives"]}, indent=2))
        return 0
    cfg = recipe_settings()
    args.epochs = args.epochs if args.epochs is not None else cfg.get("epochs")
    args.lr = args.lr if args.lr is not None else cfg.get("lr")
    args.batch_size = args.batch_size if args.batch_size is not None else cfg.get("batch_size")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = sorted(set(names) - set(ALL))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}")
    started = time.time()
    lexical: dict[str, float] = {}
    if not args.no_baselines:
        t = time.time()
        lexical = measure(None, baselines="bm25,tfidf", retrieval_max_seq_length=0)
        lexical["seconds"] = round(time.time() - t, 1)
        print(json.dumps(lexical), flush=True)
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        for name in names:
            if name == "plain-st":
                continue
            row = run_variant(name, seed, args, work)
            rows.append(row)
            print(json.dumps(row), flush=True)
        if "plain-st" in names:
            budget = args.plain_st_seconds or next(
                (r["total_seconds"] for r in rows if r["variant"] == "recipe" and r["seed"] == seed), 1200.0
            )
            prep = prepare(work / "data")
            base, base_s, _ = build_base(work / "plain-st", prep["corpus"], args, seed, mlm=False)
            model, train_s = plain_st(base, work / "plain-st" / f"model-s{seed}", budget - base_s, seed, args)
            row = {
                "variant": "plain-st",
                "seed": seed,
                "total_seconds": round(base_s + train_s, 1),
                "base_seconds": round(base_s, 1),
                "train_seconds": round(train_s, 1),
                **measure(model, baselines="hybrid", retrieval_max_seq_length=args.retrieval_max_seq_length),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(table(rows, lexical))
    recipe = [r["model:jsts_spearman"] for r in rows if r["variant"] == "recipe"]
    if len(recipe) > 1:
        import statistics

        print(
            f"recipe JSTS Spearman over {len(recipe)} seeds: mean {statistics.mean(recipe):.4f}, "
            f"sd {statistics.stdev(recipe):.4f}, min {min(recipe):.4f}, max {max(recipe):.4f}"
        )
    print(
        f"wall clock: {(time.time() - started) / 60:.1f} min, "
        f"torch threads {__import__('torch').get_num_threads()}"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {"lexical": lexical, "runs": rows, "args": {k: str(v) for k, v in vars(args).items()}},
                indent=2,
            ),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
