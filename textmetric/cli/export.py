"""``textmetric export``: a trained model folder -> a folder for the Hub, with its model card."""

from __future__ import annotations

from pathlib import Path

import typer

from textmetric.cli._app import app, console, out


@app.command()
def export(
    model: Path = typer.Argument(..., help="Trained model folder (the --output of `textmetric train`)."),
    output: Path = typer.Option(
        ..., "--out", "-o", help="Export folder (model, textmetric.json, README.md)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --out folder."),
    repo_id: str = typer.Option(None, "--repo-id", help="ORG/NAME it will be pushed to (named in the card)."),
    name: str = typer.Option(
        None, "--name", help="Model name on the card (default: from --repo-id or --out)."
    ),
    eval_results: Path = typer.Option(
        None,
        "--eval-results",
        help="metrics.json (or folder) of `textmetric evaluate --out`, or a {set: {metric: value}} JSON.",
    ),
    license: str = typer.Option(
        None, "--license", help="License id for the card (e.g. apache-2.0, cc-by-sa-4.0)."
    ),
    dataset: list[str] = typer.Option(None, "--dataset", help="Hub id of a data set used (repeatable)."),
    tag: list[str] = typer.Option(None, "--tag", help="Extra card tag (repeatable)."),
    base_model: str = typer.Option(
        None, "--base-model", help="Hub id of the base model, when training used a local copy of it."
    ),
    onnx: bool = typer.Option(False, "--onnx", help="Also write onnx/model.onnx (checked against PyTorch)."),
    quantize: bool = typer.Option(
        False, "--quantize", help="Also write int8 onnx/model_qint8.onnx (implies --onnx)."
    ),
) -> None:
    """Export a trained model for the Hugging Face Hub: weights, tokenizer, textmetric.json, model card.

    Example: textmetric export runs/faq --out export/faq --repo-id my-org/faq-ja
    --eval-results reports/faq/metrics.json --license apache-2.0
    """
    from rich.table import Table

    from textmetric.hub import export_model

    result = export_model(
        model,
        output,
        overwrite=overwrite,
        repo_id=repo_id,
        model_name=name,
        eval_results=eval_results,
        license=license,
        datasets=dataset or [],
        tags=tag or [],
        base_model=base_model,
        onnx=onnx,
        quantize=quantize,
    )
    table = Table(title=f"{result.folder}", title_justify="left")
    table.add_column("file")
    table.add_column("bytes", justify="right")
    for path, size in result.files.items():
        table.add_row(path, f"{size:,}")
    out.print(table)
    if result.onnx:
        line = f"ONNX: {result.onnx['file']} agrees with PyTorch to {result.onnx['max_abs_diff']:.1e}"
        quantized = result.onnx.get("quantized")
        if quantized:
            line += f"; {quantized['file']} cosine >= {quantized['min_cosine']:.4f}"
        console.print(line)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"[green]exported to[/] {result.folder} (fingerprint {result.fingerprint})")
