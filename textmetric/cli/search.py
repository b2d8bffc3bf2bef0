"""``textmetric index`` builds a search index from a document file; ``textmetric search`` queries it."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from textmetric.cli._app import app, console, out


@app.command("index")
def index_command(
    model: str = typer.Argument(..., help="Model folder (or Hub id in the local cache)."),
    docs: Path = typer.Argument(..., help="Documents: CSV, TSV, JSONL or Parquet with a text column."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Index folder to write."),
    text_column: str = typer.Option("text", "--text-column", help="Column with the texts."),
    id_column: str = typer.Option(
        None, "--id-column", help="Column with ids [default: 'id' if present, else the row number]."
    ),
    backend: str = typer.Option(
        "auto", help="auto (exact below 100,000 chunks, else ivf), exact, flat, ivf or hnsw."
    ),
    hybrid: bool = typer.Option(False, "--hybrid", help="Also index BM25; search fuses both."),
    fusion: str = typer.Option(
        "rrf", "--fusion", help="Hybrid fusion: rrf (ranks, no tuning) or convex (normalised scores)."
    ),
    dense_weight: float = typer.Option(
        None,
        "--dense-weight",
        help="The model's weight in the hybrid, 0-1 (BM25 gets the rest) [default: equal]; for convex "
        "take the weight `textmetric evaluate --baselines hybrid --fusion convex` reports.",
    ),
    store_text: bool = typer.Option(
        True, "--store-text/--no-store-text", help="Keep texts in the index (shown by search; BM25)."
    ),
    overlap: int = typer.Option(1, help="Sentences shared by neighbouring chunks of long documents."),
    chunking: bool = typer.Option(
        True, "--chunking/--no-chunking", help="Chunk long documents (else the model truncates them)."
    ),
    batch_size: int = typer.Option(32, "--batch-size", help="Texts per model batch."),
    encoding: str = typer.Option(None, help="Input encoding (default: UTF-8, UTF-8 BOM or CP932, detected)."),
    file_format: str = typer.Option(
        None, "--format", help="csv, tsv, jsonl or parquet (default: from suffix)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing index folder."),
    on_bad_row: str = typer.Option(
        "error", "--on-bad-row", help="error, or skip: drop rows without a usable text / id and count them."
    ),
    device: str = typer.Option(None, help="cpu, cuda, ... [default: best available]."),
    embeddings: Path = typer.Option(
        None,
        "--embeddings",
        help="Chunk vectors of DOCS from `textmetric embed MODEL DOCS --chunks` (a file or a folder of "
        "shards): used instead of encoding DOCS here.",
    ),
) -> None:
    """Embed DOCS with MODEL and save a search index to --out.

    With --embeddings the vectors come from `textmetric embed --chunks` (e.g. --nproc N in
    parallel) of the same DOCS with the same model and chunking options; DOCS gives the texts.

    Example: textmetric index runs/faq answers.jsonl --out indexes/faq --hybrid
    """
    from collections import Counter

    from textmetric.api import TextMetric
    from textmetric.io import ensure_writable

    ensure_writable(out_dir, overwrite=overwrite)  # fail before embedding, not after
    tm = TextMetric.load(model, device=device, chunking=chunking, overlap=overlap, batch_size=batch_size)
    index = tm.index_file(
        docs,
        text_column=text_column,
        id_column=id_column,
        encoding=encoding,
        file_format=file_format,
        show_progress=True,
        backend=backend,
        hybrid=hybrid,
        fusion=fusion,
        dense_weight=dense_weight,
        store_text=store_text,
        on_bad_row=on_bad_row,
        skipped=(skipped := Counter()),
        embeddings=embeddings,
    )
    if skipped:
        console.print(f"[yellow]skipped {sum(skipped.values())} bad rows:[/] {dict(skipped)}")
    index.save(out_dir, overwrite=overwrite)
    summary = f"{len(index)} documents, {index.num_chunks} chunks, {index.kind}"
    console.print(f"[green]index saved[/] to {out_dir} ({summary})")


@app.command()
def search(
    model: str = typer.Argument(..., help="The model that built the index (folder or Hub id)."),
    queries: list[str] = typer.Argument(..., help="One or more queries."),
    index_dir: Path = typer.Option(..., "--index", "-i", help="Index folder written by `textmetric index`."),
    k: int = typer.Option(10, "-k", "--top-k", help="Results per query."),
    mode: str = typer.Option(None, help="dense, bm25 or hybrid [default: hybrid for a hybrid index]."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per result line instead of a table."),
    device: str = typer.Option(None, help="cpu, cuda, ... [default: best available]."),
) -> None:
    """Search the index in --index for each query; print ids, scores and texts.

    Example: textmetric search runs/faq --index indexes/faq "パスワードを忘れた" -k 5
    """
    from rich.table import Table

    from textmetric.api import TextMetric
    from textmetric.index import SimilarityIndex

    if as_json:  # machine-readable: the JSON lines alone, no weight-loading bar beside them
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    index = SimilarityIndex.load(index_dir, model=TextMetric.load(model, device=device))
    results = index.search(list(queries), k=k, mode=mode)  # type: ignore[arg-type]
    for query, result in zip(queries, results, strict=True):  # type: ignore[arg-type]
        rows = [
            (rank, doc_id, float(score), index.text(doc_id))
            for rank, (doc_id, score) in enumerate(zip(result.ids, result.scores, strict=True), start=1)
        ]
        if as_json:
            for rank, doc_id, score, text in rows:
                record = {"query": query, "rank": rank, "id": doc_id, "score": round(score, 6), "text": text}
                typer.echo(json.dumps(record, ensure_ascii=False))
            continue
        table = Table(title=f"{query}")
        table.add_column("#", justify="right")
        table.add_column("id")
        table.add_column("score", justify="right")
        table.add_column("text")
        for rank, doc_id, score, text in rows:
            shown = (text or "").replace("\n", " ")
            table.add_row(
                str(rank), str(doc_id), f"{score:.4f}", shown[:80] + ("…" if len(shown) > 80 else "")
            )
        out.print(table)
