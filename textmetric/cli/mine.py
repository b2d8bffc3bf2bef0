"""``textmetric mine``: training pairs and hard negatives from raw documents."""

from __future__ import annotations

from pathlib import Path

import typer

from textmetric.cli._app import app, console


@app.command()
def mine(
    docs: Path = typer.Argument(
        ...,
        help="Documents: CSV, TSV, JSONL or Parquet with id, text [, title, label, group]; or JSQuAD JSON.",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Rows to write (.csv, .tsv, .jsonl or .parquet)."),
    links: Path = typer.Option(
        None, "--links", help="Links file with source_id, target_id (applications, clicks)."
    ),
    positives: str = typer.Option(
        "title-body",
        "--positives",
        "-p",
        help="Positive strategies: title-body, same-label, adjacent, links, cloze (comma-separated).",
    ),
    negatives: str = typer.Option(
        "bm25", "--negatives", "-n", help="Negative miners: random, bm25, dense (comma-separated) or none."
    ),
    num_negatives: int = typer.Option(1, "--num-negatives", "-k", help="Negatives per pair."),
    output_format: str = typer.Option(
        None, "--format", help="pairs, triplets or ntuples [default: from --negatives / --num-negatives]."
    ),
    model: str = typer.Option(None, "--model", "-m", help="Model folder or Hub id for dense negatives."),
    depth: int = typer.Option(50, help="Candidates per anchor and miner before the false-negative rules."),
    margin_ratio: float = typer.Option(
        0.95, help="A negative must score below positive * RATIO (scored miners); 1 turns it off."
    ),
    bm25_max_score: float = typer.Option(None, help="Absolute ceiling for BM25 negatives."),
    dense_max_score: float = typer.Option(None, help="Absolute ceiling for dense negatives (e.g. 0.9)."),
    bm25_max_df: str = typer.Option(
        "auto",
        help="BM25 searches without query words in more than this share of documents (faster on large "
        "corpora); auto: 0.05 from 100,000 documents, else none (exact).",
    ),
    exclude: str = typer.Option(
        "label,group,link", help="Documents kept out of the negatives: label, group, link (or none)."
    ),
    stop_pos: str = typer.Option(
        "default",
        help="Parts of speech BM25 drops: default (particles, auxiliaries, symbols), none, or a list.",
    ),
    dense_index: str = typer.Option("auto", help="Dense search: auto, exact, ivf or hnsw (faiss)."),
    doc_embeddings: Path = typer.Option(
        None,
        "--doc-embeddings",
        help="Dense: the documents' vectors from `textmetric embed MODEL DOCS` (one per document, a "
        "file or a folder of shards from --nproc N), used instead of encoding them; anchors are encoded.",
    ),
    negative_pool: str = typer.Option(
        "all", help="Negatives from all documents, or only from 'positives' (e.g. job postings, not résumés)."
    ),
    same_label_per_doc: int = typer.Option(1, help="same-label: partners sampled per document."),
    same_label_max_per_label: int = typer.Option(1000, help="same-label: at most this many pairs per label."),
    chunk_chars: int = typer.Option(200, help="adjacent: characters per chunk (cut on sentence boundaries)."),
    adjacent_max_per_doc: int = typer.Option(None, help="adjacent: at most this many pairs per document."),
    cloze_window: int = typer.Option(
        1, help="cloze: sentences each side of the question's sentence in the passage."
    ),
    cloze_max_per_doc: int = typer.Option(None, help="cloze: at most this many questions per document."),
    seed: int = typer.Option(42, help="Random seed (same input and seed: same output)."),
    batch_size: int = typer.Option(64, help="Encoding batch size for dense negatives."),
    columns: str = typer.Option(None, help="Rename document columns: FILE_COL=NAME,... (e.g. body=text)."),
    link_columns: str = typer.Option(None, help="Rename link columns (e.g. resume=source_id,job=target_id)."),
    encoding: str = typer.Option(None, help="Input encoding (default: UTF-8, UTF-8 BOM or CP932, detected)."),
    on_bad_row: str = typer.Option("error", help="error, or skip: drop bad rows / links and count them."),
    plot: bool = typer.Option(True, "--plot/--no-plot", help="Write STEM.scores.png next to the output."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
) -> None:
    """Mine positive pairs and hard negatives from documents into a training file.

    Example: textmetric mine docs.jsonl --out pairs.jsonl -p title-body,same-label -n bm25 -k 3
    """
    from textmetric.mining import MiningConfig
    from textmetric.mining import mine as run_mining

    config = MiningConfig(
        positives=positives,  # type: ignore[arg-type]
        negatives=negatives,  # type: ignore[arg-type]
        num_negatives=num_negatives,
        output_format=output_format,
        depth=depth,
        margin_ratio=None if margin_ratio >= 1 else margin_ratio,
        bm25_max_score=bm25_max_score,
        dense_max_score=dense_max_score,
        bm25_max_df=bm25_max_df,
        exclude=exclude,  # type: ignore[arg-type]
        stop_pos=stop_pos,  # type: ignore[arg-type]
        dense_index=dense_index,
        negative_pool=negative_pool,
        doc_embeddings=str(doc_embeddings) if doc_embeddings is not None else None,
        batch_size=batch_size,
        seed=seed,
        same_label_per_doc=same_label_per_doc,
        same_label_max_per_label=same_label_max_per_label,
        chunk_chars=chunk_chars,
        adjacent_max_per_doc=adjacent_max_per_doc,
        cloze_window=cloze_window,
        cloze_max_per_doc=cloze_max_per_doc,
        columns=columns,
        link_columns=link_columns,
        encoding=encoding,
        on_bad_row=on_bad_row,
        overwrite=overwrite,
        plot=plot,
        show_progress=True,
    )
    result = run_mining(docs, out, links=links, model=model, config=config)
    summary = result.summary
    console.print(f"positives: {summary['positives']['per_strategy']}")
    if summary["negatives"]:
        neg = summary["negatives"]
        console.print(f"negatives: {neg['per_miner']}; rejected as likely false negatives: {neg['rejected']}")
        if neg["pairs_short"]:
            console.print(f"[yellow]{neg['pairs_short']} pairs have fewer than {num_negatives} negatives[/]")
    console.print(
        f"[green]{len(result):,} {result.format} rows written to[/] {result.output}  "
        f"(summary: {result.summary_path})"
    )
