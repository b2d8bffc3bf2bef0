"""Documents and links to mine from: read, validate, and index for false-negative checks.

A documents file (CSV / TSV / JSONL / Parquet, or a SQuAD-layout JSON such as JSQuAD's) has
``id`` and ``text`` columns and optionally ``title``, ``label`` (a category) and ``group`` (e.g. the
company that posted a job, the author of an article). A links file has ``source_id`` and
``target_id`` (applications, clicks, "see also"). Everything mining needs later is kept as numpy
arrays (label / group codes, sorted link keys) so that the false-negative checks over millions of
candidates are vectorised.

Problems that would make the output wrong raise :class:`~textmetric.errors.InputError` naming file,
line, column and value: duplicate ids, missing text, a link to an unknown id, a label column with
a single class. With ``on_bad_row="skip"`` bad rows and bad links are dropped, counted in
``skipped`` and logged as a warning instead.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textmetric.data.readers import read_table
from textmetric.errors import InputError
from textmetric.text.normalize import normalize_text

logger = logging.getLogger("textmetric")

DOCUMENT_COLUMNS = ("id", "text", "title", "label", "group")
LINK_COLUMNS = ("source_id", "target_id")
_DOCS_EXPECTED = (
    "columns id, text and optionally title, label, group (use --columns to map names, e.g. body=text)"
)


@dataclass
class Documents:
    """Validated documents; document ``i`` is ``ids[i]`` / ``texts[i]``.

    ``labels`` / ``groups`` are integer codes (``-1`` = none) into ``label_names`` / ``group_names``;
    ``None`` when the file has no such column. ``titles`` is ``None`` without a title column and
    ``""`` for a document without a title.
    """

    ids: list[str]
    texts: list[str]
    titles: list[str] | None = None
    labels: np.ndarray | None = None
    label_names: list[str] = field(default_factory=list)
    groups: np.ndarray | None = None
    group_names: list[str] = field(default_factory=list)
    path: Path | None = None
    lines: list[int] | None = None
    skipped: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    _index: dict[str, int] | None = field(default=None, repr=False)
    _text_codes: np.ndarray | None = field(default=None, repr=False)
    _text_index: dict[str, int] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def index(self) -> dict[str, int]:
        """``id -> document number``."""
        if self._index is None:
            self._index = {doc_id: i for i, doc_id in enumerate(self.ids)}
        return self._index

    @property
    def text_codes(self) -> np.ndarray:
        """For each document, the number of the first document with the same text (duplicate texts)."""
        if self._text_codes is None:
            first: dict[str, int] = {}
            self._text_codes = np.fromiter(
                (first.setdefault(text, i) for i, text in enumerate(self.texts)),
                dtype=np.int64,
                count=len(self),
            )
            self._text_index = first
        return self._text_codes

    def text_code(self, text: str) -> int:
        """The code of a document with exactly this text, ``-1`` if none has it."""
        if self._text_index is None:
            _ = self.text_codes
        assert self._text_index is not None
        return self._text_index.get(text, -1)

    def summary(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "path": str(self.path) if self.path else None,
            "documents": len(self),
            "with_title": sum(1 for t in self.titles if t) if self.titles is not None else 0,
            "labels": len(self.label_names),
            "labelled": int((self.labels >= 0).sum()) if self.labels is not None else 0,
            "groups": len(self.group_names),
            "grouped": int((self.groups >= 0).sum()) if self.groups is not None else 0,
            "duplicate_texts": int(len(self) - len(np.unique(self.text_codes))),
            "skipped": dict(self.skipped),
        }
        if self.notes:
            info["notes"] = list(self.notes)
        return info


@dataclass
class Links:
    """Validated links between documents (by document number), deduplicated, self links removed."""

    source: np.ndarray
    target: np.ndarray
    path: Path | None = None
    rows_read: int = 0
    skipped: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.source)

    def summary(self) -> dict[str, Any]:
        return {
            "path": str(self.path) if self.path else None,
            "rows_read": self.rows_read,
            "links": len(self),
            "skipped": dict(self.skipped),
        }


# ----------------------------------------------------------------------------------- helpers


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def id_key(value: Any) -> str:
    """An id as text: ``7``, ``7.0`` and ``"7"`` are the same id (spreadsheets turn ids into floats)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return normalize_text(str(value), nfkc=True)


def _optional_text(value: Any, nfkc: bool) -> str:
    if _missing(value):
        return ""
    return normalize_text(str(value), nfkc=nfkc)


def _codes(values: list[str]) -> tuple[np.ndarray, list[str]]:
    """Integer codes for category values (``""`` = none -> -1), names in first-seen order."""
    names: dict[str, int] = {}
    codes = np.fromiter(
        ((names.setdefault(v, len(names)) if v else -1) for v in values), dtype=np.int64, count=len(values)
    )
    return codes, list(names)


# ---------------------------------------------------------------------------------- documents


def make_documents(
    ids: Sequence[Any],
    texts: Sequence[Any],
    *,
    titles: Sequence[Any] | None = None,
    labels: Sequence[Any] | None = None,
    groups: Sequence[Any] | None = None,
    path: str | Path | None = None,
    lines: Sequence[int] | None = None,
    nfkc: bool = True,
    on_bad_row: str = "error",
) -> Documents:
    """Validate documents given as columns (the Python API's in-memory input; files go through
    :func:`read_documents`)."""
    if on_bad_row not in ("error", "skip"):
        raise InputError(f"unknown on_bad_row '{on_bad_row}'", expected="error or skip")
    n = len(ids)
    for name, column in (("text", texts), ("title", titles), ("label", labels), ("group", groups)):
        if column is not None and len(column) != n:
            raise InputError(f"{len(column)} values in '{name}' for {n} ids", column=name)
    where_path = Path(path) if path is not None else None
    line_of = list(lines) if lines is not None else list(range(1, n + 1))
    keep_ids: list[str] = []
    keep_texts: list[str] = []
    keep_lines: list[int] = []
    kept_rows: list[int] = []
    first_line: dict[str, int] = {}
    skipped: Counter = Counter()
    for row in range(n):
        where = {"path": where_path, "line": line_of[row]}
        try:
            raw_id = ids[row]
            if _missing(raw_id) or not str(raw_id).strip():
                raise InputError(
                    "empty id", column="id", expected="a non-empty, unique id", kind="empty id", **where
                )
            doc_id = id_key(raw_id)
            if doc_id in first_line:
                raise InputError(
                    f"duplicate id (first on line {first_line[doc_id]})",
                    column="id",
                    value=raw_id,
                    expected="a unique id per document",
                    kind="duplicate id",
                    **where,
                )
            raw_text = texts[row]
            if _missing(raw_text):
                raise InputError(
                    "empty text", column="text", expected="a non-empty text", kind="empty text", **where
                )
            if not isinstance(raw_text, str):
                raise InputError(
                    f"a {type(raw_text).__name__} where text was expected",
                    column="text",
                    value=raw_text,
                    expected="a string",
                    kind="not text",
                    **where,
                )
            text = normalize_text(raw_text, nfkc=nfkc)
            if not text:
                raise InputError(
                    "empty text", column="text", expected="a non-empty text", kind="empty text", **where
                )
        except InputError as err:
            if on_bad_row == "error":
                raise
            skipped[err.kind] += 1
            continue
        first_line[doc_id] = line_of[row]
        keep_ids.append(doc_id)
        keep_texts.append(text)
        keep_lines.append(line_of[row])
        kept_rows.append(row)
    if not keep_ids:
        raise InputError(
            f"no usable documents ({dict(skipped)} skipped)" if skipped else "no documents",
            path=where_path,
            expected="at least one document with an id and a text",
        )
    docs = Documents(ids=keep_ids, texts=keep_texts, path=where_path, lines=keep_lines, skipped=skipped)
    if skipped:
        docs.notes.append(f"skipped {sum(skipped.values())} bad rows: {dict(skipped)}")
    if titles is not None:
        docs.titles = [_optional_text(titles[r], nfkc) for r in kept_rows]
    if labels is not None:
        values = [_optional_text(labels[r], nfkc) for r in kept_rows]
        codes, names = _codes(values)
        if len(names) == 1:
            raise InputError(
                f"the label column has only one class ({names[0]!r}) over {int((codes >= 0).sum())} "
                "documents; "
                "labels choose same-label positives and keep same-label documents out of the negatives, so a "
                "single class would make every document a false negative of every other",
                path=where_path,
                column="label",
                value=names[0],
                expected="at least two different labels (or rename the column away: --columns label=unused)",
            )
        if names:
            docs.labels, docs.label_names = codes, names
            unlabelled = int((codes < 0).sum())
            if unlabelled:
                docs.notes.append(f"{unlabelled} documents have no label")
        else:
            docs.notes.append("the label column is empty; labels are not used")
    if groups is not None:
        values = [_optional_text(groups[r], nfkc) for r in kept_rows]
        codes, names = _codes(values)
        if names:
            docs.groups, docs.group_names = codes, names
        else:
            docs.notes.append("the group column is empty; groups are not used")
    return docs


def read_documents(
    path: str | Path,
    *,
    columns: str | Mapping[str, str] | None = None,
    encoding: str | None = None,
    file_format: str | None = None,
    nfkc: bool = True,
    on_bad_row: str = "error",
) -> Documents:
    """Read and validate a documents file.

    CSV / TSV / JSONL / Parquet need ``id`` and ``text`` (``columns`` renames, e.g.
    ``"body=text,category=label"``). A SQuAD-layout JSON (JSQuAD) is read as one document per
    paragraph: ``title`` / ``text`` split from ``"title [SEP] body"``, ``label`` = the article title.
    """
    path = Path(path)
    if file_format is None and path.suffix.lower() == ".json":
        from textmetric.data.jglue import is_squad_json, load_jsquad_documents

        if not is_squad_json(path):
            raise InputError(
                "a .json file that is not SQuAD-layout JSON",
                path=path,
                expected="JSON lines (.jsonl), CSV, TSV, Parquet, or a SQuAD / JSQuAD JSON document",
            )
        squad = load_jsquad_documents(path, nfkc=nfkc)
        return make_documents(
            [d.id for d in squad],
            [d.text for d in squad],
            titles=[d.title for d in squad],
            labels=[d.label for d in squad],
            path=path,
            nfkc=nfkc,
            on_bad_row=on_bad_row,
        )
    table = read_table(
        path, encoding=encoding, columns=columns, file_format=file_format, on_bad_row=on_bad_row
    )
    missing = [c for c in ("id", "text") if c not in table.columns]
    if missing:
        raise InputError(
            f"missing column(s) {missing} (found {table.columns})", path=path, line=1, expected=_DOCS_EXPECTED
        )

    def column(name: str) -> list[Any] | None:
        return [row.get(name) for row in table.rows] if name in table.columns else None

    docs = make_documents(
        column("id") or [],
        column("text") or [],
        titles=column("title"),
        labels=column("label"),
        groups=column("group"),
        path=path,
        lines=table.lines,
        nfkc=nfkc,
        on_bad_row=on_bad_row,
    )
    if table.skipped:  # rows the reader could not parse (broken JSON line, wrong field count)
        docs.skipped.update(table.skipped)
        docs.notes.append(f"skipped {sum(table.skipped.values())} unreadable rows: {dict(table.skipped)}")
    for note in docs.notes:
        logger.warning("%s: %s", path, note)
    return docs


# -------------------------------------------------------------------------------------- links


def read_links(
    path: str | Path,
    documents: Documents,
    *,
    columns: str | Mapping[str, str] | None = None,
    encoding: str | None = None,
    file_format: str | None = None,
    on_bad_row: str = "error",
) -> Links:
    """Read ``source_id, target_id`` links and resolve them to document numbers.

    A link to an id that is not in the documents is an error (``on_bad_row="skip"``: dropped and
    counted); self links and repeated links are dropped and counted.
    """
    path = Path(path)
    table = read_table(
        path, encoding=encoding, columns=columns, file_format=file_format, on_bad_row=on_bad_row
    )
    missing = [c for c in LINK_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"missing column(s) {missing} (found {table.columns})",
            path=path,
            line=1,
            expected="columns source_id, target_id (use --link-columns to map names, e.g. resume=source_id)",
        )
    index = documents.index
    source: list[int] = []
    target: list[int] = []
    skipped: Counter = Counter(table.skipped)
    seen: set[tuple[int, int]] = set()
    for row, line in zip(table.rows, table.lines, strict=True):
        ends = []
        try:
            for name in LINK_COLUMNS:
                value = row.get(name)
                key = None if _missing(value) else id_key(value)
                if not key:
                    raise InputError(
                        "empty id",
                        path=path,
                        line=line,
                        column=name,
                        kind="empty id",
                        expected="an id of the documents file",
                    )
                if key not in index:
                    raise InputError(
                        "unknown id",
                        path=path,
                        line=line,
                        column=name,
                        value=value,
                        expected=f"an id of the documents file {documents.path or ''}".rstrip(),
                        kind="unknown id",
                    )
                ends.append(index[key])
        except InputError as err:
            if on_bad_row == "error":
                raise
            skipped[err.kind] += 1
            continue
        s, t = ends
        if s == t:
            skipped["self link"] += 1
            continue
        if (s, t) in seen:
            skipped["repeated link"] += 1
            continue
        seen.add((s, t))
        source.append(s)
        target.append(t)
    if not source:
        raise InputError(
            f"no usable links ({dict(skipped)})" if skipped else "no links",
            path=path,
            expected="rows of source_id, target_id naming two different documents",
        )
    if skipped:
        logger.warning("%s: skipped %d links: %s", path, sum(skipped.values()), dict(skipped))
    return Links(
        source=np.asarray(source, dtype=np.int64),
        target=np.asarray(target, dtype=np.int64),
        path=path,
        rows_read=len(table.rows),
        skipped=skipped,
    )


__all__ = [
    "DOCUMENT_COLUMNS",
    "LINK_COLUMNS",
    "Documents",
    "Links",
    "id_key",
    "make_documents",
    "read_documents",
    "read_links",
]
