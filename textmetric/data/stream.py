"""The one row reader of textmetric: CSV / TSV / JSON Lines / Parquet rows, streamed.

Users feed textmetric their own exports: Excel CSVs in CP932, JSON lines with a broken line,
BOMs, mixed line endings, TSV with a quote in a sentence. :func:`stream_rows` reads any of them
row by row (Parquet by record batches, text formats line by line through an incremental
decoder), so that memory stays flat on files of millions of documents, and it is the only place
that parses rows: :func:`textmetric.data.readers.read_table` collects its rows for training
pairs, :func:`iter_text_batches` takes a text column a batch at a time for embedding and indexing.

Every row comes with the 1-based line (Parquet: row) it starts on, and every problem it cannot
get past raises an :class:`~textmetric.errors.InputError` naming the file, line, column and what
was expected. Encodings: UTF-8 with or without BOM, UTF-16 / UTF-32 with BOM, else CP932 /
Shift_JIS, or ``encoding``; the choice is made on the first MiB (and a file whose first MiB is
plain ASCII may still turn out to be CP932). TSV quotes are text unless the file is clearly
CSV-quoted (see :func:`tsv_quoting`).
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
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
SNIFF_BYTES = 1 << 20
"""How much of a file decides its encoding (bytes) and whether a TSV is quoted (characters)."""

_LINES = re.compile(r"[^\n]*\n|[^\n]+")
# A well-formed CSV-quoted TSV field: opens at a field start, closes before a tab or line end.
_QUOTED_FIELD = re.compile(r'(?:^|(?<=[\t\n]))"((?:[^"]|"")*)"(?=[\t\n]|$)')

Row = tuple[int, dict[str, Any]]


def detect_format(path: Path, file_format: str | None = None) -> str:
    """``csv``, ``tsv``, ``jsonl`` or ``parquet``: ``file_format`` if given, else from the extension."""
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


# ------------------------------------------------------------------------------------ encodings


def _line_of_byte(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _bom_encoding(data: bytes) -> str | None:
    """``utf-16`` / ``utf-32`` when ``data`` starts with their byte-order mark (Excel's "Unicode text")."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _given_encoding(encoding: str, path: Path) -> str:
    """The codec for ``--encoding`` (``sjis`` is CP932; UTF-8 drops a BOM); unknown ones are an error."""
    name = ENCODING_ALIASES.get(encoding.lower(), encoding)
    try:
        codecs.lookup(name)
    except LookupError:
        raise InputError(f"unknown encoding '{encoding}'", path=path, expected="e.g. utf-8, cp932") from None
    return "utf-8-sig" if name.lower().replace("_", "-") in {"utf-8", "utf8"} else name


def decode_bytes(data: bytes, path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Decode file bytes: UTF-8 (with or without BOM), UTF-16 / UTF-32 by BOM, else CP932, or as given.

    Returns ``(text, encoding_used)``. Undecodable bytes raise an error naming the line (with a
    UTF-16 / UTF-32 BOM, the byte: a line cannot be told from bytes there).
    """
    bom = None if encoding else _bom_encoding(data)
    if encoding:
        name = _given_encoding(encoding, path)
        tries, problem = [(name, name)], f"cannot decode byte {{start}} as {encoding}"
        expected = "a file in the given --encoding"
    elif bom is not None:
        tries = [(bom, bom)]
        problem = f"cannot decode byte {{start}} as {bom} (the file starts with a {bom} byte-order mark)"
        expected = f"a complete {bom} file; pass --encoding for another encoding"
    else:
        tries = [("utf-8-sig", "utf-8"), ("cp932", "cp932")]
        problem = "the file is neither UTF-8 nor CP932 / Shift_JIS (first bad UTF-8 byte at offset {start})"
        expected = "UTF-8, UTF-8 with BOM or CP932 text; pass --encoding for another encoding"
    errors: list[UnicodeDecodeError] = []
    for codec, used in tries:
        try:
            return data.decode(codec), used
        except UnicodeDecodeError as err:
            errors.append(err)
    start = errors[0].start
    raise InputError(
        problem.replace("{start}", str(start)),
        path=path,
        line=None if bom is not None else _line_of_byte(data, start),
        expected=expected,
    )


def _decodes(data: bytes, name: str, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder(name)().decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _sniff_encoding(path: Path, encoding: str | None) -> tuple[str, str, bool]:
    """``(codec, name to report, undecided)`` for streaming, decided on the first MiB as
    :func:`decode_bytes` decides on the whole file; ``undecided``: plain ASCII so far, which
    reads the same as UTF-8 and as CP932, so the first non-ASCII line still chooses."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        final = not handle.read(1)
    if not head.strip():
        raise InputError("the file is empty", path=path, expected="at least one data row")
    if encoding:
        name = _given_encoding(encoding, path)
        return name, name, False
    bom = _bom_encoding(head)
    if bom is not None:
        return bom, bom, False
    if _decodes(head, "utf-8-sig", final):
        return "utf-8-sig", "utf-8", not final and head.isascii()
    if _decodes(head, "cp932", final):
        return "cp932", "cp932", False
    decode_bytes(head, path)  # raises the located error
    raise AssertionError("unreachable: decode_bytes accepts what neither codec decodes")


class _TextLines:
    """A file's decoded lines (``\\r\\n`` and lone ``\\r`` read as ``\\n``); ``encoding`` is the one used.

    Lines are split on the byte ``\\n`` and decoded one by one (``\\n`` is never part of a UTF-8 or
    CP932 multi-byte character), so a bad byte raises an InputError naming its exact line.
    """

    def __init__(self, path: Path, encoding: str | None) -> None:
        self.path = path
        self.codec, self.encoding, self._undecided = _sniff_encoding(path, encoding)

    def __iter__(self) -> Iterator[str]:
        if codecs.lookup(self.codec).name.startswith(("utf-16", "utf-32")):  # "\n" is 2 or 4 bytes there
            yield from self._wide_lines()
            return
        decoder = codecs.getincrementaldecoder(self.codec)()
        with self.path.open("rb") as raw:
            number = 0
            for number, data in enumerate(raw, start=1):
                if self._undecided and not data.isascii():
                    decoder = self._decide(data, number, decoder)
                try:
                    text = decoder.decode(data)
                except UnicodeDecodeError:
                    raise InputError(
                        f"cannot decode the text as {self.codec}",
                        path=self.path,
                        line=number,
                        expected="one encoding for the whole file; pass --encoding",
                    ) from None
                if "\r" in text:
                    yield from _LINES.findall(text.replace("\r\n", "\n").replace("\r", "\n"))
                else:
                    yield text
            try:
                tail = decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise InputError(
                    f"the file ends inside a {self.codec} character",
                    path=self.path,
                    line=number,
                    expected="a complete file",
                ) from None
            if tail:
                yield tail

    def _decide(self, line: bytes, number: int, decoder: codecs.IncrementalDecoder) -> Any:
        """The first non-ASCII line of a file that was ASCII so far: UTF-8 if it reads so, else CP932."""
        self._undecided = False
        if _decodes(line, "utf-8", final=False) or not _decodes(line, "cp932", final=False):
            return decoder
        self.codec = self.encoding = "cp932"
        return codecs.getincrementaldecoder("cp932")()

    def _wide_lines(self) -> Iterator[str]:
        try:
            with self.path.open(encoding=self.codec, newline=None) as stream:
                yield from stream
        except UnicodeDecodeError as err:
            raise InputError(
                f"cannot decode the text as {self.codec}: {err.reason}",
                path=self.path,
                expected="a complete file",
            ) from None


# ------------------------------------------------------------------------------------ rows


def _bad_row(error: InputError, skipped: Counter | None) -> None:
    """``--on-bad-row``: count a row that cannot be used by kind in ``skipped`` (skip), or raise."""
    if skipped is None:
        raise error from None  # the decoder's own exception says nothing more
    skipped[error.kind] += 1


def tsv_quoting(sample: Sequence[str], *, complete: bool = True) -> int:
    """``csv.QUOTE_MINIMAL`` when a TSV's first lines are clearly CSV-quoted, else ``csv.QUOTE_NONE``.

    Database dumps and hand-made TSV hold quotes as text (a Japanese sentence starting with
    ``"引用``), and reading those as Excel quoting swallows the following lines into one field.
    Excel and pandas quote a TSV field only when it holds a tab, a line break or a quote, so a file
    counts as quoted only with such evidence (a quoted header, or a well-formed quoted field holding
    a tab, a line break or a doubled quote) and when quoting reads ``sample`` into rows of one
    width. A "field" holding both tabs and line breaks is what a text starting with ``"`` and a
    later one ending with ``"`` look like, so it means quotes are text. ``complete``: ``sample``
    is the whole file (else its last row may be cut short).
    """
    text = "".join(sample)
    if not text.startswith('"') and '\t"' not in text and '\n"' not in text:
        return csv.QUOTE_NONE
    if not text.startswith('"'):  # a quoted header is a quote-everything writer: evidence enough
        fields = _QUOTED_FIELD.findall(text)
        if any("\t" in field and "\n" in field for field in fields):
            return csv.QUOTE_NONE
        if not any("\t" in field or "\n" in field or '""' in field for field in fields):
            return csv.QUOTE_NONE
    reader = csv.reader(iter(sample), delimiter="\t", strict=True)
    widths: list[int] = []
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                widths.append(len(record))
        if not complete and widths:
            widths.pop()  # the last row may be cut short by the sample's end
    except csv.Error:
        if complete or reader.line_num < len(sample):
            return csv.QUOTE_NONE
    return csv.QUOTE_MINIMAL if len(set(widths)) == 1 else csv.QUOTE_NONE


def _sample(lines: Iterator[str], limit: int = SNIFF_BYTES) -> tuple[list[str], bool]:
    """The first lines of ``lines`` up to ``limit`` characters, and whether that is all of them."""
    sample: list[str] = []
    size = 0
    for line in lines:
        sample.append(line)
        size += len(line)
        if size >= limit:
            return sample, False
    return sample, True


def _delimited(
    lines: Iterable[str], path: Path, delimiter: str, skipped: Counter | None
) -> tuple[list[str], int, Iterator[Row]]:
    """``(header, header line, rows)`` of a CSV / TSV; rows of blank cells only are blank lines."""
    fmt = "TSV" if delimiter == "\t" else "CSV"
    source = iter(lines)
    quoting = csv.QUOTE_MINIMAL
    if delimiter == "\t":
        sample, complete = _sample(source)
        quoting = tsv_quoting(sample, complete=complete)
        source = itertools.chain(sample, source)
    reader = csv.reader(source, delimiter=delimiter, quoting=quoting)
    header: list[str] | None = None
    header_line = 1
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                header = [cell.strip() for cell in record]
                break
            header_line = reader.line_num + 1
    except csv.Error as err:
        raise InputError(f"malformed {fmt} header: {err}", path=path, line=header_line) from None
    if header is None:
        raise InputError("the file is empty", path=path, expected="a header row and at least one data row")
    width = len(header)
    expected = f"{width} fields ({', '.join(header)}); quote fields containing the delimiter"

    def rows() -> Iterator[Row]:
        line = reader.line_num + 1
        try:
            for record in reader:
                start, line = line, reader.line_num + 1
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) != width:
                    _bad_row(
                        InputError(
                            f"row has {len(record)} fields but the header has {width}",
                            path=path,
                            line=start,
                            expected=expected,
                            kind="field-count",
                        ),
                        skipped,
                    )
                    continue
                yield start, dict(zip(header, record, strict=True))
        except csv.Error as err:
            raise InputError(f"malformed {fmt}: {err}", path=path, line=line) from None

    return header, header_line, rows()


def _jsonl(lines: Iterable[str], path: Path, skipped: Counter | None) -> Iterator[Row]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as err:
            problem = f"not valid JSON at character {err.colno}: {err.msg}"
            _bad_row(
                InputError(problem, path=path, line=number, expected="one JSON object per line", kind="json"),
                skipped,
            )
            continue
        if not isinstance(obj, dict):
            problem = f"a JSON {type(obj).__name__} is not an object"
            _bad_row(
                InputError(problem, path=path, line=number, expected="a JSON object", kind="not an object"),
                skipped,
            )
            continue
        yield number, obj


def _parquet(stream: RowStream, parquet: Any, batch_size: int) -> Iterator[Row]:
    """Rows by record batches, of the columns ``stream.only`` names (read when iteration starts)."""
    row = 0
    batches = parquet.iter_batches(batch_size=batch_size, columns=stream.only)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as err:  # pyarrow raises several kinds for a corrupt page
            raise InputError(
                f"cannot read Parquet: {err}", path=stream.path, line=row + 1, expected="a Parquet file"
            ) from None
        for values in batch.to_pylist():
            row += 1
            yield row, values


class RowStream:
    """One file's rows, read as they are iterated: ``for line, row in stream``.

    ``columns`` is known before any row is read: the CSV / TSV header or the Parquet schema
    (``None`` for JSON Lines, whose objects may differ in keys). ``encoding`` is the text encoding
    in use (``None`` for Parquet; read it after the rows to know the final choice). Set ``only`` to
    read just those columns of a Parquet file (a wide file stays cheap); other formats ignore it.
    """

    def __init__(
        self,
        path: Path,
        file_format: str,
        columns: list[str] | None = None,
        header_line: int | None = None,
    ) -> None:
        self.path = path
        self.file_format = file_format
        self.columns = columns
        self.header_line = header_line
        self.only: list[str] | None = None
        self._lines: _TextLines | None = None
        self._rows: Iterator[Row] = iter(())

    @property
    def encoding(self) -> str | None:
        return self._lines.encoding if self._lines is not None else None

    def __iter__(self) -> Iterator[Row]:
        return self._rows


def stream_rows(
    path: str | Path,
    *,
    encoding: str | None = None,
    file_format: str | None = None,
    skipped: Counter | None = None,
    batch_size: int = 4096,
) -> RowStream:
    """Open a CSV / TSV / JSONL / Parquet file for reading row by row (see :class:`RowStream`).

    The CSV / TSV header is read (and checked) here; rows are parsed as they are iterated.
    With ``skipped``, rows that cannot be read at all (a broken JSON line, a CSV row with the
    wrong number of fields) are counted in it by kind instead of raising. ``batch_size``: Parquet
    rows read at a time.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    if path.is_dir():
        raise InputError("is a folder", path=path, expected="a data file")
    fmt = detect_format(path, file_format)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
        except Exception as err:  # pyarrow raises several kinds for a corrupt file
            raise InputError(f"cannot read Parquet: {err}", path=path, expected="a Parquet file") from None
        stream = RowStream(path, fmt, list(parquet.schema_arrow.names))
        stream._rows = _parquet(stream, parquet, batch_size)
        return stream
    lines = _TextLines(path, encoding)
    if fmt == "jsonl":
        stream = RowStream(path, fmt)
        stream._rows = _jsonl(lines, path, skipped)
    else:
        header, header_line, rows = _delimited(lines, path, "\t" if fmt == "tsv" else ",", skipped)
        stream = RowStream(path, fmt, header, header_line)
        stream._rows = rows
    stream._lines = lines
    return stream


# ------------------------------------------------------------------------------------ text batches


@dataclass
class TextBatch:
    """Consecutive rows of a file: texts, ids (``None`` when the file has no id column), source lines."""

    texts: list[str]
    ids: list[Any] | None
    lines: list[int]
    id_column: str | None = None


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


def _text_and_id(
    row: dict[str, Any], path: Path, line: int, text_column: str, id_column: str | None
) -> tuple[str, Any]:
    """The row's text and id (``None`` without an id column), checked; InputError says what is wrong."""
    if text_column not in row:
        raise InputError(
            f"no '{text_column}' field",
            path=path,
            line=line,
            expected=f"a '{text_column}' field (--text-column)",
            kind="empty text",
        )
    text = _check_text(row[text_column], path, line, text_column)
    if id_column is None:
        return text, None
    value = row.get(id_column)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(
            "missing id",
            path=path,
            line=line,
            column=id_column,
            expected="an id on every row",
            kind="empty id",
        )
    return text, value


def _require_columns(path: Path, columns: list[str], text_column: str, id_column: str | None) -> None:
    for name, option in ((text_column, "--text-column"), (id_column, "--id-column")):
        if name is not None and name not in columns:
            raise InputError(
                f"no column '{name}'", path=path, expected=f"one of {columns} (choose with {option})"
            )


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
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    if skipped is None:
        skipped = Counter()
    collect = skipped if on_bad_row == "skip" else None
    stream = stream_rows(
        path, encoding=encoding, file_format=file_format, skipped=collect, batch_size=batch_size
    )
    ids_from = id_column
    if stream.columns is not None:
        _require_columns(stream.path, stream.columns, text_column, id_column)
        ids_from = id_column or ("id" if "id" in stream.columns else None)
        stream.only = list(dict.fromkeys([text_column, *([ids_from] if ids_from else [])]))
    decided = stream.columns is not None
    texts: list[str] = []
    ids: list[Any] = []
    lines: list[int] = []
    kept = 0
    for line, row in stream:
        if not decided:
            ids_from = id_column or ("id" if "id" in row else None)
            decided = True
        try:
            text, value = _text_and_id(row, stream.path, line, text_column, ids_from)
        except InputError as err:
            _bad_row(err, collect)
            continue
        texts.append(text)
        ids.append(value)
        lines.append(line)
        kept += 1
        if len(texts) >= batch_size:
            yield TextBatch(texts, ids if ids_from else None, lines, ids_from)
            texts, ids, lines = [], [], []
    if texts:
        yield TextBatch(texts, ids if ids_from else None, lines, ids_from)
    if kept == 0:
        detail = f" ({dict(skipped)} skipped)" if skipped else ""
        raise InputError(
            f"the file has no data rows{detail}", path=stream.path, expected="at least one data row"
        )


__all__ = [
    "ENCODING_ALIASES",
    "SUPPORTED_SUFFIXES",
    "RowStream",
    "TextBatch",
    "decode_bytes",
    "detect_format",
    "iter_text_batches",
    "stream_rows",
    "tsv_quoting",
]
