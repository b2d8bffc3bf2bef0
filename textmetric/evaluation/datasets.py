"""Evaluation sets: what ``--sts`` and ``--retrieval`` accept, read into one in-memory form each.

STS (``--sts SPEC``):

* any scored pair file textmetric reads (CSV / TSV / JSONL / Parquet with ``sentence1, sentence2,
  score``; JSTS's ``label`` column is taken as the score), ``.json`` JSON lines as JGLUE ships them;
* ``jsick.tsv`` (``sentence_A_Ja, sentence_B_Ja, relatedness_score_Ja``; the ``test`` rows);
* ``jsts`` / ``jsick`` (optionally ``jsts:train``): the set from the Hub through ``datasets``.

Retrieval (``--retrieval SPEC``):

* a BEIR folder: ``corpus.jsonl`` (``_id, title, text``), ``queries.jsonl`` (``_id, text``),
  ``qrels/test.tsv`` (``query-id, corpus-id, score``; graded);
* a SQuAD-layout JSON such as JSQuAD's ``valid.json``: each question a query, its paragraph the
  one relevant document among all paragraphs;
* a pair file (``anchor, positive``): each distinct anchor a query, its positive(s) the relevant
  documents, the corpus every distinct positive;
* ``jsquad`` (optionally ``jsquad:train``): JSQuAD from the Hub.

The corpus is held sorted by document id, so that "lower index first" in
:mod:`textmetric.search.topk` is "smaller id first": the tie rule of
:mod:`textmetric.evaluation.metrics` and of sentence-transformers' evaluators.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textmetric.data import jglue
from textmetric.errors import ConfigError, InputError
from textmetric.text.normalize import normalize_text

logger = logging.getLogger(__name__)

STS_ALIASES = {"jsts": "jsts", "jsick": "jsick"}
RETRIEVAL_ALIASES = {"jsquad": "jsquad"}
_DEFAULT_SPLIT = {"jsts": "validation", "jsick": "test", "jsquad": "validation"}


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, so that a report names exactly the data it measured."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_name(spec: str | Path) -> str:
    """A short name for a data set: ``../jsts/valid.jsonl`` -> ``jsts-valid``, ``jsquad`` -> ``jsquad``."""
    text = str(spec)
    if text.split(":", 1)[0].lower() in {*STS_ALIASES, *RETRIEVAL_ALIASES} and not Path(text).exists():
        return text.replace(":", "-").lower()
    path = Path(text)
    stem = path.name if path.is_dir() else path.stem
    parent = path.resolve().parent.name if not path.is_dir() else ""
    name = (
        f"{parent}-{stem}"
        if parent and stem.lower() in {"valid", "validation", "dev", "test", "train"}
        else stem
    )
    return re.sub(r"[^0-9A-Za-z_.\-]+", "_", name) or "data"


def _alias(spec: str | Path, aliases: Mapping[str, str]) -> tuple[str, str] | None:
    """``"jsts:train"`` -> ``("jsts", "train")`` when it names a known set and is not a local path."""
    text = str(spec)
    if Path(text).exists():
        return None
    key, _, split = text.partition(":")
    if key.lower() in aliases:
        return aliases[key.lower()], split or _DEFAULT_SPLIT[aliases[key.lower()]]
    return None


# ---------------------------------------------------------------------------------------- STS


@dataclass
class STSData:
    """Sentence pairs with gold similarity on the file's own scale (e.g. JSTS 0-5)."""

    name: str
    sentence1: list[str]
    sentence2: list[str]
    scores: list[float]
    source: str
    files: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.scores)

    def summary(self) -> dict[str, Any]:
        return {"pairs": len(self), "score_min": min(self.scores), "score_max": max(self.scores)}


def _is_jsick_table(path: Path) -> bool:
    if path.suffix.lower() not in (".tsv", ".csv"):
        return False
    with path.open("rb") as handle:
        head = handle.readline().decode("utf-8-sig", errors="ignore")
    return "sentence_A_Ja" in head


def load_sts(
    spec: str | Path,
    *,
    name: str | None = None,
    nfkc: bool = True,
    columns: str | Mapping[str, str] | None = None,
    on_bad_row: str = "error",
) -> STSData:
    """Read an STS set (see the module doc for what ``spec`` may be)."""
    name = name or default_name(spec)
    alias = _alias(spec, STS_ALIASES)
    if alias is not None:
        which, split = alias
        loader = jglue.load_jsts if which == "jsts" else jglue.load_jsick
        pairs = loader(None, split=split, nfkc=nfkc)
        return STSData(name, pairs.sentence1, pairs.sentence2, pairs.scores, source=f"hub:{which}:{split}")
    path = Path(spec).expanduser()
    if not path.exists():
        raise InputError(
            "STS file not found",
            path=path,
            expected="a scored pair file (sentence1, sentence2, score/label), jsick.tsv, or 'jsts' / 'jsick' "
            "for the Hub sets",
        )
    if _is_jsick_table(path):
        pairs = jglue.load_jsick(path, nfkc=nfkc)
        return STSData(name, pairs.sentence1, pairs.sentence2, pairs.scores, str(path), [path])
    if path.suffix.lower() == ".json" and not columns:
        pairs = jglue.load_jsts(path, nfkc=nfkc)
        return STSData(name, pairs.sentence1, pairs.sentence2, pairs.scores, str(path), [path])
    from textmetric.data import load_pairs

    data = load_pairs(path, data_format="scored", columns=columns, nfkc=nfkc, on_bad_row=on_bad_row)  # type: ignore[arg-type]
    _warn_skipped(path, data)
    low, high = data.score_range or (0.0, 1.0)
    scores = [low + s * (high - low) for s in data.records["score"]]  # back to the file's scale
    return STSData(name, data.records["sentence1"], data.records["sentence2"], scores, str(path), [path])


# ---------------------------------------------------------------------------------- retrieval


@dataclass
class RetrievalData:
    """A retrieval set ready to search: queries with relevant documents, corpus sorted by id."""

    name: str
    query_ids: list[str]
    queries: list[str]
    doc_ids: list[str]
    documents: list[str]
    qrels: dict[str, dict[str, float]]
    source: str
    files: list[Path] = field(default_factory=list)
    kind: str = "beir"

    @classmethod
    def from_set(cls, retrieval_set: jglue.RetrievalSet, *, name: str, files: list[Path], kind: str):
        """Keep the queries that have a relevant document; sort the corpus by id (the tie rule)."""
        judged = [
            qid
            for qid in retrieval_set.queries
            if any(grade > 0 for grade in retrieval_set.qrels.get(qid, {}).values())
        ]
        if not judged:
            raise InputError(
                "no query has a relevant document", path=retrieval_set.source, expected="qrels with score > 0"
            )
        doc_ids = sorted(retrieval_set.corpus)
        return cls(
            name=name,
            query_ids=judged,
            queries=[retrieval_set.queries[qid] for qid in judged],
            doc_ids=doc_ids,
            documents=[retrieval_set.corpus[did] for did in doc_ids],
            qrels={qid: dict(retrieval_set.qrels[qid]) for qid in judged},
            source=retrieval_set.source,
            files=files,
            kind=kind,
        )

    def summary(self) -> dict[str, Any]:
        relevant = [sum(1 for g in rel.values() if g > 0) for rel in self.qrels.values()]
        return {
            "kind": self.kind,
            "queries": len(self.queries),
            "documents": len(self.documents),
            "relevant_per_query": round(sum(relevant) / len(relevant), 3) if relevant else 0,
        }

    def rankings(self, indices) -> dict[str, list[str]]:
        """Per-query doc-id lists from a ``(n_queries, k)`` index array (-1 = no document)."""
        ids = self.doc_ids
        return {
            qid: [ids[i] for i in row if i >= 0]
            for qid, row in zip(self.query_ids, indices.tolist(), strict=True)
        }


def _read_jsonl_rows(path: Path) -> tuple[list[dict], list[int]]:
    from textmetric.data.readers import read_table

    table = read_table(path, file_format="jsonl")
    return table.rows, table.lines


def _beir_qrels_file(folder: Path, split: str) -> Path:
    qrels_dir = folder / "qrels"
    wanted = qrels_dir / f"{split}.tsv"
    if wanted.is_file():
        return wanted
    found = sorted(qrels_dir.glob("*.tsv")) if qrels_dir.is_dir() else []
    if len(found) == 1:
        return found[0]
    raise InputError(
        f"no qrels/{split}.tsv" + (f" (found {[p.name for p in found]})" if found else ""),
        path=folder,
        expected="a BEIR folder with qrels/test.tsv (query-id, corpus-id, score)",
    )


def load_beir(folder: str | Path, *, split: str = "test", nfkc: bool = True) -> jglue.RetrievalSet:
    """A BEIR-layout folder as a :class:`~textmetric.data.jglue.RetrievalSet`.

    Documents are ``title + " " + text`` (title left out when empty); qrels whose query or document
    is missing from the folder are dropped with a warning.
    """
    folder = Path(folder)
    corpus: dict[str, str] = {}
    rows, lines = _read_jsonl_rows(folder / "corpus.jsonl")
    for row, line in zip(rows, lines, strict=True):
        doc_id = row.get("_id")
        if doc_id is None:
            raise InputError(
                "missing '_id'", path=folder / "corpus.jsonl", line=line, expected="a document id"
            )
        title = str(row.get("title") or "").strip()
        text = str(row.get("text") or "").strip()
        corpus[str(doc_id)] = normalize_text(f"{title} {text}" if title else text, nfkc=nfkc)
    queries: dict[str, str] = {}
    rows, lines = _read_jsonl_rows(folder / "queries.jsonl")
    for row, line in zip(rows, lines, strict=True):
        qid, text = row.get("_id"), row.get("text")
        if qid is None or not isinstance(text, str) or not text.strip():
            raise InputError(
                "a query needs '_id' and a non-empty 'text'",
                path=folder / "queries.jsonl",
                line=line,
                expected="_id, text",
            )
        queries[str(qid)] = normalize_text(text, nfkc=nfkc)
    qrels_path = _beir_qrels_file(folder, split)
    from textmetric.data.readers import read_table

    table = read_table(qrels_path)
    columns = table.columns
    if len(columns) < 3:
        raise InputError(
            "expected 3 columns",
            path=qrels_path,
            line=1,
            expected="query-id, corpus-id, score (tab-separated)",
        )
    q_col, d_col, s_col = columns[0], columns[1], columns[-1]
    qrels: dict[str, dict[str, float]] = {}
    dropped = 0
    for row, line in zip(table.rows, table.lines, strict=True):
        try:
            grade = float(row[s_col])
        except (TypeError, ValueError):
            raise InputError(
                "not a number", path=qrels_path, line=line, column=s_col, value=row[s_col], expected="a grade"
            ) from None
        qid, did = str(row[q_col]), str(row[d_col])
        if qid not in queries or did not in corpus:
            dropped += 1
            continue
        qrels.setdefault(qid, {})[did] = grade
    if dropped:
        logger.warning(
            "%s: %d judgements name a query or document not in the folder; ignored", qrels_path, dropped
        )
    return jglue.RetrievalSet(queries=queries, corpus=corpus, qrels=qrels, source=str(folder))


def _warn_skipped(path: str | Path, data: Any) -> None:
    if data.skipped:
        logger.warning(
            "%s: skipped %d of %d rows (--on-bad-row skip): %s",
            path,
            sum(data.skipped.values()),
            data.rows_read,
            dict(data.skipped),
        )


def load_pair_retrieval(
    path: str | Path,
    *,
    nfkc: bool = True,
    columns: str | Mapping[str, str] | None = None,
    on_bad_row: str = "error",
) -> jglue.RetrievalSet:
    """A pair file as retrieval: each distinct anchor a query, its positives the relevant documents."""
    from textmetric.data import load_pairs

    data = load_pairs(path, columns=columns, nfkc=nfkc, on_bad_row=on_bad_row)  # type: ignore[arg-type]
    _warn_skipped(path, data)
    if data.format not in ("pairs", "triplets", "ntuples"):
        raise ConfigError(
            f"{path} is a '{data.format}' file; retrieval needs anchor, positive pairs "
            "(or a BEIR folder or a SQuAD-layout JSON)"
        )
    anchors, positives = data.records["anchor"], data.records["positive"]
    distinct_docs = list(dict.fromkeys(positives))
    width = len(str(len(distinct_docs)))
    doc_id = {text: f"d{n:0{width}d}" for n, text in enumerate(distinct_docs)}
    distinct_queries = list(dict.fromkeys(anchors))
    q_width = len(str(len(distinct_queries)))
    query_id = {text: f"q{n:0{q_width}d}" for n, text in enumerate(distinct_queries)}
    qrels: dict[str, dict[str, float]] = {}
    for anchor, positive in zip(anchors, positives, strict=True):
        qrels.setdefault(query_id[anchor], {})[doc_id[positive]] = 1.0
    return jglue.RetrievalSet(
        queries={qid: text for text, qid in query_id.items()},
        corpus={did: text for text, did in doc_id.items()},
        qrels=qrels,
        source=str(path),
    )


def load_retrieval(
    spec: str | Path,
    *,
    name: str | None = None,
    nfkc: bool = True,
    split: str = "test",
    columns: str | Mapping[str, str] | None = None,
    on_bad_row: str = "error",
) -> RetrievalData:
    """Read a retrieval set (see the module doc for what ``spec`` may be)."""
    name = name or default_name(spec)
    alias = _alias(spec, RETRIEVAL_ALIASES)
    if alias is not None:
        _, hub_split = alias
        retrieval_set = jglue.load_jsquad_retrieval(None, split=hub_split, nfkc=nfkc)
        return RetrievalData.from_set(retrieval_set, name=name, files=[], kind="jsquad")
    path = Path(spec).expanduser()
    if not path.exists():
        raise InputError(
            "retrieval set not found",
            path=path,
            expected="a BEIR folder, a SQuAD-layout JSON (JSQuAD), an anchor/positive pair file, "
            "or 'jsquad' for the Hub set",
        )
    if path.is_dir():
        if not (path / "corpus.jsonl").is_file() or not (path / "queries.jsonl").is_file():
            raise InputError(
                "not a BEIR folder", path=path, expected="corpus.jsonl, queries.jsonl and qrels/test.tsv"
            )
        qrels_file = _beir_qrels_file(path, split)
        files = [path / "corpus.jsonl", path / "queries.jsonl", qrels_file]
        return RetrievalData.from_set(
            load_beir(path, split=split, nfkc=nfkc), name=name, files=files, kind="beir"
        )
    if jglue.is_squad_json(path):
        retrieval_set = jglue.load_jsquad_retrieval(path, nfkc=nfkc)
        return RetrievalData.from_set(retrieval_set, name=name, files=[path], kind="jsquad")
    retrieval_set = load_pair_retrieval(path, nfkc=nfkc, columns=columns, on_bad_row=on_bad_row)
    return RetrievalData.from_set(retrieval_set, name=name, files=[path], kind="pairs")


# ------------------------------------------------------------------------------- labelled texts


def jsquad_labelled_questions(
    path: str | Path, *, seed: int = 0, dev: float = 0.2, test: float = 0.2
) -> dict[str, list[tuple[str, str]]]:
    """JSQuAD questions as ``(text, article title)`` labelled data, split into train / dev / test.

    A labelled set for comparing label losses (softmax, center, ...) on real Japanese text: each
    article's questions are one class (:func:`~textmetric.evaluation.metrics.label_metrics`
    scores the held-out ones). Paragraphs, not questions, are split, within each article (shuffled
    with ``seed``; ``dev`` / ``test`` shares of its paragraphs, at least one each), so no held-out
    question shares a paragraph with a training one; an article of fewer than three paragraphs
    goes to train whole.
    """
    import random
    from collections import defaultdict

    retrieval = jglue.load_jsquad_retrieval(path)
    by_paragraph: dict[str, list[str]] = defaultdict(list)
    for query_id, text in retrieval.queries.items():
        (paragraph,) = retrieval.qrels[query_id]
        by_paragraph[paragraph].append(text)
    by_article: dict[str, list[str]] = defaultdict(list)
    for paragraph, title in retrieval.titles.items():
        if by_paragraph.get(paragraph):
            by_article[title].append(paragraph)
    rng = random.Random(seed)
    splits: dict[str, list[tuple[str, str]]] = {"train": [], "dev": [], "test": []}
    for title in sorted(by_article):
        paragraphs = sorted(by_article[title])
        rng.shuffle(paragraphs)
        n = len(paragraphs)
        n_dev = n_test = 0
        if n >= 3:
            n_dev, n_test = max(1, round(n * dev)), max(1, round(n * test))
        parts = {
            "test": paragraphs[:n_test],
            "dev": paragraphs[n_test : n_test + n_dev],
            "train": paragraphs[n_test + n_dev :],
        }
        for split, chosen in parts.items():
            splits[split] += [(text, title) for p in chosen for text in by_paragraph[p]]
    return splits


__all__ = [
    "RetrievalData",
    "STSData",
    "default_name",
    "file_sha256",
    "jsquad_labelled_questions",
    "load_beir",
    "load_pair_retrieval",
    "load_retrieval",
    "load_sts",
]
