"""The Typer application and the error boundary shared by every command.

Each command lives in its own module of this package and registers itself on :data:`app`; the
commands are thin: they parse options and call the Python API. A :class:`TextmetricError` raised
anywhere below becomes one red message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from textmetric.errors import TextmetricError

console = Console(stderr=True)
"""Messages, progress and errors (stderr)."""
out = Console()
"""Results: tables and figures a user may pipe or save (stdout)."""


def report_error(error: TextmetricError) -> None:
    """Print a user error as one red line on stderr."""
    console.print(Text.assemble(("error: ", "bold red"), str(error)), highlight=False, soft_wrap=True)


class _Group(TyperGroup):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TextmetricError as err:
            report_error(err)
            raise typer.Exit(code=err.exit_code) from None


app = typer.Typer(
    cls=_Group,
    name="textmetric",
    help="Deep metric learning for Japanese text: train, mine, evaluate, search and export dual encoders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts show "[default: ...]" literally
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
