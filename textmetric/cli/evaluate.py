"""``textmetric evaluate``: STS and retrieval metrics of a model and its baselines."""

from __future__ import annotations

from pathlib import Path

import typer

from textmetric.cli._app import app, console, out


@app.command()
def evaluate(
    model: str = typer.Argument(..., help="Model folder or Hub id ('none' for baselines only)."),
    sts: list[str] = typer.Option(
        None, "--sts", help="STS set: scored pair file, JSTS / JSICK file, or 'jsts' / 'jsick' (repeatable)."
    ),
    retrieval: list[str] = typer.Option(
        None,
        "--retrieval",
        help="Retrieval set: BEIR folder, SQuAD-layout JSON (JSQuAD), pair file, or 'jsquad' (repeatable).",
    ),
    baselines: str = typer.Option(
        None, "--baselines", help="Comma-separated: bm25, tfidf, base, hybrid, or all (default: none)."
    ),
    base_model: str = typer.Option(
        None, "--base-model", help="Untrained base for 'base' (default: from the model's textmetric.json)."
    ),
    output: Path = typer.Option(None, "--out", "-o", help="Folder for metrics.json, report.md and plots."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --out folder."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write plots with --out."),
    similarity: str = typer.Option(
        "cosine", "--similarity", help="STS similarities, comma-separated: cosine, dot, euclidean, manhattan."
    ),
    metrics: str = typer.Option(
        None,
        "--metrics",
        help="Retrieval metrics, comma-separated (default: ndcg@10, mrr@10, map@100, recall@1,5,10,100, "
        "accuracy@1).",
    ),
    rrf_k: int = typer.Option(60, "--rrf-k", help="Reciprocal-rank-fusion constant of the hybrid."),
    fusion: str = typer.Option(
        "rrf", "--fusion", help="Hybrid fusion: rrf (ranks), or convex (normalised scores, weighted)."
    ),
    dense_weight: float = typer.Option(
        None,
        "--dense-weight",
        help="The model's weight in the hybrid, 0-1 [default: equal for rrf, cross-validated for convex].",
    ),
    batch_size: int = typer.Option(64, "--batch-size", help="Encoding batch size."),
    max_seq_length: int = typer.Option(
        None,
        "--max-seq-length",
        help="Tokens kept per text [default: as the model was saved]; raise it for passages.",
    ),
    split: str = typer.Option("test", "--split", help="qrels split of a BEIR folder."),
    nfkc: bool = typer.Option(
        None, "--nfkc/--no-nfkc", help="NFKC-normalise the data (default: as the model was trained)."
    ),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: auto)."),
    on_bad_row: str = typer.Option(
        "error", "--on-bad-row", help="error, or skip: drop bad rows of pair files and report counts."
    ),
) -> None:
    """Measure a model against BM25, TF-IDF, its base and a hybrid on the same data.

    Example: textmetric evaluate runs/faq --sts jsts/valid.jsonl --retrieval jsquad/valid.json
    --baselines bm25,tfidf,hybrid --out runs/faq/eval
    """
    from textmetric.evaluation import DEFAULT_RETRIEVAL_METRICS
    from textmetric.evaluation import evaluate as run_evaluation
    from textmetric.evaluation.hybrid import describe_hybrid

    report = run_evaluation(
        model,
        sts=sts or [],
        retrieval=retrieval or [],
        baselines=baselines,
        base_model=base_model,
        out=output,
        overwrite=overwrite,
        plots=plots,
        similarities=[s.strip() for s in similarity.split(",") if s.strip()],
        metrics=[m.strip() for m in metrics.split(",") if m.strip()]
        if metrics
        else DEFAULT_RETRIEVAL_METRICS,
        batch_size=batch_size,
        rrf_k=rrf_k,
        fusion=fusion,
        dense_weight=dense_weight,
        max_seq_length=max_seq_length,
        nfkc=nfkc,
        split=split,
        device=device,
        on_bad_row=on_bad_row,
    )
    for table in report.tables():
        out.print(table)
    for dataset in report.datasets:
        if "hybrid" in dataset.summary:
            console.print(f"{dataset.name} hybrid: {describe_hybrid(dataset.summary['hybrid'])}")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
    if output is not None:
        console.print(f"[green]report written to[/] {output}")
