"""Streaming a text column out of big CSV / TSV / JSONL / Parquet files, in batches.

:func:`textmetric.data.readers.read_table` holds a whole file in memory, which is right for
training pairs but not for embedding or indexing millions of documents. :func:`iter_text_batches`
reads the same formats a batch at a time (Parquet by record batches, text formats line by line
through an incremental decoder), with the same encoding rules (UTF-8 with or without BOM, else
CP932, or ``encoding``) and the same precise errors (file, line, column, value, expected).
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textmetric.data.readers import ENCODING_ALIASES, _bom_encoding, decode_bytes, detect_format
from textmetric.errors import InputError

SNIFF_BYTES = 1 << 20
_LINES = re.compile(r"[^\n]*\n|[^\n]+")


@dataclass
class TextBatch:
    """Consecutive rows of a file: texts, ids (``None`` when the file has no id column), source lines."""

    texts: list[str]
    ids: list[Any] | None
    lines: list[int]
    id_column: str | None = None


def _decodes(data: bytes, name: str, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder(name)().decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _sniff_encoding(path: Path, encoding: str | None) -> str:
    """The encoding to stream with, decided on the first MiB by the rules of ``decode_bytes``."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        final = not handle.read(1)
    if not head.strip():
        raise InputError("the file is empty", path=path, expected="a header row and at least one data row")
    if encoding:
        name = ENCODING_ALIASES.get(encoding.lower(), encoding)
        try:
            codecs.lookup(name)
        except LookupError:
            raise InputError(
                f"unknown encoding '{encoding}'", path=path, expected="e.g. utf-8, cp932"
            ) from None
        return "utf-8-sig" if name.lower().replace("_", "-") in {"utf-8", "utf8"} else name
    bom = _bom_encoding(head)
    if bom is not None:
        return bom
    for name in ("utf-8-sig", "cp932"):
        if _decodes(head, name, final):
            return name
    decode_bytes(head, path)  # raises the located error
    return "utf-8-sig"


def _text_lines(path: Path, encoding: str | None) -> Iterator[str]:
    """Decoded lines (``\\r\\n`` and lone ``\\r`` read as ``\\n``); a bad byte raises a located InputError.

    Lines are split on the byte ``\\n`` and decoded one by one (``\\n`` is never part of a UTF-8 or
    CP932 multi-byte character), so the error names the exact line.
    """
    name = _sniff_encoding(path, encoding)
    if codecs.lookup(name).name.startswith(("utf-16", "utf-32")):  # "\n" is two or four bytes there
        try:
            with path.open(encoding=name, newline=None) as stream:
                yield from stream
        except UnicodeDecodeError as err:
            raise InputError(
                f"cannot decode the text as {name}: {err.reason}", path=path, expected="a complete file"
            ) from None
        return
    decoder = codecs.getincrementaldecoder(name)()
    with path.open("rb") as raw:
        number = 0
        for number, data in enumerate(raw, start=1):
            try:
                text = decoder.decode(data)
            except UnicodeDecodeError:
                raise InputError(
                    f"cannot decode the text as {name}",
                    path=path,
                    line=number,
                    expected="one encoding for the whole file; pass --encoding",
                ) from None
            if "\r" in text:
                text = text.replace("\r\n", "\n").replace("\r", "\n")
                yield from _LINES.findall(text)
            else:
                yield text
        try:
            tail = decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputError(
                f"the file ends inside a {name} character", path=path, line=number, expected="a complete file"
            ) from None
        if tail:
            yield tail


def _check_text(value: Any, path: Path, line: int, column: str) -> str:
    if not isinstance(value, str):
        raise InputError(
            "missing text" if value is None else "text is not a string",
            path=path,
            line=line,
            column=column,
            value=value,
            expected="a non-empty string",
            kind="empty text" if value is None else "not text",
        )
    if not value.strip():
        raise InputError(
            "empty text",
            path=path,
            line=line,
            column=column,
            expected="a non-empty string",
            kind="empty text",
        )
    return value


def _rows_delimited(
    path: Path, delimiter: str, encoding: str | None, skipped: Counter | None = None
) -> tuple[list[str], Iterator]:
    reader = csv.reader(_text_lines(path, encoding), delimiter=delimiter)
    header: list[str] | None = None
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                header = [cell.strip() for cell in record]
                break
    except csv.Error as err:
        raise InputError(f"malformed header: {err}", path=path, line=reader.line_num) from None
    if header is None:
        raise InputError("the file is empty", path=path, expected="a header row and at least one data row")
    fmt = "TSV" if delimiter == "\t" else "CSV"

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        line = reader.line_num + 1
        try:
            for record in reader:
                start, line = line, reader.line_num + 1
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) != len(header):
                    if skipped is not None:
                        skipped["field-count"] += 1
                        continue
                    raise InputError(
                        f"row has {len(record)} fields but the header has {len(header)}",
                        path=path,
                        line=start,
                        expected=f"{len(header)} fields ({', '.join(header)}); quote delimiters in fields",
                        kind="field-count",
                    )
                yield start, dict(zip(header, record, strict=True))
        except csv.Error as err:
            raise InputError(f"malformed {fmt}: {err}", path=path, line=line) from None

    return header, rows()


def _rows_jsonl(
    path: Path, encoding: str | None, skipped: Counter | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in enumerate(_text_lines(path, encoding), start=1):
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
        if not isinstance(obj, dict):
            if skipped is not None:
                skipped["not an object"] += 1
                continue
            raise InputError(
                f"a JSON {type(obj).__name__} is not an object",
                path=path,
                line=number,
                expected="a JSON object",
            )
        yield number, obj


def iter_text_batches(
    path: str | Path,
    *,
    text_column: str = "text",
    id_column: str | None = None,
    batch_size: int = 4096,
    encoding: str | None = None,
    file_format: str | None = None,
    on_bad_row: str = "error",
    skipped: Counter | None = None,
) -> Iterator[TextBatch]:
    """Yield :class:`TextBatch` es of up to ``batch_size`` rows of ``text_column`` (and ids).

    ``id_column=None`` takes ``id`` when the file has it (for JSON Lines: when the first object
    has it), else no ids. Missing, non-string or empty texts and missing ids raise
    :class:`InputError` with the line; with ``on_bad_row="skip"`` such rows (and broken JSON
    lines, rows with the wrong number of fields) are dropped and counted by kind in ``skipped``.
    """
    if on_bad_row not in ("error", "skip"):
        raise InputError(f"unknown --on-bad-row '{on_bad_row}'", expected="error or skip")
    if skipped is None:
        skipped = Counter()
    collect = skipped if on_bad_row == "skip" else None
    path = Path(path)
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    if not path.exists():
        raise InputError("file not found", path=path)
    if path.is_dir():
        raise InputError("is a folder", path=path, expected="a data file")
    fmt = detect_format(path, file_format)
    if fmt == "parquet":
        yield from _parquet_batches(path, text_column, id_column, batch_size, collect)
        return
    if fmt == "jsonl":
        rows = _rows_jsonl(path, encoding, collect)
        columns: list[str] | None = None
    else:
        columns, rows = _rows_delimited(path, "\t" if fmt == "tsv" else ",", encoding, collect)
    ids_from: str | None = id_column
    texts: list[str] = []
    ids: list[Any] = []
    lines: list[int] = []
    decided = columns is not None
    if columns is not None:
        _require_columns(path, columns, text_column, id_column)
        ids_from = id_column or ("id" if "id" in columns else None)
    seen_rows = 0
    for line, row in rows:
        if not decided:
            ids_from = id_column or ("id" if "id" in row else None)
            decided = True
        try:
            if text_column not in row:
                raise InputError(
                    f"no '{text_column}' field",
                    path=path,
                    line=line,
                    expected=f"a '{text_column}' field (--text-column)",
                    kind="empty text",
                )
            text = _check_text(row[text_column], path, line, text_column)
            value = None
            if ids_from is not None:
                value = row.get(ids_from)
                if value is None or (isinstance(value, str) and not value.strip()):
                    raise InputError(
                        "missing id",
                        path=path,
                        line=line,
                        column=ids_from,
                        expected="an id on every row",
                        kind="empty id",
                    )
        except InputError as err:
            if collect is None:
                raise
            collect[err.kind] += 1
            continue
        texts.append(text)
        if ids_from is not None:
            ids.append(value)
        lines.append(line)
        seen_rows += 1
        if len(texts) >= batch_size:
            yield TextBatch(texts, ids if ids_from else None, lines, ids_from)
            texts, ids, lines = [], [], []
    if texts:
        yield TextBatch(texts, ids if ids_from else None, lines, ids_from)
    elif seen_rows == 0:
        detail = f" ({dict(skipped)} skipped)" if skipped else ""
        raise InputError(f"the file has no data rows{detail}", path=path, expected="at least one data row")


def _require_columns(path: Path, columns: list[str], text_column: str, id_column: str | None) -> None:
    for name, option in ((text_column, "--text-column"), (id_column, "--id-column")):
        if name is not None and name not in columns:
            raise InputError(
                f"no column '{name}'", path=path, expected=f"one of {columns} (choose with {option})"
            )


def _parquet_batches(
    path: Path, text_column: str, id_column: str | None, batch_size: int, skipped: Counter | None = None
) -> Iterator[TextBatch]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises several kinds for a corrupt file
        raise InputError(f"cannot read Parquet: {err}", path=path, expected="a Parquet file") from None
    columns = list(parquet.schema_arrow.names)
    _require_columns(path, columns, text_column, id_column)
    ids_from = id_column or ("id" if "id" in columns else None)
    wanted = [text_column] + ([ids_from] if ids_from and ids_from != text_column else [])
    row = kept = 0
    for record_batch in parquet.iter_batches(batch_size=batch_size, columns=wanted):
        texts_raw = record_batch.column(text_column).to_pylist()
        ids_raw = record_batch.column(ids_from).to_pylist() if ids_from is not None else None
        texts: list[str] = []
        ids: list[Any] | None = [] if ids_from is not None else None
        lines: list[int] = []
        for offset, value in enumerate(texts_raw):
            line = row + 1 + offset
            try:
                text = _check_text(value, path, line, text_column)
                if ids_raw is not None and ids_raw[offset] is None:
                    raise InputError(
                        "missing id",
                        path=path,
                        line=line,
                        column=ids_from,
                        expected="an id on every row",
                        kind="empty id",
                    )
            except InputError as err:
                if skipped is None:
                    raise
                skipped[err.kind] += 1
                continue
            texts.append(text)
            lines.append(line)
            if ids is not None and ids_raw is not None:
                ids.append(ids_raw[offset])
        row += len(texts_raw)
        if texts:
            kept += len(texts)
            yield TextBatch(texts, ids, lines, ids_from)
    if kept == 0:
        raise InputError("the file has no data rows", path=path, expected="at least one data row")


__all__ = ["TextBatch", "iter_text_batches"]
