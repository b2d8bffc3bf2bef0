"""Command-line interface: ``textmetric COMMAND``.

Every module of this package not starting with ``_`` defines one or more commands on
:data:`textmetric.cli._app.app`; they are discovered here so that adding a command is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil

from textmetric.cli._app import app

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
