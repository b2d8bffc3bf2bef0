"""Evaluation plots (matplotlib, Agg, no display needed).

* ``<set>_sts_scatter.png``: gold score vs predicted similarity, one panel per system; a good
  model's cloud rises from left to right, a lexical baseline's piles up at zero similarity.
* ``<set>_similarity_hist.png``: similarity of relevant vs random non-relevant (query, document)
  pairs for each dense model; the less the two overlap, the easier the threshold choice.
* ``<set>_recall_at_k.png``: mean Recall@k for k = 1..100 for every system (log-scale k).

Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas directly, never pyplot,
so that plotting changes no global state and works in threads and on headless servers.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from textmetric.evaluation.report import SYSTEM_LABELS, DatasetResult, safe_name

if TYPE_CHECKING:
    from textmetric.evaluation.report import EvaluationReport


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def plot_sts_scatter(result: DatasetResult, path: Path) -> Path | None:
    """Gold vs predicted similarity, one panel per system."""
    if result.gold is None or not result.predictions:
        return None
    systems = [s for s in result.ordered_systems() if s in result.predictions]
    columns = min(3, len(systems))
    rows = math.ceil(len(systems) / columns)
    figure = _figure(4.0 * columns, 3.4 * rows)
    for n, system in enumerate(systems, start=1):
        axes = figure.add_subplot(rows, columns, n)
        axes.scatter(result.gold, result.predictions[system], s=4, alpha=0.35, linewidths=0)
        spearman = result.systems.get(system, {}).get("spearman", float("nan"))
        axes.set_title(f"{SYSTEM_LABELS.get(system, system)} (Spearman {spearman:.3f})", fontsize=9)
        axes.set_xlabel("gold score")
        axes.set_ylabel("predicted similarity")
    figure.suptitle(f"{result.name}: gold vs predicted")
    return _save(figure, path)


def plot_similarity_histograms(result: DatasetResult, path: Path) -> Path | None:
    """Relevant vs non-relevant pair similarities for each dense system."""
    systems = [s for s in result.ordered_systems() if s in result.similarities]
    if not systems:
        return None
    figure = _figure(4.5 * len(systems), 3.4)
    for n, system in enumerate(systems, start=1):
        relevant, nonrelevant = result.similarities[system]
        axes = figure.add_subplot(1, len(systems), n)
        values = np.concatenate([relevant, nonrelevant]) if len(relevant) + len(nonrelevant) else np.zeros(1)
        bins = np.linspace(float(values.min()), float(values.max()) + 1e-9, 50)
        axes.hist(
            nonrelevant, bins=bins, density=True, alpha=0.55, label=f"non-relevant ({len(nonrelevant)})"
        )
        axes.hist(relevant, bins=bins, density=True, alpha=0.55, label=f"relevant ({len(relevant)})")
        axes.set_title(SYSTEM_LABELS.get(system, system), fontsize=9)
        axes.set_xlabel("similarity")
        axes.set_ylabel("density")
        axes.legend(fontsize=8)
    figure.suptitle(f"{result.name}: similarity of relevant vs non-relevant pairs")
    return _save(figure, path)


def plot_recall_curves(result: DatasetResult, path: Path) -> Path | None:
    """Mean Recall@k against k for every system."""
    if not result.recall_curves:
        return None
    figure = _figure(6.0, 4.0)
    axes = figure.add_subplot(1, 1, 1)
    for system in result.ordered_systems():
        curve = result.recall_curves.get(system)
        if curve is None or len(curve) == 0:
            continue
        ks = np.arange(1, len(curve) + 1)
        axes.plot(ks, curve, label=SYSTEM_LABELS.get(system, system))
    axes.set_xscale("log")
    axes.set_xlabel("k")
    axes.set_ylabel("Recall@k")
    axes.set_ylim(0, 1.01)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    axes.set_title(f"{result.name}: Recall@k")
    return _save(figure, path)


def write_plots(report: EvaluationReport, folder: Path) -> list[Path]:
    """Every plot the report's data allows, into ``folder``; returns the written files."""
    written: list[Path] = []
    for result in report.datasets:
        prefix = safe_name(result.name)
        if result.task == "sts":
            made = [plot_sts_scatter(result, folder / f"{prefix}_sts_scatter.png")]
        else:
            made = [
                plot_similarity_histograms(result, folder / f"{prefix}_similarity_hist.png"),
                plot_recall_curves(result, folder / f"{prefix}_recall_at_k.png"),
            ]
        written.extend(p for p in made if p is not None)
    return written


__all__ = ["plot_recall_curves", "plot_similarity_histograms", "plot_sts_scatter", "write_plots"]
