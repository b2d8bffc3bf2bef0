"""What a mining run produced: counts, rejections and score distributions, as JSON and a PNG.

The score histograms are the quickest check of a mining setup: hard negatives should sit just
below the positives (too far below: they teach nothing; overlapping: many are false negatives),
random negatives far below.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from textmetric.io import atomic_path, write_json

SCORE_NAMES = {"bm25": "BM25 score", "dense": "model similarity"}


def score_stats(values: np.ndarray) -> dict[str, float | int]:
    """Count, mean, std and quantiles of the finite values."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return {"count": 0}
    q = np.quantile(values, [0.0, 0.25, 0.5, 0.75, 1.0])
    return {
        "count": len(values),
        "mean": round(float(values.mean()), 4),
        "std": round(float(values.std()), 4),
        "min": round(float(q[0]), 4),
        "p25": round(float(q[1]), 4),
        "median": round(float(q[2]), 4),
        "p75": round(float(q[3]), 4),
        "max": round(float(q[4]), 4),
    }


def scores_summary(scores: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, dict[str, Any]]:
    return {scorer: {name: score_stats(v) for name, v in groups.items()} for scorer, groups in scores.items()}


RELATIVE_NAMES = {
    "bm25": "negative / positive BM25 score (same pair)",
    "dense": "negative - positive similarity (same pair)",
}


def _finite(values: Any) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values[np.isfinite(values)]


def _histograms(ax, groups: Mapping[str, Any], xlabel: str, title: str, bins: int) -> None:
    finite = {name: _finite(v) for name, v in groups.items()}
    finite = {name: v for name, v in finite.items() if len(v)}
    if not finite:
        ax.set_axis_off()
        return
    edges = np.histogram_bin_edges(np.concatenate(list(finite.values())), bins=bins)
    for name, values in finite.items():
        ax.hist(values, bins=edges, density=True, alpha=0.5, label=f"{name} (n={len(values):,})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize=8)


def plot_score_histograms(
    scores: Mapping[str, Mapping[str, np.ndarray]],
    path: str | Path,
    *,
    relative: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    overwrite: bool = False,
    bins: int = 50,
) -> Path | None:
    """Per scorer (BM25, model): positives vs negatives (top row) and each negative against its own
    pair's positive (bottom row, when ``relative`` is given). ``None`` when there are no scores."""
    panels = [k for k, v in scores.items() if any(len(_finite(a)) for a in v.values())]
    if not panels:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = 2 if relative else 1
    fig, axes = plt.subplots(rows, len(panels), figsize=(6 * len(panels), 4 * rows), squeeze=False)
    for column, scorer in enumerate(panels):
        _histograms(
            axes[0][column],
            scores[scorer],
            SCORE_NAMES.get(scorer, scorer),
            f"{scorer}: positives vs negatives",
            bins,
        )
        if relative:
            _histograms(
                axes[1][column],
                {f"negatives ({m})": v for m, v in relative.get(scorer, {}).items()},
                RELATIVE_NAMES.get(scorer, scorer),
                f"{scorer}: each negative against its positive",
                bins,
            )
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path


def write_summary(summary: Mapping[str, Any], path: str | Path, *, overwrite: bool = False) -> Path:
    return write_json(path, dict(summary), overwrite=overwrite)


__all__ = ["plot_score_histograms", "score_stats", "scores_summary", "write_summary"]
