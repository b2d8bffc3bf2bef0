"""``textmetric pretrain``: masked-language-model warm-up of a base before ``textmetric train``."""

from __future__ import annotations

from pathlib import Path

import typer

from textmetric.cli._app import app, console, out


@app.command()
def pretrain(
    texts: list[Path] = typer.Argument(
        ..., help="Text files: .txt (one text a line), SQuAD JSON, or pair / scored / labelled files."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the warmed-up base."),
    model: str = typer.Option(
        "tiny-ja", "--model", "-m", help="'tiny-ja' (built from the texts) or a local BERT folder."
    ),
    max_seq_length: int = typer.Option(64, help="Tokens kept per text."),
    epochs: float = typer.Option(1.0, help="Passes over the texts."),
    max_steps: int = typer.Option(-1, help="Stop after this many steps (overrides epochs)."),
    batch_size: int = typer.Option(64, help="Texts per step."),
    lr: float = typer.Option(5e-4, help="Peak learning rate (linear warm-up and decay)."),
    mlm_probability: float = typer.Option(0.15, help="Share of tokens masked."),
    seed: int = typer.Option(42, help="Random seed."),
    vocab_size: int = typer.Option(16000, help="tiny-ja: vocabulary size."),
    hidden_size: int = typer.Option(256, help="tiny-ja: hidden size."),
    layers: int = typer.Option(4, help="tiny-ja: transformer layers."),
    heads: int = typer.Option(4, help="tiny-ja: attention heads."),
    word_init: str = typer.Option(
        "ppmi",
        "--word-init",
        help="tiny-ja: word embeddings from the texts' co-occurrences (ppmi) or random.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --output."),
) -> None:
    """Warm a base up with masked language modelling; the folder is a base for `textmetric train --model`.

    Example: textmetric pretrain corpus.txt --model tiny-ja --output runs/base && textmetric train
    pairs.jsonl --model runs/base --lr 3e-4 --output runs/model
    """
    from textmetric.models.tiny_ja import TinyJaConfig
    from textmetric.training.pretrain import pretrain_mlm, read_texts

    corpus = read_texts(texts)
    console.print(f"{len(corpus)} texts from {len(texts)} file(s)")
    tiny = TinyJaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_layers=layers,
        num_heads=heads,
        intermediate_size=4 * hidden_size,
        seed=seed,
        word_init=word_init,
    )
    result = pretrain_mlm(
        corpus,
        output,
        model=model,
        tiny=tiny,
        max_seq_length=max_seq_length,
        epochs=epochs,
        max_steps=max_steps,
        batch_size=batch_size,
        lr=lr,
        mlm_probability=mlm_probability,
        seed=seed,
        overwrite=overwrite,
    )
    first = result.loss_history[0][1] if result.loss_history else float("nan")
    last = result.loss_history[-1][1] if result.loss_history else float("nan")
    out.print(
        f"{result.output}: {result.steps} steps in {result.seconds:.0f}s, MLM loss {first:.3f} -> {last:.3f}"
    )
