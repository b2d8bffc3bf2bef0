"""Reading a whole tabular file (CSV, TSV, JSON Lines, Parquet) into a :class:`Table`.

Training pairs fit in memory and are validated as a whole, so :func:`read_table` collects every
row with the line it came from, so that later validation can point at ``file, line, column``.
The rows come from :func:`textmetric.data.stream.stream_rows`, the one row reader (encodings,
line endings, TSV quoting, located errors, ``on_bad_row`` skipping); this module adds the header
rules of a table (named, distinct columns) and ``--columns`` renaming.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textmetric.data.stream import (
    ENCODING_ALIASES,
    SUPPORTED_SUFFIXES,
    decode_bytes,
    detect_format,
    stream_rows,
)
from textmetric.errors import InputError


@dataclass
class Table:
    """Rows of one input file, each with the 1-based line (or Parquet row) it starts on."""

    path: Path
    columns: list[str]
    rows: list[dict[str, Any]]
    lines: list[int]
    encoding: str | None = None
    file_format: str = "csv"
    notes: list[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    """Rows dropped while reading (``on_bad_row="skip"``), by kind: ``json``, ``field-count``..."""

    def __len__(self) -> int:
        return len(self.rows)


def parse_column_map(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """Parse ``"question=anchor,answer=positive"`` (file column = textmetric column)."""
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return dict(spec)
    mapping: dict[str, str] = {}
    for item in spec.split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise InputError(
                f"bad --columns item '{item}'",
                expected="FILE_COLUMN=NAME pairs, e.g. question=anchor,answer=positive",
            )
        source, target = (part.strip() for part in item.split("=", 1))
        mapping[source] = target
    return mapping


def _check_header(header: list[str], path: Path, line: int | None) -> None:
    """A table's columns become row keys: each must have a name, and no name may repeat."""
    if "" in header:
        raise InputError(
            f"column {header.index('') + 1} of the header has no name",
            path=path,
            line=line,
            expected="named columns",
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(f"duplicate column names {repeated} in the header", path=path, line=line)


def read_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    columns: str | Mapping[str, str] | None = None,
    file_format: str | None = None,
    on_bad_row: str = "error",
) -> Table:
    """Read a CSV / TSV / JSONL / Parquet file into a :class:`Table`.

    ``columns`` renames file columns (``{"question": "anchor"}``); ``encoding`` forces a text
    encoding (default: UTF-8 with or without BOM, UTF-16 / UTF-32 with BOM, else CP932).
    ``on_bad_row="skip"`` drops rows that cannot be read at all (a broken JSON line, a CSV row
    with the wrong number of fields) and counts them in ``Table.skipped`` instead of raising.
    """
    if on_bad_row not in ("error", "skip"):
        raise InputError(f"unknown --on-bad-row '{on_bad_row}'", expected="error or skip")
    skipped: Counter = Counter()
    stream = stream_rows(
        path, encoding=encoding, file_format=file_format, skipped=skipped if on_bad_row == "skip" else None
    )
    path = stream.path
    if stream.columns is not None and stream.file_format != "parquet":
        _check_header(stream.columns, path, stream.header_line)
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for line, row in stream:
        rows.append(row)
        lines.append(line)
    # JSON Lines: every key of any object, in order of first appearance.
    header = stream.columns if stream.columns is not None else list(dict.fromkeys(k for r in rows for k in r))
    if not rows:
        detail = f" ({dict(skipped)} skipped)" if skipped else ""
        raise InputError(f"the file has no data rows{detail}", path=path, expected="at least one data row")
    mapping = parse_column_map(columns)
    missing = [name for name in mapping if name not in header]
    if missing:
        raise InputError(
            f"--columns names {missing} which the file does not have", path=path, expected=f"one of {header}"
        )
    if mapping:
        header = [mapping.get(name, name) for name in header]
        rows = [{mapping.get(k, k): v for k, v in row.items()} for row in rows]
    return Table(
        path=path,
        columns=header,
        rows=rows,
        lines=lines,
        encoding=stream.encoding,
        file_format=stream.file_format,
        skipped=skipped,
    )


__all__ = [
    "ENCODING_ALIASES",
    "SUPPORTED_SUFFIXES",
    "Table",
    "decode_bytes",
    "detect_format",
    "parse_column_map",
    "read_table",
]
