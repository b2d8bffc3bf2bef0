"""``textmetric quickstart``: the offline end-to-end demo on the sample data."""

from __future__ import annotations

from pathlib import Path

import typer

from textmetric.cli._app import app, console, out


@app.command()
def quickstart(
    output: Path = typer.Option(Path("runs/quickstart"), "--output", "-o", help="Where to save the model."),
    data: Path = typer.Option(None, "--data", help="Sample data folder [default: data/sample of the repo]."),
    epochs: float = typer.Option(8, help="Training epochs over the sample pairs."),
    seed: int = typer.Option(42, help="Random seed."),
    word_init: str = typer.Option(
        "ppmi", "--word-init", help="tiny-ja word embeddings: from co-occurrences (ppmi) or random."
    ),
    overwrite: bool = typer.Option(
        True, "--overwrite/--no-overwrite", help="Replace an earlier quickstart model."
    ),
) -> None:
    """Train the offline tiny-ja model on the sample pairs; print metrics before / after.

    Example: textmetric quickstart --output runs/quickstart
    """
    from rich.table import Table

    from textmetric.quickstart import run_quickstart

    result = run_quickstart(
        output, sample_dir=data, epochs=epochs, seed=seed, word_init=word_init, overwrite=overwrite
    )
    table = Table(title="tiny-ja on the sample data (held-out part)")
    table.add_column("metric")
    table.add_column("untrained", justify="right")
    table.add_column("trained", justify="right")
    table.add_column("gain", justify="right")
    for name, before, after in result.rows:
        table.add_row(_label(name), f"{before:.3f}", f"{after:.3f}", f"{after - before:+.3f}")
    out.print(table)
    seconds = result.train.seconds
    console.print(f"[green]model saved to[/] {result.train.output} ({seconds:.0f} s). Try:")
    console.print(f"  textmetric evaluate {result.train.output} --sts data/sample/sts_test.jsonl")


def _label(metric: str) -> str:
    """``faq_test_cosine_recall@1`` -> ``faq_test Recall@1``: the table is read, not parsed."""
    names = {"recall@1": "Recall@1", "ndcg@10": "nDCG@10"}
    if "_spearman_" in metric:
        return f"{metric.split('_spearman_', 1)[0]} Spearman"
    for similarity in ("_cosine_", "_dot_", "_euclidean_", "_manhattan_"):
        if similarity in metric:
            dataset, measure = metric.split(similarity, 1)
            return f"{dataset} {names.get(measure, measure)}"
    return metric
