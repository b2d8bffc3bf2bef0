"""``textmetric visualize``: a 2-D map (UMAP / t-SNE / PCA) of a model's embeddings, coloured by label."""

from __future__ import annotations

from pathlib import Path

import typer

from textmetric.cli._app import app, console, out


@app.command()
def visualize(
    model: str = typer.Argument(..., help="Model folder (or Hub id in the local cache)."),
    data: Path = typer.Argument(..., help="Labelled texts: CSV, TSV, JSONL or Parquet with text, label."),
    output: Path = typer.Option(..., "--out", "-o", help="The plot (PNG)."),
    method: str = typer.Option("umap", help="umap, tsne or pca."),
    top: int = typer.Option(10, help="Draw the N most frequent labels (0: all)."),
    max_per_label: int = typer.Option(300, "--max-per-label", help="At most this many texts per label."),
    seed: int = typer.Option(0, help="Random seed (sampling and projection)."),
    role: str = typer.Option("document", help="document or query: the tower of a dssm model."),
    columns: str = typer.Option(None, help="Rename columns: FILE_COL=NAME,... (e.g. title=label)."),
    encoding: str = typer.Option(None, help="Input encoding (default: UTF-8, UTF-8 BOM or CP932, detected)."),
    nfkc: bool = typer.Option(True, "--nfkc/--no-nfkc", help="NFKC-normalise the input texts."),
    batch_size: int = typer.Option(32, "--batch-size", help="Texts per model batch."),
    device: str = typer.Option(None, help="cpu, cuda, ... [default: best available]."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing plot."),
) -> None:
    """Plot MODEL's embeddings of the labelled texts in DATA in 2-D, one colour per label.

    Without a font for the label names (e.g. no Japanese font installed) the legend shows label
    ids and PLOT.labels.json maps them to names.

    Example: textmetric visualize runs/center questions.jsonl --out plot.png --top 12
    """
    from textmetric.evaluation.visualize import visualize as run

    result = run(
        model,
        data,
        output,
        method=method,
        top=top,
        max_per_label=max_per_label or None,
        seed=seed,
        role=role,
        columns=columns,
        encoding=encoding,
        nfkc=nfkc,
        device=device,
        batch_size=batch_size,
        overwrite=overwrite,
    )
    if result.mapping:
        from rich.table import Table

        table = Table(title="legend ids (no installed font has these characters)")
        table.add_column("id", justify="right")
        table.add_column("label")
        table.add_column("texts", justify="right")
        for label_id, name in result.mapping.items():
            table.add_row(label_id, name, str(result.counts[name]))
        out.print(table)
        console.print(f"label ids -> names written to {result.mapping_path}")
    left_out = (
        f"; {result.labels_left_out} less frequent labels left out (--top)" if result.labels_left_out else ""
    )
    console.print(
        f"[green]plot written to[/] {result.path} ({len(result.labels)} texts, "
        f"{len(result.shown_labels)} labels, {result.method}{left_out})"
    )
