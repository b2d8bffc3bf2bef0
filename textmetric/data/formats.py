"""Training data formats, recognised by their columns, validated row by row.

===============  =========================================  ===========================================
format           columns                                    meaning
===============  =========================================  ===========================================
``pairs``        anchor, positive                           retrieval-style pairs (in-batch negatives)
``triplets``     anchor, positive, negative                 pairs with one hard negative each
``ntuples``      anchor, positive, negative_1 .. negative_n pairs with n hard negatives each
``scored``       sentence1, sentence2, score                graded similarity, rescaled to 0-1
``binary``       sentence1, sentence2, label (0/1)          similar / dissimilar pairs
``labelled``     text, label                                texts with a class label
===============  =========================================  ===========================================

JGLUE files load as they are: JSTS (``sentence1, sentence2, label`` with 0-5 floats) is read as
``scored``; JNLI (``label`` in entailment / contradiction / neutral) as ``binary`` with entailment
= 1, contradiction = 0 and neutral pairs left out (counted in the summary).

Every problem names file, line, column, value and what was expected. With
``on_bad_row="skip"`` bad rows are dropped and counted by kind instead.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from textmetric.data.readers import Table, read_table
from textmetric.errors import InputError
from textmetric.text.normalize import normalize_text

FORMATS = ("pairs", "triplets", "ntuples", "scored", "binary", "labelled")
OnBadRow = Literal["error", "skip"]
NLI_LABELS = {"entailment": 1, "contradiction": 0, "neutral": None}
BINARY_LABELS = {"0": 0, "1": 1, "false": 0, "true": 1, "0.0": 0, "1.0": 1}
_NEGATIVE_N = re.compile(r"^negative_(\d+)$")


@dataclass
class PairData:
    """A validated training / evaluation file, ready for the sentence-transformers trainer.

    ``columns`` is the column order the trainer sees (it matches columns by position; the
    label column, if any, is last).
    """

    format: str
    path: Path | None
    columns: list[str]
    records: dict[str, list[Any]]
    rows_read: int
    skipped: Counter = field(default_factory=Counter)
    score_range: tuple[float, float] | None = None
    label_names: list[str] | None = None
    encoding: str | None = None
    nfkc: bool = True

    def __len__(self) -> int:
        return len(self.records[self.columns[0]])

    @property
    def text_columns(self) -> list[str]:
        return [c for c in self.columns if c not in ("score", "label")]

    def texts(self) -> list[str]:
        """Every text of the file (all text columns), in order, duplicates kept."""
        return [text for column in self.text_columns for text in self.records[column]]

    def to_dataset(self):
        """A ``datasets.Dataset`` with the columns in trainer order."""
        from datasets import Dataset

        return Dataset.from_dict({column: self.records[column] for column in self.columns})

    def summary(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "path": str(self.path) if self.path else None,
            "format": self.format,
            "rows_read": self.rows_read,
            "rows_used": len(self),
            "skipped": dict(self.skipped),
            "encoding": self.encoding,
            "nfkc": self.nfkc,
        }
        if self.score_range is not None:
            info["score_range"] = list(self.score_range)
        if self.label_names is not None:
            info["num_labels"] = len(self.label_names)
        return info


def _negative_columns(columns: Sequence[str]) -> list[str]:
    numbered = sorted(
        (int(m.group(1)), name) for name in columns if (m := _NEGATIVE_N.match(name)) is not None
    )
    return [name for _, name in numbered]


def detect_pair_format(columns: Sequence[str], sample_labels: Sequence[Any] = ()) -> str:
    """Tell the format from the column names (and, for ``label``, from its values)."""
    cols = set(columns)
    if {"anchor", "positive"} <= cols:
        if _negative_columns(columns):
            return "ntuples"
        return "triplets" if "negative" in cols else "pairs"
    if {"sentence1", "sentence2"} <= cols:
        if "score" in cols:
            return "scored"
        if "label" in cols:
            return _label_kind(sample_labels)
    if {"text", "label"} <= cols:
        return "labelled"
    raise InputError(
        f"cannot recognise the data format from the columns {list(columns)}",
        expected=(
            "anchor,positive[,negative|negative_1..n] or sentence1,sentence2,score or "
            "sentence1,sentence2,label or text,label (use --columns to map other names)"
        ),
    )


def _label_kind(labels: Sequence[Any]) -> str:
    values = {str(v).strip().lower() for v in labels if v is not None and str(v).strip()}
    if values and values <= set(NLI_LABELS):
        return "binary"  # JNLI-style; mapped in _binary_label
    if values and values <= set(BINARY_LABELS):
        return "binary"
    return "scored"


def _text(row: Mapping[str, Any], column: str, where: dict[str, Any], nfkc: bool) -> str:
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise InputError("empty text", column=column, expected="a non-empty text", kind="empty text", **where)
    if not isinstance(value, str):
        raise InputError(
            f"a {type(value).__name__} where text was expected",
            column=column,
            value=value,
            expected="a string",
            kind="not text",
            **where,
        )
    text = normalize_text(value, nfkc=nfkc)
    if not text:
        raise InputError("empty text", column=column, expected="a non-empty text", kind="empty text", **where)
    return text


def parse_number(value: Any) -> float:
    """Parse a number written by a person: full-width digits and spaces are accepted (``"４．５"``)."""
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        raise ValueError(type(value).__name__)
    cleaned = unicodedata.normalize("NFKC", value).strip().replace(" ", "")
    return float(cleaned)


def _score(row: Mapping[str, Any], column: str, where: dict[str, Any]) -> float:
    value = row.get(column)
    try:
        number = parse_number(value)
    except (TypeError, ValueError):
        raise InputError(
            "not a number", column=column, value=value, expected="a numeric score", kind="bad score", **where
        ) from None
    if not math.isfinite(number):
        raise InputError(
            "score is not finite",
            column=column,
            value=value,
            expected="a finite number",
            kind="bad score",
            **where,
        )
    return number


def _binary_label(row: Mapping[str, Any], where: dict[str, Any]) -> int | None:
    value = row.get("label")
    key = unicodedata.normalize("NFKC", str(value)).strip().lower() if value is not None else ""
    if key in NLI_LABELS:
        return NLI_LABELS[key]
    if key in BINARY_LABELS:
        return BINARY_LABELS[key]
    raise InputError(
        "unknown label value",
        column="label",
        value=value,
        expected="0 or 1 (or entailment / contradiction / neutral)",
        kind="bad label",
        **where,
    )


def _class_label(row: Mapping[str, Any], where: dict[str, Any]) -> str:
    value = row.get("label")
    if value is None or not str(value).strip() or (isinstance(value, float) and math.isnan(value)):
        raise InputError("empty label", column="label", expected="a class label", kind="empty label", **where)
    return unicodedata.normalize("NFKC", str(value)).strip()


def validate_table(
    table: Table,
    *,
    data_format: str | None = None,
    nfkc: bool = True,
    on_bad_row: OnBadRow = "error",
    score_range: tuple[float, float] | None = None,
) -> PairData:
    """Check every row of ``table`` against its format and build a :class:`PairData`."""
    if on_bad_row not in ("error", "skip"):
        raise InputError(f"unknown on_bad_row '{on_bad_row}'", expected="error or skip")
    columns = table.columns
    sample_labels = [row.get("label") for row in table.rows[:2000]] if "label" in columns else []
    try:
        fmt = data_format or detect_pair_format(columns, sample_labels)
    except InputError as err:
        raise InputError(err.reason, path=table.path, line=1, expected=err.expected) from None
    if fmt not in FORMATS:
        raise InputError(f"unknown data format '{fmt}'", expected=f"one of {', '.join(FORMATS)}")
    # JSTS keeps its 0-5 similarity in a column named "label".
    score_column = "label" if fmt == "scored" and "score" not in columns and "label" in columns else "score"
    wanted = {
        "pairs": ["anchor", "positive"],
        "triplets": ["anchor", "positive", "negative"],
        "ntuples": ["anchor", "positive", *_negative_columns(columns)],
        "scored": ["sentence1", "sentence2", score_column],
        "binary": ["sentence1", "sentence2", "label"],
        "labelled": ["text", "label"],
    }[fmt]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise InputError(
            f"missing column(s) {missing} for the '{fmt}' format",
            path=table.path,
            line=1,
            expected=f"columns {wanted} (found {columns}; use --columns to map names)",
        )
    text_columns = [c for c in wanted if c not in ("score", "label") and c != score_column]
    out_columns = [
        *text_columns,
        *(["score"] if fmt == "scored" else []),
        *(["label"] if fmt in ("binary", "labelled") else []),
    ]
    records: dict[str, list[Any]] = {c: [] for c in out_columns}
    skipped: Counter = Counter(table.skipped)  # rows the reader could not parse (on_bad_row="skip")
    for row, line in zip(table.rows, table.lines, strict=True):
        where = {"path": table.path, "line": line}
        try:
            texts = [_text(row, c, where, nfkc) for c in text_columns]
            extra: dict[str, Any] = {}
            if fmt == "scored":
                extra["score"] = _score(row, score_column, where)
            elif fmt == "binary":
                label = _binary_label(row, where)
                if label is None:
                    skipped["neutral (NLI)"] += 1
                    continue
                extra["label"] = label
            elif fmt == "labelled":
                extra["label"] = _class_label(row, where)
        except InputError as err:
            if on_bad_row == "error":
                raise
            skipped[err.kind] += 1
            continue
        for column, text in zip(text_columns, texts, strict=True):
            records[column].append(text)
        for column, value in extra.items():
            records[column].append(value)
    if not records[out_columns[0]]:
        detail = f" ({dict(skipped)} skipped)" if skipped else ""
        raise InputError(f"no usable rows{detail}", path=table.path, expected="at least one valid row")

    data = PairData(
        format=fmt,
        path=table.path,
        columns=out_columns,
        records=records,
        rows_read=len(table.rows) + sum(table.skipped.values()),
        skipped=skipped,
        encoding=table.encoding,
        nfkc=nfkc,
    )
    if fmt == "scored":
        data.score_range = _rescale(records["score"], score_range)
    if fmt == "labelled":
        names = sorted(set(records["label"]))
        if len(names) < 2:
            raise InputError(
                f"only one class label ({names[0]!r}) in the file",
                path=table.path,
                column="label",
                expected="at least two different labels",
            )
        index = {name: i for i, name in enumerate(names)}
        records["label"] = [index[name] for name in records["label"]]
        data.label_names = names
    return data


def _rescale(scores: list[float], score_range: tuple[float, float] | None) -> tuple[float, float]:
    """Rescale scores in place to 0-1 from ``score_range`` (default: the observed range)."""
    low, high = score_range if score_range is not None else (min(scores), max(scores))
    if high <= low:
        raise InputError(
            f"all scores are equal ({low}); a graded file needs different scores",
            expected="a range of scores",
        )
    for i, score in enumerate(scores):
        scores[i] = min(1.0, max(0.0, (score - low) / (high - low)))
    return (low, high)


def load_pairs(
    path: str | Path,
    *,
    data_format: str | None = None,
    columns: str | Mapping[str, str] | None = None,
    encoding: str | None = None,
    nfkc: bool = True,
    on_bad_row: OnBadRow = "error",
    score_range: tuple[float, float] | None = None,
) -> PairData:
    """Read and validate a training or evaluation file (CSV, TSV, JSONL, Parquet)."""
    table = read_table(path, encoding=encoding, columns=columns, on_bad_row=on_bad_row)
    return validate_table(
        table, data_format=data_format, nfkc=nfkc, on_bad_row=on_bad_row, score_range=score_range
    )
