"""``evaluate()``: a model and its baselines on STS and retrieval sets, in one run, on the same data.

Every system (the model, the untrained base model, BM25, TF-IDF, the BM25 + model hybrid)
produces per-pair similarities (STS) or per-query top-k rankings (retrieval), and all of them are
scored by :mod:`textmetric.evaluation.metrics`, so the numbers compare like with like.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textmetric.errors import ConfigError, ModelLoadError
from textmetric.evaluation.baselines import (
    BASELINES,
    Tokens,
    bm25_pair_similarity,
    bm25_search,
    tfidf_pair_similarity,
    tfidf_search,
)
from textmetric.evaluation.datasets import RetrievalData, STSData, file_sha256, load_retrieval, load_sts
from textmetric.evaluation.hybrid import hybrid_topk
from textmetric.evaluation.metrics import (
    DEFAULT_RETRIEVAL_METRICS,
    evaluate_rankings,
    max_depth,
    parse_metric,
    recall_curve,
)
from textmetric.evaluation.report import DatasetResult, EvaluationReport
from textmetric.evaluation.retrieval import dense_retrieval
from textmetric.evaluation.sts import STS_SIMILARITIES, evaluate_sts_model, sts_metrics
from textmetric.io import ensure_writable
from textmetric.models.builder import TINY_JA
from textmetric.search.fusion import DEFAULT_RRF_K, check_fusion

logger = logging.getLogger(__name__)

NO_MODEL = ("none", "-")


def load_model(name_or_path: str | Path, *, device: str | None = None):
    """A ``SentenceTransformer`` from a folder or Hub id; a plain BERT folder gets mean pooling.

    Raises :class:`~textmetric.errors.ModelLoadError` with a hint instead of a traceback.
    """
    from sentence_transformers import SentenceTransformer

    from textmetric.models.resources import check_device

    check_device(device)
    text = str(name_or_path)
    if text == "tiny-ja":
        raise ModelLoadError(
            "'tiny-ja' is built from training texts and cannot be rebuilt for evaluation; "
            "pass the folder of a saved model (or of the saved base) instead"
        )
    path = Path(text).expanduser()
    try:
        if path.is_dir() and not (path / "modules.json").is_file() and (path / "config.json").is_file():
            from textmetric.models.builder import build_dual_encoder

            model = build_dual_encoder(str(path))
            return model.to(device) if device else model
        return SentenceTransformer(text, device=device)
    except ModelLoadError:
        raise
    except (OSError, ValueError) as err:
        where = "no such folder; as a Hub id it needs network or the local cache" if not path.exists() else ""
        raise ModelLoadError(
            f"cannot load the model '{text}': {str(err).splitlines()[0]}" + (f" ({where})" if where else "")
        ) from None


def parse_baselines(baselines: str | Iterable[str] | None) -> list[str]:
    """``"bm25,tfidf"`` or ``["bm25", "tfidf"]`` -> a checked list (``all`` = every baseline)."""
    if baselines is None:
        return []
    items = baselines.split(",") if isinstance(baselines, str) else list(baselines)
    names: list[str] = []
    for item in items:
        for name in str(item).split(","):
            name = name.strip().lower()
            if not name or name == "none":
                continue
            if name == "all":
                names.extend(b for b in BASELINES if b not in names)
                continue
            if name not in BASELINES:
                raise ConfigError(f"unknown baseline '{name}'; expected any of {', '.join(BASELINES)} or all")
            if name not in names:
                names.append(name)
    return names


def _base_model_name(model_path: str | None, base_model: str | None) -> str | None:
    if base_model:
        return base_model
    if model_path and Path(model_path).is_dir():
        from textmetric.models.metadata import ModelMetadata

        meta = ModelMetadata.load(model_path)
        if meta is not None and meta.base_model:
            return meta.base_model
    return None


def _rebuilt_tiny_base(model_path: str, *, device: str | None):
    """The untrained tiny-ja a model was trained from: its vocabulary, shape and seed are recorded."""
    import tempfile

    from textmetric.models.builder import build_dual_encoder
    from textmetric.models.metadata import ModelMetadata
    from textmetric.models.tiny_ja import TinyJaConfig, rebuild_tiny_ja

    folder = Path(model_path)
    meta = ModelMetadata.load(folder)
    recorded = (meta.training.get("tiny_ja") if meta else None) or None
    vocab = sorted(folder.rglob("vocab.txt"))
    if recorded is None or not vocab:
        raise ModelLoadError(
            f"{folder} was trained from 'tiny-ja' but does not record its shape and seed "
            "(trained before textmetric recorded them); pass --base-model with the saved base folder"
        )
    tiny = TinyJaConfig(**recorded)
    texts, pairs = _training_texts(folder) if tiny.word_init != "random" else (None, [])
    with tempfile.TemporaryDirectory(prefix="tiny-ja-base-") as tmp:
        base = rebuild_tiny_ja(vocab[0], Path(tmp) / "base", config=tiny, texts=texts, pairs=pairs)
        model = build_dual_encoder(
            str(base),
            pooling=meta.pooling,
            max_seq_length=meta.max_seq_length or 256,  # type: ignore[union-attr]
        )
    return model.to(device) if device else model


def _training_texts(folder: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """The training texts and positive pairs of a model, read again from the files its
    ``train_config.json`` names.

    A tiny-ja base with ``word_init="ppmi"`` took its word vectors from these, so its untrained
    weights cannot be rebuilt without them.
    """
    from textmetric.training.config import TrainConfig
    from textmetric.training.trainer import load_training_data, tiny_base_pairs, tiny_base_texts

    recorded = folder / "train_config.json"
    if not recorded.is_file():
        raise ModelLoadError(
            f"{folder}: its tiny-ja base took PPMI word vectors from the training texts, and "
            "train_config.json (which names the training files) is missing; pass --base-model"
        )
    config = TrainConfig.from_file(recorded)
    missing = [path for path in config.data if not Path(path).is_file()]
    if missing:
        raise ModelLoadError(
            f"{folder}: its tiny-ja base took PPMI word vectors from the training texts, and "
            f"{', '.join(missing)} (named in train_config.json) cannot be read here; pass --base-model"
        )
    datasets = load_training_data(config)
    return tiny_base_texts(datasets), tiny_base_pairs(datasets)


def _model_nfkc(model_path: str | None) -> bool:
    if model_path and Path(model_path).is_dir():
        from textmetric.models.metadata import ModelMetadata

        meta = ModelMetadata.load(model_path)
        if meta is not None:
            return bool(meta.nfkc)
    return True


def _files(paths: Sequence[Path]) -> dict[str, str]:
    return {str(p): file_sha256(p) for p in paths}


class _Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start


def evaluate_sts(
    data: STSData,
    models: dict[str, Any],
    baselines: Sequence[str],
    *,
    similarities: Sequence[str] = ("cosine",),
    batch_size: int = 64,
) -> DatasetResult:
    """Every system on one STS set: Spearman / Pearson of predicted similarity with gold."""
    result = DatasetResult(
        name=data.name, task="sts", source=data.source, files=_files(data.files), summary=data.summary()
    )
    result.gold = np.asarray(data.scores, dtype=np.float64)
    for system, model in models.items():
        timer = _Timer()
        metrics, predictions = evaluate_sts_model(model, data, similarities, batch_size=batch_size)
        result.systems[system] = metrics
        result.predictions[system] = predictions[similarities[0]]
        result.seconds[system] = timer()
    lexical: dict[str, Callable[[Sequence[str], Sequence[str]], np.ndarray]] = {
        "bm25": bm25_pair_similarity,
        "tfidf": tfidf_pair_similarity,
    }
    for system in baselines:
        if system not in lexical:
            continue
        timer = _Timer()
        predicted = lexical[system](data.sentence1, data.sentence2)
        result.systems[system] = sts_metrics(data.scores, {"score": predicted}, "score")
        result.predictions[system] = predicted
        result.seconds[system] = timer()
    return result


def evaluate_retrieval(
    data: RetrievalData,
    models: dict[str, Any],
    baselines: Sequence[str],
    *,
    metrics: Sequence[str] = DEFAULT_RETRIEVAL_METRICS,
    batch_size: int = 64,
    rrf_k: int = DEFAULT_RRF_K,
    fusion: str = "rrf",
    dense_weight: float | None = None,
    device: str | None = None,
    query_chunk_size: int = 1024,
    corpus_chunk_size: int = 16384,
) -> DatasetResult:
    """Every system on one retrieval set; rankings to depth max(k of the metrics, 100)."""
    depth = max(max_depth(metrics), 100)
    result = DatasetResult(
        name=data.name,
        task="retrieval",
        source=data.source,
        files=_files(data.files),
        summary=data.summary(),
    )
    topks = {}
    for system, model in models.items():
        timer = _Timer()
        run = dense_retrieval(
            model,
            data,
            depth,
            batch_size=batch_size,
            device=device,
            query_chunk_size=query_chunk_size,
            corpus_chunk_size=corpus_chunk_size,
        )
        topks[system] = run.topk
        result.similarities[system] = (run.relevant_scores, run.nonrelevant_scores)
        result.seconds[system] = timer()
    lexical = [b for b in baselines if b in ("bm25", "tfidf")]
    if "hybrid" in baselines and "bm25" not in lexical:
        lexical.append("bm25")
    if lexical:
        queries, documents = Tokens(data.queries), Tokens(data.documents)
        for system in lexical:
            timer = _Timer()
            search = bm25_search if system == "bm25" else tfidf_search
            topks[system] = search(queries, documents, depth)
            result.seconds[system] = timer()
    if "hybrid" in baselines and "model" in topks:
        timer = _Timer()
        topks["hybrid"], result.summary["hybrid"] = hybrid_topk(
            data,
            topks["bm25"],
            topks["model"],
            fusion=fusion,
            dense_weight=dense_weight,
            rrf_k=rrf_k,
            depth=depth,
        )
        result.seconds["hybrid"] = timer() + result.seconds["bm25"] + result.seconds["model"]
    if "bm25" in topks and "bm25" not in baselines:  # computed only for the hybrid
        del topks["bm25"]
        result.seconds.pop("bm25", None)
    for system, topk in topks.items():
        rankings = data.rankings(topk.indices)
        result.systems[system] = evaluate_rankings(rankings, data.qrels, metrics).metrics
        result.recall_curves[system] = recall_curve(rankings, data.qrels, depth)
    return result


def evaluate(
    model: str | Path | Any | None,
    *,
    sts: Iterable[str | Path] = (),
    retrieval: Iterable[str | Path] = (),
    baselines: str | Iterable[str] | None = None,
    base_model: str | Path | Any | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    plots: bool = True,
    similarities: Sequence[str] = ("cosine",),
    metrics: Sequence[str] = DEFAULT_RETRIEVAL_METRICS,
    batch_size: int = 64,
    rrf_k: int = DEFAULT_RRF_K,
    fusion: str = "rrf",
    dense_weight: float | None = None,
    max_seq_length: int | None = None,
    nfkc: bool | None = None,
    split: str = "test",
    device: str | None = None,
    query_chunk_size: int = 1024,
    corpus_chunk_size: int = 16384,
    on_bad_row: str = "error",
) -> EvaluationReport:
    """Evaluate ``model`` and the chosen baselines on STS and retrieval sets.

    Args:
        model: a model folder, Hub id or loaded ``SentenceTransformer``; ``None`` / ``"none"`` to
            evaluate baselines only.
        sts: STS sets (scored pair files, JSTS / JSICK files, ``jsts`` / ``jsick`` from the Hub).
        retrieval: retrieval sets (BEIR folders, SQuAD-layout JSON such as JSQuAD, pair files,
            ``jsquad`` from the Hub).
        baselines: any of ``bm25``, ``tfidf``, ``base``, ``hybrid`` (or ``all``), as a list or a
            comma-separated string.
        base_model: the untrained base for the ``base`` baseline (folder, Hub id or model); by
            default the ``base_model`` recorded in the model folder's ``textmetric.json``.
        out: folder for ``metrics.json``, ``report.md`` and ``plots/`` (refused if it exists and is
            not empty, unless ``overwrite``).
        similarities: STS similarity functions of the embeddings; the first is the primary
            (``spearman`` / ``pearson``), the others add ``spearman_<fn>`` / ``pearson_<fn>``.
        metrics: retrieval metrics (``ndcg@10``, ``mrr@10``, ``map@100``, ``recall@k``,
            ``precision@k``, ``accuracy@k``).
        rrf_k: the reciprocal-rank-fusion constant of the hybrid.
        fusion: how the hybrid fuses BM25 and the model: ``rrf`` (default) or ``convex``
            (normalised scores; :mod:`textmetric.evaluation.hybrid`).
        dense_weight: the model's weight in the hybrid (BM25 gets ``1 - dense_weight``); ``None``:
            equal for ``rrf``, chosen by two-fold cross-validation over the queries for ``convex``.
        max_seq_length: tokens kept per text by the model and the base (default: what each was
            saved with; a model trained on sentences at 64 truncates passages unless raised).
        nfkc: NFKC-normalise the data (default: what the model was trained with, else on).
        split: which ``qrels/<split>.tsv`` of a BEIR folder to use.
        query_chunk_size, corpus_chunk_size: the top-k block shape (bounded memory).
        on_bad_row: ``error`` (default) or ``skip``: drop bad rows of pair files, counted in a warning.
    """
    sts = [s for s in sts]
    retrieval = [r for r in retrieval]
    if not sts and not retrieval:
        raise ConfigError("nothing to evaluate: give at least one --sts or --retrieval set")
    chosen = parse_baselines(baselines)
    check_fusion(fusion, dense_weight)
    bad = [s for s in similarities if s not in STS_SIMILARITIES]
    if bad or not similarities:
        raise ConfigError(f"unknown similarity {bad}; expected any of {', '.join(STS_SIMILARITIES)}")
    for name in metrics:
        try:
            parse_metric(name)
        except ValueError as err:
            raise ConfigError(str(err)) from None
    if out is not None:
        ensure_writable(out, overwrite=overwrite)  # fail before the slow part

    no_model = model is None or (isinstance(model, str) and model.lower() in NO_MODEL)
    model_path = None if no_model or not isinstance(model, (str, Path)) else str(model)
    notes: list[str] = []
    models: dict[str, Any] = {}
    fingerprint = None
    if not no_model:
        models["model"] = load_model(model, device=device) if isinstance(model, (str, Path)) else model
        if model_path and Path(model_path).is_dir():
            from textmetric.models.metadata import model_fingerprint

            fingerprint = model_fingerprint(model_path) or None
    elif "hybrid" in chosen:
        chosen.remove("hybrid")
        notes.append("hybrid skipped: it fuses BM25 with the model, and no model was given")
    base_name: str | None = None
    if "base" in chosen:
        if base_model is not None and not isinstance(base_model, (str, Path)):
            models["base"] = base_model
            base_name = type(base_model).__name__
        else:
            base_name = _base_model_name(model_path, str(base_model) if base_model else None)
            if base_name is None:
                raise ConfigError(
                    "the 'base' baseline needs the untrained base model: pass --base-model (the model "
                    "folder's textmetric.json does not name one)"
                )
            if base_name == TINY_JA and model_path:
                models["base"] = _rebuilt_tiny_base(model_path, device=device)
            else:
                models["base"] = load_model(base_name, device=device)
    if max_seq_length is not None and max_seq_length < 1:
        raise ConfigError(f"max_seq_length must be >= 1, got {max_seq_length}")
    nfkc = _model_nfkc(model_path) if nfkc is None else nfkc

    report = EvaluationReport(
        model=model_path or (type(model).__name__ if not no_model else None),
        base_model=base_name,
        model_fingerprint=fingerprint,
        notes=notes,
        settings={
            "baselines": chosen,
            "similarities": list(similarities),
            "metrics": list(metrics),
            "rrf_k": rrf_k,
            "fusion": fusion,
            "dense_weight": dense_weight,
            "max_seq_length": max_seq_length,
            "nfkc": nfkc,
            "batch_size": batch_size,
            "tie_rule": "score descending, then document id ascending",
            "lexical_tokens": "fugashi + unidic-lite surface forms, NFKC, no stop words",
        },
    )
    with _max_seq_length(models.values(), max_seq_length):
        for spec in sts:
            logger.info("STS: %s", spec)
            data = load_sts(spec, nfkc=nfkc, on_bad_row=on_bad_row)
            report.datasets.append(
                evaluate_sts(data, models, chosen, similarities=similarities, batch_size=batch_size)
            )
        for spec in retrieval:
            logger.info("retrieval: %s", spec)
            data = load_retrieval(spec, nfkc=nfkc, split=split, on_bad_row=on_bad_row)
            report.datasets.append(
                evaluate_retrieval(
                    data,
                    models,
                    chosen,
                    metrics=metrics,
                    batch_size=batch_size,
                    rrf_k=rrf_k,
                    fusion=fusion,
                    dense_weight=dense_weight,
                    device=device,
                    query_chunk_size=query_chunk_size,
                    corpus_chunk_size=corpus_chunk_size,
                )
            )
    _dedupe_names(report)
    if out is not None:
        report.write(out, overwrite=overwrite, plots=plots)
    return report


@contextlib.contextmanager
def _max_seq_length(models: Iterable[Any], length: int | None) -> Iterator[None]:
    """``max_seq_length`` set to ``length`` on every model for the block, then restored (a caller's
    in-memory model is left as it was given)."""
    saved = [(model, model.max_seq_length) for model in models] if length is not None else []
    try:
        for model, _ in saved:
            model.max_seq_length = length
        yield
    finally:
        for model, value in saved:
            model.max_seq_length = value


def _dedupe_names(report: EvaluationReport) -> None:
    seen: dict[str, int] = {}
    for dataset in report.datasets:
        if dataset.name in seen:
            seen[dataset.name] += 1
            dataset.name = f"{dataset.name}-{seen[dataset.name]}"
        else:
            seen[dataset.name] = 1


__all__ = ["evaluate", "evaluate_retrieval", "evaluate_sts", "load_model", "parse_baselines"]
