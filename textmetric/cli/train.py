"""``textmetric train``: fine-tune a dual encoder on pair / triplet / labelled files."""

from __future__ import annotations

from pathlib import Path

import typer

from textmetric.cli._app import app, console, out
from textmetric.models.builder import DEFAULT_BASE_MODEL


@app.command()
def train(
    data: list[Path] = typer.Argument(None, help="Training file(s): CSV, TSV, JSONL or Parquet."),
    output: Path = typer.Option(None, "--output", "-o", help="Folder for the trained model."),
    model: str = typer.Option(
        None, "--model", "-m", help=f"Base: Hub id, local folder or 'tiny-ja' [default: {DEFAULT_BASE_MODEL}]"
    ),
    structure: str = typer.Option(None, help="siamese (shared encoder) or dssm (query / document towers)."),
    pooling: str = typer.Option(None, help="mean, cls or max."),
    loss: str = typer.Option(
        None, help="Loss name (or one per file, comma-separated); default from the data."
    ),
    loss_param: list[str] = typer.Option(
        None, "--loss-param", help="Loss hyper-parameter NAME=VALUE (repeatable)."
    ),
    epochs: float = typer.Option(None, help="Training epochs [default: 1]."),
    max_steps: int = typer.Option(None, help="Stop after this many steps (overrides epochs)."),
    batch_size: int = typer.Option(None, help="Per-device batch size [default: 32]."),
    lr: float = typer.Option(
        None, help="Learning rate [default: 3e-4 for tiny-ja, 3e-5 for a pretrained BERT]."
    ),
    warmup: float = typer.Option(None, help="Warm-up: a ratio of the steps (<1) or a step count."),
    ema_decay: float = typer.Option(
        None,
        "--ema-decay",
        help="Save an exponential moving average of the weights with this decay (e.g. 0.999) "
        "instead of the last step's [default: 0, off].",
    ),
    ema_start: float = typer.Option(
        None, "--ema-start", help="Start the average after this fraction of the steps [default: 0.5]."
    ),
    max_seq_length: int = typer.Option(None, help="Tokens kept per text [default: 128]."),
    seed: int = typer.Option(None, help="Random seed [default: 42]."),
    word_init: str = typer.Option(
        None,
        "--word-init",
        help="tiny-ja: word embeddings from the training texts' co-occurrences (ppmi) or random "
        "[default: ppmi].",
    ),
    eval_sts: list[Path] = typer.Option(
        None, "--eval-sts", help="Scored pair file for STS Spearman (repeatable)."
    ),
    eval_retrieval: list[str] = typer.Option(
        None, "--eval-retrieval", help="Retrieval set (pair file, BEIR folder or JSQuAD JSON; repeatable)."
    ),
    eval_steps: int = typer.Option(None, help="Evaluate every N steps [default: --save-steps]."),
    best_metric: str = typer.Option(
        None,
        help="Keep the checkpoint best on this metric: STEM_spearman_cosine for an --eval-sts file "
        "STEM.jsonl, STEM_cosine_ndcg@10 (mrr@10, recall@1 ...) for an --eval-retrieval set.",
    ),
    save_steps: int = typer.Option(None, help="Checkpoint every N steps [default: 500]."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint in --output."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --output."),
    keep_checkpoints: bool = typer.Option(
        False, "--keep-checkpoints", help="Keep checkpoints in the final folder."
    ),
    columns: str = typer.Option(
        None, help="Rename columns: FILE_COL=NAME,... (e.g. question=anchor,answer=positive)."
    ),
    encoding: str = typer.Option(None, help="Input encoding (default: UTF-8, UTF-8 BOM or CP932, detected)."),
    nfkc: bool = typer.Option(None, "--nfkc/--no-nfkc", help="Unicode NFKC normalisation [default: on]."),
    on_bad_row: str = typer.Option(None, help="error (default) or skip: drop bad rows and report counts."),
    config: Path = typer.Option(None, "--config", help="YAML / JSON file with any of these options."),
    device: str = typer.Option(None, help="auto, cpu or cuda."),
    precision: str = typer.Option(
        None,
        help="auto (GPU: bf16 where supported, else fp16; CPU: fp32), fp32, fp16 or bf16 "
        "(mixed precision; bf16 also on CPUs with AVX512-BF16 or AMX, about twice as fast there).",
    ),
    workers: int = typer.Option(None, "--workers", help="Data-loader worker processes."),
    fast_tokenizer: bool = typer.Option(
        None, "--fast-tokenizer/--slow-tokenizer", help="Fast Japanese tokenizer."
    ),
    group_by_length: bool = typer.Option(
        None,
        "--group-by-length/--no-group-by-length",
        help="Batches of similar length: less padding (losses without in-batch negatives) [default: off].",
    ),
    gather: bool = typer.Option(
        None,
        "--gather/--no-gather",
        help="Distributed: in-batch negatives from every process's batch [default: on].",
    ),
    nproc: int = typer.Option(
        None,
        "--nproc",
        help="Train with N processes on this machine (torchrun; gloo on CPU). "
        "For several machines use torchrun / accelerate launch.",
    ),
) -> None:
    """Fine-tune a Siamese or DSSM dual encoder with a metric-learning loss.

    Example: textmetric train pairs.jsonl --model tiny-ja --output runs/faq --eval-sts sts.jsonl
    """
    from textmetric.errors import ConfigError
    from textmetric.training import TrainConfig
    from textmetric.training import train as run_training

    options = {
        "data": [str(p) for p in data] if data else None,
        "output": str(output) if output else None,
        "model": model,
        "structure": structure,
        "pooling": pooling,
        "loss": loss,
        "loss_params": _params(loss_param),
        "epochs": epochs,
        "max_steps": max_steps,
        "batch_size": batch_size,
        "lr": lr,
        "warmup": warmup,
        "ema_decay": ema_decay,
        "ema_start": ema_start,
        "max_seq_length": max_seq_length,
        "seed": seed,
        "tiny_word_init": word_init,
        "eval_sts": [str(p) for p in eval_sts] if eval_sts else None,
        "eval_retrieval": list(eval_retrieval) if eval_retrieval else None,
        "eval_steps": eval_steps,
        "best_metric": best_metric,
        "save_steps": save_steps,
        "resume": resume or None,
        "overwrite": overwrite or None,
        "keep_checkpoints": keep_checkpoints or None,
        "columns": columns,
        "encoding": encoding,
        "nfkc": nfkc,
        "on_bad_row": on_bad_row,
        "device": device,
        "precision": precision,
        "dataloader_workers": workers,
        "fast_tokenizer": fast_tokenizer,
        "gather_across_devices": gather,
        "length_grouping": group_by_length,
    }
    if config is not None:
        cfg = TrainConfig.from_file(config, **options)
    else:
        given = {k: v for k, v in options.items() if v is not None}
        if "data" not in given:
            raise ConfigError("give at least one training file (or --config)")
        if "output" not in given:
            raise ConfigError("give --output DIR for the trained model")
        cfg = TrainConfig(**given)
    from textmetric.training import distributed

    if nproc is not None and nproc != 1:
        raise typer.Exit(distributed.launch_local(cfg, nproc, verbosity=_verbosity()))
    if not distributed.is_main_process():  # under torchrun: process 0 alone prints
        console.quiet = out.quiet = True
    result = run_training(cfg)
    _print_result(result)


def _verbosity() -> list[str]:
    import logging

    level = logging.getLogger("textmetric").level
    if level and level <= logging.DEBUG:
        return ["--verbose"]
    return ["--quiet"] if level >= logging.WARNING else []


def _params(items: list[str] | None) -> dict | None:
    from textmetric.losses import parse_loss_params

    return parse_loss_params(items) if items else None


def _print_result(result) -> None:
    from rich.table import Table

    if result.metrics_after:
        table = Table(title="Evaluation")
        table.add_column("metric")
        table.add_column("before", justify="right")
        table.add_column("after", justify="right")
        for key, after in result.metrics_after.items():
            before = result.metrics_before.get(key)
            table.add_row(key, f"{before:.4f}" if before is not None else "-", f"{after:.4f}")
        out.print(table)
    if result.loss_history:
        first, last = result.loss_history[0][1], result.loss_history[-1][1]
        console.print(f"loss {first:.4f} -> {last:.4f} over {result.steps} steps")
    console.print(f"[green]model saved to[/] {result.output}  ({result.seconds:.0f} s)")
