"""Evaluation results: terminal table, ``metrics.json``, ``report.md`` and plots, written atomically.

A report must say exactly what was measured: the model (and its fingerprint: weights and module
configuration), the data (SHA-256 of every file read), the package versions and the time. ``--out DIR`` writes

* ``metrics.json``: all of that plus every metric of every system on every set;
* ``report.md``: the same as Markdown tables, with the plots;
* ``plots/``: STS gold-vs-predicted scatter, relevant vs non-relevant similarity histograms,
  Recall@k curves (:mod:`textmetric.evaluation.plots`).

The folder is built under a temporary name and renamed into place (:func:`textmetric.io.atomic_path`),
and an existing non-empty folder is refused unless ``overwrite``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from textmetric.io import atomic_path, ensure_writable, write_json, write_text

SYSTEM_ORDER = ("model", "base", "hybrid", "bm25", "tfidf")
SHORT_LABELS = {"model": "model", "base": "base", "hybrid": "hybrid", "bm25": "BM25", "tfidf": "TF-IDF"}
SYSTEM_LABELS = {
    "model": "model",
    "base": "base model (untrained)",
    "hybrid": "hybrid (RRF BM25 + model)",
    "bm25": "BM25",
    "tfidf": "TF-IDF cosine",
}
METRIC_LABELS = {
    "spearman": "Spearman",
    "pearson": "Pearson",
    "ndcg@10": "nDCG@10",
    "mrr@10": "MRR@10",
    "map@100": "MAP@100",
    "recall@1": "R@1",
    "recall@5": "R@5",
    "recall@10": "R@10",
    "recall@100": "R@100",
    "accuracy@1": "Acc@1",
}
_SIM_SHORT = {"cosine": "cos", "dot": "dot", "euclidean": "eucl", "manhattan": "manh"}


def metric_label(metric: str) -> str:
    """Column header: ``ndcg@10`` -> ``nDCG@10``, ``spearman_dot`` -> ``Sp. dot``."""
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric]
    head, _, fn = metric.partition("_")
    if head in ("spearman", "pearson") and fn:
        return f"{head[:2].capitalize()}. {_SIM_SHORT.get(fn, fn)}"
    return metric


VERSION_PACKAGES = (
    "textmetric",
    "sentence-transformers",
    "transformers",
    "torch",
    "datasets",
    "bm25s",
    "scikit-learn",
    "fugashi",
    "unidic-lite",
    "numpy",
    "scipy",
)


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape the numbers."""
    versions: dict[str, str | None] = {}
    for name in VERSION_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class DatasetResult:
    """Every system's metrics on one evaluation set, plus the raw material of its plots."""

    name: str
    task: str  # "sts" or "retrieval"
    source: str
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256
    summary: dict[str, Any] = field(default_factory=dict)
    systems: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    gold: np.ndarray | None = None
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    recall_curves: dict[str, np.ndarray] = field(default_factory=dict)
    similarities: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def ordered_systems(self) -> list[str]:
        known = [s for s in SYSTEM_ORDER if s in self.systems]
        return known + [s for s in self.systems if s not in known]

    def metric_names(self) -> list[str]:
        names: list[str] = []
        for system in self.ordered_systems():
            for metric in self.systems[system]:
                if metric not in names:
                    names.append(metric)
        return names

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "source": self.source,
            "files": self.files,
            "summary": self.summary,
            "results": {
                s: {k: _clean(v) for k, v in self.systems[s].items()} for s in self.ordered_systems()
            },
            "seconds": {s: round(v, 2) for s, v in self.seconds.items()},
        }


def _clean(value: float) -> float | None:
    """JSON has no NaN: undefined metrics (constant predictions) are written as null."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4f}"


@dataclass
class EvaluationReport:
    """The result of :func:`textmetric.evaluation.evaluate`."""

    model: str | None
    base_model: str | None = None
    datasets: list[DatasetResult] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    model_fingerprint: str | None = None
    timestamp: str = field(default_factory=utc_now)
    versions: dict[str, str | None] = field(default_factory=package_versions)
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> DatasetResult:
        for dataset in self.datasets:
            if dataset.name == name:
                return dataset
        raise KeyError(name)

    def metric(self, dataset: str, system: str, metric: str) -> float:
        """One number: ``report.metric("jsquad-valid", "bm25", "ndcg@10")``."""
        return self[dataset].systems[system][metric]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_fingerprint": self.model_fingerprint,
            "base_model": self.base_model,
            "timestamp": self.timestamp,
            "versions": self.versions,
            "settings": self.settings,
            "datasets": [d.to_dict() for d in self.datasets],
            "notes": self.notes,
        }

    # ------------------------------------------------------------------------------ renderings

    def tables(self) -> list:
        """One rich ``Table`` per evaluation set (systems as rows, metrics as columns)."""
        from rich import box
        from rich.table import Table

        tables = []
        for dataset in self.datasets:
            metrics = dataset.metric_names()
            size = ", ".join(f"{k} {v}" for k, v in dataset.summary.items() if isinstance(v, int))
            table = Table(
                title=f"{dataset.name} ({dataset.task}; {size})",
                title_justify="left",
                box=box.SIMPLE_HEAD,
                padding=(0, 0, 0, 2) if len(metrics) < 7 else (0, 0, 0, 1),
                pad_edge=False,
            )
            table.add_column("system", no_wrap=True, min_width=6)
            for metric in metrics:
                label = metric_label(metric)
                table.add_column(label, justify="right", no_wrap=True, min_width=max(6, len(label)))
            for system in dataset.ordered_systems():
                values = dataset.systems[system]
                table.add_row(SHORT_LABELS.get(system, system), *(_fmt(values.get(m)) for m in metrics))
            tables.append(table)
        return tables

    def to_markdown(self, figures: list[Path] | None = None, *, root: Path | None = None) -> str:
        """The report as Markdown; ``figures`` are linked relative to ``root``."""
        lines = ["# textmetric evaluation", ""]
        lines.append(
            f"- model: `{self.model}`"
            + (f" (weights {self.model_fingerprint})" if self.model_fingerprint else "")
        )
        if self.base_model:
            lines.append(f"- base model: `{self.base_model}`")
        lines.append(f"- date (UTC): {self.timestamp}")
        shown = ", ".join(f"{k} {v}" for k, v in self.versions.items() if v)
        lines.append(f"- versions: {shown}")
        lines.append("")
        for dataset in self.datasets:
            metrics = dataset.metric_names()
            lines.append(f"## {dataset.name} ({dataset.task})")
            lines.append("")
            summary = {k: v for k, v in dataset.summary.items() if k != "hybrid"}
            lines.append(f"Source: `{dataset.source}`; " + ", ".join(f"{k}: {v}" for k, v in summary.items()))
            if "hybrid" in dataset.summary:
                from textmetric.evaluation.hybrid import describe_hybrid

                lines.append("")
                lines.append(f"Hybrid: {describe_hybrid(dataset.summary['hybrid'])}.")
            for path, digest in dataset.files.items():
                lines.append(f"- `{path}` sha256 `{digest}`")
            lines.append("")
            lines.append("| system | " + " | ".join(metric_label(m) for m in metrics) + " |")
            lines.append("| --- | " + " | ".join("---:" for _ in metrics) + " |")
            for system in dataset.ordered_systems():
                values = dataset.systems[system]
                cells = " | ".join(_fmt(values.get(m)) for m in metrics)
                lines.append(f"| {SYSTEM_LABELS.get(system, system)} | {cells} |")
            lines.append("")
            for figure in figures or []:
                if figure.name.startswith(f"{safe_name(dataset.name)}_"):
                    rel = figure.relative_to(root) if root is not None else figure
                    lines.append(f"![{figure.stem}]({rel.as_posix()})")
                    lines.append("")
        if self.notes:
            lines.append("## Notes")
            lines.append("")
            lines.extend(f"- {note}" for note in self.notes)
            lines.append("")
        lines.append(
            "Ties in rankings are broken by ascending document id; queries without a relevant "
            "document are not counted; MAP@100 divides by min(100, relevant documents)."
        )
        return "\n".join(lines) + "\n"

    def write(self, out: str | Path, *, overwrite: bool = False, plots: bool = True) -> Path:
        """Write ``metrics.json``, ``report.md`` and ``plots/`` into the folder ``out``, atomically."""
        from textmetric.evaluation.plots import write_plots

        out = ensure_writable(out, overwrite=overwrite)
        with atomic_path(out, overwrite=overwrite, is_dir=True) as tmp:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)
            figures = write_plots(self, tmp / "plots") if plots else []
            write_json(tmp / "metrics.json", self.to_dict())
            write_text(tmp / "report.md", self.to_markdown(figures, root=tmp))
        return out


def safe_name(name: str) -> str:
    """A data-set name as a file-name prefix."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


__all__ = ["DatasetResult", "EvaluationReport", "package_versions"]
