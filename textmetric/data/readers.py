"""Reading tabular text files: CSV, TSV, JSON Lines and Parquet.

Users feed textmetric their own exports: Excel CSVs in CP932, JSON lines with a broken line,
BOMs, mixed line endings. :func:`read_table` returns every row with the line it came from so that
later validation can point at ``file, line, column``; any problem it cannot get past raises an
:class:`~textmetric.errors.InputError` saying exactly where and what was expected.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textmetric.errors import InputError

SUPPORTED_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}
ENCODING_ALIASES = {"sjis": "cp932", "shift_jis": "cp932", "shift-jis": "cp932", "utf8": "utf-8"}


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


def detect_format(path: Path, file_format: str | None = None) -> str:
    if file_format:
        fmt = file_format.lower().lstrip(".")
        if fmt not in set(SUPPORTED_SUFFIXES.values()):
            raise InputError(
                f"unknown file format '{file_format}'", path=path, expected="one of csv, tsv, jsonl, parquet"
            )
        return fmt
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"cannot tell the file format from the extension '{suffix or '(none)'}'",
            path=path,
            expected="a .csv, .tsv, .jsonl or .parquet file (or pass --format)",
        )
    return SUPPORTED_SUFFIXES[suffix]


def _line_of_byte(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _bom_encoding(data: bytes) -> str | None:
    """``utf-16`` / ``utf-32`` when ``data`` starts with their byte-order mark (Excel's "Unicode text")."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def decode_bytes(data: bytes, path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Decode file bytes: UTF-8 (with or without BOM), else CP932 / Shift_JIS, or as given.

    Returns ``(text, encoding_used)``. Undecodable bytes raise an error naming the line.
    """
    if encoding:
        name = ENCODING_ALIASES.get(encoding.lower(), encoding)
        try:
            codecs.lookup(name)
        except LookupError:
            raise InputError(
                f"unknown encoding '{encoding}'", path=path, expected="e.g. utf-8, cp932"
            ) from None
        if name.lower().replace("_", "-") in {"utf-8", "utf8"}:
            name = "utf-8-sig"
        try:
            return data.decode(name), name
        except UnicodeDecodeError as err:
            raise InputError(
                f"cannot decode byte {err.start} as {encoding}",
                path=path,
                line=_line_of_byte(data, err.start),
                expected="a file in the given --encoding",
            ) from None
    bom = _bom_encoding(data)
    if bom is not None:
        try:
            return data.decode(bom), bom
        except UnicodeDecodeError as err:
            raise InputError(
                f"cannot decode byte {err.start} as {bom} (the file starts with a {bom} byte-order mark)",
                path=path,
                expected=f"a complete {bom} file; pass --encoding for another encoding",
            ) from None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("cp932"), "cp932"
        except UnicodeDecodeError:
            raise InputError(
                "the file is neither UTF-8 nor CP932 / Shift_JIS "
                f"(first bad UTF-8 byte at offset {utf8_error.start})",
                path=path,
                line=_line_of_byte(data, utf8_error.start),
                expected="UTF-8, UTF-8 with BOM or CP932 text; pass --encoding for another encoding",
            ) from None


def _iter_delimited(text: str, path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    # Normalise lone CR (old Mac) and CRLF line endings; quoted newlines survive as \n.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for record in reader:
            start = line
            line = reader.line_num + 1
            yield start, record
    except csv.Error as err:
        raise InputError(
            f"malformed {'TSV' if delimiter == chr(9) else 'CSV'}: {err}", path=path, line=line
        ) from None


def _read_delimited(
    text: str, path: Path, delimiter: str, skipped: Counter | None = None
) -> tuple[list[str], list[dict[str, Any]], list[int]]:
    records = _iter_delimited(text, path, delimiter)
    header: list[str] | None = None
    for _line, record in records:
        if any(cell.strip() for cell in record):
            header = [cell.strip() for cell in record]
            break
    if header is None:
        raise InputError("the file is empty", path=path, expected="a header row and at least one data row")
    if "" in header:
        raise InputError(
            f"column {header.index('') + 1} of the header has no name",
            path=path,
            line=1,
            expected="named columns",
        )
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise InputError(f"duplicate column names {duplicates} in the header", path=path, line=1)
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for line, record in records:
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            if skipped is not None:
                skipped["field-count"] += 1
                continue
            raise InputError(
                f"row has {len(record)} fields but the header has {len(header)}",
                path=path,
                line=line,
                expected=f"{len(header)} fields ({', '.join(header)}); quote fields containing the delimiter",
                kind="field-count",
            )
        rows.append(dict(zip(header, record, strict=True)))
        lines.append(line)
    return header, rows, lines


def _read_jsonl(
    text: str, path: Path, skipped: Counter | None = None
) -> tuple[list[str], list[dict[str, Any]], list[int]]:
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    columns: dict[str, None] = {}
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as err:
            if skipped is not None:
                skipped["json"] += 1
                continue
            raise InputError(
                f"not valid JSON at character {err.colno}: {err.msg}",
                path=path,
                line=number,
                expected="one JSON object per line",
                kind="json",
            ) from None
        if not isinstance(obj, Mapping):
            if skipped is not None:
                skipped["not an object"] += 1
                continue
            raise InputError(
                f"a JSON {type(obj).__name__} is not an object",
                path=path,
                line=number,
                expected="a JSON object",
            )
        for key in obj:
            columns.setdefault(key, None)
        rows.append(dict(obj))
        lines.append(number)
    return list(columns), rows, lines


def _read_parquet(path: Path) -> tuple[list[str], list[dict[str, Any]], list[int]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several kinds for a corrupt file
        raise InputError(f"cannot read Parquet: {err}", path=path, expected="a Parquet file") from None
    rows = table.to_pylist()
    return list(table.column_names), rows, list(range(1, len(rows) + 1))


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
    collect = skipped if on_bad_row == "skip" else None
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    if path.is_dir():
        raise InputError("is a folder", path=path, expected="a data file")
    fmt = detect_format(path, file_format)
    used_encoding: str | None = None
    if fmt == "parquet":
        header, rows, lines = _read_parquet(path)
    else:
        data = path.read_bytes()
        if not data.strip():
            raise InputError("the file is empty", path=path, expected="at least one data row")
        text, used_encoding = decode_bytes(data, path, encoding)
        if fmt == "jsonl":
            header, rows, lines = _read_jsonl(text, path, collect)
        else:
            header, rows, lines = _read_delimited(text, path, "\t" if fmt == "tsv" else ",", collect)
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
        encoding=used_encoding,
        file_format=fmt,
        skipped=skipped,
    )
