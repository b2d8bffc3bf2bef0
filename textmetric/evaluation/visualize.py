"""A 2-D map of a model's embeddings of labelled texts, coloured by label.

The picture Wen et al. (2016) draw to show what center loss does: one point per text, one colour
per class. Compact, well separated clusters mean that nearest-neighbour search between texts finds
the same class; a model trained with plain softmax typically shows long radial "spokes" instead.

Embeddings are projected with UMAP (``umap-learn``, the ``viz`` extra), t-SNE (scikit-learn) or
PCA. With many labels only the ``top`` most frequent are drawn (each capped at
``max_per_label`` texts, drawn at random with ``seed``), so that colours stay distinguishable.

Label names go into the legend when an installed font has glyphs for every character of them.
Otherwise (a machine without Japanese fonts would draw boxes, "tofu") the legend shows the label
ids and ``PLOT.labels.json`` next to the plot maps each id to its name. The plot is drawn with
matplotlib's Agg backend (no display needed) and written atomically.

Python API::

    from textmetric.evaluation.visualize import visualize

    result = visualize("runs/center", "questions.jsonl", "plot.png", method="umap", top=10)
    result.mapping  # {"0": "日本共産党", ...} when ids stand in for names
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textmetric.errors import ConfigError, InputError
from textmetric.io import atomic_path, ensure_writable, write_json

METHODS = ("umap", "tsne", "pca")


@dataclass
class VisualizeResult:
    """What was drawn: the plot, the label-id mapping file (if ids stand in for names), the points."""

    path: Path
    method: str
    points: np.ndarray
    labels: list[str]
    shown_labels: list[str]
    counts: dict[str, int]
    texts_left_out: int = 0
    labels_left_out: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    mapping_path: Path | None = None
    font: str | None = None


def mapping_path_for(out: str | Path) -> Path:
    """``plot.png`` -> ``plot.labels.json``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.labels.json")


def select_labels(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    top: int | None = 10,
    max_per_label: int | None = 300,
    seed: int = 0,
) -> tuple[list[str], list[str], list[str], Counter]:
    """The texts of the ``top`` most frequent labels (ties by name), at most ``max_per_label`` each.

    Returns ``(texts, labels, shown_labels, counts)``; ``counts`` holds every label's full count.
    """
    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    counts = Counter(labels)
    ranked = sorted(counts, key=lambda name: (-counts[name], name))
    shown = ranked if not top or top <= 0 else ranked[:top]
    rng = np.random.default_rng(seed)
    picked: list[int] = []
    for name in shown:
        rows = [i for i, label in enumerate(labels) if label == name]
        if max_per_label and len(rows) > max_per_label:
            rows = sorted(rng.choice(rows, size=max_per_label, replace=False).tolist())
        picked.extend(rows)
    picked.sort()
    return [texts[i] for i in picked], [labels[i] for i in picked], shown, counts


def project(embeddings: np.ndarray, method: str = "umap", *, seed: int = 0) -> np.ndarray:
    """``(n, 2)`` coordinates of ``embeddings`` by UMAP, t-SNE or PCA (cosine geometry for UMAP / t-SNE)."""
    if method not in METHODS:
        raise ConfigError(f"unknown projection method '{method}'; expected one of {', '.join(METHODS)}")
    x = np.asarray(embeddings, dtype=np.float32)
    n = len(x)
    if n < 3:
        raise InputError(f"only {n} texts to project", expected="at least 3 texts")
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(1.0, (n - 1) / 3)))
        return TSNE(
            n_components=2, perplexity=perplexity, metric="cosine", init="pca", random_state=seed
        ).fit_transform(x)
    try:
        import umap
    except ImportError:
        raise ConfigError(
            "UMAP needs umap-learn (pip install 'textmetric[viz]'); or use --method tsne"
        ) from None
    reducer = umap.UMAP(
        n_components=2, n_neighbors=min(15, n - 1), metric="cosine", random_state=seed, n_jobs=1
    )
    return np.asarray(reducer.fit_transform(x))


@functools.cache
def _font_charmaps() -> list[tuple[str, str, frozenset[int]]]:
    """(family, file, covered code points) of every real font matplotlib knows."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    fonts = []
    seen = set()
    for entry in font_manager.fontManager.ttflist:
        # "Last Resort" maps every code point to a placeholder box: exactly the tofu to avoid.
        if entry.fname in seen or "lastresort" in f"{entry.name}{entry.fname}".lower().replace(" ", ""):
            continue
        seen.add(entry.fname)
        try:
            charmap = FT2Font(entry.fname).get_charmap()
        except (OSError, RuntimeError, ValueError):
            continue
        fonts.append((entry.name, entry.fname, frozenset(charmap)))
    return fonts


def font_for(texts: Sequence[str]) -> str | None:
    """A font file with glyphs for every character of ``texts`` (Japanese included), or None.

    matplotlib's default font comes first, so plain ASCII labels keep the usual look.
    """
    from matplotlib.font_manager import FontProperties, findfont

    needed = {ord(c) for text in texts for c in text if not c.isspace()}
    default = findfont(FontProperties(), fallback_to_default=True)
    fonts = sorted(_font_charmaps(), key=lambda font: font[1] != default)
    for _family, path, covered in fonts:
        if needed <= covered:
            return path
    return None


def _colours(count: int) -> list:
    from matplotlib import colormaps

    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    if count <= 20:
        return [colormaps["tab20"](i) for i in range(count)]
    return [colormaps["turbo"](i / max(1, count - 1)) for i in range(count)]


def plot_points(
    points: np.ndarray,
    labels: Sequence[str],
    shown: Sequence[str],
    legend: dict[str, str],
    out: str | Path,
    *,
    title: str,
    font: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Scatter ``points`` coloured by label, legend entries ``legend[label]``; written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    figure = Figure(figsize=(9, 7), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels_array = np.asarray(labels)
    size = 14 if len(points) <= 2000 else 5
    for colour, name in zip(_colours(len(shown)), shown, strict=True):
        mask = labels_array == name
        axes.scatter(
            points[mask, 0],
            points[mask, 1],
            s=size,
            color=colour,
            alpha=0.8,
            linewidths=0,
            label=legend[name],
        )
    axes.set_xticks([])
    axes.set_yticks([])
    prop = FontProperties(fname=font, size=8) if font else FontProperties(size=8)
    axes.set_title(title, fontproperties=FontProperties(fname=font, size=10) if font else None)
    axes.legend(
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        prop=prop,
        markerscale=1.5,
        frameon=False,
        ncols=1 if len(shown) <= 25 else 2,
    )
    with atomic_path(out, overwrite=overwrite) as tmp:
        figure.savefig(tmp, format="png")
    return Path(out)


def _load_labelled(data, *, columns: str | None, encoding: str | None, nfkc: bool):
    from textmetric.data.formats import PairData, load_pairs

    if isinstance(data, PairData):
        pairs = data
    else:
        pairs = load_pairs(data, data_format="labelled", columns=columns, encoding=encoding, nfkc=nfkc)
    if pairs.format != "labelled" or not pairs.label_names:
        raise InputError(
            f"'{pairs.format}' data cannot be coloured by label",
            path=pairs.path,
            expected="a labelled file with columns text, label (use --columns to map names)",
        )
    names = pairs.label_names
    return pairs.records["text"], [names[i] for i in pairs.records["label"]], names


def _encoder(model, device: str | None):
    from textmetric.api import TextMetric

    if isinstance(model, TextMetric):
        return model
    if isinstance(model, (str, Path)):
        return TextMetric.load(model, device=device)
    return TextMetric(model)


def visualize(
    model: Any,
    data: Any,
    out: str | Path,
    *,
    method: str = "umap",
    top: int | None = 10,
    max_per_label: int | None = 300,
    seed: int = 0,
    role: str = "document",
    columns: str | None = None,
    encoding: str | None = None,
    nfkc: bool = True,
    device: str | None = None,
    batch_size: int = 32,
    title: str | None = None,
    overwrite: bool = False,
) -> VisualizeResult:
    """Embed the labelled texts of ``data`` with ``model`` and plot them in 2-D, coloured by label.

    Args:
        model: a model folder / Hub id in the cache, a ``SentenceTransformer`` or a ``TextMetric``.
        data: a ``text, label`` file (CSV, TSV, JSONL, Parquet) or a labelled ``PairData``.
        out: the PNG to write (``PLOT.labels.json`` beside it when label ids stand in for names).
        method: ``umap`` (default), ``tsne`` or ``pca``.
        top: draw only the ``top`` most frequent labels (``None`` / 0: all).
        max_per_label: at most this many texts per label (random, by ``seed``).
        role: ``query`` or ``document``: the tower of a dssm model.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown projection method '{method}'; expected one of {', '.join(METHODS)}")
    if top is not None and top < 0:
        raise ConfigError(f"top must be >= 0, got {top}")
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ConfigError(f"the plot is written as PNG; give an --out ending in .png, not '{out.name}'")
    ensure_writable(out, overwrite=overwrite)
    texts, labels, _ = _load_labelled(data, columns=columns, encoding=encoding, nfkc=nfkc)
    texts, labels, shown, counts = select_labels(
        texts, labels, top=top, max_per_label=max_per_label, seed=seed
    )
    font = font_for(shown)
    mapping_path = None if font else mapping_path_for(out)
    if mapping_path is not None:
        ensure_writable(mapping_path, overwrite=overwrite)

    encoder = _encoder(model, device)
    embeddings = encoder.encode(texts, role=role, batch_size=batch_size)  # type: ignore[arg-type]
    points = project(embeddings, method, seed=seed)

    ids = {name: str(i) for i, name in enumerate(sorted(counts))}  # as textmetric train numbers labels
    if font:
        legend = {name: f"{name} ({counts[name]})" for name in shown}
        mapping: dict[str, str] = {}
    else:
        legend = {name: f"{ids[name]} ({counts[name]})" for name in shown}
        mapping = {ids[name]: name for name in shown}
    label_count = f"top {len(shown)} of {len(counts)}" if len(shown) < len(counts) else f"{len(shown)}"
    heading = title or f"{encoder.name}: {method.upper()} of {len(texts)} texts, {label_count} labels"
    plot_points(points, labels, shown, legend, out, title=heading, font=font, overwrite=overwrite)
    if mapping_path is not None:
        legend_note = "legend entries read 'id (texts)'; ids number this file's labels in sorted order"
        write_json(mapping_path, {"note": legend_note, "labels": mapping}, overwrite=overwrite)
    return VisualizeResult(
        path=out,
        method=method,
        points=points,
        labels=labels,
        shown_labels=list(shown),
        counts=dict(counts),
        texts_left_out=sum(counts.values()) - len(texts),
        labels_left_out=len(counts) - len(shown),
        mapping=mapping,
        mapping_path=mapping_path,
        font=font,
    )
