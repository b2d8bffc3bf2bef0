"""``SimilarityIndex``: search documents by meaning with a :class:`~textmetric.api.TextMetric` model.

Documents are embedded with the model's document tower; long ones are chunked on sentence
boundaries (see :mod:`textmetric.api`) and a document scores as its **best chunk**. Queries go
through the query tower. Scores are cosine similarities (dot products for models whose
similarity function is ``dot``).

**Backends** (``backend=``):

* ``exact``: a full scan in bounded memory (:func:`textmetric.search.topk.dense_topk`); exact.
* ``flat``: faiss ``IndexFlatIP``; also exact.
* ``ivf`` / ``hnsw``: approximate faiss indexes (:mod:`textmetric.search.ann`), for large corpora.
* ``auto`` (default): ``exact`` below ``exact_threshold`` chunks (100,000), ``ivf`` from there on;
  decided at search time, so an index that grows past the threshold switches by itself.

The faiss index is built on first search (or save) and updated in place by :meth:`add` and
:meth:`remove`; ``rebuild()`` retrains an IVF index after the corpus has grown a lot.

**Hybrid** (``hybrid=True``): BM25 over MeCab words (:class:`textmetric.search.bm25.BM25Retriever`)
fused with the dense ranking (:mod:`textmetric.search.fusion`; the returned scores are then fused
scores): by reciprocal rank fusion (``fusion="rrf"``, default: needs no tuning) or by a convex
combination of per-query standardised scores (``fusion="convex"``, with ``dense_weight`` tuned on
held-out queries: ``textmetric evaluate --baselines hybrid --fusion convex`` reports the weights).
``search(..., mode="dense" | "bm25" | "hybrid")`` picks per call. BM25 needs the texts, which the
index stores by default (``store_text=True``).

**Files** (:meth:`save`, written atomically; an existing folder is replaced only with
``overwrite=True``): ``index.json`` (settings and the model's identity: name and
:func:`~textmetric.models.model_fingerprint`), ``docs.parquet`` (ids, texts), ``vectors.npy``,
``chunk_keys.npy``, ``chunk_docs.npy`` and, for faiss backends, ``ann.faiss`` / ``ann.json``.
:meth:`load` refuses a model whose fingerprint differs from the recorded one: vectors from
another model are meaningless to it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from textmetric.errors import ConfigError, InputError, ModelLoadError

if TYPE_CHECKING:
    from textmetric.api import TextMetric
    from textmetric.search.ann import AnnIndex
    from textmetric.search.fusion import Fusion

logger = logging.getLogger(__name__)

Backend = Literal["auto", "exact", "flat", "ivf", "hnsw"]
Mode = Literal["dense", "bm25", "hybrid"]
BACKENDS = ("auto", "exact", "flat", "ivf", "hnsw")
MODES = ("dense", "bm25", "hybrid")
EXACT_THRESHOLD = 100_000
FORMAT = "textmetric-index"
FORMAT_VERSION = 1
META_FILE = "index.json"
DOCS_FILE = "docs.parquet"
HYBRID_DEPTH = 100
PROBE_TEXT = "索引を作ったモデルかどうかを確かめるための短い文です。"
PROBE_MIN_COSINE = 0.999


class SearchResult(NamedTuple):
    """Ids of the best documents for one query, best first, and their scores."""

    ids: list[Any]
    scores: np.ndarray


def _check_id(value: Any) -> Any:
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError("document id is not a string or integer", value=value, expected="str or int ids")
    return value


class SimilarityIndex:
    """A searchable set of documents embedded by ``model``.

    Args:
        model: the :class:`~textmetric.api.TextMetric` that embeds documents and queries.
        backend: ``auto`` (default), ``exact``, ``flat``, ``ivf`` or ``hnsw`` (see the module doc).
        hybrid: add BM25 and fuse it with dense search by reciprocal rank fusion.
        store_text: keep document texts (needed for BM25; returned by :meth:`text`).
        exact_threshold: chunk count from which ``auto`` uses ``ivf``.
        nlist, nprobe: IVF cells and cells searched; m, ef_search: HNSW settings.
        rrf_k: the RRF constant (60).
        fusion: how hybrid search fuses BM25 and dense: ``rrf`` (default) or ``convex``.
        dense_weight: the dense ranking's weight in the fusion, the BM25 one getting
            ``1 - dense_weight``; ``None``: equal weights (``convex`` then uses 0.5).
        batch_size: encoding batch size (default: the model's).
    """

    def __init__(
        self,
        model: TextMetric,
        *,
        backend: Backend = "auto",
        hybrid: bool = False,
        store_text: bool = True,
        exact_threshold: int = EXACT_THRESHOLD,
        nlist: int | None = None,
        nprobe: int | None = None,
        m: int = 32,
        ef_search: int = 128,
        rrf_k: int = 60,
        fusion: Fusion = "rrf",
        dense_weight: float | None = None,
        batch_size: int | None = None,
    ) -> None:
        from textmetric.search.fusion import check_fusion

        if backend not in BACKENDS:
            raise ConfigError(f"unknown backend '{backend}'; expected one of {', '.join(BACKENDS)}")
        check_fusion(fusion, dense_weight)
        if hybrid and not store_text:
            raise ConfigError(
                "hybrid search needs the document texts: do not combine hybrid with store_text=False"
            )
        self.model = model
        self.backend = backend
        self.hybrid = hybrid
        self.store_text = store_text
        self.exact_threshold = exact_threshold
        self.ann_options = {"nlist": nlist, "nprobe": nprobe, "m": m, "ef_search": ef_search}
        self.rrf_k = rrf_k
        self.fusion = fusion
        self.dense_weight = dense_weight
        self.batch_size = batch_size
        self.similarity = "dot" if model.similarity_fn == "dot" else "cosine"
        if model.similarity_fn not in ("cosine", "dot"):
            logger.warning("the model's similarity is %s; the index ranks by cosine", model.similarity_fn)
        self.dimension: int | None = None
        self._ids: list[Any] = []
        self._pos: dict[Any, int] = {}
        self._texts: list[str] | None = [] if store_text else None
        self._blocks: list[np.ndarray] = []  # vectors not yet consolidated into _vectors
        self._key_blocks: list[np.ndarray] = []
        self._doc_blocks: list[np.ndarray] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._chunk_keys = np.zeros(0, dtype=np.int64)
        self._chunk_docs = np.zeros(0, dtype=np.int64)
        self._chunk_count = 0
        self._max_chunks = 1
        self._next_key = 0
        self._next_default_id = 0
        self._ann: AnnIndex | None = None
        self._bm25 = None

    # ------------------------------------------------------------------ introspection
    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._pos

    def __repr__(self) -> str:
        return (
            f"SimilarityIndex({len(self)} documents, {self._chunk_count} chunks, backend={self.backend!r} "
            f"({self.kind}), hybrid={self.hybrid}, model={self.model.name!r})"
        )

    @property
    def ids(self) -> list[Any]:
        return list(self._ids)

    @property
    def num_chunks(self) -> int:
        return self._chunk_count

    @property
    def kind(self) -> str:
        """The backend in effect now (``auto`` resolved by size)."""
        if self.backend != "auto":
            return self.backend
        return "exact" if self._chunk_count < self.exact_threshold else "ivf"

    def text(self, doc_id: Any) -> str | None:
        """The stored text of ``doc_id`` (``None`` when texts are not stored)."""
        position = self._position(doc_id)
        return self._texts[position] if self._texts is not None else None

    def _position(self, doc_id: Any) -> int:
        try:
            return self._pos[doc_id]
        except (KeyError, TypeError):
            raise InputError("unknown document id", value=doc_id, expected="an id in the index") from None

    def first_duplicate(self, ids: Sequence[Any]) -> int | None:
        """Position in ``ids`` of the first id already indexed or repeated, else ``None``."""
        seen: set[Any] = set()
        for number, value in enumerate(ids):
            if value in self._pos or value in seen:
                return number
            seen.add(value)
        return None

    # ------------------------------------------------------------------ adding and removing
    def _new_ids(self, ids: Sequence[Any] | None, n: int) -> list[Any]:
        if ids is None:
            if self._ids and not isinstance(self._ids[0], int):
                raise InputError(
                    "this index has string ids; give ids for new documents", expected="ids=[...]"
                )
            new = list(range(self._next_default_id, self._next_default_id + n))
        else:
            new = [_check_id(value) for value in ids]
            if len(new) != n:
                raise InputError(f"{len(new)} ids for {n} documents", expected="one id per document")
        kinds = {type(value) for value in new} | ({type(self._ids[0])} if self._ids else set())
        if len(kinds) > 1:
            raise InputError(
                "mixed id types", value=sorted(k.__name__ for k in kinds), expected="all str or all int"
            )
        duplicate = self.first_duplicate(new)
        if duplicate is not None:
            raise InputError(
                "duplicate document id", value=new[duplicate], expected="a unique id per document"
            )
        return new

    def add(
        self, docs: str | Sequence[str], ids: Sequence[Any] | None = None, *, show_progress: bool = False
    ) -> SimilarityIndex:
        """Embed and add documents (ids default to consecutive integers)."""
        docs = [docs] if isinstance(docs, str) else list(docs)
        new_ids = self._new_ids(ids, len(docs))
        if not docs:
            return self
        chunks = self.model.encode_chunks(
            docs, role="document", batch_size=self.batch_size, show_progress=show_progress
        )
        self._append(new_ids, chunks.vectors, chunks.owner, docs if self._texts is not None else None)
        return self

    def add_embeddings(
        self,
        embeddings: np.ndarray,
        ids: Sequence[Any] | None = None,
        *,
        texts: Sequence[str] | None = None,
        owner: np.ndarray | None = None,
    ) -> SimilarityIndex:
        """Add precomputed document embeddings of this model (e.g. from ``textmetric embed``).

        One row per document, or chunk rows with ``owner[i]`` = the document number of row ``i``.
        """
        embeddings = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
        owner = np.arange(len(embeddings), dtype=np.int64) if owner is None else np.asarray(owner, np.int64)
        n_docs = int(owner.max()) + 1 if len(owner) else 0
        new_ids = self._new_ids(ids, n_docs)
        if self._texts is not None and (texts is None or len(texts) != n_docs):
            raise ConfigError("this index stores texts: pass texts=[...] with the embeddings")
        self._append(new_ids, embeddings, owner, list(texts) if texts is not None else None)
        return self

    def _append(
        self, new_ids: list[Any], vectors: np.ndarray, owner: np.ndarray, texts: list[str] | None
    ) -> None:
        if self.dimension is None:
            self.dimension = int(vectors.shape[1])
        elif vectors.shape[1] != self.dimension:
            raise ConfigError(f"vectors of width {vectors.shape[1]}; this index holds width {self.dimension}")
        if self.similarity == "cosine":
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms > 0, norms, 1.0)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        first = len(self._ids)
        keys = np.arange(self._next_key, self._next_key + len(vectors), dtype=np.int64)
        self._next_key += len(vectors)
        self._blocks.append(vectors)
        self._key_blocks.append(keys)
        self._doc_blocks.append(owner + first)
        self._chunk_count += len(vectors)
        if len(owner):
            self._max_chunks = max(self._max_chunks, int(np.bincount(owner).max()))
        for value in new_ids:
            self._pos[value] = len(self._ids)
            self._ids.append(value)
            if isinstance(value, int):
                self._next_default_id = max(self._next_default_id, value + 1)
        if self._texts is not None and texts is not None:
            self._texts.extend(texts)
        if self._ann is not None:
            self._ann.add(vectors, keys)
        self._bm25 = None

    def _consolidate(self) -> None:
        if self._blocks:
            parts = [self._vectors] if len(self._vectors) else []
            self._vectors = np.concatenate(parts + self._blocks).astype(np.float32, copy=False)
            self._chunk_keys = np.concatenate([self._chunk_keys, *self._key_blocks])
            self._chunk_docs = np.concatenate([self._chunk_docs, *self._doc_blocks])
            self._blocks, self._key_blocks, self._doc_blocks = [], [], []

    def remove(self, ids: Any | Sequence[Any]) -> int:
        """Remove documents by id; returns how many were removed. Unknown ids raise :class:`InputError`."""
        if isinstance(ids, (str, int, np.integer)):
            ids = [ids]
        positions = sorted({self._position(_check_id(value)) for value in ids})
        if not positions:
            return 0
        self._consolidate()
        keep_doc = np.ones(len(self._ids), dtype=bool)
        keep_doc[positions] = False
        keep_chunk = keep_doc[self._chunk_docs]
        if self._ann is not None:
            self._ann.remove(self._chunk_keys[~keep_chunk])
        new_position = np.cumsum(keep_doc) - 1
        self._vectors = self._vectors[keep_chunk]
        self._chunk_keys = self._chunk_keys[keep_chunk]
        self._chunk_docs = new_position[self._chunk_docs[keep_chunk]]
        self._chunk_count = len(self._chunk_keys)
        self._ids = [value for value, keep in zip(self._ids, keep_doc, strict=True) if keep]
        self._pos = {value: number for number, value in enumerate(self._ids)}
        if self._texts is not None:
            self._texts = [text for text, keep in zip(self._texts, keep_doc, strict=True) if keep]
        self._max_chunks = int(np.bincount(self._chunk_docs).max()) if self._chunk_count else 1
        self._bm25 = None
        return len(positions)

    # ------------------------------------------------------------------ backends
    def _ensure_ann(self) -> AnnIndex | None:
        kind = self.kind
        if kind == "exact":
            return None
        if self._ann is not None and self._ann.kind == kind:
            return self._ann
        self.rebuild()
        return self._ann

    def rebuild(self) -> None:
        """(Re)build the faiss index over the current vectors (retrains IVF cells)."""
        from textmetric.search.ann import AnnIndex

        self._consolidate()
        kind = self.kind
        if kind == "exact" or self._chunk_count == 0:
            self._ann = None
            return
        self._ann = AnnIndex(int(self.dimension or 0), kind, **self.ann_options).build(  # type: ignore[arg-type]
            self._vectors, self._chunk_keys
        )

    def _ensure_bm25(self):
        if self._texts is None:
            raise ConfigError("BM25 needs the document texts, and this index was built with store_text=False")
        if self._bm25 is None:
            from textmetric.search.bm25 import BM25Retriever

            self._bm25 = BM25Retriever(nfkc=self.model.nfkc).index(self._texts)
        return self._bm25

    # ------------------------------------------------------------------ searching
    def _dense(self, queries: np.ndarray, depth: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per query: (document positions, scores) of the best ``depth`` documents by best chunk."""
        self._consolidate()
        if self.similarity == "cosine":
            norms = np.linalg.norm(queries, axis=1, keepdims=True)
            queries = queries / np.where(norms > 0, norms, 1.0)
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        fetch = min(self._chunk_count, depth * self._max_chunks)
        ann = self._ensure_ann()
        if ann is None:
            from textmetric.search.topk import dense_topk

            scores, rows = dense_topk(queries, self._vectors, fetch, similarity="dot")
        else:
            scores, keys = ann.search(queries, fetch)
            rows = np.searchsorted(self._chunk_keys, np.where(keys < 0, 0, keys))
            rows = np.where(keys < 0, -1, rows)
        results = []
        for score_row, chunk_row in zip(scores, rows, strict=True):
            valid = chunk_row >= 0
            docs, score_row = self._chunk_docs[chunk_row[valid]], score_row[valid]
            if self.similarity == "cosine":  # float rounding can leave 1.0000001
                score_row = np.clip(score_row, -1.0, 1.0)
            if self._max_chunks > 1:  # keep each document's best (first) chunk
                _, first = np.unique(docs, return_index=True)
                first.sort()
                docs, score_row = docs[first], score_row[first]
            results.append((docs[:depth], score_row[:depth].astype(np.float32)))
        return results

    def _lexical(self, queries: Sequence[str], depth: int) -> list[tuple[np.ndarray, np.ndarray]]:
        result = self._ensure_bm25().search(list(queries), k=depth)
        return [(rows, scores) for scores, rows in zip(result.scores, result.indices, strict=True)]

    def search(
        self, query: str | Sequence[str], k: int = 10, *, mode: Mode | None = None
    ) -> SearchResult | list[SearchResult]:
        """The ``k`` best documents for ``query`` (a :class:`SearchResult`); a list of them for a list.

        ``mode`` defaults to ``hybrid`` for a hybrid index, else ``dense``.
        """
        single = isinstance(query, str)
        queries = [query] if single else list(query)  # type: ignore[list-item]
        mode = mode or ("hybrid" if self.hybrid else "dense")
        if mode not in MODES:
            raise ConfigError(f"unknown search mode '{mode}'; expected one of {', '.join(MODES)}")
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        if not self._ids or not queries:
            empty = [SearchResult([], np.zeros(0, np.float32)) for _ in queries]
            return empty[0] if single else empty
        if mode == "bm25":
            ranked = self._lexical(queries, k)
        else:
            vectors = self.model.encode(queries, role="query", batch_size=self.batch_size)
            if mode == "dense":
                ranked = self._dense(vectors, k)
            else:
                ranked = self._fuse(
                    self._dense(vectors, max(k, HYBRID_DEPTH)),
                    self._lexical(queries, max(k, HYBRID_DEPTH)),
                    k,
                )
        results = [SearchResult([self._ids[int(p)] for p in rows], scores) for rows, scores in ranked]
        return results[0] if single else results

    def search_embeddings(self, queries: np.ndarray, k: int = 10) -> list[SearchResult]:
        """Dense search with precomputed query embeddings (the model's query tower)."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if not self._ids:
            return [SearchResult([], np.zeros(0, np.float32)) for _ in queries]
        return [
            SearchResult([self._ids[int(p)] for p in rows], scores)
            for rows, scores in self._dense(queries, k)
        ]

    def _fuse(self, dense, lexical, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        from textmetric.search.fusion import convex_fusion, reciprocal_rank_fusion

        weights = None if self.dense_weight is None else [self.dense_weight, 1.0 - self.dense_weight]
        if weights is None and self.fusion == "convex":
            weights = [0.5, 0.5]
        fused = []
        for (d_rows, d_scores), (l_rows, l_scores) in zip(dense, lexical, strict=True):
            matched = l_scores > 0  # BM25 0: no word matched, not a candidate
            if self.fusion == "convex":
                ranking = convex_fusion(
                    [(d_rows.tolist(), d_scores), (l_rows[matched].tolist(), l_scores[matched])],
                    weights=weights,
                    floors=[None, 0.0],  # a document BM25 did not list matched no word: 0
                    top_k=k,
                )
            else:
                ranking = reciprocal_rank_fusion(
                    [d_rows.tolist(), l_rows[matched].tolist()], k=self.rrf_k, weights=weights, top_k=k
                )
            fused.append(
                (
                    np.array([r for r, _ in ranking], dtype=np.int64),
                    np.array([s for _, s in ranking], np.float32),
                )
            )
        return fused

    # ------------------------------------------------------------------ files
    def _meta(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "model": {
                "name": self.model.name,
                "fingerprint": self.model.fingerprint,
                "folder": str(self.model.folder.resolve()) if self.model.folder else None,
                "structure": self.model.structure,
                "nfkc": self.model.nfkc,
                "similarity": self.similarity,
                "probe": self._probe(self.model),
            },
            "backend": self.backend,
            "hybrid": self.hybrid,
            "store_text": self.store_text,
            "exact_threshold": self.exact_threshold,
            "ann_options": self.ann_options,
            "rrf_k": self.rrf_k,
            "fusion": self.fusion,
            "dense_weight": self.dense_weight,
            "chunking": {"enabled": self.model.chunking, "overlap": self.model.overlap},
            "dimension": self.dimension,
            "documents": len(self._ids),
            "chunks": self._chunk_count,
            "max_chunks": self._max_chunks,
            "next_key": self._next_key,
            "next_default_id": self._next_default_id,
            "id_type": type(self._ids[0]).__name__ if self._ids else None,
        }

    @staticmethod
    def _probe(model: TextMetric) -> dict[str, list[float]]:
        """Embeddings of a fixed text by both towers: a second check beside the fingerprint, for
        what no saved file shows (text normalisation, chunking, a model edited in memory)."""
        return {role: model.encode(PROBE_TEXT, role=role).round(6).tolist() for role in ("query", "document")}

    @staticmethod
    def _check_model(tm: TextMetric, recorded: dict[str, Any], path: Path) -> None:
        built_with = f"the index {path} was built with model '{recorded['name']}'"
        fix = (
            "load the index with the model that built it, or rebuild it "
            "(`textmetric index MODEL DOCS --out DIR --overwrite`)"
        )
        if tm.fingerprint != recorded["fingerprint"]:
            raise ModelLoadError(
                f"{built_with} (fingerprint {recorded['fingerprint']}), but the given model '{tm.name}' has "
                f"fingerprint {tm.fingerprint}: vectors of another model cannot be searched; {fix}"
            )
        for role, stored in (recorded.get("probe") or {}).items():
            now = tm.encode(PROBE_TEXT, role=role)
            stored = np.asarray(stored, dtype=np.float32)
            cosine = float(now @ stored / max(np.linalg.norm(now) * np.linalg.norm(stored), 1e-12))
            if now.shape != stored.shape or cosine < PROBE_MIN_COSINE:
                raise ModelLoadError(
                    f"{built_with}; the given model '{tm.name}' has the same weights but embeds text "
                    f"differently ({role} tower; other pooling, normalisation or settings?); {fix}"
                )

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the index folder atomically; an existing one is replaced only with ``overwrite=True``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from textmetric.io import atomic_path, ensure_writable

        ensure_writable(path, overwrite=overwrite)
        self._consolidate()
        ann = self._ensure_ann() if self._chunk_count else None
        meta = self._meta()
        with atomic_path(path, overwrite=overwrite, is_dir=True) as tmp:
            tmp.mkdir(parents=True, exist_ok=True)
            columns = {
                "id": pa.array(self._ids, type=pa.string() if meta["id_type"] == "str" else pa.int64())
            }
            if self._texts is not None:
                columns["text"] = pa.array(self._texts, type=pa.string())
            pq.write_table(pa.table(columns), tmp / DOCS_FILE)
            np.save(tmp / "vectors.npy", self._vectors.reshape(-1, self.dimension or 0))
            np.save(tmp / "chunk_keys.npy", self._chunk_keys)
            np.save(tmp / "chunk_docs.npy", self._chunk_docs)
            if ann is not None and ann.kind != "flat":  # a flat index is rebuilt in a moment
                ann.save(tmp)
            (tmp / META_FILE).write_text(
                json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, model: TextMetric | str | Path | None = None) -> SimilarityIndex:
        """Load an index folder for ``model`` (default: the model recorded in the index).

        Raises :class:`ModelLoadError` when ``model`` is not the model that built the index.
        """
        import pyarrow.parquet as pq

        from textmetric.api import TextMetric

        path = Path(path)
        meta_file = path / META_FILE
        if not meta_file.is_file():
            raise InputError(
                "not an index folder (no index.json)",
                path=path,
                expected="a folder written by `textmetric index`",
            )
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise InputError(f"index.json is not valid JSON: {err.msg}", path=meta_file) from None
        if meta.get("format") != FORMAT or meta.get("version", 0) > FORMAT_VERSION:
            raise InputError(
                "unknown index format",
                path=meta_file,
                value=meta.get("format"),
                expected=f"{FORMAT} v{FORMAT_VERSION}",
            )
        recorded = meta["model"]
        if model is None:
            model = recorded.get("folder")
            if model is None:
                raise ModelLoadError(
                    f"the index {path} was built with an in-memory model; pass model= (TextMetric or folder)"
                )
        tm = model if isinstance(model, TextMetric) else TextMetric.load(model)  # type: ignore[arg-type]
        cls._check_model(tm, recorded, path)
        if tm.nfkc != recorded.get("nfkc", tm.nfkc):
            logger.warning(
                "the index was built with nfkc=%s, the model now uses nfkc=%s", recorded["nfkc"], tm.nfkc
            )
        options = meta.get("ann_options", {})
        index = cls(
            tm,
            backend=meta["backend"],
            hybrid=meta["hybrid"],
            store_text=meta["store_text"],
            exact_threshold=meta["exact_threshold"],
            rrf_k=meta.get("rrf_k", 60),
            fusion=meta.get("fusion", "rrf"),
            dense_weight=meta.get("dense_weight"),
            **{key: value for key, value in options.items() if key in ("nlist", "nprobe", "m", "ef_search")},
        )
        try:
            docs = pq.read_table(path / DOCS_FILE)
            index._vectors = np.load(path / "vectors.npy")
            index._chunk_keys = np.load(path / "chunk_keys.npy")
            index._chunk_docs = np.load(path / "chunk_docs.npy")
        except (OSError, ValueError) as err:
            raise InputError(f"index files are missing or damaged: {err}", path=path) from None
        index._ids = docs.column("id").to_pylist()
        index._pos = {value: number for number, value in enumerate(index._ids)}
        if index.store_text:
            index._texts = docs.column("text").to_pylist()
        index.dimension = meta["dimension"]
        index._chunk_count = len(index._chunk_keys)
        index._max_chunks = meta.get("max_chunks", 1)
        index._next_key = meta["next_key"]
        index._next_default_id = meta.get("next_default_id", 0)
        if len(index._vectors) != index._chunk_count or len(index._ids) != meta["documents"]:
            raise InputError("index files do not match index.json (damaged or mixed)", path=path)
        if (path / "ann.faiss").is_file():
            from textmetric.search.ann import AnnIndex

            index._ann = AnnIndex.load(path)
        return index


__all__ = ["BACKENDS", "EXACT_THRESHOLD", "MODES", "SearchResult", "SimilarityIndex"]
