"""``mine()``: documents in, training pairs / triplets / n-tuples out, with a summary.

Output formats are those :mod:`textmetric.data.formats` reads for training:

* ``pairs``: ``anchor, positive`` (in-batch negatives only),
* ``triplets``: ``anchor, positive, negative``, one row per negative,
* ``ntuples``: ``anchor, positive, negative_1 .. negative_n``, one row per pair that has all ``n``
  negatives (pairs with fewer are counted in the summary and left out).

Rows are deduplicated and come out in a fixed order (strategy, then document order), so the same
input, options and seed give the same file. The output, ``STEM.summary.json`` and
``STEM.scores.png`` next to it are written atomically and never overwrite without ``overwrite``.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from textmetric.data.readers import SUPPORTED_SUFFIXES
from textmetric.errors import ConfigError, TextmetricError
from textmetric.io import atomic_path, ensure_writable
from textmetric.mining.documents import Documents, Links, make_documents, read_documents, read_links
from textmetric.mining.negatives import MINERS, Negatives, NegativeSettings, mine_negatives
from textmetric.mining.positives import STRATEGIES, Positives, PositiveSettings, mine_positives
from textmetric.mining.summary import plot_score_histograms, scores_summary, write_summary
from textmetric.text.words import STOP_POS

logger = logging.getLogger("textmetric")

OUTPUT_FORMATS = ("pairs", "triplets", "ntuples")


def _names(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    names = [v.strip() for v in value if v and v.strip()]
    return [] if names == ["none"] else names


@dataclass
class MiningConfig:
    """Every option of ``textmetric mine``; see :func:`mine`."""

    positives: list[str] = field(default_factory=lambda: ["title-body"])
    negatives: list[str] = field(default_factory=lambda: ["bm25"])
    num_negatives: int = 1
    output_format: str | None = None
    depth: int = 50
    margin_ratio: float | None = 0.95
    bm25_max_score: float | None = None
    dense_max_score: float | None = None
    bm25_max_df: float | str | None = "auto"
    exclude: list[str] = field(default_factory=lambda: ["label", "group", "link"])
    stop_pos: list[str] | None = field(default_factory=lambda: list(STOP_POS))
    dense_index: str = "auto"
    negative_pool: str = "all"
    doc_embeddings: str | None = None
    batch_size: int = 64
    seed: int = 42
    same_label_per_doc: int = 1
    same_label_max_per_label: int = 1000
    chunk_chars: int = 200
    chunk_overlap: int = 0
    adjacent_max_per_doc: int | None = None
    cloze_window: int = 1
    cloze_max_per_doc: int | None = None
    columns: str | None = None
    link_columns: str | None = None
    encoding: str | None = None
    nfkc: bool = True
    on_bad_row: str = "error"
    overwrite: bool = False
    plot: bool = True
    show_progress: bool = False

    def __post_init__(self) -> None:
        self.positives = _names(self.positives)
        self.negatives = _names(self.negatives)
        self.exclude = _names(self.exclude)
        if isinstance(self.stop_pos, str):
            self.stop_pos = (
                None
                if self.stop_pos == "none"
                else (list(STOP_POS) if self.stop_pos == "default" else _names(self.stop_pos))
            )
        if isinstance(self.bm25_max_df, str) and self.bm25_max_df != "auto":
            text = self.bm25_max_df.strip().lower()
            try:
                self.bm25_max_df = None if text in ("none", "off", "1", "1.0") else float(text)
            except ValueError:
                raise ConfigError(
                    f"bm25_max_df must be a share in (0, 1], auto or none, not '{text}'"
                ) from None
        bad = [s for s in self.positives if s not in STRATEGIES]
        if bad or not self.positives:
            raise ConfigError(
                f"unknown positive strategy {bad or '(none)'}; expected some of {', '.join(STRATEGIES)}"
            )
        bad = [m for m in self.negatives if m not in MINERS]
        if bad:
            raise ConfigError(f"unknown negative miner {bad}; expected some of {', '.join(MINERS)} (or none)")
        if self.output_format is None:
            self.output_format = (
                "pairs" if not self.negatives else "triplets" if self.num_negatives == 1 else "ntuples"
            )
        if self.output_format not in OUTPUT_FORMATS:
            raise ConfigError(
                f"unknown output format '{self.output_format}'; expected {', '.join(OUTPUT_FORMATS)}"
            )
        if self.output_format == "pairs" and self.negatives:
            raise ConfigError(
                "the pairs format has no negatives; use --negatives none or --format triplets/ntuples"
            )
        if self.output_format != "pairs" and not self.negatives:
            raise ConfigError(
                f"the {self.output_format} format needs negatives (--negatives random, bm25, dense)"
            )
        if self.on_bad_row not in ("error", "skip"):
            raise ConfigError(f"on_bad_row must be 'error' or 'skip', not '{self.on_bad_row}'")
        # Validate the nested settings now, before any file is read.
        self.positive_settings()
        if self.negatives:
            self.negative_settings()

    def positive_settings(self) -> PositiveSettings:
        return PositiveSettings(
            same_label_per_doc=self.same_label_per_doc,
            same_label_max_per_label=self.same_label_max_per_label,
            chunk_chars=self.chunk_chars,
            chunk_overlap=self.chunk_overlap,
            adjacent_max_per_doc=self.adjacent_max_per_doc,
            cloze_window=self.cloze_window,
            cloze_max_per_doc=self.cloze_max_per_doc,
        )

    def negative_settings(self) -> NegativeSettings:
        return NegativeSettings(
            miners=tuple(self.negatives),
            num_negatives=self.num_negatives,
            depth=self.depth,
            margin_ratio=self.margin_ratio,
            bm25_max_score=self.bm25_max_score,
            dense_max_score=self.dense_max_score,
            bm25_max_df=self.bm25_max_df,
            exclude=tuple(self.exclude),
            stop_pos=tuple(self.stop_pos) if self.stop_pos else None,
            dense_index=self.dense_index,
            pool=self.negative_pool,
            doc_embeddings=self.doc_embeddings,
            batch_size=self.batch_size,
            seed=self.seed,
            show_progress=self.show_progress,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MiningResult:
    """The mined rows (``records[column]``, in trainer column order) and what was written."""

    format: str
    columns: list[str]
    records: dict[str, list[str]]
    summary: dict[str, Any]
    documents: Documents
    positives: Positives
    negatives: Negatives | None = None
    output: Path | None = None
    summary_path: Path | None = None
    plot_path: Path | None = None

    def __len__(self) -> int:
        return len(self.records[self.columns[0]])

    def to_dataset(self):
        """A ``datasets.Dataset`` with the trainer's columns."""
        from datasets import Dataset

        return Dataset.from_dict({c: self.records[c] for c in self.columns})


# ---------------------------------------------------------------------------------- paths


def side_paths(out: str | Path) -> tuple[Path, Path]:
    """``STEM.summary.json`` and ``STEM.scores.png`` next to the output."""
    out = Path(out)
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return out.with_name(f"{stem}.summary.json"), out.with_name(f"{stem}.scores.png")


def _output_format(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ConfigError(
            f"cannot tell the output format of {out}: use a .csv, .tsv, .jsonl or .parquet name"
        )
    return SUPPORTED_SUFFIXES[suffix]


def write_rows(
    records: Mapping[str, list[str]], columns: Sequence[str], out: str | Path, *, overwrite: bool = False
) -> Path:
    """Write rows atomically as CSV / TSV / JSON lines / Parquet (by the file suffix)."""
    out = Path(out)
    kind = _output_format(out)
    n = len(records[columns[0]])
    with atomic_path(out, overwrite=overwrite) as tmp:
        if kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({c: pa.array(records[c], type=pa.string()) for c in columns}), tmp)
        elif kind == "jsonl":
            with tmp.open("w", encoding="utf-8", newline="\n") as handle:
                for i in range(n):
                    handle.write(json.dumps({c: records[c][i] for c in columns}, ensure_ascii=False) + "\n")
        else:
            with tmp.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle, delimiter="\t" if kind == "tsv" else ",", lineterminator="\n")
                writer.writerow(columns)
                for i in range(n):
                    writer.writerow([records[c][i] for c in columns])
    return out


# --------------------------------------------------------------------------------- inputs


def _as_documents(docs: Any, config: MiningConfig) -> Documents:
    if isinstance(docs, Documents):
        return docs
    if isinstance(docs, (str, Path)):
        return read_documents(
            docs,
            columns=config.columns,
            encoding=config.encoding,
            nfkc=config.nfkc,
            on_bad_row=config.on_bad_row,
        )
    items = list(docs)

    def get(item: Any, name: str) -> Any:
        return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)

    def column(name: str) -> list[Any] | None:
        values = [get(item, name) for item in items]
        return values if any(v is not None for v in values) else None

    return make_documents(
        [get(i, "id") for i in items],
        [get(i, "text") for i in items],
        titles=column("title"),
        labels=column("label"),
        groups=column("group"),
        nfkc=config.nfkc,
        on_bad_row=config.on_bad_row,
    )


# ----------------------------------------------------------------------------------- rows


def build_rows(
    docs: Documents, pairs: Positives, negatives: Negatives | None, output_format: str
) -> tuple[list[str], dict[str, list[str]], dict[str, int]]:
    """Rows of the output format, deduplicated; and how many were dropped for which reason."""
    texts = docs.texts
    dropped = {"duplicate_rows": 0, "pairs_without_enough_negatives": 0}
    seen: set[tuple[str, ...]] = set()
    if output_format == "pairs" or negatives is None:
        columns = ["anchor", "positive"]
        rows_iter: Any = ((a, p) for a, p in zip(pairs.anchors, pairs.positives, strict=True))
    elif output_format == "triplets":
        columns = ["anchor", "positive", "negative"]
        idx = negatives.indices
        rows_iter = (
            (pairs.anchors[i], pairs.positives[i], texts[j])
            for i in range(len(pairs))
            for j in idx[i]
            if j >= 0
        )
    else:
        n = negatives.indices.shape[1]
        columns = ["anchor", "positive", *(f"negative_{k + 1}" for k in range(n))]
        full = negatives.found == n
        dropped["pairs_without_enough_negatives"] = int((~full).sum())
        idx = negatives.indices
        rows_iter = (
            (pairs.anchors[i], pairs.positives[i], *(texts[j] for j in idx[i])) for i in np.flatnonzero(full)
        )
    records: dict[str, list[str]] = {c: [] for c in columns}
    lists = [records[c] for c in columns]
    for row in rows_iter:
        if row in seen:
            dropped["duplicate_rows"] += 1
            continue
        seen.add(row)
        for target, value in zip(lists, row, strict=True):
            target.append(value)
    return columns, records, dropped


# ----------------------------------------------------------------------------------- mine


def mine(
    docs: str | Path | Documents | Sequence[Any],
    out: str | Path | None = None,
    *,
    links: str | Path | Links | None = None,
    model: Any = None,
    config: MiningConfig | None = None,
    **options: Any,
) -> MiningResult:
    """Mine training rows from documents.

    Args:
        docs: a documents file (CSV / TSV / JSONL / Parquet with ``id, text[, title, label, group]``,
            or a SQuAD JSON such as JSQuAD), a :class:`Documents`, or a list of objects / dicts with
            those fields.
        out: where to write the rows (by suffix: .csv, .tsv, .jsonl, .parquet); ``None`` keeps them
            in memory only. ``STEM.summary.json`` and ``STEM.scores.png`` go next to it.
        links: a ``source_id, target_id`` file (or :class:`Links`) for the ``links`` strategy and the
            link exclusion.
        model: for ``dense`` negatives: a model folder / Hub id, a ``SentenceTransformer`` or a
            :class:`~textmetric.api.TextMetric`.
        config, options: :class:`MiningConfig` fields (``options`` override ``config``), e.g.
            ``positives=["title-body", "same-label"], negatives=["bm25"], num_negatives=3``.

    Example::

        result = mine("docs.jsonl", "pairs.jsonl", positives=["title-body", "same-label"],
                      negatives=["bm25", "dense"], model="runs/base", num_negatives=3)
        result.summary["negatives"]["rejected"]     # false negatives kept out, by rule
    """
    started = time.perf_counter()
    if config is None:
        config = MiningConfig(**options)
    elif options:
        known = {f.name for f in fields(MiningConfig)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"unknown mining option(s) {unknown}")
        config = MiningConfig(**{**config.to_dict(), **options})
    summary_path = plot_path = None
    if out is not None:
        out = Path(out)
        _output_format(out)
        summary_path, plot_path = side_paths(out)
        for path in (out, summary_path, *([plot_path] if config.plot and config.negatives else [])):
            ensure_writable(path, overwrite=config.overwrite)

    documents = _as_documents(docs, config)
    link_data: Links | None = None
    if isinstance(links, Links):
        link_data = links
    elif links is not None:
        link_data = read_links(
            links,
            documents,
            columns=config.link_columns,
            encoding=config.encoding,
            on_bad_row=config.on_bad_row,
        )
    seconds: dict[str, float] = {"read": time.perf_counter() - started}

    step = time.perf_counter()
    pairs = mine_positives(
        documents, config.positives, links=link_data, settings=config.positive_settings(), seed=config.seed
    )
    seconds["positives"] = time.perf_counter() - step
    for note in pairs.notes:
        logger.warning("%s", note)
    logger.info("positives: %s", pairs.counts)

    negatives: Negatives | None = None
    if config.negatives:
        step = time.perf_counter()
        negatives = mine_negatives(documents, pairs, config.negative_settings(), links=link_data, model=model)
        seconds["negatives"] = time.perf_counter() - step
        found = negatives.found
        short = int((found < config.num_negatives).sum())
        if not found.any():
            raise TextmetricError(
                f"no negative survived the false-negative rules for any of {len(pairs)} pairs "
                f"(rejected: {dict(negatives.rejected)}); raise --depth, relax --margin-ratio / the "
                "max-score ceilings, narrow --exclude or add the random miner"
            )
        if short:
            logger.warning(
                "%d of %d pairs have fewer than %d negatives (rejected: %s)",
                short,
                len(pairs),
                config.num_negatives,
                dict(negatives.rejected),
            )

    assert config.output_format is not None
    columns, records, dropped = build_rows(documents, pairs, negatives, config.output_format)
    if not records[columns[0]]:
        raise TextmetricError(
            f"no {config.output_format} rows: {dropped['pairs_without_enough_negatives']} pairs lack "
            f"{config.num_negatives} negatives; lower --num-negatives, use --format triplets or raise --depth"
        )
    seconds["total"] = time.perf_counter() - started
    summary: dict[str, Any] = {
        "documents": documents.summary(),
        "links": link_data.summary() if link_data is not None else None,
        "positives": pairs.summary(),
        "negatives": negatives.summary() if negatives is not None else None,
        "scores": scores_summary(negatives.scores) if negatives is not None else {},
        "relative_scores": scores_summary(negatives.relative) if negatives is not None else {},
        "output": {
            "path": str(out) if out is not None else None,
            "format": config.output_format,
            "columns": columns,
            "rows": len(records[columns[0]]),
            "dropped": dropped,
        },
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "documents_per_second": round(len(documents) / max(seconds["total"], 1e-9), 1),
        "config": config.to_dict(),
    }
    result = MiningResult(
        format=config.output_format,
        columns=columns,
        records=records,
        summary=summary,
        documents=documents,
        positives=pairs,
        negatives=negatives,
    )
    if out is not None:
        assert summary_path is not None and plot_path is not None
        result.output = write_rows(records, columns, out, overwrite=config.overwrite)
        if config.plot and negatives is not None:
            result.plot_path = plot_score_histograms(
                negatives.scores, plot_path, relative=negatives.relative, overwrite=config.overwrite
            )
        summary["files"] = {
            "rows": str(result.output),
            "summary": str(summary_path),
            "plot": str(result.plot_path) if result.plot_path else None,
        }
        result.summary_path = write_summary(summary, summary_path, overwrite=config.overwrite)
    return result


__all__ = ["OUTPUT_FORMATS", "MiningConfig", "MiningResult", "build_rows", "mine", "side_paths", "write_rows"]
