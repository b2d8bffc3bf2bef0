"""Positive pairs from documents, by strategy.

==============  =======================================================================================
strategy        anchor -> positive
==============  =======================================================================================
``title-body``  a document's title -> its text (FAQ question -> answer, article headline -> body)
``same-label``  a document -> another document with the same label, sampled: ``per_doc`` partners per
                document and at most ``max_per_label`` pairs per label, never all pairs of a label
``adjacent``    a chunk of a long document -> the next chunk (cut on Japanese sentence boundaries by
                :func:`textmetric.text.sentences.chunk_text`, at most ``chunk_chars`` characters each)
``links``       a link's source document -> its target (résumé -> the posting applied to; query -> click)
``cloze``       a sentence of a document made a question (one noun phrase -> 何, :mod:`textmetric.text.cloze`)
                -> the document's title and that sentence with ``cloze_window`` neighbours each side:
                self-supervised query -> passage pairs for a corpus that has no queries
==============  =======================================================================================

Pairs remember which documents they came from (``anchor_doc``, ``positive_doc``): the negative miners
use that to keep the anchor's and the positive's own documents, labels, groups and links out of the
negatives. Exact duplicate pairs, same-label pairs already present in the other direction and pairs
whose anchor and positive are the same text are dropped (and counted).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textmetric.errors import ConfigError, InputError
from textmetric.mining.documents import Documents, Links
from textmetric.text.sentences import chunk_text

STRATEGIES = ("title-body", "same-label", "adjacent", "links", "cloze")


@dataclass
class PositiveSettings:
    """Caps and sizes of the positive strategies."""

    same_label_per_doc: int = 1
    same_label_max_per_label: int = 1000
    chunk_chars: int = 200
    chunk_overlap: int = 0
    adjacent_max_per_doc: int | None = None
    cloze_window: int = 1
    cloze_min_chars: int = 8
    cloze_max_per_doc: int | None = None

    def __post_init__(self) -> None:
        if self.same_label_per_doc < 1:
            raise ConfigError("same_label_per_doc must be >= 1")
        if self.same_label_max_per_label < 1:
            raise ConfigError("same_label_max_per_label must be >= 1")
        if self.chunk_chars < 1:
            raise ConfigError("chunk_chars must be >= 1")
        if self.chunk_overlap < 0:
            raise ConfigError("chunk_overlap must be >= 0")
        if self.adjacent_max_per_doc is not None and self.adjacent_max_per_doc < 1:
            raise ConfigError("adjacent_max_per_doc must be >= 1")
        if self.cloze_window < 0:
            raise ConfigError("cloze_window must be >= 0")
        if self.cloze_max_per_doc is not None and self.cloze_max_per_doc < 1:
            raise ConfigError("cloze_max_per_doc must be >= 1")


@dataclass
class Positives:
    """Anchor / positive pairs with the documents they came from.

    ``anchor_is_doc[i]`` is true when ``anchors[i]`` is the full text of ``anchor_doc[i]`` (same for
    positives): the miners then reuse that document's tokens and embedding.
    """

    anchors: list[str]
    positives: list[str]
    anchor_doc: np.ndarray
    positive_doc: np.ndarray
    strategy: np.ndarray
    anchor_is_doc: np.ndarray
    positive_is_doc: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)
    removed: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.anchors)

    def strategy_names(self) -> list[str]:
        return [STRATEGIES[int(s)] for s in self.strategy]

    def summary(self) -> dict[str, Any]:
        return {"per_strategy": dict(self.counts), "removed": dict(self.removed), "total": len(self)}


def title_body_pairs(docs: Documents) -> tuple[list[str], list[str], np.ndarray]:
    """(title, text) of every document that has a title."""
    if docs.titles is None:
        raise InputError(
            "the title-body strategy needs a title column",
            path=docs.path,
            column="title",
            expected="a 'title' column (or --columns HEADLINE=title), or another --positives strategy",
        )
    rows = np.fromiter((i for i, t in enumerate(docs.titles) if t), dtype=np.int64)
    return [docs.titles[i] for i in rows], [docs.texts[i] for i in rows], rows


def same_label_pairs(
    docs: Documents, *, per_doc: int, max_per_label: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Sampled (document, other document of its label) pairs, without building all pairs of a label.

    Each labelled document draws ``per_doc`` partners uniformly from the rest of its label (an offset
    in ``1 .. size - 1`` from its own position, so never itself); a label with more than
    ``max_per_label`` such pairs keeps a uniform sample of them. Cost is linear in the documents.
    """
    if docs.labels is None:
        raise InputError(
            "the same-label strategy needs a label column",
            path=docs.path,
            column="label",
            expected="a 'label' column (or --columns CATEGORY=label), or another --positives strategy",
        )
    labelled = np.flatnonzero(docs.labels >= 0)
    order = labelled[np.argsort(docs.labels[labelled], kind="stable")]
    codes = docs.labels[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    start_of = np.repeat(starts, sizes)
    size_of = np.repeat(sizes, sizes)
    local = np.arange(len(order)) - start_of
    usable = size_of > 1
    anchors: list[np.ndarray] = []
    partners: list[np.ndarray] = []
    for _ in range(per_doc):
        offset = rng.integers(1, np.maximum(size_of, 2))
        partner = start_of + (local + offset) % np.maximum(size_of, 1)
        anchors.append(order[usable])
        partners.append(order[partner[usable]])
    if not anchors:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a = np.concatenate(anchors)
    b = np.concatenate(partners)
    # Cap per label: keep a uniform random sample of max_per_label pairs of each label.
    label = docs.labels[a]
    key = rng.random(len(a))
    by = np.lexsort((key, label))
    a, b, label = a[by], b[by], label[by]
    first = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])
    rank = np.arange(len(a)) - np.repeat(first, np.diff(np.r_[first, len(a)]))
    keep = rank < max_per_label
    a, b = a[keep], b[keep]
    # Back to document order, so the output follows the input file.
    back = np.lexsort((b, a))
    return a[back], b[back]


def adjacent_pairs(
    docs: Documents, *, max_chars: int, overlap: int, max_per_doc: int | None
) -> tuple[list[str], list[str], np.ndarray]:
    """(chunk, next chunk) of every document longer than one chunk."""
    anchors: list[str] = []
    positives: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(docs.texts):
        if len(text) <= max_chars:
            continue
        chunks = chunk_text(text, max_chars=max_chars, overlap=overlap)
        pairs = list(itertools.pairwise(chunks))
        if max_per_doc is not None:
            pairs = pairs[:max_per_doc]
        for first, second in pairs:
            anchors.append(first)
            positives.append(second)
            owner.append(i)
    return anchors, positives, np.asarray(owner, dtype=np.int64)


def cloze_pairs(
    docs: Documents, *, window: int, min_chars: int, max_per_doc: int | None, seed: int
) -> tuple[list[str], list[str], np.ndarray]:
    """(cloze question, ``title [SEP] `` + the sentence's window) for the sentences of every document.

    Sentences shorter than ``min_chars`` or with fewer than two noun phrases are skipped; with
    ``max_per_doc`` a document gives its first that many questions. The noun replaced is drawn
    from a generator seeded by ``seed`` and the document number, so the pairs do not depend on
    which other documents are mined.
    """
    import random

    from textmetric.data.jglue import SEP
    from textmetric.text.cloze import cloze_question
    from textmetric.text.sentences import split_sentences

    anchors: list[str] = []
    positives: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(docs.texts):
        rng = random.Random(f"{seed}-{i}")
        title = docs.titles[i] if docs.titles is not None else ""
        sentences = split_sentences(text)
        made = 0
        for j, sentence in enumerate(sentences):
            if max_per_doc is not None and made >= max_per_doc:
                break
            if len(sentence) < min_chars:
                continue
            question = cloze_question(sentence, rng, nfkc=False)  # documents are normalised already
            if question is None:
                continue
            passage = "".join(sentences[max(0, j - window) : j + window + 1])
            anchors.append(question)
            positives.append(f"{title}{SEP}{passage}" if title else passage)
            owner.append(i)
            made += 1
    return anchors, positives, np.asarray(owner, dtype=np.int64)


def mine_positives(
    docs: Documents,
    strategies: Sequence[str],
    *,
    links: Links | None = None,
    settings: PositiveSettings | None = None,
    seed: int = 42,
) -> Positives:
    """Pairs from every strategy in ``strategies`` (in that order), deduplicated."""
    settings = settings or PositiveSettings()
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown or not strategies:
        raise ConfigError(
            f"unknown positive strategy {unknown or '(none)'}; expected some of {', '.join(STRATEGIES)}"
        )
    if "links" in strategies and links is None:
        raise ConfigError("the links strategy needs a links file (--links FILE with source_id, target_id)")
    anchors: list[str] = []
    positives: list[str] = []
    anchor_doc: list[int] = []
    positive_doc: list[int] = []
    strategy: list[int] = []
    anchor_is_doc: list[bool] = []
    positive_is_doc: list[bool] = []
    counts: dict[str, int] = {}
    removed: Counter = Counter()
    notes: list[str] = []
    seen: set[tuple[str, str]] = set()
    texts = docs.texts

    def add(code: int, a_texts, p_texts, a_docs, p_docs, a_full: bool, p_full: bool, symmetric: bool) -> int:
        added = 0
        for a_text, p_text, a_doc, p_doc in zip(a_texts, p_texts, a_docs, p_docs, strict=True):
            if a_text == p_text:
                removed["anchor equals positive"] += 1
                continue
            key = (a_text, p_text)
            if key in seen or (symmetric and (p_text, a_text) in seen):
                removed["duplicate pair"] += 1
                continue
            seen.add(key)
            anchors.append(a_text)
            positives.append(p_text)
            anchor_doc.append(int(a_doc))
            positive_doc.append(int(p_doc))
            strategy.append(code)
            anchor_is_doc.append(a_full)
            positive_is_doc.append(p_full)
            added += 1
        return added

    for name in dict.fromkeys(strategies):
        code = STRATEGIES.index(name)
        if name == "title-body":
            titles, bodies, rows = title_body_pairs(docs)
            counts[name] = add(code, titles, bodies, rows, rows, False, True, False)
            if not len(rows):
                notes.append("title-body: no document has a title")
        elif name == "same-label":
            rng = np.random.default_rng([seed, code])
            a, b = same_label_pairs(
                docs,
                per_doc=settings.same_label_per_doc,
                max_per_label=settings.same_label_max_per_label,
                rng=rng,
            )
            counts[name] = add(code, (texts[i] for i in a), (texts[i] for i in b), a, b, True, True, True)
            if not len(a):
                notes.append("same-label: no label has two documents")
        elif name == "adjacent":
            first, second, owner = adjacent_pairs(
                docs,
                max_chars=settings.chunk_chars,
                overlap=settings.chunk_overlap,
                max_per_doc=settings.adjacent_max_per_doc,
            )
            counts[name] = add(code, first, second, owner, owner, False, False, False)
            if not len(owner):
                notes.append(f"adjacent: no document is longer than chunk_chars={settings.chunk_chars}")
        elif name == "cloze":
            questions, passages, owner = cloze_pairs(
                docs,
                window=settings.cloze_window,
                min_chars=settings.cloze_min_chars,
                max_per_doc=settings.cloze_max_per_doc,
                seed=seed,
            )
            counts[name] = add(code, questions, passages, owner, owner, False, False, False)
            if not len(owner):
                notes.append(f"cloze: no sentence of {settings.cloze_min_chars}+ characters with two nouns")
        else:
            assert links is not None
            s, t = links.source, links.target
            counts[name] = add(code, (texts[i] for i in s), (texts[i] for i in t), s, t, True, True, False)
    if not anchors:
        detail = "; ".join(notes) or f"removed: {dict(removed)}"
        raise InputError(
            f"no positive pairs from {', '.join(strategies)} ({detail})",
            path=docs.path,
            expected="documents that the chosen --positives strategies can pair",
        )
    return Positives(
        anchors=anchors,
        positives=positives,
        anchor_doc=np.asarray(anchor_doc, dtype=np.int64),
        positive_doc=np.asarray(positive_doc, dtype=np.int64),
        strategy=np.asarray(strategy, dtype=np.int8),
        anchor_is_doc=np.asarray(anchor_is_doc, dtype=bool),
        positive_is_doc=np.asarray(positive_is_doc, dtype=bool),
        counts=counts,
        removed=removed,
        notes=notes,
    )


__all__ = [
    "STRATEGIES",
    "PositiveSettings",
    "Positives",
    "adjacent_pairs",
    "cloze_pairs",
    "mine_positives",
    "same_label_pairs",
    "title_body_pairs",
]
