"""Errors that textmetric reports to users.

Every problem a user can fix (bad input file, wrong option, missing model) is raised as a
:class:`TextmetricError`; the CLI turns it into one clear message and exit code 2, never a
traceback. Internal bugs stay ordinary exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class TextmetricError(Exception):
    """A problem the user can fix; shown as a one-line message, exit code 2."""

    exit_code = 2


class ConfigError(TextmetricError):
    """An option or combination of options that cannot work (e.g. a loss that does not fit the data)."""


class ModelLoadError(TextmetricError):
    """A model id or path that cannot be loaded (offline, missing files, wrong kind of model)."""


class DatasetNotFoundError(TextmetricError):
    """A standard evaluation set that is neither at the given path nor reachable on the Hub."""


class DependencyError(TextmetricError):
    """A package or data file the environment lacks (e.g. the MeCab dictionary); says what to install."""


class OutOfMemory(TextmetricError):
    """Training or encoding ran out of (GPU or host) memory; says which settings to lower."""


class OutputExistsError(TextmetricError):
    """An output that already exists and would be overwritten without ``overwrite=True``."""


class TrainingInterrupted(TextmetricError):
    """Training stopped by Ctrl-C or SIGTERM after saving a checkpoint; ``--resume`` continues it."""

    exit_code = 130


@dataclass
class Location:
    """Where in an input file a problem is: 1-based line, column name, the offending value."""

    path: str | Path | None = None
    line: int | None = None
    column: str | None = None
    value: object = None

    def describe(self) -> str:
        parts = []
        if self.path is not None:
            parts.append(str(self.path))
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)


class InputError(TextmetricError):
    """Bad input data, located precisely: file, line, column, the value and what was expected."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        value: object = None,
        expected: str | None = None,
        kind: str = "invalid",
    ) -> None:
        self.location = Location(path, line, column, value)
        self.reason = message
        self.expected = expected
        self.kind = kind
        super().__init__(self._render())

    @property
    def path(self) -> str | Path | None:
        return self.location.path

    @property
    def line(self) -> int | None:
        return self.location.line

    @property
    def column(self) -> str | None:
        return self.location.column

    def _render(self) -> str:
        where = self.location.describe()
        text = f"{where}: {self.reason}" if where else self.reason
        if self.location.value is not None:
            shown = repr(self.location.value)
            if len(shown) > 80:
                shown = shown[:77] + "..."
            text += f" (got {shown})"
        if self.expected:
            text += f"; expected {self.expected}"
        return text
