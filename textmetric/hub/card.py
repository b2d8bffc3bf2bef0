"""The model card (``README.md``) of an exported model: what it is, what it learnt from, how well it does.

The card is what a colleague sees on the Hub before typing ``SentenceTransformer("org/name")``,
so it is built from records, never from guesses: ``textmetric.json`` (base model, structure,
normalisation, loss, hyper-parameters, data summaries, metrics before / after training) and,
when given, the ``metrics.json`` of ``textmetric evaluate --out`` (every system on every set,
with the model fingerprint that ties it to this model).

The YAML front matter is built with ``huggingface_hub.ModelCardData`` / ``EvalResult``, so its
``model-index`` has the layout the Hub reads for its evaluation widget; the body follows the
Japanese embedding cards (ruri, GLuCoSE, simcse-ja): summary, model table, usage with textmetric
and with plain sentence-transformers, training data, loss and hyper-parameters, metrics.

Evaluation results come in two layouts, both read by :func:`load_eval_results`:

* the ``metrics.json`` written by ``textmetric evaluate --out`` (``{"model_fingerprint": ...,
  "settings": ..., "datasets": [{"name", "task", "results": {system: {metric: value}}}]}``);
* a simple mapping, one entry per evaluation set, for numbers measured elsewhere::

      {
        "jsts-valid":   {"task": "sts", "spearman": 0.812, "pearson": 0.805},
        "jsquad-valid": {"task": "retrieval", "ndcg@10": 0.713, "mrr@10": 0.664,
                         "dataset_id": "shunk031/JGLUE", "split": "validation"}
      }

  ``task`` (``sts`` / ``retrieval``) defaults to ``sts`` when the metrics are ``spearman`` /
  ``pearson`` and to ``retrieval`` otherwise; ``dataset_id`` (a Hub data set) and ``split`` are
  optional; every other value must be a number (or ``null``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textmetric.errors import InputError
from textmetric.models.metadata import ModelMetadata

SIMILARITY_FNS = ("cosine", "dot", "euclidean", "manhattan")
TASKS = {
    "sts": ("semantic-similarity", "Semantic Similarity"),
    "retrieval": ("information-retrieval", "Information Retrieval"),
    "other": ("sentence-similarity", "Sentence Similarity"),
}
_STS_KEY = re.compile(rf"^(?P<dataset>.+)_(?P<metric>(?:spearman|pearson)_(?:{'|'.join(SIMILARITY_FNS)}))$")
_RETRIEVAL_KEY = re.compile(rf"^(?P<dataset>.+)_(?P<metric>(?:{'|'.join(SIMILARITY_FNS)})_[a-z]+@\d+)$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
SIMPLE_LAYOUT_KEYS = ("task", "dataset_id", "split")
SYSTEM_LABELS = {
    "model": "this model",
    "base": "base model (untrained)",
    "hybrid": "hybrid (RRF of BM25 + this model)",
    "bm25": "BM25",
    "tfidf": "TF-IDF cosine",
}
STRUCTURE_TEXT = {
    "siamese": "siamese (one encoder shared by both texts)",
    "dssm": "DSSM two towers (separate query and document encoders)",
}


@dataclass
class EvalEntry:
    """One evaluation set's numbers for this model (and, from a report, its baselines)."""

    dataset: str
    task: str
    metrics: dict[str, float | None]
    source: str
    """``training`` (textmetric.json, after training) or ``evaluation`` (an evaluation file)."""
    dataset_id: str | None = None
    split: str | None = None
    before: dict[str, float | None] = field(default_factory=dict)
    baselines: dict[str, dict[str, float | None]] = field(default_factory=dict)


@dataclass
class EvalResults:
    """What :func:`load_eval_results` read: the entries and the facts to check them against."""

    entries: list[EvalEntry]
    path: str
    layout: str
    """``report`` (``textmetric evaluate --out``) or ``simple``."""
    model_fingerprint: str | None = None
    timestamp: str | None = None


def is_hub_id(name: str | None) -> bool:
    """``org/name`` as the Hub spells repository ids, and not a folder that exists here."""
    return bool(name) and bool(_HUB_ID.match(str(name))) and not Path(str(name)).expanduser().exists()


def _number(value: Any, path: str, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(
            "not a number", path=path, column=key, value=value, expected="a metric value or null"
        )
    value = float(value)
    return None if math.isnan(value) else value


def _sts_metric_type(metric: str, primary_fn: str) -> str:
    """``spearman`` (of the primary similarity) -> ``spearman_cosine``, as sentence-transformers names it."""
    return f"{metric}_{primary_fn}" if metric in ("spearman", "pearson") else metric


def _from_report(raw: dict[str, Any], path: str) -> EvalResults:
    datasets = raw.get("datasets")
    if not isinstance(datasets, list):
        raise InputError("'datasets' is not a list", path=path, column="datasets", value=datasets)
    settings = raw.get("settings") or {}
    similarities = settings.get("similarities") or ["cosine"]
    primary_fn = str(similarities[0])
    entries = []
    for index, dataset in enumerate(datasets):
        where = f"datasets[{index}]"
        if not isinstance(dataset, dict) or not isinstance(dataset.get("results"), dict):
            raise InputError(
                "an evaluation set without 'results'",
                path=path,
                column=where,
                expected="{system: {metric: value}}",
            )
        name = str(dataset.get("name") or f"set-{index + 1}")
        task = str(dataset.get("task") or "other")
        results = dataset["results"]
        if "model" not in results:  # a baselines-only report says nothing about this model
            continue
        systems: dict[str, dict[str, float | None]] = {}
        for system, values in results.items():
            if not isinstance(values, dict):
                raise InputError("metrics are not a mapping", path=path, column=f"{where}.results.{system}")
            systems[system] = {
                (_sts_metric_type(m, primary_fn) if task == "sts" else m): _number(
                    v, path, f"{where}.{system}.{m}"
                )
                for m, v in values.items()
            }
        model = systems.pop("model")
        entries.append(
            EvalEntry(dataset=name, task=task, metrics=model, source="evaluation", baselines=systems)
        )
    return EvalResults(
        entries=entries,
        path=path,
        layout="report",
        model_fingerprint=raw.get("model_fingerprint"),
        timestamp=raw.get("timestamp"),
    )


def _from_simple(raw: dict[str, Any], path: str) -> EvalResults:
    entries = []
    for name, values in raw.items():
        if not isinstance(values, dict):
            raise InputError(
                "expected a mapping of metric names to values",
                path=path,
                column=str(name),
                value=values,
                expected='{"task": "sts", "spearman": 0.81, ...} (see textmetric.hub.card)',
            )
        metrics = {
            str(k): _number(v, path, f"{name}.{k}") for k, v in values.items() if k not in SIMPLE_LAYOUT_KEYS
        }
        if not metrics:
            raise InputError("no metrics", path=path, column=str(name), expected="at least one metric value")
        task = values.get("task") or (
            "sts" if any(k.split("_")[0] in ("spearman", "pearson") for k in metrics) else "retrieval"
        )
        if task not in TASKS:
            raise InputError(
                "unknown task",
                path=path,
                column=f"{name}.task",
                value=task,
                expected="sts, retrieval or other",
            )
        if task == "sts":
            metrics = {_sts_metric_type(k, "cosine"): v for k, v in metrics.items()}
        entries.append(
            EvalEntry(
                dataset=str(name),
                task=task,
                metrics=metrics,
                source="evaluation",
                dataset_id=values.get("dataset_id"),
                split=values.get("split"),
            )
        )
    return EvalResults(entries=entries, path=path, layout="simple")


def load_eval_results(path: str | Path) -> EvalResults:
    """Read an evaluation file: ``textmetric evaluate``'s ``metrics.json`` or the simple layout above.

    A folder is taken to be an ``evaluate --out`` folder and its ``metrics.json`` is read.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.json"
    if not path.is_file():
        raise InputError(
            "evaluation results not found",
            path=path,
            expected="the metrics.json of `textmetric evaluate --out`",
        )
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"not valid UTF-8 JSON: {err}", path=path) from None
    if not isinstance(raw, dict) or not raw:
        raise InputError("expected a JSON object", path=path, value=raw, expected="evaluation results")
    text = str(path)
    results = _from_report(raw, text) if "datasets" in raw else _from_simple(raw, text)
    if not results.entries:
        raise InputError(
            "no results for a model (baselines only?)", path=path, expected="metrics of the model"
        )
    return results


def split_training_key(key: str) -> tuple[str, str, str]:
    """``jsts-valid_spearman_cosine`` -> (``jsts-valid``, ``sts``, ``spearman_cosine``).

    The training evaluators name their metrics ``{set}_{metric}`` (see textmetric.evaluation).
    """
    for pattern, task in ((_STS_KEY, "sts"), (_RETRIEVAL_KEY, "retrieval")):
        match = pattern.match(key)
        if match:
            return match["dataset"], task, match["metric"]
    return "training evaluation", "other", key


def training_entries(metadata: ModelMetadata | None) -> list[EvalEntry]:
    """The metrics measured at the end of training (``textmetric.json`` ``metrics.after``)."""
    if metadata is None:
        return []
    after = (metadata.metrics or {}).get("after") or {}
    before = (metadata.metrics or {}).get("before") or {}
    grouped: dict[str, EvalEntry] = {}
    for key, value in after.items():
        dataset, task, metric = split_training_key(key)
        entry = grouped.setdefault(
            dataset, EvalEntry(dataset=dataset, task=task, metrics={}, source="training")
        )
        entry.metrics[metric] = _number(value, "textmetric.json", key)
        if key in before:
            entry.before[metric] = _number(before[key], "textmetric.json", key)
    return list(grouped.values())


def merge_entries(training: list[EvalEntry], evaluation: list[EvalEntry]) -> list[EvalEntry]:
    """Every entry, the evaluation file winning over training for the same set and metric."""
    measured = {(e.dataset, m) for e in evaluation for m in e.metrics}
    kept: list[EvalEntry] = []
    for entry in training:
        metrics = {m: v for m, v in entry.metrics.items() if (entry.dataset, m) not in measured}
        if metrics:
            kept.append(
                EvalEntry(
                    dataset=entry.dataset,
                    task=entry.task,
                    metrics=metrics,
                    source=entry.source,
                    before={m: v for m, v in entry.before.items() if m in metrics},
                )
            )
    return kept + list(evaluation)


def metric_label(metric: str) -> str:
    """``spearman_cosine`` -> ``Spearman (cosine)``, ``ndcg@10`` -> ``nDCG@10``."""
    labels = {
        "ndcg": "nDCG",
        "mrr": "MRR",
        "map": "MAP",
        "recall": "Recall",
        "accuracy": "Accuracy",
        "precision": "Precision",
        "spearman": "Spearman",
        "pearson": "Pearson",
    }
    head, _, rest = metric.partition("_")
    if head in ("spearman", "pearson") and rest:
        return f"{labels[head]} ({rest})"
    fn = ""
    if head in SIMILARITY_FNS and rest:
        fn, metric = head, rest
    name, at, k = metric.partition("@")
    label = labels.get(name, name) + (f"@{k}" if at else "")
    return f"{label} ({fn})" if fn else label


# ------------------------------------------------------------------------------------ the card


@dataclass
class CardInfo:
    """Everything the card says beyond ``textmetric.json``: names, license, data sets, versions."""

    model_name: str
    repo_id: str | None = None
    license: str | None = None
    datasets: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    base_model: str | None = None
    language: str = "ja"
    dimension: int | None = None
    max_seq_length: int | None = None
    similarity_fn: str = "cosine"
    tokenizer_class: str | None = None
    onnx: dict[str, Any] | None = None
    versions: dict[str, str | None] = field(default_factory=dict)
    eval_timestamp: str | None = None


def card_base_model(metadata: ModelMetadata | None, override: str | None) -> str | None:
    """The ``base_model`` of the front matter: a Hub id, or nothing (tiny-ja, local folders)."""
    name = override or (metadata.base_model if metadata else None)
    return name if is_hub_id(name) else None


def front_matter(metadata: ModelMetadata | None, info: CardInfo, entries: list[EvalEntry]) -> str:
    """The card's YAML metadata, with a ``model-index`` when the model was evaluated."""
    from huggingface_hub import EvalResult, ModelCardData

    structure = metadata.structure if metadata else "siamese"
    tags = ["sentence-transformers", "sentence-similarity", "feature-extraction", "textmetric", "japanese"]
    tags.append(structure)
    tags += [f"loss:{name}" for name in (metadata.loss if metadata else [])]
    tags += [t for t in info.tags if t not in tags]
    results = []
    for entry in entries:
        task_type, task_name = TASKS.get(entry.task, TASKS["other"])
        for metric, value in entry.metrics.items():
            if value is None:
                continue
            results.append(
                EvalResult(
                    task_type=task_type,
                    task_name=task_name,
                    dataset_type=entry.dataset_id or entry.dataset,
                    dataset_name=entry.dataset,
                    dataset_split=entry.split,
                    metric_type=metric,
                    metric_value=round(float(value), 6),
                    metric_name=metric_label(metric),
                )
            )
    data = ModelCardData(
        language=info.language,
        license=info.license,
        library_name="sentence-transformers",
        pipeline_tag="sentence-similarity",
        tags=list(dict.fromkeys(tags)),
        base_model=info.base_model,
        datasets=info.datasets or None,
        model_name=info.model_name if results else None,
        eval_results=results or None,
    )
    return data.to_yaml()


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """A Markdown table; ``align`` has one letter per column (``l`` / ``r``), default ``l`` then ``r``."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _usage(metadata: ModelMetadata | None, info: CardInfo) -> list[str]:
    name = info.repo_id or f"path/to/{info.model_name}"
    dssm = metadata is not None and metadata.structure == "dssm"
    nfkc = metadata.nfkc if metadata else True
    lines = ["## Usage", "", "### With textmetric", "", "```python", "from textmetric import TextMetric", ""]
    lines.append(f'tm = TextMetric.load("{name}")')
    lines += [
        'tm.similarity("今日は良い天気です。", "本日は晴天なり。")  # float',
        'vectors = tm.encode(["文書1", "文書2"])',
        'index = tm.index(["文書1", "文書2", "文書3"])',
        'ids, scores = index.search("クエリ", k=2)',
        "```",
        "",
    ]
    lines.append(
        "textmetric applies the text normalisation the model was trained with"
        + (" (NFKC)" if nfkc else " (none)")
        + " and splits documents longer than the model's maximum length on sentence boundaries."
    )
    lines += ["", "### With sentence-transformers", ""]
    lines += [
        "```bash",
        "pip install sentence-transformers" + (" fugashi unidic-lite" if _needs_mecab(info) else ""),
        "```",
        "",
    ]
    lines += ["```python"]
    if nfkc:
        lines.append("import unicodedata")
        lines.append("")
    lines += [
        "from sentence_transformers import SentenceTransformer",
        "",
        f'model = SentenceTransformer("{name}")',
    ]
    texts = '["今日は良い天気です。", "本日は晴天なり。", "猫が窓辺で眠っている。"]'
    if nfkc:
        lines.append(f'sentences = [unicodedata.normalize("NFKC", s).strip() for s in {texts}]')
    else:
        lines.append(f"sentences = {texts}")
    if dssm:
        lines += [
            "queries = model.encode_query(sentences[:1])",
            "documents = model.encode_document(sentences[1:])",
            "print(model.similarity(queries, documents))",
        ]
    else:
        lines += ["embeddings = model.encode(sentences)", "print(model.similarity(embeddings, embeddings))"]
    lines += ["```", ""]
    if nfkc:
        lines += [
            "The model was trained on NFKC-normalised text (full-width letters and digits folded, "
            "half-width katakana widened): normalise inputs the same way, as above.",
            "",
        ]
    if dssm:
        lines += [
            "This is a two-tower model: encode queries with `encode_query` and documents with "
            "`encode_document`; each goes through its own encoder.",
            "",
        ]
    if info.onnx:
        lines += _onnx_usage(name, info.onnx)
    return lines


def _onnx_usage(name: str, onnx: dict[str, Any]) -> list[str]:
    lines = ["### ONNX", ""]
    inputs = ", ".join(f"`{name}`" for name in onnx.get("inputs", ["input_ids", "attention_mask"]))
    lines.append(
        f"`{onnx['file']}` holds the encoder (inputs {inputs}; output `last_hidden_state`, which the model's "
        "pooling and normalisation modules turn into sentence embeddings) where sentence-transformers' "
        "ONNX backend looks for it (that backend needs `optimum-onnx`). Its sentence embeddings agree "
        "with PyTorch to "
        f"{onnx['max_abs_diff']:.1e} on the export check."
    )
    quantized = onnx.get("quantized")
    if quantized:
        lines.append(
            f"`{quantized['file']}` is the same encoder with int8 dynamic quantisation (smaller, faster "
            f"on CPU; cosine to the PyTorch embeddings at least {quantized['min_cosine']:.4f} "
            "on the export check)."
        )
    lines += ["", "```python", f'model = SentenceTransformer("{name}", backend="onnx")']
    if quantized:
        lines.append(
            f'model = SentenceTransformer("{name}", backend="onnx", '
            f'model_kwargs={{"file_name": "{quantized["file"]}"}})'
        )
    lines += ["```", ""]
    return lines


def _needs_mecab(info: CardInfo) -> bool:
    return (info.tokenizer_class or "").startswith("BertJapanese")


def _details(metadata: ModelMetadata | None, info: CardInfo) -> list[str]:
    rows = []
    base = (metadata.base_model if metadata else None) or info.base_model
    if info.base_model:
        rows.append(["Base model", f"[{info.base_model}](https://huggingface.co/{info.base_model})"])
    elif base == "tiny-ja":
        rows.append(
            [
                "Base model",
                "tiny-ja (a small BERT built by textmetric from the training texts, trained from scratch)",
            ]
        )
    elif base:
        rows.append(["Base model", f"`{Path(str(base)).name}` (a local model)"])
    structure = metadata.structure if metadata else "siamese"
    rows.append(["Structure", STRUCTURE_TEXT.get(structure, structure)])
    if metadata:
        rows.append(["Pooling", metadata.pooling])
    if info.dimension:
        rows.append(["Embedding dimension", str(info.dimension)])
    if info.max_seq_length:
        rows.append(["Maximum sequence length", f"{info.max_seq_length} tokens"])
    rows.append(["Similarity", info.similarity_fn])
    if metadata:
        rows.append(["L2-normalised embeddings", "yes" if metadata.normalize_embeddings else "no"])
        rows.append(["Text normalisation", "NFKC" if metadata.nfkc else "none"])
    if info.tokenizer_class:
        extra = (
            " (MeCab word split through fugashi + unidic-lite, then WordPiece)" if _needs_mecab(info) else ""
        )
        rows.append(["Tokenizer", f"`{info.tokenizer_class}`{extra}"])
    rows.append(["Language", "Japanese"])
    rows.append(["License", info.license or "not specified"])
    return ["## Model details", "", *_table(["", ""], rows, "ll"), ""]


def _training(metadata: ModelMetadata | None) -> list[str]:
    if metadata is None or not (metadata.training or metadata.data or metadata.loss):
        return []
    lines = ["## Training", ""]
    if metadata.data:
        lines += ["### Data", ""]
        rows = []
        for item in metadata.data:
            source = Path(str(item.get("path") or "-")).name
            score = item.get("score_range")
            extra = []
            if score:
                extra.append(f"scores {score[0]:g}–{score[1]:g}")
            if item.get("num_labels"):
                extra.append(f"{item['num_labels']} labels")
            skipped = sum((item.get("skipped") or {}).values())
            rows.append(
                [
                    f"`{source}`",
                    str(item.get("format", "-")),
                    str(item.get("rows_used", "-")),
                    str(skipped),
                    ", ".join(extra) or "-",
                ]
            )
        lines += _table(["file", "format", "rows used", "rows skipped", "notes"], rows, "llrrl")
        lines.append("")
    if metadata.loss:
        lines += ["### Loss", ""]
        params = (metadata.training or {}).get("loss_params") or {}
        lines.append(", ".join(f"`{name}`" for name in metadata.loss) + (f" with {params}" if params else ""))
        lines.append("")
    training = metadata.training or {}
    if training:
        lines += ["### Hyper-parameters", ""]
        names = [
            ("epochs", "epochs"),
            ("steps", "steps"),
            ("batch_size", "batch size (per device)"),
            ("processes", "processes"),
            ("global_batch_size", "global batch size"),
            ("learning_rate", "learning rate"),
            ("warmup", "warm-up"),
            ("precision", "precision"),
            ("seed", "seed"),
            ("seconds", "training time (s)"),
        ]
        rows = [[label, f"{training[key]}"] for key, label in names if training.get(key) is not None]
        if metadata.max_seq_length:
            rows.append(["max sequence length", str(metadata.max_seq_length)])
        lines += _table(["setting", "value"], rows)
        lines.append("")
    return lines


def _evaluation(entries: list[EvalEntry], info: CardInfo) -> list[str]:
    if not entries:
        return ["## Evaluation", "", "This model was not evaluated when it was exported.", ""]
    lines = ["## Evaluation", ""]
    training = [e for e in entries if e.source == "training"]
    evaluation = [e for e in entries if e.source == "evaluation"]
    if training:
        lines += ["Measured at the end of training (`textmetric train --eval-sts / --eval-retrieval`):", ""]
        rows = []
        for entry in training:
            for metric, value in entry.metrics.items():
                rows.append(
                    [entry.dataset, metric_label(metric), _fmt(entry.before.get(metric)), _fmt(value)]
                )
        lines += _table(["set", "metric", "before training", "after training"], rows, "llrr")
        lines.append("")
    if evaluation:
        when = f" on {info.eval_timestamp}" if info.eval_timestamp else ""
        lines += [f"Measured by `textmetric evaluate`{when}:", ""]
        for entry in evaluation:
            metrics = list(entry.metrics)
            for values in entry.baselines.values():
                metrics += [m for m in values if m not in metrics]
            lines += [f"**{entry.dataset}** ({entry.task})", ""]
            rows = [["this model", *(_fmt(entry.metrics.get(m)) for m in metrics)]]
            for system, values in entry.baselines.items():
                rows.append([SYSTEM_LABELS.get(system, system), *(_fmt(values.get(m)) for m in metrics)])
            lines += _table(["system", *(metric_label(m) for m in metrics)], rows)
            lines.append("")
    return lines


def render_card(metadata: ModelMetadata | None, info: CardInfo, entries: list[EvalEntry]) -> str:
    """The full ``README.md``: front matter, then the card body."""
    structure = metadata.structure if metadata else "siamese"
    kind = "two-tower (DSSM)" if structure == "dssm" else "siamese"
    lines = ["---", front_matter(metadata, info, entries).rstrip("\n"), "---", "", f"# {info.model_name}", ""]
    dim = f"{info.dimension}-dimensional " if info.dimension else ""
    origin = (
        f" fine-tuned from [{info.base_model}](https://huggingface.co/{info.base_model})"
        if info.base_model
        else ""
    )
    lines.append(
        f"A Japanese sentence-embedding model: a {kind} dual encoder{origin}, trained with "
        f"[textmetric](https://github.com/textmetric/textmetric) (deep metric learning for Japanese "
        f"text). It maps sentences and documents to {dim}vectors whose {info.similarity_fn} "
        "similarity measures how close they are in meaning, for semantic search, clustering, "
        "de-duplication and matching."
    )
    lines += [
        "",
        "日本語の文・文書を意味の近さを測るベクトルに変換する埋め込みモデルです（textmetric で学習）。",
        "",
    ]
    lines += _details(metadata, info)
    lines += _usage(metadata, info)
    lines += _training(metadata)
    lines += _evaluation(entries, info)
    versions = {k: v for k, v in info.versions.items() if v}
    if versions:
        lines += ["## Framework versions", ""]
        lines += [f"- {name}: {version}" for name, version in versions.items()]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def read_front_matter(text: str) -> dict[str, Any]:
    """The YAML metadata of a card (``{}`` when it has none)."""
    import yaml

    if not text.startswith("---"):
        return {}
    _, _, rest = text.partition("---\n")
    head, sep, _ = rest.partition("\n---")
    return yaml.safe_load(head) or {} if sep else {}


__all__ = [
    "CardInfo",
    "EvalEntry",
    "EvalResults",
    "card_base_model",
    "dump_eval_entries",
    "front_matter",
    "is_hub_id",
    "load_eval_results",
    "merge_entries",
    "read_front_matter",
    "render_card",
    "split_training_key",
    "training_entries",
]


def dump_eval_entries(entries: list[EvalEntry]) -> list[dict[str, Any]]:
    """The entries as JSON, as recorded in the exported ``textmetric.json``."""
    return [
        {
            k: v
            for k, v in {
                "dataset": e.dataset,
                "task": e.task,
                "source": e.source,
                "metrics": e.metrics,
                "dataset_id": e.dataset_id,
                "split": e.split,
            }.items()
            if v is not None
        }
        for e in entries
    ]
