"""Loaders for the standard Japanese evaluation sets: JGLUE (JSTS, JNLI, JSQuAD) and JSICK.

Each loader takes a local file (the files as distributed, or the Hub's rows saved as JSON lines)
or, when the network allows, loads the set from the Hugging Face Hub through ``datasets``:

=========  ======================================================  ==========================
set        local file                                              Hub (``source=None``)
=========  ======================================================  ==========================
JSTS       JSON lines ``sentence1, sentence2, label`` (0-5 float)  ``shunk031/JGLUE`` ``JSTS``
JNLI       JSON lines ``sentence1, sentence2, label`` (string)     ``shunk031/JGLUE`` ``JNLI``
JSQuAD     SQuAD v2 JSON (``data[].paragraphs[].qas[]``)           ``shunk031/JGLUE`` ``JSQuAD``
JSICK      ``jsick.tsv`` (``sentence_A_Ja, sentence_B_Ja,          ``sbintuitions/JMTEB``
           relatedness_score_Ja``) or ``sentence1, sentence2,      ``jsick``
           label`` JSON lines / CSV / TSV
=========  ======================================================  ==========================

JGLUE's own ``*-v1.3.json`` files are JSON lines despite the suffix (JSQuAD's is one JSON
document); both are recognised. A set that is neither on disk nor reachable raises
:class:`DatasetNotFoundError` saying where to get it.

JSQuAD serves two purposes: a retrieval set (each question is a query, the paragraph it was asked
about the one relevant document among all paragraphs of the split) and a document collection for
pair mining (each paragraph a document whose ``context`` is ``"title [SEP] body"``; the article
title is a label shared by its paragraphs).

JGLUE: CC BY-SA 4.0, Yahoo Japan Corporation and Waseda University (Kurihara et al., LREC 2022).
JSICK: CC BY-SA 4.0 (Yanaka & Mineshima, TACL 2022).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textmetric.data.formats import parse_number
from textmetric.data.readers import read_table
from textmetric.errors import DatasetNotFoundError, InputError
from textmetric.text.normalize import normalize_text

JGLUE_HUB = "shunk031/JGLUE"
JSICK_HUB = "sbintuitions/JMTEB"
JGLUE_URL = "https://github.com/yahoojapan/JGLUE"
JSICK_URL = "https://github.com/verypluming/JSICK"
SEP = " [SEP] "
_QA_ID = re.compile(r"^(?P<paragraph>.+p\d+)q\d+$")

_WHERE = {
    "JSTS": f"{JGLUE_URL} (datasets/jsts-v1.3/valid-v1.3.json) or the Hub dataset {JGLUE_HUB} (config JSTS)",
    "JNLI": f"{JGLUE_URL} (datasets/jnli-v1.3/valid-v1.3.json) or the Hub dataset {JGLUE_HUB} (config JNLI)",
    "JSQuAD": (
        f"{JGLUE_URL} (datasets/jsquad-v1.3/valid-v1.3.json) or the Hub dataset {JGLUE_HUB} (config JSQuAD)"
    ),
    "JSICK": f"{JSICK_URL} (jsick/jsick.tsv) or the Hub dataset {JSICK_HUB} (config jsick)",
}


@dataclass
class ScoredPairs:
    """Sentence pairs with a graded similarity on the set's own scale (JSTS 0-5, JSICK 1-5)."""

    sentence1: list[str]
    sentence2: list[str]
    scores: list[float]
    source: str = ""

    def __len__(self) -> int:
        return len(self.scores)


@dataclass
class LabelledPairs:
    """Sentence pairs with a class label string (JNLI: entailment / contradiction / neutral)."""

    sentence1: list[str]
    sentence2: list[str]
    labels: list[str]
    source: str = ""

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class RetrievalSet:
    """Queries, a corpus and graded relevance judgements (BEIR layout, in memory).

    ``qrels[query_id][doc_id]`` is a grade; > 0 means relevant.
    """

    queries: dict[str, str]
    corpus: dict[str, str]
    qrels: dict[str, dict[str, float]]
    source: str = ""
    titles: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        judged = sum(1 for rel in self.qrels.values() if any(g > 0 for g in rel.values()))
        return {
            "source": self.source,
            "queries": len(self.queries),
            "queries_with_relevant": judged,
            "documents": len(self.corpus),
            "judgements": sum(len(rel) for rel in self.qrels.values()),
        }


@dataclass
class Document:
    """A JSQuAD paragraph as a document: ``label`` is the article title, shared by its paragraphs."""

    id: str
    title: str
    text: str
    label: str


@dataclass
class _Paragraph:
    id: str
    title: str
    context: str
    questions: list[tuple[str, str]]


# --------------------------------------------------------------------------------------- sources


def _is_hub(source: str | Path | None) -> bool:
    return source is None or (isinstance(source, str) and source.startswith(("hf://", "hub:")))


def _hub_id(source: str | Path | None, default: str) -> str:
    if source is None:
        return default
    return str(source).removeprefix("hf://").removeprefix("hub:")


def _local(source: str | Path, what: str) -> Path:
    path = Path(source).expanduser()
    if not path.exists():
        raise DatasetNotFoundError(f"{what} not found at {path}; get it from {_WHERE[what]}")
    if path.is_dir():
        raise InputError("is a folder", path=path, expected=f"the {what} data file")
    return path


def _load_hub(repo: str, config: str | None, split: str, what: str):
    """Rows of a Hub dataset; any failure (offline, unknown split) becomes a DatasetNotFoundError."""
    try:
        from datasets import load_dataset

        return load_dataset(repo, config, split=split)
    except Exception as err:  # datasets raises many kinds: connection, offline, missing split, script
        raise DatasetNotFoundError(
            f"cannot load {what} ({repo}, {config or 'default'}, split {split}) from the Hub: "
            f"{str(err).splitlines()[0] if str(err) else type(err).__name__}; "
            f"without network, get it from {_WHERE[what]} and pass the local file"
        ) from None


def _hub_split(split: str) -> str:
    return {"valid": "validation", "dev": "validation"}.get(split, split)


def _peek(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(4096).decode("utf-8-sig", errors="ignore").lstrip()
    return head[:1]


def _table_rows(
    path: Path, *, columns: Mapping[str, str] | None = None
) -> tuple[list[str], list[dict], list[int]]:
    """Rows of a CSV / TSV / JSON-lines / Parquet file; ``.json`` files are read as JSON lines."""
    file_format = "jsonl" if path.suffix.lower() == ".json" else None
    table = read_table(path, file_format=file_format, columns=dict(columns) if columns else None)
    return table.columns, table.rows, table.lines


def _text(value: Any, *, path: Path | None, line: int | None, column: str, nfkc: bool) -> str:
    text = normalize_text(value, nfkc=nfkc) if isinstance(value, str) else ""
    if not text:
        raise InputError(
            "empty or missing text",
            path=path,
            line=line,
            column=column,
            value=None if isinstance(value, str) else value,
            expected="a non-empty text",
        )
    return text


def _require(columns: Iterable[str], wanted: list[str], path: Path | None, what: str) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise InputError(
            f"missing column(s) {missing} for {what}", path=path, line=1, expected=f"columns {wanted}"
        )


# ----------------------------------------------------------------------------------- STS / NLI


def _scored_pairs(
    rows: list[dict],
    lines: list[int] | None,
    *,
    path: Path | None,
    columns: tuple[str, str, str],
    nfkc: bool,
    source: str,
) -> ScoredPairs:
    first, second, score_col = columns
    s1: list[str] = []
    s2: list[str] = []
    scores: list[float] = []
    for i, row in enumerate(rows):
        line = lines[i] if lines else i + 1
        s1.append(_text(row.get(first), path=path, line=line, column=first, nfkc=nfkc))
        s2.append(_text(row.get(second), path=path, line=line, column=second, nfkc=nfkc))
        value = row.get(score_col)
        try:
            scores.append(parse_number(value))
        except (TypeError, ValueError):
            raise InputError(
                "not a number",
                path=path,
                line=line,
                column=score_col,
                value=value,
                expected="a similarity score",
            ) from None
    if not scores:
        raise InputError("no pairs", path=path, expected="at least one sentence pair")
    return ScoredPairs(s1, s2, scores, source=source)


def load_jsts(
    source: str | Path | None = None, *, split: str = "validation", nfkc: bool = True
) -> ScoredPairs:
    """JSTS pairs with their 0-5 similarity: a local JSON-lines file, or the Hub when ``source`` is None.

    ``source`` may also be ``"hub:REPO"`` for a mirror with the same columns.
    """
    if _is_hub(source):
        rows = list(_load_hub(_hub_id(source, JGLUE_HUB), "JSTS", _hub_split(split), "JSTS"))
        return _scored_pairs(
            rows, None, path=None, columns=("sentence1", "sentence2", "label"), nfkc=nfkc, source=str(source)
        )
    path = _local(source, "JSTS")  # type: ignore[arg-type]
    header, rows, lines = _table_rows(path)
    score = "label" if "label" in header else "score"
    _require(header, ["sentence1", "sentence2", score], path, "JSTS")
    return _scored_pairs(
        rows, lines, path=path, columns=("sentence1", "sentence2", score), nfkc=nfkc, source=str(path)
    )


def load_jnli(
    source: str | Path | None = None, *, split: str = "validation", nfkc: bool = True
) -> LabelledPairs:
    """JNLI pairs with their label string (entailment / contradiction / neutral)."""
    if _is_hub(source):
        dataset = _load_hub(_hub_id(source, JGLUE_HUB), "JNLI", _hub_split(split), "JNLI")
        names = getattr(dataset.features.get("label"), "names", None)
        rows = [
            dict(r, label=names[r["label"]] if names and isinstance(r["label"], int) else r["label"])
            for r in dataset
        ]
        lines: list[int] | None = None
        path: Path | None = None
        label_source = str(source)
    else:
        path = _local(source, "JNLI")  # type: ignore[arg-type]
        header, rows, lines = _table_rows(path)
        _require(header, ["sentence1", "sentence2", "label"], path, "JNLI")
        label_source = str(path)
    s1: list[str] = []
    s2: list[str] = []
    labels: list[str] = []
    for i, row in enumerate(rows):
        line = lines[i] if lines else i + 1
        s1.append(_text(row.get("sentence1"), path=path, line=line, column="sentence1", nfkc=nfkc))
        s2.append(_text(row.get("sentence2"), path=path, line=line, column="sentence2", nfkc=nfkc))
        label = row.get("label")
        if not isinstance(label, str) or not label.strip():
            raise InputError(
                "missing label",
                path=path,
                line=line,
                column="label",
                value=label,
                expected="entailment, contradiction or neutral",
            )
        labels.append(label.strip().lower())
    return LabelledPairs(s1, s2, labels, source=label_source)


_JSICK_COLUMNS = (
    ("sentence_A_Ja", "sentence_B_Ja", "relatedness_score_Ja"),
    ("sentence1", "sentence2", "label"),
    ("sentence1", "sentence2", "score"),
    ("premise", "hypothesis", "score"),
)


def _jsick_columns(header: Iterable[str], path: Path | None) -> tuple[str, str, str]:
    names = set(header)
    for candidate in _JSICK_COLUMNS:
        if set(candidate) <= names:
            return candidate
    raise InputError(
        f"cannot find JSICK columns in {sorted(names)}",
        path=path,
        line=1,
        expected=(
            "sentence_A_Ja, sentence_B_Ja, relatedness_score_Ja (jsick.tsv) or sentence1, sentence2, label"
        ),
    )


def load_jsick(source: str | Path | None = None, *, split: str = "test", nfkc: bool = True) -> ScoredPairs:
    """JSICK pairs with their 1-5 relatedness score.

    From ``jsick.tsv`` the rows whose ``data`` column equals ``split`` are kept (``train`` /
    ``test``; a file without that column is used whole).
    """
    if _is_hub(source):
        dataset = _load_hub(_hub_id(source, JSICK_HUB), "jsick", _hub_split(split), "JSICK")
        rows = list(dataset)
        columns = _jsick_columns(dataset.column_names, None)
        return _scored_pairs(rows, None, path=None, columns=columns, nfkc=nfkc, source=str(source))
    path = _local(source, "JSICK")  # type: ignore[arg-type]
    header, rows, lines = _table_rows(path)
    columns = _jsick_columns(header, path)
    if "data" in header:
        kept = [(row, line) for row, line in zip(rows, lines, strict=True) if str(row.get("data")) == split]
        if not kept:
            found = sorted({str(row.get("data")) for row in rows})
            raise InputError(
                f"no rows of split '{split}'", path=path, column="data", expected=f"one of {found}"
            )
        rows = [row for row, _ in kept]
        lines = [line for _, line in kept]
    return _scored_pairs(rows, lines, path=path, columns=columns, nfkc=nfkc, source=str(path))


# -------------------------------------------------------------------------------------- JSQuAD


def is_squad_json(path: str | Path) -> bool:
    """True for a SQuAD-layout JSON document (``{"data": [{"paragraphs": ...}]}``), like JSQuAD's."""
    path = Path(path)
    if not path.is_file() or path.suffix.lower() != ".json" or _peek(path) != "{":
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and isinstance(data.get("data"), list)


def split_title(context: str) -> tuple[str, str]:
    """``"title [SEP] body"`` -> ``("title", "body")``; a context without the marker has no title."""
    if SEP.strip() in context:
        title, body = context.split(SEP.strip(), 1)
        return title.strip(), body.strip()
    return "", context.strip()


def _paragraph_id(qa_ids: list[str], article: int, paragraph: int) -> str:
    prefixes = {m.group("paragraph") for qid in qa_ids if (m := _QA_ID.match(qid))}
    if len(prefixes) == 1 and len(qa_ids) > 0:
        return prefixes.pop()
    return f"doc-{article:04d}-{paragraph:04d}"


def _squad_paragraphs(path: Path) -> list[_Paragraph]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=path, expected="a UTF-8 SQuAD JSON file") from None
    except json.JSONDecodeError as err:
        raise InputError(
            f"not valid JSON: {err.msg}", path=path, line=err.lineno, expected="a SQuAD v2 JSON document"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise InputError(
            "no top-level 'data' list", path=path, expected='SQuAD layout {"data": [{"title", "paragraphs"}]}'
        )
    paragraphs: list[_Paragraph] = []
    for a, article in enumerate(data["data"]):
        title = str(article.get("title", "")) if isinstance(article, dict) else ""
        for p, para in enumerate(article.get("paragraphs", []) if isinstance(article, dict) else []):
            context = para.get("context") if isinstance(para, dict) else None
            if not isinstance(context, str) or not context.strip():
                raise InputError(
                    f"article {a} ('{title}') paragraph {p} has no context",
                    path=path,
                    expected="a non-empty 'context' string",
                )
            qas = [qa for qa in para.get("qas", []) if isinstance(qa, dict) and qa.get("question")]
            ids = [str(qa.get("id", f"{a}-{p}-{i}")) for i, qa in enumerate(qas)]
            paragraphs.append(
                _Paragraph(
                    id=_paragraph_id(ids, a, p),
                    title=title,
                    context=context,
                    questions=[(qid, str(qa["question"])) for qid, qa in zip(ids, qas, strict=True)],
                )
            )
    return paragraphs


def _hub_paragraphs(rows: Iterable[Mapping[str, Any]]) -> list[_Paragraph]:
    """Rebuild paragraphs from the Hub's one-row-per-question layout (id, title, context, question)."""
    by_context: dict[tuple[str, str], _Paragraph] = {}
    for row in rows:
        title, context = str(row.get("title", "")), str(row.get("context", ""))
        key = (title, context)
        if key not in by_context:
            by_context[key] = _Paragraph(id="", title=title, context=context, questions=[])
        if row.get("question"):
            by_context[key].questions.append((str(row.get("id", "")), str(row["question"])))
    paragraphs = list(by_context.values())
    for number, para in enumerate(paragraphs):
        para.id = _paragraph_id([qid for qid, _ in para.questions], 0, number)
    return paragraphs


def _jsquad_paragraphs(source: str | Path | None, split: str) -> tuple[list[_Paragraph], str]:
    if _is_hub(source):
        rows = _load_hub(_hub_id(source, JGLUE_HUB), "JSQuAD", _hub_split(split), "JSQuAD")
        return _hub_paragraphs(rows), str(source)
    path = _local(source, "JSQuAD")  # type: ignore[arg-type]
    return _squad_paragraphs(path), str(path)


def _unique_ids(paragraphs: list[_Paragraph]) -> None:
    seen: dict[str, int] = {}
    for para in paragraphs:
        if para.id in seen:
            seen[para.id] += 1
            para.id = f"{para.id}-{seen[para.id]}"
        else:
            seen[para.id] = 0


def load_jsquad_retrieval(
    source: str | Path | None = None, *, split: str = "validation", nfkc: bool = True
) -> RetrievalSet:
    """JSQuAD as a retrieval set: every question is a query, its paragraph the one relevant document.

    The corpus is every paragraph of the split, each document the ``context`` as written
    (``"title [SEP] body"``), keyed by the paragraph id of its questions (``a10336p0``).
    """
    paragraphs, where = _jsquad_paragraphs(source, split)
    _unique_ids(paragraphs)
    queries: dict[str, str] = {}
    corpus: dict[str, str] = {}
    titles: dict[str, str] = {}
    qrels: dict[str, dict[str, float]] = {}
    for para in paragraphs:
        corpus[para.id] = normalize_text(para.context, nfkc=nfkc)
        titles[para.id] = normalize_text(para.title, nfkc=nfkc)
        for qid, question in para.questions:
            key = qid if qid not in queries else f"{qid}-{len(queries)}"
            queries[key] = normalize_text(question, nfkc=nfkc)
            qrels[key] = {para.id: 1.0}
    if not queries:
        raise InputError("no questions", path=where, expected="SQuAD paragraphs with 'qas'")
    return RetrievalSet(queries=queries, corpus=corpus, qrels=qrels, source=where, titles=titles)


def load_jsquad_documents(
    source: str | Path | None = None, *, split: str = "validation", nfkc: bool = True
) -> list[Document]:
    """JSQuAD paragraphs as documents: ``title`` and ``text`` split from ``"title [SEP] body"``,
    ``label`` = the article title (shared by the paragraphs of one article)."""
    paragraphs, _ = _jsquad_paragraphs(source, split)
    _unique_ids(paragraphs)
    documents = []
    for para in paragraphs:
        title, body = split_title(para.context)
        label = para.title or title
        documents.append(
            Document(
                id=para.id,
                title=normalize_text(title or label, nfkc=nfkc),
                text=normalize_text(body, nfkc=nfkc),
                label=normalize_text(label, nfkc=nfkc),
            )
        )
    return documents


__all__ = [
    "JGLUE_HUB",
    "JSICK_HUB",
    "DatasetNotFoundError",
    "Document",
    "LabelledPairs",
    "RetrievalSet",
    "ScoredPairs",
    "is_squad_json",
    "load_jnli",
    "load_jsick",
    "load_jsquad_documents",
    "load_jsquad_retrieval",
    "load_jsts",
    "split_title",
]
