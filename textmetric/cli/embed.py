"""``textmetric embed``: embed a file's text column into Parquet vectors (streamed; one or N processes)."""

from __future__ import annotations

from pathlib import Path

import typer

from textmetric.cli._app import app, console


@app.command()
def embed(
    model: str = typer.Argument(..., help="Model folder (or Hub id in the local cache)."),
    file: Path = typer.Argument(..., help="Input: CSV, TSV, JSONL or Parquet with a text column."),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="Output: a Parquet file (id, embedding); with several processes a folder of Parquet shards.",
    ),
    text_column: str = typer.Option("text", "--text-column", help="Column with the texts."),
    id_column: str = typer.Option(
        None, "--id-column", help="Column with ids [default: 'id' if present, else the row number]."
    ),
    role: str = typer.Option("document", help="document or query: the tower of a dssm model."),
    aggregate: str = typer.Option(None, help="Long texts: mean (default), max or first chunk."),
    chunks: bool = typer.Option(
        False,
        "--chunks",
        help="One row per chunk of long texts (columns id, chunk, embedding) instead of one per text: "
        "for `textmetric index --embeddings`.",
    ),
    chunking: bool = typer.Option(
        True, "--chunking/--no-chunking", help="Chunk long texts (else the model truncates them)."
    ),
    overlap: int = typer.Option(1, help="Sentences shared by neighbouring chunks of long texts."),
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
    device: str = typer.Option(
        None, help="cpu, cuda, ... [default: best available; with several processes cuda:LOCAL_RANK]."
    ),
    nproc: int = typer.Option(
        None,
        "--nproc",
        help="Embed with N processes on this machine (torchrun; each gets cores/N threads or one GPU); "
        "--out is then a folder of shards. For several machines use torchrun.",
    ),
) -> None:
    """Embed every row's text with MODEL into Parquet, a row group at a time.

    One process writes one Parquet file. Several (--nproc N, or torchrun / accelerate launch
    running this command) share the row groups out and write a folder of shards plus
    manifest.json; textmetric.api.read_embeddings reads either back in the input's order.
    With --chunks the rows are the chunks of long texts, which `textmetric index --embeddings`
    builds a search index from without encoding again.

    Example: textmetric embed runs/faq docs.csv --out vectors.parquet --text-column body
    """
    from textmetric.api import TextMetric
    from textmetric.training import distributed

    if nproc is not None and nproc != 1:
        options = {
            "--out": out,
            "--text-column": text_column,
            "--id-column": id_column,
            "--role": role,
            "--aggregate": aggregate,
            "--batch-size": batch_size,
            "--rows-per-group": rows_per_group,
            "--encoding": encoding,
            "--format": file_format,
            "--on-bad-row": on_bad_row,
            "--device": device,
            "--overlap": overlap,
        }
        command = ["embed", model, str(file)]
        for name, value in options.items():
            if value is not None:
                command += [name, str(value)]
        if nfkc is not None:
            command.append("--nfkc" if nfkc else "--no-nfkc")
        if overwrite:
            command.append("--overwrite")
        if chunks:
            command.append("--chunks")
        if not chunking:
            command.append("--no-chunking")
        raise typer.Exit(distributed.launch_command(command, nproc, verbosity=distributed.verbosity_flags()))
    if not distributed.is_main_process():  # under torchrun: process 0 alone prints
        console.quiet = True
    with distributed.process_group(cpu=True):
        with distributed.Agreement("loading the model"):  # one clear error, not a peer left waiting
            tm = TextMetric.load(
                model,
                device=distributed.rank_device(device),
                nfkc=nfkc,
                batch_size=batch_size,
                chunking=chunking,
                overlap=overlap,
            )
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
            chunks=chunks,
        )
    if result.skipped:
        console.print(f"[yellow]skipped {sum(result.skipped.values())} bad rows:[/] {result.skipped}")
    console.print(
        f"[green]{result.rows} embeddings[/] ({result.dimension} dimensions"
        + (f"; chunks of {result.documents} texts" if result.chunks else "")
        + f") written to {result.path}"
        + (f" ({result.processes} shards)" if result.processes > 1 else "")
    )
