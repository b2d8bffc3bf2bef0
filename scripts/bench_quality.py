"""Benchmark: the offline quality recipe for tiny-ja on JSTS / JSQuAD, against the usual alternatives.

One run measures, on the same machine:

* lexical baselines: TF-IDF and BM25 (JSTS valid Spearman, JSQuAD valid nDCG@10);
* **the recipe**: ``configs/recipe-tiny-ja.yaml`` as it is (``textmetric train --config`` reads the
  same file; this script swaps in only the prepared files, the output folder and the seed):

  1. a tiny-ja (MeCab + WordPiece, 4 layers x 256) built from the training texts, random weights;
  2. multi-task training with :func:`textmetric.training.train`: CoSENT on the graded JSTS train
     pairs, MNRL (in-batch negatives, no duplicates) on positive pairs (JSTS train pairs scored
     >= 4 and JNLI entailment pairs), and MNRL on self-supervised retrieval pairs built from the
     JSQuAD paragraphs (one sentence of a paragraph -> ``title [SEP]`` + that sentence and its
     neighbours; the questions are never used), 4 epochs, lr 3e-4, batch 32, max_seq_length 64;

* the recipe with one ingredient removed at a time (``no-jnli``, ``no-pair-mnrl``,
  ``no-paragraphs``) and one added (``plus-mlm``: a masked-language-model warm-up on all the text
  first, :func:`textmetric.training.pretrain_mlm`; measured not to help);
* a plain sentence-transformers CoSENT script on the same (random) tiny-ja shape and time budget.

Retrieval is reported dense, as the library's hybrid (RRF of BM25 and the model, equal weights:
``textmetric evaluate --baselines hybrid``) and as the best of a small sweep of fusion weights
(weighted RRF, and a linear mix of min-max-scaled BM25 and cosine scores). The sweep is chosen on
JSQuAD valid, the only JSQuAD split at hand: read it as an upper bound for that fusion family.

Held out: JSTS valid and JNLI valid come from the same YJ Captions images, and 267 JSTS valid
sentences also occur in JNLI valid: every JNLI pair sharing a sentence or a caption id with JSTS
valid is dropped from training and from the warm-up text. The JSQuAD paragraphs used for the
self-supervised pairs are the retrieval corpus itself (its text, not its questions): a
domain-adaptation step, disclosed as such. Nothing is tuned on a test split (JGLUE publishes
none); settings were chosen on JSTS valid / JSQuAD valid.

Usage::

    python scripts/bench_quality.py --out results.json                  # everything: baselines, recipe,
                                                                        # ablations, plain script
    python scripts/bench_quality.py --variants recipe --out r.json      # the recipe only
    python scripts/bench_quality.py --variants recipe --seeds 1,2,3     # seed spread
    python scripts/bench_quality.py --variants recipe,no-paragraphs --hidden 128 --layers 2 \
        --epochs 2                                                      # shorter, smaller
    python scripts/bench_quality.py --prepare-only --work runs/recipe   # files for the CLI recipe

Each row reports wall-clock seconds and CPU seconds (``cpu_seconds``, all threads of this
process): on a machine shared with other jobs the CPU time is what a dedicated machine would
spend; with ``OMP_NUM_THREADS=1`` (one core, the most CPU-efficient on 2 shared cores) it is the
wall time a dedicated core would need.
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
MIN_ICT_CHARS = 8  # shortest JSQuAD sentence used as a self-supervised query

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


def prepare(work: Path) -> dict[str, Any]:
    """Training files and warm-up text, with everything that touches JSTS valid left out.

    Writes ``positives.jsonl`` (MNRL: JSTS train pairs scored >= 4 and JNLI entailment pairs) and
    ``paragraphs.jsonl`` (MNRL, self-supervised: one sentence of each JSQuAD paragraph -> the
    paragraph's title and that sentence with its neighbours, ``title [SEP] ...`` as the retrieval
    corpus writes it; the questions are not used).
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
    positives = [
        {"anchor": r["sentence1"], "positive": r["sentence2"]}
        for r in train
        if float(r["label"]) >= POSITIVE_SCORE
    ]
    nli_positives = [
        {"anchor": r["sentence1"], "positive": r["sentence2"]} for r in nli if r["label"] == "entailment"
    ]
    jsts_positives = positives
    positives = jsts_positives + nli_positives
    corpus: list[str] = [r[k] for r in train for k in ("sentence1", "sentence2")]
    corpus += [r[k] for r in nli for k in ("sentence1", "sentence2")]
    paragraphs: list[dict[str, str]] = []
    squad = json.loads(JSQUAD_VALID.read_text("utf-8"))
    for article in squad["data"]:
        for para in article["paragraphs"]:
            title, body = split_title(para["context"])
            sentences = split_sentences(body)
            usable = [i for i, t in enumerate(sentences) if len(t) >= MIN_ICT_CHARS]
            if usable:  # one sentence per paragraph, its position cycling (deterministic, cheap)
                i = usable[len(paragraphs) % len(usable)]
                # the positive: the title and the sentence with its neighbours, in the corpus's
                # "title [SEP] body" layout, short enough for max_seq_length 64
                window = "".join(sentences[max(0, i - 1) : i + 2])
                paragraphs.append({"anchor": sentences[i], "positive": f"{title} [SEP] {window}"})
            corpus += [title, *sentences]
    corpus = [t for t in dict.fromkeys(normalize_text(t).strip() for t in corpus) if len(t) >= 2]
    corpus = [t for t in corpus if t not in held_sentences]
    work.mkdir(parents=True, exist_ok=True)
    return {
        "jsts_train": str(JSTS_TRAIN),
        "positives": str(_write_jsonl(work / "positives.jsonl", positives)),
        "positives_nojnli": str(_write_jsonl(work / "positives-nojnli.jsonl", jsts_positives)),
        "paragraphs": str(_write_jsonl(work / "paragraphs.jsonl", paragraphs)),
        "corpus": corpus,
        "counts": {
            "paragraph_pairs": len(paragraphs),
            "jsts_train_pairs": len(train),
            "jnli_rows_kept": len(nli),
            "jnli_entailment_pairs": len(nli_positives),
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


def build_base(work: Path, corpus: list[str], args, seed: int, *, mlm: bool) -> tuple[Path, float, dict]:
    """tiny-ja vocabulary from ``corpus``; with ``mlm`` the MLM warm-up on it, else random weights."""
    from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja
    from textmetric.training.pretrain import pretrain_mlm

    shape = _tiny_shape(args)
    tiny = TinyJaConfig(**shape, intermediate_size=4 * shape["hidden_size"], seed=seed)
    started, cpu = time.time(), cpu_seconds()
    folder = work / f"base-{'mlm' if mlm else 'random'}-s{seed}"
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


def recipe_files(prep: dict[str, Any], drop: tuple[str, ...] = (), *, jnli: bool = True) -> tuple[list, list]:
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
        "positives.jsonl": prep["positives"] if jnli else prep["positives_nojnli"],
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
    files: list[str], losses: list[str], output: Path, args, seed: int, *, model: str | None = None
) -> tuple[Path, float]:
    """``train()`` with the recipe config; only the files, output, seed (and CLI overrides) change."""
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
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=targs, train_dataset=data, loss=CoSENTLoss(model), callbacks=[Budget()]
    )
    trainer.train()
    model.save(str(output))
    return output, time.time() - started


# Fusion weights tried for the hybrid (chosen on JSQuAD valid: there is no JSQuAD test split).
RRF_DENSE_WEIGHTS = (0.1, 0.2, 0.3, 0.5, 1.0)
LINEAR_DENSE_WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.5)


def fusion_sweep(model, path: Path, depth: int = 100) -> dict[str, float]:
    """JSQuAD nDCG@10 of the model, BM25 and their fusions, from one dense and one BM25 ranking.

    * ``hybrid``: reciprocal-rank fusion, equal weights, k = 60 (``textmetric evaluate --baselines
      hybrid``, :func:`textmetric.search.fusion.rrf_topk`);
    * ``rrf_w{w}``: the same with the dense ranking weighted ``w``;
    * ``linear_a{a}``: ``(1 - a) * BM25 + a * cosine``, each min-max scaled over its own top
      ``depth`` for the query (a document missing from a list gets 0 there).
    """
    import numpy as np

    from textmetric.evaluation.baselines import Tokens, bm25_search
    from textmetric.evaluation.datasets import load_retrieval
    from textmetric.evaluation.metrics import evaluate_rankings
    from textmetric.evaluation.retrieval import dense_retrieval
    from textmetric.search.fusion import rrf_topk
    from textmetric.search.topk import TopK

    data = load_retrieval(path)
    dense = dense_retrieval(model, data, depth).topk
    bm25 = bm25_search(Tokens(data.queries), Tokens(data.documents), depth)

    def ndcg(topk) -> float:
        return evaluate_rankings(data.rankings(topk.indices), data.qrels, ["ndcg@10"]).metrics["ndcg@10"]

    def scaled(scores):
        s = np.where(np.isfinite(scores), scores, np.nan).astype(np.float64)
        lo, hi = np.nanmin(s), np.nanmax(s)
        return np.nan_to_num((s - lo) / (hi - lo + 1e-12))

    out = {"model": ndcg(dense), "hybrid": ndcg(rrf_topk([bm25, dense], top_k=depth))}
    for w in RRF_DENSE_WEIGHTS:
        out[f"rrf_w{w}"] = ndcg(rrf_topk([bm25, dense], weights=[1.0, w], top_k=depth))
    for a in LINEAR_DENSE_WEIGHTS:
        indices = np.full((len(data.queries), depth), -1, dtype=np.int64)
        scores = np.full(indices.shape, -np.inf, dtype=np.float32)
        for q in range(len(data.queries)):
            fused: dict[int, float] = {}
            for weight, run in ((1 - a, bm25), (a, dense)):
                for doc, s in zip(run.indices[q].tolist(), scaled(run.scores[q]).tolist(), strict=True):
                    if doc >= 0:
                        fused[doc] = fused.get(doc, 0.0) + weight * s
            best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:depth]
            for col, (doc, s) in enumerate(best):
                indices[q, col], scores[q, col] = doc, s
        out[f"linear_a{a}"] = ndcg(TopK(scores, indices))
    sweep = {k: v for k, v in out.items() if k.startswith(("rrf_w", "linear_a"))}
    out["best_fusion"] = max(sweep.values())
    out["best_fusion_setting"] = max(sweep, key=sweep.get)  # type: ignore[arg-type]
    return out


def measure(model_dir: Path, *, retrieval_max_seq_length: int) -> dict[str, Any]:
    """JSTS valid Spearman and JSQuAD valid nDCG@10 of a model, dense and fused with BM25."""
    from sentence_transformers import SentenceTransformer

    from textmetric.evaluation import evaluate

    model = SentenceTransformer(str(model_dir))
    sts = evaluate(model, sts=[JSTS_VALID], plots=False)
    out: dict[str, Any] = {"model:jsts_spearman": sts["jsts-valid"].systems["model"]["spearman"]}
    model.max_seq_length = retrieval_max_seq_length
    for key, value in fusion_sweep(model, JSQUAD_VALID).items():
        out[f"{key}:jsquad_ndcg@10" if key != "best_fusion_setting" else key] = value
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

# name: which of the config's files to drop, JNLI pairs in the positives, MLM warm-up first
VARIANTS: dict[str, dict[str, Any]] = {
    "recipe": {"drop": (), "jnli": True, "mlm": False},
    "no-jnli": {"drop": (), "jnli": False, "mlm": False},
    "no-pair-mnrl": {"drop": ("positives.jsonl",), "jnli": True, "mlm": False},
    "no-paragraphs": {"drop": ("paragraphs.jsonl",), "jnli": True, "mlm": False},
    "plus-mlm": {"drop": (), "jnli": True, "mlm": True},
}
ALL = [*VARIANTS, "plain-st"]


def run_variant(name: str, seed: int, args, work: Path) -> dict[str, Any]:
    spec = VARIANTS[name]
    prep = prepare(work / "data")
    files, losses = recipe_files(prep, spec["drop"], jnli=spec["jnli"])
    base_s, info, model = 0.0, {}, None
    if spec["mlm"]:
        base, base_s, info = build_base(work / name, prep["corpus"], args, seed, mlm=True)
        model = str(base)
    cpu = cpu_seconds()
    output, train_s = supervised(files, losses, work / name / f"model-s{seed}", args, seed, model=model)
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


def _f(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-"


def table(rows: list[dict[str, Any]], lexical: dict[str, float]) -> str:
    lines = [
        "| system | seed | JSTS valid Spearman | JSQuAD nDCG@10 dense | hybrid (RRF) | best fusion "
        "(chosen on valid) | wall min | CPU min |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for system, label in (("tfidf", "TF-IDF"), ("bm25", "BM25")):
        lines.append(
            f"| {label} | - | {_f(lexical.get(f'{system}:jsts_spearman'))} | "
            f"{_f(lexical.get(f'{system}:jsquad_ndcg@10'))} | - | - | - | - |"
        )
    for r in rows:
        cpu = r.get("cpu_seconds")
        lines.append(
            f"| {r['variant']} | {r['seed']} | {_f(r['model:jsts_spearman'])} | "
            f"{_f(r['model:jsquad_ndcg@10'])} | {_f(r.get('hybrid:jsquad_ndcg@10'))} | "
            f"{_f(r.get('best_fusion:jsquad_ndcg@10'))} ({r.get('best_fusion_setting', '-')}) | "
            f"{r['total_seconds'] / 60:.1f} | {cpu / 60:.1f} |"
            if cpu is not None
            else f"| {r['variant']} | {r['seed']} | {_f(r['model:jsts_spearman'])} | "
            f"{_f(r['model:jsquad_ndcg@10'])} | {_f(r.get('hybrid:jsquad_ndcg@10'))} | "
            f"{_f(r.get('best_fusion:jsquad_ndcg@10'))} ({r.get('best_fusion_setting', '-')}) | "
            f"{r['total_seconds'] / 60:.1f} | - |"
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
        "--prepare-only",
        action="store_true",
        help="write positives.jsonl, paragraphs.jsonl and warmup-texts.txt under --work",
    )
    parser.add_argument("--no-baselines", action="store_true")
    # plus-mlm warm-up
    parser.add_argument("--mlm-steps", type=int, default=800)
    parser.add_argument("--mlm-batch-size", type=int, default=64)
    parser.add_argument("--mlm-lr", type=float, default=5e-4)
    # overrides of configs/recipe-tiny-ja.yaml (default: the config's values)
    parser.add_argument("--vocab-size", type=int, default=None)
    parser.add_argument("--hidden", type=int, default=None)
    parser.add_argument("--layers", type=int, default=None)
    parser.add_argument("--epochs", type=float, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
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
    # plain-st uses the same epochs / lr / batch size as the recipe
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
        lexical = lexical_baselines()
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
            cpu = cpu_seconds()
            model, train_s = plain_st(base, work / "plain-st" / f"model-s{seed}", budget - base_s, seed, args)
            row = {
                "variant": "plain-st",
                "seed": seed,
                "total_seconds": round(base_s + train_s, 1),
                "base_seconds": round(base_s, 1),
                "train_seconds": round(train_s, 1),
                "cpu_seconds": round(cpu_seconds() - cpu, 1),
                **measure(model, retrieval_max_seq_length=args.retrieval_max_seq_length),
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
