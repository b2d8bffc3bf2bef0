"""Negatives for positive pairs: random, BM25 hard negatives and dense hard negatives, with
false-negative control.

Every miner proposes, for each anchor, up to ``depth`` candidate documents in its own order (random
draws; BM25 score; model similarity). A candidate is **rejected** by the first rule it breaks:

=============  ==========================================================================================
rule           rejected candidate
=============  ==========================================================================================
``positive``   the anchor's or the positive's own document, or a document with the same text as either
``link``       a document linked (either direction) to the anchor's or the positive's document
``label``      a document with the anchor's or the positive's label
``group``      a document in the anchor's or the positive's group
``margin``     (scored miners) a candidate scoring ``>= pos - |pos| * (1 - margin_ratio)``, i.e. not
               clearly below the positive (``pos * margin_ratio`` for a positive score; the form of
               sentence-transformers' ``relative_margin``, NV-Retriever's TopK-PercPos)
``ceiling``    (scored miners) a candidate scoring ``>= bm25_max_score`` / ``dense_max_score``
=============  ==========================================================================================

``label`` / ``group`` / ``link`` can be turned off with ``exclude``. ``pool="positives"`` draws
negatives only from documents that are the positive of some pair: for résumés linked to job
postings, the negatives of a résumé are then other postings, not other résumés. The first ``num_negatives``
surviving candidates of each miner are kept; several miners share the ``num_negatives`` slots of a
pair in turn (round robin in the order given, duplicates skipped), so ``bm25,dense`` gives a mix and
a miner that runs short leaves its slots to the others. Rejections are counted over the candidates a
miner examined before it had ``num_negatives``.

**Scale.** Nothing is ``n x n``: BM25 scores a batch of queries at a time
(:class:`textmetric.search.BM25Retriever`; a sparse product, so a query costs the documents that
share a word with it) and keeps each query's ``depth`` best; on large pools (``bm25_max_df="auto"``:
100,000 documents or more) query words found in over 5% of the documents are not searched on, which
is what keeps a query from touching most of the corpus. Dense search is
:func:`textmetric.search.dense_topk` (exact, blocked) or, from about 200,000 x 200,000 anchors x
documents (``dense_index="auto"``), a faiss IVF index (:class:`textmetric.search.ann.AnnIndex`).
The candidate checks run over pairs in batches of ``pair_batch``. Anchors are searched once however many
pairs share them.

**Why not** ``sentence_transformers.util.mine_hard_negatives``: it identifies documents by their
text (it deduplicates the corpus by string), knows only the pair's own positive as a false negative
(no labels, groups or links), applies its filters after taking the top candidates so that label
exclusion afterwards would leave anchors without negatives, and prints its rejection counts rather
than returning them. Its margin rule (``relative_margin``) is the one used here.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textmetric.errors import ConfigError
from textmetric.mining.documents import Documents, Links
from textmetric.mining.positives import Positives
from textmetric.text.words import STOP_POS

logger = logging.getLogger("textmetric")

MINERS = ("random", "bm25", "dense")
SCORED_MINERS = ("bm25", "dense")
RULES = ("positive", "link", "label", "group", "margin", "ceiling")
EXCLUDABLE = ("label", "group", "link")
DENSE_INDEXES = ("auto", "exact", "ivf", "hnsw")
POOLS = ("all", "positives")
AUTO_MAX_DF = 0.05  # bm25_max_df="auto": on pools of AUTO_MAX_DF_FROM documents or more
AUTO_MAX_DF_FROM = 100_000
_OK = 0
_INVALID = 127  # padding (no candidate) or a duplicate candidate: not a rejection
_EXACT_LIMIT = 4e10  # auto: exact dense search up to n_queries * n_docs of about 200k x 200k


@dataclass
class NegativeSettings:
    """How many negatives, from which miners, and the false-negative rules."""

    miners: tuple[str, ...] = ("random",)
    num_negatives: int = 1
    depth: int = 50
    margin_ratio: float | None = 0.95
    bm25_max_score: float | None = None
    dense_max_score: float | None = None
    bm25_max_df: float | str | None = "auto"
    exclude: tuple[str, ...] = EXCLUDABLE
    stop_pos: tuple[str, ...] | None = STOP_POS
    dense_index: str = "auto"
    pool: str = "all"
    doc_embeddings: str | Path | None = None
    """``textmetric embed`` output (one vector per document) used instead of encoding the documents."""
    batch_size: int = 64
    pair_batch: int = 65536
    max_block_elements: int = 1 << 24
    seed: int = 42
    show_progress: bool = False

    def __post_init__(self) -> None:
        self.miners = tuple(dict.fromkeys(self.miners))
        self.exclude = tuple(self.exclude)
        unknown = [m for m in self.miners if m not in MINERS]
        if unknown:
            raise ConfigError(f"unknown negative miner {unknown}; expected some of {', '.join(MINERS)}")
        bad = [e for e in self.exclude if e not in EXCLUDABLE]
        if bad:
            raise ConfigError(f"unknown exclusion {bad}; expected some of {', '.join(EXCLUDABLE)}")
        if self.num_negatives < 1:
            raise ConfigError("num_negatives must be >= 1")
        if self.depth < self.num_negatives:
            raise ConfigError(f"depth ({self.depth}) must be at least num_negatives ({self.num_negatives})")
        if self.margin_ratio is not None and not 0 < self.margin_ratio <= 1:
            raise ConfigError(f"margin_ratio must be in (0, 1], got {self.margin_ratio}")
        if (
            self.bm25_max_df != "auto"
            and self.bm25_max_df is not None
            and not 0 < float(self.bm25_max_df) <= 1
        ):
            raise ConfigError(f"bm25_max_df must be in (0, 1], 'auto' or None, got {self.bm25_max_df}")
        if self.pool not in POOLS:
            raise ConfigError(f"negative pool must be one of {', '.join(POOLS)}, not '{self.pool}'")
        if self.dense_index not in DENSE_INDEXES:
            raise ConfigError(f"dense_index must be one of {', '.join(DENSE_INDEXES)}")
        if self.pair_batch < 1 or self.batch_size < 1:
            raise ConfigError("batch sizes must be >= 1")


@dataclass
class Negatives:
    """``indices[i]`` are the document numbers of pair ``i``'s negatives (``-1`` = none), ``miner[i]``
    the miner (index into ``MINERS``) each came from."""

    indices: np.ndarray
    miner: np.ndarray
    rejected: Counter = field(default_factory=Counter)
    rejected_by_miner: dict[str, Counter] = field(default_factory=dict)
    proposed: Counter = field(default_factory=Counter)
    used: Counter = field(default_factory=Counter)
    scores: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    relative: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> np.ndarray:
        """Negatives found per pair."""
        return (self.indices >= 0).sum(axis=1)

    def summary(self) -> dict[str, Any]:
        found = self.found
        wanted = self.indices.shape[1]
        return {
            "per_pair": wanted,
            "found": int(found.sum()),
            "pairs_short": int((found < wanted).sum()),
            "pairs_without": int((found == 0).sum()),
            "per_miner": {m: int(self.used[m]) for m in self.settings.get("miners", [])},
            "candidates_examined_per_miner": {m: int(v) for m, v in self.proposed.items()},
            "rejected": {rule: int(self.rejected[rule]) for rule in RULES},
            "rejected_per_miner": {
                m: {r: int(c[r]) for r in RULES if c[r]} for m, c in self.rejected_by_miner.items()
            },
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
            "settings": self.settings,
        }


# ------------------------------------------------------------------------------ exclusions


def _in_sorted(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if not len(sorted_keys):
        return np.zeros(keys.shape, dtype=bool)
    pos = np.searchsorted(sorted_keys, keys)
    pos = np.minimum(pos, len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


class Exclusions:
    """The candidate-independent rules (``positive``, ``link``, ``label``, ``group``), vectorised."""

    def __init__(self, docs: Documents, links: Links | None, exclude: Sequence[str]) -> None:
        self.n = len(docs)
        self.text_codes = docs.text_codes
        self.labels = docs.labels if "label" in exclude else None
        self.groups = docs.groups if "group" in exclude else None
        self.edges: np.ndarray | None = None
        if links is not None and "link" in exclude and len(links):
            both = np.concatenate(
                [links.source * self.n + links.target, links.target * self.n + links.source]
            )
            self.edges = np.unique(both)

    def codes(
        self,
        cand: np.ndarray,
        anchor_doc: np.ndarray,
        positive_doc: np.ndarray,
        anchor_code: np.ndarray,
        positive_code: np.ndarray,
    ) -> np.ndarray:
        """Rule code per candidate: 0 = kept, ``1 + RULES.index(rule)``, or ``_INVALID``."""
        codes = np.zeros(cand.shape, dtype=np.int8)
        invalid = (cand < 0) | _row_duplicates(cand)
        codes[invalid] = _INVALID
        c = np.where(cand < 0, 0, cand)
        a, p = anchor_doc[:, None], positive_doc[:, None]

        def mark(mask: np.ndarray, rule: str) -> None:
            codes[(codes == _OK) & mask] = 1 + RULES.index(rule)

        tc = self.text_codes[c]
        mark((c == a) | (c == p) | (tc == anchor_code[:, None]) | (tc == positive_code[:, None]), "positive")
        if self.edges is not None:
            mark(_in_sorted(self.edges, a * self.n + c) | _in_sorted(self.edges, p * self.n + c), "link")
        for rule, values in (("label", self.labels), ("group", self.groups)):
            if values is None:
                continue
            vc, va, vp = values[c], values[anchor_doc][:, None], values[positive_doc][:, None]
            mark((vc >= 0) & ((vc == va) | (vc == vp)), rule)
        return codes


def _row_duplicates(matrix: np.ndarray) -> np.ndarray:
    """True where a value already occurred earlier in its row (first occurrences stay False)."""
    if matrix.shape[1] < 2:
        return np.zeros(matrix.shape, dtype=bool)
    order = np.argsort(matrix, axis=1, kind="stable")
    ordered = np.take_along_axis(matrix, order, axis=1)
    dup_sorted = np.zeros(matrix.shape, dtype=bool)
    dup_sorted[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    dup = np.zeros(matrix.shape, dtype=bool)
    np.put_along_axis(dup, order, dup_sorted, axis=1)
    return dup


def score_rules(
    codes: np.ndarray,
    scores: np.ndarray,
    positive_scores: np.ndarray,
    *,
    margin_ratio: float | None,
    max_score: float | None,
) -> None:
    """Add the ``margin`` and ``ceiling`` rules to ``codes`` in place."""
    pos = positive_scores[:, None]
    codes[(codes == _OK) & ~np.isfinite(scores)] = _INVALID
    if margin_ratio is not None:
        threshold = pos - np.abs(pos) * (1.0 - margin_ratio)
        codes[(codes == _OK) & (scores >= threshold)] = 1 + RULES.index("margin")
    if max_score is not None:
        codes[(codes == _OK) & (scores >= max_score)] = 1 + RULES.index("ceiling")


def accept(
    cand: np.ndarray, scores: np.ndarray | None, codes: np.ndarray, width: int, wanted: int
) -> tuple[np.ndarray, np.ndarray, Counter, int]:
    """The first ``width`` kept candidates of each row (rank order), their scores, and the rule
    counts over the candidates examined before ``wanted`` were kept."""
    ok = codes == _OK
    order = np.argsort(~ok, axis=1, kind="stable")[:, :width]
    taken = np.take_along_axis(cand, order, axis=1)
    taken_ok = np.take_along_axis(ok, order, axis=1)
    taken = np.where(taken_ok, taken, -1)
    taken_scores = (
        np.where(taken_ok, np.take_along_axis(scores, order, axis=1), np.nan)
        if scores is not None
        else np.full(taken.shape, np.nan, dtype=np.float32)
    )
    before = np.cumsum(ok, axis=1) - ok
    examined = (before < wanted) & (codes != _INVALID)
    counts: Counter = Counter()
    for i, rule in enumerate(RULES):
        number = int(((codes == 1 + i) & examined).sum())
        if number:
            counts[rule] = number
    return taken, taken_scores.astype(np.float32), counts, int(examined.sum())


def round_robin(
    accepted: list[np.ndarray], scores: list[np.ndarray], wanted: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interleave the miners' kept lists (rank 1 of each miner, then rank 2 ...), skip duplicates,
    keep ``wanted`` per row: ``(indices, miner, scores)``, ``-1`` / NaN padded."""
    stack = np.stack(accepted, axis=2)  # pairs x width x miners
    rows, width, miners = stack.shape
    flat = stack.reshape(rows, width * miners)
    source = np.broadcast_to(np.arange(miners, dtype=np.int8), stack.shape).reshape(rows, width * miners)
    flat_scores = np.stack(scores, axis=2).reshape(rows, width * miners)
    bad = (flat < 0) | _row_duplicates(flat)
    order = np.argsort(bad, axis=1, kind="stable")[:, :wanted]
    keep = ~np.take_along_axis(bad, order, axis=1)
    indices = np.where(keep, np.take_along_axis(flat, order, axis=1), -1)
    miner = np.where(keep, np.take_along_axis(source, order, axis=1), -1).astype(np.int8)
    chosen_scores = np.where(keep, np.take_along_axis(flat_scores, order, axis=1), np.nan)
    return indices, miner, chosen_scores


# ---------------------------------------------------------------------------------- miners


@dataclass
class _Anchors:
    """Unique anchor texts; ``doc[u]`` is the document whose full text anchor ``u`` is, else -1."""

    texts: list[str]
    doc: np.ndarray
    of_pair: np.ndarray


def _unique_anchors(pairs: Positives) -> _Anchors:
    number: dict[str, int] = {}
    of_pair = np.fromiter(
        (number.setdefault(t, len(number)) for t in pairs.anchors), dtype=np.int64, count=len(pairs)
    )
    doc = np.full(len(number), -1, dtype=np.int64)
    full = np.flatnonzero(pairs.anchor_is_doc)
    doc[of_pair[full]] = pairs.anchor_doc[full]
    return _Anchors(texts=list(number), doc=doc, of_pair=of_pair)


def _positions(pool: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Position of each document in the sorted ``pool`` (``-1`` when not in it or ``docs < 0``)."""
    if not len(pool):
        return np.full(len(docs), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(pool, docs), len(pool) - 1)
    return np.where((docs >= 0) & (pool[pos] == docs), pos, -1)


def _pairs_by_anchor(of_pair: np.ndarray, n_anchors: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(of_pair, kind="stable")
    bounds = np.searchsorted(of_pair[order], np.arange(n_anchors + 1))
    return order, bounds


def _drop_common_words(
    pool_tokens: list[list[str]], queries: list[list[str]], max_df: float | None
) -> tuple[list[list[str]], int]:
    """Queries without the words found in more than ``max_df`` of the pool documents."""
    if max_df is None:
        return queries, 0
    df: Counter = Counter()
    for tokens in pool_tokens:
        df.update(set(tokens))
    limit = max_df * len(pool_tokens)
    common = {word for word, count in df.items() if count > limit}
    if not common:
        return queries, 0
    return [[w for w in q if w not in common] for q in queries], len(common)


def bm25_candidates(
    docs: Documents,
    pairs: Positives,
    anchors: _Anchors,
    pool: np.ndarray,
    settings: NegativeSettings,
    seconds: dict[str, float],
    info: dict[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``depth`` BM25 documents of ``pool`` per unique anchor (scores > 0 only) and each pair's
    positive score.

    The positive score is the BM25 score of the positive's document (for ``adjacent`` chunks: the
    chunk's own document). IDF statistics are those of the pool. With ``bm25_max_df``, query words
    found in more than that share of the pool are left out of the search and of the positive score
    alike (they weigh little in BM25 but touch most documents: the cost of a query falls from the
    whole corpus to the documents sharing a less common word).
    """
    from textmetric.search.bm25 import BM25Retriever
    from textmetric.search.topk import select_topk

    started = time.perf_counter()
    retriever = BM25Retriever(stop_pos=settings.stop_pos)
    pool_texts = [docs.texts[i] for i in pool]
    pool_tokens = retriever.tokenize(pool_texts)
    retriever.index(pool_texts, tokens=pool_tokens)
    del pool_texts
    # Anchors that are pool documents reuse their tokens; the others (titles, chunks) are tokenized.
    in_pool = _positions(pool, anchors.doc)
    need = np.flatnonzero(in_pool < 0)
    extra = retriever.tokenize([anchors.texts[u] for u in need]) if len(need) else []
    query_tokens: list[list[str]] = [pool_tokens[i] if i >= 0 else [] for i in in_pool]
    for u, tokens in zip(need, extra, strict=True):
        query_tokens[u] = tokens
    max_df = settings.bm25_max_df
    if max_df == "auto":
        max_df = AUTO_MAX_DF if len(pool) >= AUTO_MAX_DF_FROM else None
    query_tokens, dropped = _drop_common_words(pool_tokens, query_tokens, max_df)  # type: ignore[arg-type]
    del pool_tokens
    if info is not None:
        info.update(bm25_max_df_used=max_df, bm25_common_words_dropped=dropped)
    seconds["bm25_index"] = time.perf_counter() - started

    started = time.perf_counter()
    positive_col = _positions(pool, pairs.positive_doc)
    n_docs, k = len(pool), settings.depth
    n_anchors = len(anchors.texts)
    cand = np.full((n_anchors, k), -1, dtype=np.int64)
    cand_scores = np.full((n_anchors, k), -np.inf, dtype=np.float32)
    positive = np.zeros(len(pairs), dtype=np.float32)
    order, bounds = _pairs_by_anchor(anchors.of_pair, n_anchors)
    batch = max(1, settings.max_block_elements // max(1, n_docs))
    for start in _progress(range(0, n_anchors, batch), settings.show_progress, "BM25 negatives"):
        stop = min(start + batch, n_anchors)
        rows = retriever.sparse_scores(query_tokens[start:stop])
        members = order[bounds[start] : bounds[stop]]
        members = members[positive_col[members] >= 0]
        for pair in members:
            hits, values = rows[anchors.of_pair[pair] - start]
            at = np.searchsorted(hits, positive_col[pair])
            if at < len(hits) and hits[at] == positive_col[pair]:
                positive[pair] = values[at]
        for row, (hits, values) in enumerate(rows):
            if not len(hits):
                continue
            # Zero-score documents share no word with the anchor: never a hard negative. Selecting
            # among the hits keeps the tie rule (hits are in index order) and skips the zeros.
            top_values, columns = select_topk(values[None, :], k)
            found = columns.shape[1]
            cand[start + row, :found] = pool[hits[columns[0].numpy()]]
            cand_scores[start + row, :found] = top_values[0].numpy()
    seconds["bm25_search"] = time.perf_counter() - started
    return cand, cand_scores, positive


def as_textmetric(model: Any):
    """A :class:`textmetric.api.TextMetric` from a folder / Hub id, a ``SentenceTransformer`` or itself."""
    from textmetric.api import TextMetric

    if isinstance(model, TextMetric):
        return model
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        return TextMetric.load(model)  # type: ignore[arg-type]
    return TextMetric(model)


def _rowwise(a: np.ndarray, b: np.ndarray, similarity: str) -> np.ndarray:
    if similarity == "cosine":
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
        return (a * b).sum(axis=1)
    if similarity == "dot":
        return (a * b).sum(axis=1)
    return -np.linalg.norm(a - b, axis=1)


@dataclass
class _Dense:
    similarity: str
    doc: np.ndarray
    anchor: np.ndarray
    row_of: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def dense_candidates(
    docs: Documents,
    pairs: Positives,
    anchors: _Anchors,
    pool: np.ndarray,
    model: Any,
    settings: NegativeSettings,
    seconds: dict[str, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Dense]:
    """Top-``depth`` documents of ``pool`` per unique anchor by the model's similarity, and the
    model's score of every pair."""
    from textmetric.search.topk import SIMILARITIES, dense_topk

    tm = as_textmetric(model)
    similarity = tm.similarity_fn
    if similarity not in SIMILARITIES:
        raise ConfigError(f"dense mining supports cosine, dot or euclidean models, not '{similarity}'")
    started = time.perf_counter()
    encode = {"batch_size": settings.batch_size, "show_progress": settings.show_progress}
    siamese = tm.structure == "siamese"
    # Documents to embed: the pool, the positives' documents and (siamese) documents used as anchors.
    parts = [pool, pairs.positive_doc[pairs.positive_is_doc]]
    if siamese:
        parts.append(anchors.doc[anchors.doc >= 0])
    needed = np.unique(np.concatenate(parts))
    row_of = np.full(len(docs), -1, dtype=np.int64)
    row_of[needed] = np.arange(len(needed))
    if settings.doc_embeddings is not None:  # computed beforehand, e.g. by several processes
        from textmetric.embedding import read_document_vectors
        from textmetric.mining.documents import id_key

        doc_emb = read_document_vectors(settings.doc_embeddings, tm, docs.ids, key=id_key)[needed]
    else:
        doc_emb = tm.encode([docs.texts[i] for i in needed], role="document", **encode)
    reuse = anchors.doc >= 0 if siamese else np.zeros(len(anchors.doc), dtype=bool)
    anchor_emb = np.empty((len(anchors.texts), doc_emb.shape[1]), dtype=np.float32)
    anchor_emb[reuse] = doc_emb[row_of[anchors.doc[reuse]]]
    others = np.flatnonzero(~reuse)
    if len(others):
        anchor_emb[others] = tm.encode([anchors.texts[u] for u in others], role="query", **encode)
    chunk_rows = np.flatnonzero(~pairs.positive_is_doc)
    chunk_emb = (
        tm.encode([pairs.positives[i] for i in chunk_rows], role="document", **encode)
        if len(chunk_rows)
        else None
    )
    seconds["dense_encode"] = time.perf_counter() - started

    positive = np.empty(len(pairs), dtype=np.float32)
    step = settings.pair_batch
    chunk_pos = np.full(len(pairs), -1, dtype=np.int64)
    chunk_pos[chunk_rows] = np.arange(len(chunk_rows))
    for start in range(0, len(pairs), step):
        rows = np.arange(start, min(start + step, len(pairs)))
        pos_emb = np.empty((len(rows), doc_emb.shape[1]), dtype=np.float32)
        is_chunk = chunk_pos[rows] >= 0
        pos_emb[~is_chunk] = doc_emb[row_of[pairs.positive_doc[rows[~is_chunk]]]]
        if chunk_emb is not None:
            pos_emb[is_chunk] = chunk_emb[chunk_pos[rows[is_chunk]]]
        positive[rows] = _rowwise(anchor_emb[anchors.of_pair[rows]], pos_emb, similarity)

    started = time.perf_counter()
    kind = settings.dense_index
    if kind == "auto":
        kind = "exact" if float(len(pool)) * len(anchors.texts) <= _EXACT_LIMIT else "ivf"
    k = min(settings.depth, len(pool))
    pool_emb = doc_emb[row_of[pool]]
    if kind == "exact":
        top = dense_topk(anchor_emb, pool_emb, k, similarity=similarity)  # type: ignore[arg-type]
        cand, cand_scores = pool[top.indices], top.scores.astype(np.float32)
    else:
        if similarity == "euclidean":
            raise ConfigError(
                "an ivf / hnsw dense index needs a cosine or dot model; use dense_index='exact'"
            )
        from textmetric.search.ann import AnnIndex

        vectors, queries = pool_emb, anchor_emb
        if similarity == "cosine":
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        ann = AnnIndex(vectors.shape[1], kind, seed=settings.seed)  # type: ignore[arg-type]
        ann.build(vectors, pool.astype(np.int64))
        cand_scores, cand = ann.search(queries, k)
        cand = cand.astype(np.int64)
        cand_scores = np.where(cand >= 0, cand_scores, -np.inf).astype(np.float32)
    del pool_emb
    if cand.shape[1] < settings.depth:
        pad = settings.depth - cand.shape[1]
        cand = np.pad(cand, ((0, 0), (0, pad)), constant_values=-1)
        cand_scores = np.pad(cand_scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    seconds["dense_search"] = time.perf_counter() - started
    info = {"dense_index_used": kind, "similarity": similarity, "model": tm.name}
    if settings.doc_embeddings is not None:
        info["doc_embeddings"] = str(settings.doc_embeddings)
    return cand, cand_scores, positive, _Dense(similarity, doc_emb, anchor_emb, row_of, info)


def _progress(iterable, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc)


# ---------------------------------------------------------------------------------- driver


def mine_negatives(
    docs: Documents,
    pairs: Positives,
    settings: NegativeSettings,
    *,
    links: Links | None = None,
    model: Any = None,
) -> Negatives:
    """Negatives for every pair of ``pairs`` from ``settings.miners``, with the rules applied."""
    if not settings.miners:
        raise ConfigError("no negative miner given")
    if "dense" in settings.miners and model is None:
        raise ConfigError("dense negatives need a model (--model FOLDER or a SentenceTransformer)")
    if settings.doc_embeddings is not None and "dense" not in settings.miners:
        raise ConfigError("document embeddings are for the dense miner: add dense to --negatives")
    seconds: dict[str, float] = {}
    exclusions = Exclusions(docs, links, settings.exclude)
    anchors = _unique_anchors(pairs)
    anchor_code = np.fromiter((docs.text_code(t) for t in pairs.anchors), dtype=np.int64, count=len(pairs))
    positive_code = np.where(
        pairs.positive_is_doc,
        docs.text_codes[pairs.positive_doc],
        np.fromiter(
            (
                docs.text_code(t) if not full else -1
                for t, full in zip(pairs.positives, pairs.positive_is_doc, strict=True)
            ),
            dtype=np.int64,
            count=len(pairs),
        ),
    )
    searched: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    dense: _Dense | None = None
    pool = np.arange(len(docs), dtype=np.int64) if settings.pool == "all" else np.unique(pairs.positive_doc)
    bm25_info: dict[str, Any] = {}
    if "bm25" in settings.miners:
        searched["bm25"] = bm25_candidates(docs, pairs, anchors, pool, settings, seconds, bm25_info)
    if "dense" in settings.miners:
        *found, dense = dense_candidates(docs, pairs, anchors, pool, model, settings, seconds)
        searched["dense"] = tuple(found)  # type: ignore[assignment]
    ceilings = {"bm25": settings.bm25_max_score, "dense": settings.dense_max_score}

    started = time.perf_counter()
    wanted = settings.num_negatives
    width = wanted * len(settings.miners)
    n_pairs = len(pairs)
    indices = np.full((n_pairs, wanted), -1, dtype=np.int64)
    miner_of = np.full((n_pairs, wanted), -1, dtype=np.int8)
    chosen_scores = np.full((n_pairs, wanted), np.nan, dtype=np.float32)
    rejected_by: dict[str, Counter] = {m: Counter() for m in settings.miners}
    proposed: Counter = Counter()
    for number, start in enumerate(range(0, n_pairs, settings.pair_batch)):
        rows = np.arange(start, min(start + settings.pair_batch, n_pairs))
        a_doc, p_doc = pairs.anchor_doc[rows], pairs.positive_doc[rows]
        a_code, p_code = anchor_code[rows], positive_code[rows]
        kept: list[np.ndarray] = []
        kept_scores: list[np.ndarray] = []
        for miner in settings.miners:
            if miner == "random":
                rng = np.random.default_rng([settings.seed, 7, number])
                cand = pool[rng.integers(0, len(pool), size=(len(rows), settings.depth), dtype=np.int64)]
                scores = None
                codes = exclusions.codes(cand, a_doc, p_doc, a_code, p_code)
            else:
                cand_u, scores_u, positive_scores = searched[miner]
                u = anchors.of_pair[rows]
                cand, scores = cand_u[u], scores_u[u]
                codes = exclusions.codes(cand, a_doc, p_doc, a_code, p_code)
                score_rules(
                    codes,
                    scores,
                    positive_scores[rows],
                    margin_ratio=settings.margin_ratio,
                    max_score=ceilings[miner],
                )
            taken, taken_scores, counts, examined = accept(cand, scores, codes, width, wanted)
            rejected_by[miner].update(counts)
            proposed[miner] += examined
            kept.append(taken)
            kept_scores.append(taken_scores)
        idx, src, sc = round_robin(kept, kept_scores, wanted)
        indices[rows], miner_of[rows], chosen_scores[rows] = idx, src, sc
    seconds["select"] = time.perf_counter() - started

    used: Counter = Counter()
    for m, name in enumerate(settings.miners):
        used[name] = int((miner_of == m).sum())
    # Global miner codes (index into MINERS) instead of positions in settings.miners.
    remap = np.array([MINERS.index(m) for m in settings.miners], dtype=np.int8)
    miner_global = np.where(miner_of >= 0, remap[np.maximum(miner_of, 0)], -1).astype(np.int8)

    scores: dict[str, dict[str, np.ndarray]] = {}
    relative: dict[str, dict[str, np.ndarray]] = {}
    valid = indices >= 0
    pair_of = np.broadcast_to(np.arange(n_pairs)[:, None], indices.shape)
    if "bm25" in searched:
        positive_bm25 = searched["bm25"][2]
        from_bm25 = valid & (miner_global == MINERS.index("bm25"))
        scores["bm25"] = {"positive": positive_bm25, "negative (bm25)": chosen_scores[from_bm25]}
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = chosen_scores[from_bm25] / positive_bm25[pair_of[from_bm25]]
        relative["bm25"] = {"bm25": ratio[np.isfinite(ratio)]}
    if dense is not None:
        positive_dense = searched["dense"][2]
        sims = _dense_scores(dense, anchors.of_pair, indices, settings.pair_batch)
        scores["dense"] = {"positive": positive_dense}
        relative["dense"] = {}
        for m in settings.miners:
            mask = valid & (miner_global == MINERS.index(m))
            scores["dense"][f"negative ({m})"] = sims[mask]
            relative["dense"][m] = sims[mask] - positive_dense[pair_of[mask]]
    rejected: Counter = Counter()
    for counts in rejected_by.values():
        rejected.update(counts)
    info: dict[str, Any] = {
        "miners": list(settings.miners),
        "num_negatives": wanted,
        "depth": settings.depth,
        "margin_ratio": settings.margin_ratio,
        "bm25_max_score": settings.bm25_max_score,
        "dense_max_score": settings.dense_max_score,
        "exclude": list(settings.exclude),
        "pool": settings.pool,
        "pool_size": len(pool),
        "stop_pos": list(settings.stop_pos) if settings.stop_pos else None,
        "seed": settings.seed,
        **bm25_info,
        **(dense.info if dense is not None else {}),
    }
    return Negatives(
        indices=indices,
        miner=miner_global,
        rejected=rejected,
        rejected_by_miner=rejected_by,
        proposed=proposed,
        used=used,
        scores=scores,
        relative=relative,
        seconds=seconds,
        settings=info,
    )


def _dense_scores(dense: _Dense, of_pair: np.ndarray, indices: np.ndarray, step: int) -> np.ndarray:
    """Model similarity of every chosen negative to its anchor (NaN where there is none)."""
    out = np.full(indices.shape, np.nan, dtype=np.float32)
    for start in range(0, len(indices), step):
        rows = slice(start, start + step)
        idx = indices[rows]
        anchor = dense.anchor[of_pair[rows]]
        for j in range(idx.shape[1]):
            ok = idx[:, j] >= 0
            if ok.any():
                out[rows][ok, j] = _rowwise(anchor[ok], dense.doc[dense.row_of[idx[ok, j]]], dense.similarity)
    return out


__all__ = [
    "DENSE_INDEXES",
    "EXCLUDABLE",
    "MINERS",
    "RULES",
    "Exclusions",
    "NegativeSettings",
    "Negatives",
    "accept",
    "as_textmetric",
    "bm25_candidates",
    "dense_candidates",
    "mine_negatives",
    "round_robin",
    "score_rules",
]
