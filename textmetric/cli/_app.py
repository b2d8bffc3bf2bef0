"""The Typer application and the error boundary shared by every command.

Each command lives in its own module of this package and registers itself on :data:`app`; the
commands are thin: they parse options and call the Python API. A :class:`TextmetricError` raised
anywhere below becomes one red message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

from textmetric.errors import TextmetricError

console = Console(stderr=True)


class UserError(click.ClickException):
    """A :class:`TextmetricError` shown as ``error: message`` with its exit code (2)."""

    def __init__(self, error: TextmetricError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code

    def show(self, file=None) -> None:  # noqa: ARG002 - click's signature
        console.print(f"[bold red]error:[/] {self.format_message()}", highlight=False, soft_wrap=True)


class _Group(TyperGroup):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TextmetricError as err:
            raise UserError(err) from err


app = typer.Typer(
    cls=_Group,
    name="textmetric",
    help="Deep metric learning for Japanese text: train, mine, evaluate, search and export dual encoders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _setup(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show debug logs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors."),
) -> None:
    """Deep metric learning for Japanese text."""
    import logging

    from rich.logging import RichHandler

    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logger = logging.getLogger("textmetric")
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        logger.addHandler(RichHandler(console=console, show_path=False, show_time=False))
    logger.setLevel(level)
    logger.propagate = False
