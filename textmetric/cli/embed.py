"""``textmetric embed``: embed a file's text column into a Parquet file of vectors (streamed)."""

from __future__ import annotations

from pathlib import Path

import typer

from textmetric.cli._app import app, console


@app.command()
def embed(
    model: str = typer.Argument(..., help="Model folder (or Hub id in the local cache)."),
    file: Path = typer.Argument(..., help="Input: CSV, TSV, JSONL or Parquet with a text column."),
    out: Path = typer.Option(..., "--out", "-o", help="Output Parquet file (id, embedding)."),
    text_column: str = typer.Option("text", "--text-column", help="Column with the texts."),
    id_column: str = typer.Option(
        None, "--id-column", help="Column with ids [default: 'id' if present, else the row number]."
    ),
    role: str = typer.Option("document", help="document or query: the tower of a dssm model."),
    aggregate: str = typer.Option(None, help="Long texts: mean (default), max or first chunk."),
    batch_size: int = typer.Option(32, "--batch-size", help="Texts per model batch."),
    rows_per_group: int = typer.Option(
        4096, "--rows-per-group", help="Rows read, embedded and written at a time (one Parquet row group)."
    ),
    encoding: str = typer.Option(None, help="Input encoding (default: UTF-8, UTF-8 BOM or CP932, detected)."),
    file_format: str = typer.Option(
        None, "--format", help="csv, tsv, jsonl or parquet (default: from suffix)."
    ),
    nfkc: bool = typer.Option(None, "--nfkc/--no-nfkc", help="Override the model's NFKC setting."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out file."),
    on_bad_row: str = typer.Option(
        "error", "--on-bad-row", help="error, or skip: drop rows without a usable text / id and count them."
    ),
    device: str = typer.Option(None, help="cpu, cuda, ... [default: best available]."),
) -> None:
    """Embed every row's text with MODEL into a Parquet file, a row group at a time.

    Example: textmetric embed runs/faq docs.csv --out vectors.parquet --text-column body
    """
    from textmetric.api import TextMetric

    tm = TextMetric.load(model, device=device, nfkc=nfkc, batch_size=batch_size)
    result = tm.embed_file(
        file,
        out,
        text_column=text_column,
        id_column=id_column,
        role=role,  # type: ignore[arg-type]
        aggregate=aggregate,  # type: ignore[arg-type]
        rows_per_group=rows_per_group,
        encoding=encoding,
        file_format=file_format,
        overwrite=overwrite,
        show_progress=True,
        on_bad_row=on_bad_row,
    )
    if result.skipped:
        console.print(f"[yellow]skipped {sum(result.skipped.values())} bad rows:[/] {result.skipped}")
    console.print(
        f"[green]{result.rows} embeddings[/] ({result.dimension} dimensions) written to {result.path}"
    )
