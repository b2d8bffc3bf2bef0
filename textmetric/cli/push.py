"""``textmetric push``: an exported folder to a Hugging Face Hub repository."""

from __future__ import annotations

from pathlib import Path

import typer

from textmetric.cli._app import app, console, out


@app.command()
def push(
    model: Path = typer.Argument(..., help="Folder written by `textmetric export`."),
    repo_id: str = typer.Option(..., "--repo-id", help="Hub repository: ORG/NAME or USER/NAME."),
    private: bool = typer.Option(False, "--private", help="Create the repository private."),
    revision: str = typer.Option(None, "--revision", help="Branch to commit to (default: main)."),
    commit_message: str = typer.Option(None, "--commit-message", "-m", help="Commit message."),
    delete_stale: bool = typer.Option(
        False, "--delete-stale", help="Delete files of the repository that the folder does not have."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be uploaded."),
) -> None:
    """Push an exported model to the Hub (token: HF_TOKEN or `hf auth login`).

    Example: textmetric push export/faq --repo-id my-org/faq-ja --private
    """
    from rich.table import Table

    from textmetric.hub import push_model

    result = push_model(
        model,
        repo_id,
        private=private,
        revision=revision,
        commit_message=commit_message,
        delete_stale=delete_stale,
        dry_run=dry_run,
    )
    plan = result.plan
    if dry_run:
        settings = Table(title="dry run: nothing was sent", title_justify="left", show_header=False)
        settings.add_column("setting")
        settings.add_column("value")
        for key, value in plan.to_dict().items():
            if key not in ("files", "notes"):
                settings.add_row(
                    key,
                    f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value),
                )
        out.print(settings)
        files = Table(title=f"{len(plan.files)} files", title_justify="left")
        files.add_column("file")
        files.add_column("bytes", justify="right")
        for path, size in plan.files.items():
            files.add_row(path, f"{size:,}")
        out.print(files)
    for note in plan.notes:
        console.print(f"[yellow]note:[/] {note}")
    if not dry_run:
        console.print(
            f"[green]pushed to[/] {result.repo_url or repo_id}"
            + (f" ({result.commit_url})" if result.commit_url else "")
        )
