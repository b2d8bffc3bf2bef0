"""Benchmark: the offline quality recipe for tiny-ja on JSTS / JSQuAD, against the usual alternatives.

One run measures, on the same machine:

* lexical baselines: TF-IDF and BM25 (JSTS valid Spearman, JSQuAD valid nDCG@10);
* **the recipe**: ``configs/recipe-tiny-ja.yaml`` as it is (``textmetric train --config`` reads the
  same file; this script swaps in only the prepared files, the output folder and the seed):

  1. a tiny-ja (MeCab + WordPiece, 4 layers x 256) built from the training texts, its word
     embeddings started from **PPMI-SVD vectors** of those texts' token co-occurrences within a
     window and across the two texts of each positive pair (``tiny_word_init: ppmi``,
     ``tiny_ppmi_pair_weight: 0.1``, :mod:`textmetric.models.word_vectors`), the rest random,
     trained with hidden and attention dropout 0.2 (``tiny_dropout: 0.2``; BERT's is 0.1);
  2. multi-task training with :func:`textmetric.training.train`: CoSENT on the graded JSTS train
     pairs; MNRL (in-batch negatives, no duplicates) on positive pairs: JSTS train pairs scored
     >= 4, **same-image caption pairs** (two JSTS train captions of one YJ Captions image, not
     scored below 3 by the JSTS raters: :func:`same_image_pairs`) and JNLI entailment pairs; and
     MNRL on self-supervised retrieval pairs from the JSQuAD paragraphs: **cloze questions**
     (a sentence with one noun phrase replaced by 何, ``textmetric mine --positives cloze``) ->
     ``title [SEP]`` + the sentence and its neighbours; the questions are never used. 6 epochs,
     lr 3e-4, batch 32, max_seq_length 64;
  3. the saved weights are an exponential moving average of the weights from a quarter of the
     run on (``ema_decay: 0.9995``, ``ema_start: 0.25``,
     :class:`textmetric.training.callbacks.WeightAverageCallback`);

* the recipe with one ingredient removed at a time (``no-ema``: the last step's weights,
  ``no-ppmi``: random word embeddings,
  ``no-pair-contexts``: PPMI from the window only, ``no-image-pairs``, ``no-paragraphs``,
  ``no-jnli``, ``no-pair-mnrl``) and one added
  (``plus-mlm``: a masked-language-model warm-up on all the text first,
  :func:`textmetric.training.pretrain_mlm`; measured not to help);
* a plain sentence-transformers CoSENT script on the same tiny-ja shape and dropout (random word
  embeddings, as a plain script has) and time budget.

Retrieval is reported dense and as the library's two hybrids with BM25 (``textmetric evaluate
--baselines hybrid``): reciprocal-rank fusion with equal weights, and a convex combination of
standardised scores whose dense weight is chosen by two-fold cross-validation over the queries
(``--fusion convex``; each half is ranked with the weight best on the other half, so the figure
is not tuned on the queries it scores).

Held out: JSTS valid and JNLI valid come from the same YJ Captions images, and 267 JSTS valid
sentences also occur in JNLI valid: every JNLI pair sharing a sentence or a caption id with JSTS
valid is dropped from training and from the warm-up text, and so is every same-image pair with a
JSTS valid sentence. The JSQuAD paragraphs used for the self-supervised pairs are the retrieval
corpus itself (its text, not its questions): a domain-adaptation step, disclosed as such. Nothing
is tuned on a test split (JGLUE publishes none); settings were chosen on JSTS valid / JSQuAD valid.

Usage::

    python scripts/bench_quality.py --jobs 2 --out results.json         # everything: baselines, recipe,
                                                                        # ablations, plain script
    python scripts/bench_quality.py --variants recipe,no-ema,no-pair-contexts,no-ppmi,\
no-image-pairs,no-paragraphs,plain-st --seeds 1 --recipe-seeds 2,3 --jobs 2 --out results.json
                                                                        # the README table
    python scripts/bench_quality.py --variants recipe --seeds 1,2,3     # seed spread
    python scripts/bench_quality.py --variants recipe --seeds 2 --epochs 4 --ema-decay 0.999 \
        --ema-start 0.5                                                 # another weight average
    python scripts/bench_quality.py --variants recipe,no-paragraphs --hidden 128 --layers 2 \
        --epochs 2                                                      # shorter, smaller
    python scripts/bench_quality.py --prepare-only --work runs/recipe   # files for the CLI recipe

``--jobs N`` trains N variants at a time, each in its own process with cores / N torch threads.
Each row reports wall-clock seconds and CPU seconds (``cpu_seconds``, all threads of that
process): on a machine shared with other jobs the CPU time is what a dedicated machine would
spend; with one thread per job it is the wall time a dedicated core would need.
"""

from __future__ import annotations

import argparse
import itertools
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
MIN_SAME_IMAGE_SCORE = 3.0  # same-image caption pairs JSTS scored lower are not positives

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


def same_image_pairs(train: list[dict], held_sentences: set[str]) -> list[dict[str, str]]:
    """Captions of the same image in JSTS train, paired: positives nobody had to score.

    JSTS pairs captions of YJ Captions images; ``yjcaptions_id`` is ``IMAGE-CAPTION-CAPTION``
    (``IMAGE1_IMAGE2-...`` for two images), so every caption's image is known, and two captions
    of one image describe the same scene. 10,869 train images have 22,303 captions; pairing the
    captions of each image gives 16,382 pairs, 12,451 of them not in JSTS. Pairs that JSTS scored
    below :data:`MIN_SAME_IMAGE_SCORE` are left out (the raters saw them differ), and so is any
    caption that is also a JSTS valid sentence.
    """
    from textmetric.text.normalize import normalize_text

    caption_text: dict[str, str] = {}
    image_captions: dict[str, list[str]] = {}
    scored: dict[frozenset, float] = {}
    for row in train:
        images, first, second = row["yjcaptions_id"].split("-")
        image_ids = images.split("_")
        caption_text[first], caption_text[second] = row["sentence1"], row["sentence2"]
        for image, caption in ((image_ids[0], first), (image_ids[-1], second)):
            captions = image_captions.setdefault(image, [])
            if caption not in captions:
                captions.append(caption)
        scored[frozenset((first, second))] = float(row["label"])
    pairs = []
    for captions in image_captions.values():
        for a, b in itertools.combinations(captions, 2):
            if scored.get(frozenset((a, b)), MIN_SAME_IMAGE_SCORE) < MIN_SAME_IMAGE_SCORE:
                continue
            text_a, text_b = caption_text[a], caption_text[b]
            if text_a == text_b or {normalize_text(text_a), normalize_text(text_b)} & held_sentences:
                continue
            pairs.append({"anchor": text_a, "positive": text_b})
    return pairs


def cloze_paragraph_pairs(squad: dict) -> list[dict[str, str]]:
    """The library's ``cloze`` mining strategy over the JSQuAD paragraphs (never their questions)."""
    from textmetric.data.jglue import split_title
    from textmetric.mining.documents import make_documents
    from textmetric.mining.positives import mine_positives

    titles, bodies = [], []
    for article in squad["data"]:
        for para in article["paragraphs"]:
            title, body = split_title(para["context"])
            titles.append(title)
            bodies.append(body)
    docs = make_documents(list(range(len(bodies))), bodies, titles=titles)
    pairs = mine_positives(docs, ["cloze"], seed=0)
    return [{"anchor": a, "positive": p} for a, p in zip(pairs.anchors, pairs.positives, strict=True)]


def prepare(work: Path) -> dict[str, Any]:
    """Training files and warm-up text, with everything that touches JSTS valid left out.

    Writes ``positives.jsonl`` (MNRL: JSTS train pairs scored >= 4, same-image caption pairs and
    JNLI entailment pairs; ``positives-noimage.jsonl`` / ``positives-nojnli.jsonl`` without one of
    them, for the ablations) and ``paragraphs.jsonl`` (MNRL, self-supervised: cloze questions made
    from the JSQuAD paragraph sentences -> ``title [SEP]`` + the sentence and its neighbours, as
    ``textmetric mine --positives cloze`` makes them; the questions are never used).
    """
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
    jsts_positives = [
        {"anchor": r["sentence1"], "positive": r["sentence2"]}
        for r in train
        if float(r["label"]) >= POSITIVE_SCORE
    ]
    seen = {(p["anchor"], p["positive"]) for p in jsts_positives}
    seen |= {(b, a) for a, b in seen}
    image_positives = [
        p for p in same_image_pairs(train, held_sentences) if (p["anchor"], p["positive"]) not in seen
    ]
    nli_positives = [
        {"anchor": r["sentence1"], "positive": r["sentence2"]} for r in nli if r["label"] == "entailment"
    ]
    squad = json.loads(JSQUAD_VALID.read_text("utf-8"))
    paragraphs = cloze_paragraph_pairs(squad)
    corpus: list[str] = [r[k] for r in train for k in ("sentence1", "sentence2")]
    corpus += [r[k] for r in nli for k in ("sentence1", "sentence2")]
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
            _write_jsonl(work / "positives.jsonl", jsts_positives + image_positives + nli_positives)
        ),
        "positives_nojnli": str(
            _write_jsonl(work / "positives-nojnli.jsonl", jsts_positives + image_positives)
        ),
        "positives_noimage": str(
            _write_jsonl(work / "positives-noimage.jsonl", jsts_positives + nli_positives)
        ),
        "paragraphs": str(_write_jsonl(work / "paragraphs.jsonl", paragraphs)),
        "corpus": corpus,
        "counts": {
            "paragraph_pairs": len(paragraphs),
            "jsts_train_pairs": len(train),
            "jnli_rows_kept": len(nli),
            "jnli_entailment_pairs": len(nli_positives),
            "same_image_pairs": len(image_positives),
            "mnrl_positive_pairs": len(jsts_positives) + len(image_positives) + len(nli_positives),
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


def _tiny_shape(args) -> dict[str, int]:
    """tiny-ja shape: the config's, unless overridden on the command line."""
    cfg = recipe_settings()
    hidden = args.hidden or cfg.get("tiny_hidden_size", 256)
    return {
        "vocab_size": args.vocab_size or cfg.get("tiny_vocab_size", 16000),
        "hidden_size": hidden,
        "num_layers": args.layers or cfg.get("tiny_layers", 4),
        "num_heads": max(1, hidden // 64),
    }


def _tiny_dropout(args) -> float:
    """tiny-ja dropout: the config's, unless overridden on the command line."""
    from textmetric.training import TrainConfig

    return (
        args.dropout
        if args.dropout is not None
        else recipe_settings().get("tiny_dropout", TrainConfig.tiny_dropout)
    )


def build_base(
    work: Path, corpus: list[str], args, seed: int, *, mlm: bool, word_init: str = "random"
) -> tuple[Path, float, dict]:
    """tiny-ja vocabulary from ``corpus``; with ``mlm`` the MLM warm-up on it, else untrained."""
    from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja
    from textmetric.training.pretrain import pretrain_mlm

    shape = _tiny_shape(args)
    tiny = TinyJaConfig(
        **shape,
        intermediate_size=4 * shape["hidden_size"],
        seed=seed,
        word_init=word_init,
        dropout=_tiny_dropout(args),
    )
    started, cpu = time.time(), cpu_seconds()
    folder = work / f"base-{'mlm' if mlm else 'untrained'}-{word_init}-s{seed}"
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


def recipe_files(
    prep: dict[str, Any], drop: tuple[str, ...] = (), *, positives: str = "positives"
) -> tuple[list, list]:
    """The config's training files (in its order, with its losses), mapped to the prepared ones.

    The config names them ``.../jsts/train.jsonl``, ``runs/recipe/positives.jsonl`` and
    ``runs/recipe/paragraphs.jsonl``; ``drop`` removes some by file name (ablations).
    """
    cfg = recipe_settings()
    data, losses = cfg["data"], cfg["loss"]
    if len(data) != len(losses):
        raise SystemExit(f"{CONFIG}: one loss per data file expected")
    prepared = {
        "train.jsonl": prep["jsts_train"],
        "positives.jsonl": prep[positives],
        "paragraphs.jsonl": prep["paragraphs"],
    }
    files, names = [], []
    for path, loss in zip(data, losses, strict=True):
        name = Path(path).name
        if name not in prepared:
            raise SystemExit(f"{CONFIG}: unknown data file {path}; expected {sorted(prepared)}")
        if name in drop:
            continue
        files.append(prepared[name])
        names.append(loss)
    return files, names


def supervised(
    files: list[str],
    losses: list[str],
    output: Path,
    args,
    seed: int,
    *,
    model: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[Path, float]:
    """``train()`` with the recipe config; only the files, output, seed (and CLI overrides) change.

    ``overrides`` replace config settings (an ablation's, e.g. ``tiny_word_init: random``).
    """
    from textmetric.training import TrainConfig, train

    shape = _tiny_shape(args)
    config = TrainConfig.from_file(
        CONFIG,
        data=files,
        loss=losses,
        model=model,  # None: the config's (tiny-ja, built from the training texts)
        output=str(output),
        seed=seed,
        overwrite=True,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        tiny_vocab_size=shape["vocab_size"],
        tiny_hidden_size=shape["hidden_size"],
        tiny_layers=shape["num_layers"],
        tiny_heads=shape["num_heads"],
        tiny_dropout=_tiny_dropout(args),
        # a variant's own settings (no-ema: ema_decay 0) win over the command line's
        **{
            "ema_decay": args.ema_decay,
            "ema_start": args.ema_start,
            "precision": args.precision,
            **(overrides or {}),
        },
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
    model.max_seq_length = recipe_settings().get("max_seq_length", 128)
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
        bf16=args.precision == "bf16",  # like for like: the recipe's precision
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=targs, train_dataset=data, loss=CoSENTLoss(model), callbacks=[Budget()]
    )
    trainer.train()
    model.save(str(output))
    return output, time.time() - started


def retrieval_scores(model, path: Path, depth: int = 100) -> dict[str, Any]:
    """JSQuAD nDCG@10 of the model, BM25 and their two hybrids (the library's evaluation code).

    * ``hybrid``: reciprocal-rank fusion, equal weights (``textmetric evaluate --baselines hybrid``);
    * ``hybrid_convex``: convex fusion of standardised scores, the dense weight chosen by two-fold
      cross-validation over the queries (``--fusion convex``): each half of the queries is ranked
      with the weight best on the other half, so the figure is not tuned on the queries it scores.
    """
    from textmetric.evaluation.baselines import Tokens, bm25_search
    from textmetric.evaluation.datasets import load_retrieval
    from textmetric.evaluation.hybrid import hybrid_topk
    from textmetric.evaluation.metrics import evaluate_rankings
    from textmetric.evaluation.retrieval import dense_retrieval

    data = load_retrieval(path)
    dense = dense_retrieval(model, data, depth).topk
    bm25 = bm25_search(Tokens(data.queries), Tokens(data.documents), depth)

    def ndcg(topk) -> float:
        return evaluate_rankings(data.rankings(topk.indices), data.qrels, ["ndcg@10"]).metrics["ndcg@10"]

    rrf, _ = hybrid_topk(data, bm25, dense, fusion="rrf", depth=depth)
    convex, info = hybrid_topk(data, bm25, dense, fusion="convex", depth=depth)
    return {
        "model": ndcg(dense),
        "hybrid": ndcg(rrf),
        "hybrid_convex": ndcg(convex),
        "convex_fold_weights": info["fold_weights"],
    }


def measure(model_dir: Path, *, retrieval_max_seq_length: int) -> dict[str, Any]:
    """JSTS valid Spearman and JSQuAD valid nDCG@10 of a model, dense and fused with BM25."""
    from sentence_transformers import SentenceTransformer

    from textmetric.evaluation import evaluate

    model = SentenceTransformer(str(model_dir))
    sts = evaluate(model, sts=[JSTS_VALID], plots=False)
    out: dict[str, Any] = {"model:jsts_spearman": sts["jsts-valid"].systems["model"]["spearman"]}
    model.max_seq_length = retrieval_max_seq_length
    for key, value in retrieval_scores(model, JSQUAD_VALID).items():
        out[f"{key}:jsquad_ndcg@10" if key != "convex_fold_weights" else key] = value
    return out


def lexical_baselines() -> dict[str, float]:
    from textmetric.evaluation import evaluate

    out: dict[str, float] = {}
    report = evaluate(None, sts=[JSTS_VALID], retrieval=[JSQUAD_VALID], baselines="bm25,tfidf", plots=False)
    for system, values in report["jsts-valid"].systems.items():
        out[f"{system}:jsts_spearman"] = values["spearman"]
    for system, values in report["jsquad-valid"].systems.items():
        out[f"{system}:jsquad_ndcg@10"] = values["ndcg@10"]
    return out


# ------------------------------------------------------------------------------------------ main

# name: which of the config's files to drop, which positives file, MLM warm-up first, and the
# config settings it changes (the PPMI ablations)
VARIANTS: dict[str, dict[str, Any]] = {
    "recipe": {"drop": (), "positives": "positives", "mlm": False},
    "no-ppmi": {
        "drop": (),
        "positives": "positives",
        "mlm": False,
        "overrides": {"tiny_word_init": "random"},
    },
    "no-pair-contexts": {
        "drop": (),
        "positives": "positives",
        "mlm": False,
        "overrides": {"tiny_ppmi_pair_weight": 0.0},
    },
    "no-ema": {"drop": (), "positives": "positives", "mlm": False, "overrides": {"ema_decay": 0.0}},
    "no-image-pairs": {"drop": (), "positives": "positives_noimage", "mlm": False},
    "no-jnli": {"drop": (), "positives": "positives_nojnli", "mlm": False},
    "no-pair-mnrl": {"drop": ("positives.jsonl",), "positives": "positives", "mlm": False},
    "no-paragraphs": {"drop": ("paragraphs.jsonl",), "positives": "positives", "mlm": False},
    "plus-mlm": {"drop": (), "positives": "positives", "mlm": True},
}
ALL = [*VARIANTS, "plain-st"]


def run_variant(name: str, seed: int, args, work: Path, prep: dict[str, Any]) -> dict[str, Any]:
    spec = VARIANTS[name]
    files, losses = recipe_files(prep, spec["drop"], positives=spec["positives"])
    base_s, info, model = 0.0, {}, None
    overrides = spec.get("overrides", {})
    if spec["mlm"]:
        init = overrides.get("tiny_word_init") or recipe_settings().get("tiny_word_init", "random")
        base, base_s, info = build_base(work / name, prep["corpus"], args, seed, mlm=True, word_init=init)
        model = str(base)
    cpu = cpu_seconds()
    output, train_s = supervised(
        files, losses, work / name / f"model-s{seed}", args, seed, model=model, overrides=overrides
    )
    info["train_cpu_seconds"] = round(cpu_seconds() - cpu, 1)
    info["cpu_seconds"] = round(info["train_cpu_seconds"] + info.get("base_cpu_seconds", 0.0), 1)
    return {
        "variant": name,
        "seed": seed,
        "files": [Path(f).name for f in files],
        "losses": losses,
        "base_seconds": round(base_s, 1),
        "train_seconds": round(train_s, 1),
        "total_seconds": round(base_s + train_s, 1),
        **info,
        **prep["counts"],
        **measure(output, retrieval_max_seq_length=args.retrieval_max_seq_length),
    }


def run_plain_st(seed: int, budget: float, args, work: Path, prep: dict[str, Any]) -> dict[str, Any]:
    base, base_s, _ = build_base(work / "plain-st", prep["corpus"], args, seed, mlm=False)
    cpu = cpu_seconds()
    model, train_s = plain_st(base, work / "plain-st" / f"model-s{seed}", budget - base_s, seed, args)
    return {
        "variant": "plain-st",
        "seed": seed,
        "total_seconds": round(base_s + train_s, 1),
        "base_seconds": round(base_s, 1),
        "train_seconds": round(train_s, 1),
        "cpu_seconds": round(cpu_seconds() - cpu, 1),
        **measure(model, retrieval_max_seq_length=args.retrieval_max_seq_length),
    }


def _init_worker(threads: int) -> None:
    """A job process: ``threads`` torch threads (jobs share the machine's cores)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()


def _job(
    name: str, seed: int, args, work: Path, prep: dict[str, Any], budget: float | None
) -> dict[str, Any]:
    if name == "plain-st":
        return run_plain_st(seed, budget or 1200.0, args, work, prep)
    return run_variant(name, seed, args, work, prep)


def run_all(
    names: list[str], seeds: list[int], args, work: Path, *, recipe_seeds: list[int] = ()
) -> list[dict[str, Any]]:
    """Every (variant, seed), ``args.jobs`` at a time in separate processes; rows in table order.

    ``plain-st`` gets the wall time of the recipe with the same seed, so it starts once that is
    known (``--plain-st-seconds`` fixes it instead).
    """
    import concurrent.futures as futures
    import multiprocessing

    prep = prepare(work / "data")  # once: the jobs only read these files
    jobs = [(n, s) for s in seeds for n in names] + [("recipe", s) for s in recipe_seeds]
    order = {job: i for i, job in enumerate(jobs)}
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    if args.jobs > 1:
        logger.info("%d jobs at a time, %d torch thread(s) each", args.jobs, threads)
    rows: list[dict[str, Any]] = []
    context = multiprocessing.get_context("spawn")
    with futures.ProcessPoolExecutor(
        args.jobs, mp_context=context, initializer=_init_worker, initargs=(threads,)
    ) as pool:
        pending: dict[futures.Future, tuple[str, int]] = {}

        def submit(name: str, seed: int, budget: float | None = None) -> None:
            pending[pool.submit(_job, name, seed, args, work, prep, budget)] = (name, seed)

        for name, seed in jobs:
            if name != "plain-st":
                submit(name, seed)
            elif args.plain_st_seconds or "recipe" not in names:
                submit(name, seed, args.plain_st_seconds)
        while pending:
            done, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
            for future in done:
                name, seed = pending.pop(future)
                row = future.result()
                rows.append(row)
                print(json.dumps(row), flush=True)
                if ("plain-st", seed) in order and name == "recipe" and not args.plain_st_seconds:
                    submit("plain-st", seed, row["total_seconds"])  # not for --recipe-seeds
    return sorted(rows, key=lambda r: order[(r["variant"], r["seed"])])


def _f(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-"


def table(rows: list[dict[str, Any]], lexical: dict[str, float]) -> str:
    lines = [
        "| system | seed | JSTS valid Spearman | JSQuAD nDCG@10 dense | hybrid RRF | hybrid convex "
        "(2-fold CV weight) | wall min | CPU min |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for system, label in (("tfidf", "TF-IDF"), ("bm25", "BM25")):
        lines.append(
            f"| {label} | - | {_f(lexical.get(f'{system}:jsts_spearman'))} | "
            f"{_f(lexical.get(f'{system}:jsquad_ndcg@10'))} | - | - | - | - |"
        )
    for r in rows:
        cpu = r.get("cpu_seconds")
        weights = "/".join(str(w) for w in r.get("convex_fold_weights", [])) or "-"
        lines.append(
            f"| {r['variant']} | {r['seed']} | {_f(r['model:jsts_spearman'])} | "
            f"{_f(r['model:jsquad_ndcg@10'])} | {_f(r.get('hybrid:jsquad_ndcg@10'))} | "
            f"{_f(r.get('hybrid_convex:jsquad_ndcg@10'))} ({weights}) | "
            f"{r['total_seconds'] / 60:.1f} | {'-' if cpu is None else f'{cpu / 60:.1f}'} |"
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
        "--recipe-seeds",
        default="",
        help="extra seeds for the recipe only (its spread), e.g. 2,3 beside --seeds 1",
    )
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="write positives.jsonl, paragraphs.jsonl and warmup-texts.txt under --work",
    )
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="trainings at a time, each in its own process with cores/jobs threads (2 on 2 cores: "
        "the whole table in about half the time, each row's CPU time unchanged)",
    )
    # plus-mlm warm-up
    parser.add_argument("--mlm-steps", type=int, default=800)
    parser.add_argument("--mlm-batch-size", type=int, default=64)
    parser.add_argument("--mlm-lr", type=float, default=5e-4)
    # overrides of configs/recipe-tiny-ja.yaml (default: the config's values)
    parser.add_argument("--vocab-size", type=int, default=None)
    parser.add_argument("--hidden", type=int, default=None)
    parser.add_argument("--layers", type=int, default=None)
    parser.add_argument("--dropout", type=float, default=None, help="tiny-ja hidden and attention dropout")
    parser.add_argument("--epochs", type=float, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--ema-decay", type=float, default=None, help="0: the last weights")
    parser.add_argument("--ema-start", type=float, default=None)
    parser.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default=None,
        help="default: the config's (bf16: CPUs with AVX512-BF16 or AMX)",
    )
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
        print(
            json.dumps({**prep["counts"], "positives": prep["positives"], "paragraphs": prep["paragraphs"]})
        )
        return 0
    cfg = recipe_settings()
    # plain-st uses the same epochs / lr / batch size / precision as the recipe
    args.epochs = args.epochs if args.epochs is not None else cfg.get("epochs")
    args.lr = args.lr if args.lr is not None else cfg.get("lr")
    args.batch_size = args.batch_size if args.batch_size is not None else cfg.get("batch_size")
    args.precision = args.precision or cfg.get("precision", "auto")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = sorted(set(names) - set(ALL))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}")
    started = time.time()
    lexical: dict[str, float] = {}
    if not args.no_baselines:
        t = time.time()
        lexical = lexical_baselines()
        lexical["seconds"] = round(time.time() - t, 1)
        print(json.dumps(lexical), flush=True)
    extra = [int(s) for s in args.recipe_seeds.split(",") if s.strip() and int(s) not in seeds]
    rows = run_all(names, seeds, args, work, recipe_seeds=extra)
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
