"""The Python API: :class:`TextMetric` loads a trained model and measures document similarity.

``TextMetric`` wraps a ``SentenceTransformer`` and applies what training applied, read from the
saved model folder, so that inference sees text exactly as training did:

* **Normalisation.** NFKC (and stripping) when ``textmetric.json`` says ``nfkc: true``; a plain
  sentence-transformers folder without ``textmetric.json`` gets NFKC **on** by default (it folds
  full-/half-width forms, which helps every Japanese model); pass ``nfkc=False`` to turn it off.
* **Towers.** A ``dssm`` model has separate query and document towers: queries go through
  ``encode_query`` and documents through ``encode_document``. ``similarity(a, b)`` treats ``a`` as
  queries and ``b`` as documents; ``encode(texts, role=...)`` picks the tower (default
  ``document``). For siamese models both roles are the same encoder.
* **Long documents.** A text longer than the model's ``max_seq_length`` would be truncated by the
  model. Instead it is cut on Japanese sentence boundaries into overlapping chunks
  (:func:`textmetric.text.sentences.chunk_text`, ``overlap`` sentences shared by neighbours), each
  chunk is embedded, and the chunk vectors are aggregated into one document vector: ``mean``
  (default), ``max`` (element-wise) or ``first`` (the first chunk only, i.e. truncation on a
  sentence boundary); normalised again when the model normalises. A search index keeps the chunk
  vectors and scores a document by its best chunk.

  Chunk sizes are **measured in tokens**, with the model's own tokenizer: a text is counted only
  when it is longer than ``budget / k`` characters, where ``budget`` is ``max_seq_length`` minus
  special and prompt tokens and ``k`` the most tokens one character makes for this tokenizer
  (1 for the WordPiece Japanese BERTs, so shorter texts provably fit and are never tokenized
  twice). A long text is chunked with a character limit derived from its own characters-per-token
  ratio, and every chunk is counted again; chunks still over budget are re-cut smaller.

Example::

    tm = TextMetric.load("runs/my-model")
    tm.similarity("文書A", "文書B")              # float
    tm.similarity(list_a, list_b)              # len(a) x len(b) matrix
    vectors = tm.encode(texts, batch_size=64, show_progress=True)
    index = tm.index(docs, ids=ids)            # SimilarityIndex
    ids, scores = index.search("クエリ", k=10)
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from textmetric.embedding import EmbedFileResult, iter_embeddings, read_embeddings
from textmetric.errors import ConfigError, InputError, ModelLoadError
from textmetric.models.metadata import ModelMetadata, model_fingerprint
from textmetric.text.normalize import normalize_text
from textmetric.text.sentences import chunk_text

if TYPE_CHECKING:
    from textmetric.index import SimilarityIndex

logger = logging.getLogger(__name__)

Role = Literal["query", "document"]
Aggregate = Literal["mean", "max", "first"]
ROLES = ("query", "document")
AGGREGATES = ("mean", "max", "first")
DEFAULT_NFKC = True
"""NFKC for plain sentence-transformers folders that have no ``textmetric.json``."""
_PROBE_CHARS = "日本語あいうアイウｱ漢字AaZz09。、！？「」（）・ー〜€😀한"
_NOT_NEEDED_FROM_HUB = ["*.onnx", "onnx/*", "openvino/*", "*.h5", "*.msgpack", "*.ot", "*.tflite"]
_CHUNK_SAFETY = 0.9
_MAX_RECUTS = 6


@dataclass
class Chunks:
    """Chunk vectors of several texts: ``vectors[i]`` belongs to text ``owner[i]`` (non-decreasing)."""

    vectors: np.ndarray
    owner: np.ndarray
    counts: np.ndarray
    """Chunks per text."""


def _is_hub_id(name: str) -> bool:
    return not name.startswith((".", "/", "~")) and name.count("/") <= 1 and "\\" not in name


def resolve_model_folder(model: str | Path, *, revision: str | None = None) -> tuple[Path, str]:
    """A local folder for ``model`` (a folder, or a Hub id from the cache / the Hub) and its name.

    Raises :class:`ModelLoadError` saying how to use a local folder when a Hub id cannot be
    fetched (no network, ``HF_HUB_OFFLINE=1``, unknown id).
    """
    text = str(model)
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"'{text}' is a file; expected a model folder (e.g. the --output of train)")
        return path, path.resolve().name
    if not _is_hub_id(text):
        raise ModelLoadError(f"model folder '{text}' does not exist")
    from huggingface_hub import constants, snapshot_download

    offline = bool(constants.HF_HUB_OFFLINE)
    try:
        folder = snapshot_download(
            text, revision=revision, local_files_only=offline, ignore_patterns=_NOT_NEEDED_FROM_HUB
        )
    except Exception as err:  # offline, unknown repo, bad id, network: all mean "not available"
        local = f"models/{text.split('/')[-1]}"
        reason = "offline mode (HF_HUB_OFFLINE=1) and not in the local cache" if offline else str(err)
        raise ModelLoadError(
            f"'{text}' is not a local folder and cannot be loaded from the Hugging Face Hub ({reason}). "
            f"To use a local model, pass the path of its folder (e.g. TextMetric.load('runs/my-model') or "
            f"the --output of `textmetric train`); to use a Hub model without network, download it once "
            f"where you have network (`huggingface-cli download {text} --local-dir {local}`) "
            "and pass that folder"
        ) from None
    return Path(folder), text


def _load_sentence_transformer(folder: Path, name: str, device: str | None):
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(str(folder), device=device, local_files_only=True)
    except ImportError as err:
        raise ModelLoadError(
            f"the tokenizer of '{name}' needs a package that is not installed: {err} "
            "(Japanese BERTs need fugashi and unidic-lite: pip install fugashi unidic-lite)"
        ) from None
    except Exception as err:  # a folder that is not a model raises OSError, ValueError, KeyError...
        raise ModelLoadError(
            f"cannot load '{name}' as a sentence-transformers model: {err} "
            "(expected a folder saved by `textmetric train` or SentenceTransformer.save)"
        ) from None


def use_fast_tokenizer_if_available(model) -> None:
    """Swap in textmetric's fast Japanese tokenizer when the module exists (it falls back itself)."""
    try:
        from textmetric.text.fast_tokenizer import use_fast_tokenizer
    except ImportError:
        return
    use_fast_tokenizer(model)


class TextMetric:
    """A trained dual encoder with its text normalisation, towers and long-document chunking.

    Build with :meth:`load` (a folder or Hub id) or wrap an in-memory ``SentenceTransformer``.

    Args:
        model: the ``SentenceTransformer``.
        metadata: its ``textmetric.json`` (``None`` for plain sentence-transformers models).
        nfkc: override the normalisation (default: the metadata's, else NFKC on).
        chunking: split texts longer than ``max_seq_length`` (default) instead of truncating them.
        aggregate: chunk vectors to document vector: ``mean`` (default), ``max`` or ``first``.
        overlap: sentences repeated at the start of the next chunk.
        batch_size: default encoding batch size.
        name, folder: where the model came from (recorded by indexes).
    """

    def __init__(
        self,
        model,
        *,
        metadata: ModelMetadata | None = None,
        nfkc: bool | None = None,
        chunking: bool = True,
        aggregate: Aggregate = "mean",
        overlap: int = 1,
        batch_size: int = 32,
        name: str | None = None,
        folder: str | Path | None = None,
    ) -> None:
        if aggregate not in AGGREGATES:
            raise ConfigError(f"unknown aggregate '{aggregate}'; expected one of {', '.join(AGGREGATES)}")
        if overlap < 0:
            raise ConfigError(f"overlap must be >= 0, got {overlap}")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.metadata = metadata
        self.nfkc = nfkc if nfkc is not None else (metadata.nfkc if metadata is not None else DEFAULT_NFKC)
        self.chunking = chunking
        self.aggregate = aggregate
        self.overlap = overlap
        self.batch_size = batch_size
        self.folder = Path(folder) if folder is not None else None
        self.name = name or (self.folder.name if self.folder else "in-memory model")
        self._fingerprint: str | None = None
        self._limits: dict[str, tuple[int | None, int]] = {}

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        model: str | Path,
        *,
        device: str | None = None,
        nfkc: bool | None = None,
        chunking: bool = True,
        aggregate: Aggregate = "mean",
        overlap: int = 1,
        batch_size: int = 32,
        fast_tokenizer: bool = True,
        revision: str | None = None,
    ) -> TextMetric:
        """Load a model folder (``textmetric train`` output or any sentence-transformers folder) or Hub id.

        A Hub id is taken from the local cache when offline; when it cannot be had, a
        :class:`ModelLoadError` says how to use a local folder instead.
        """
        from textmetric.models.resources import check_device

        check_device(device)
        folder, name = resolve_model_folder(model, revision=revision)
        st_model = _load_sentence_transformer(folder, name, device)
        if fast_tokenizer:
            use_fast_tokenizer_if_available(st_model)
        return cls(
            st_model,
            metadata=ModelMetadata.load(folder),
            nfkc=nfkc,
            chunking=chunking,
            aggregate=aggregate,
            overlap=overlap,
            batch_size=batch_size,
            name=name,
            folder=folder,
        )

    # ------------------------------------------------------------------ properties
    @property
    def structure(self) -> str:
        """``dssm`` (query / document towers) or ``siamese``."""
        from textmetric.models.builder import model_structure

        return model_structure(self.model)

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()
        if dim is None:  # some custom module chains do not declare it
            dim = int(self._embed(["次元"], "document", 1, False).shape[1])
        return int(dim)

    @property
    def normalized(self) -> bool:
        """Whether the model L2-normalises its embeddings (a ``Normalize`` module)."""
        from sentence_transformers.sentence_transformer.modules import Normalize

        return any(isinstance(module, Normalize) for module in self.model.children())

    @property
    def similarity_fn(self) -> str:
        """The model's similarity function: ``cosine`` (default), ``dot``, ``euclidean``, ``manhattan``."""
        return str(self.model.similarity_fn_name or "cosine")

    @property
    def fingerprint(self) -> str:
        """Hash of the weights (:func:`textmetric.models.model_fingerprint`) that indexes record.

        For a loaded model, the folder's weight files; for an in-memory model, the files it would
        save (so an index built in memory loads with the saved folder). Weights changed in memory
        after loading are not seen.
        """
        if self._fingerprint is None:
            if self.folder is not None:
                self._fingerprint = model_fingerprint(self.folder)
            else:
                with tempfile.TemporaryDirectory(prefix="textmetric-fp-") as tmp:
                    self.model.save(tmp)
                    self._fingerprint = model_fingerprint(tmp)
        return self._fingerprint

    def __repr__(self) -> str:
        return (
            f"TextMetric(name={self.name!r}, structure={self.structure!r}, nfkc={self.nfkc}, "
            f"chunking={self.chunking}, aggregate={self.aggregate!r})"
        )

    # ------------------------------------------------------------------ text preparation
    def normalize(self, text: str) -> str:
        """The text as the model sees it (NFKC per the model, stripped)."""
        return normalize_text(text, nfkc=self.nfkc)

    def _transformer(self, role: Role):
        """The input module (sentence-transformers ``Transformer``) of ``role``'s tower."""
        first = self.model[0]
        sub_modules = getattr(first, "sub_modules", None)
        if sub_modules is None:
            return first
        try:
            route = first._resolve_route(task=role, modality="text")
        except Exception:  # private API; fall back to the plain names
            route = role if role in sub_modules else getattr(first, "default_route", None)
        if route not in sub_modules:
            route = next(iter(sub_modules))
        return sub_modules[route][0]

    def max_seq_length(self, role: Role = "document") -> int | None:
        """Tokens the ``role`` tower reads per text (chunk); ``None`` for a model without a limit."""
        length = getattr(self._transformer(role), "max_seq_length", None)
        return int(length) if length else None

    def _count_tokens(self, role: Role, texts: Sequence[str]) -> list[int]:
        tokenizer = self._transformer(role).tokenizer
        encoded = tokenizer(
            list(texts),
            add_special_tokens=False,
            truncation=False,
            return_attention_mask=False,
            verbose=False,
        )
        return [len(ids) for ids in encoded["input_ids"]]

    def _limits_for(self, role: Role) -> tuple[int | None, int]:
        """``(token budget per chunk, character length above which a text is counted)``."""
        if role not in self._limits:
            module = self._transformer(role)
            tokenizer = getattr(module, "tokenizer", None)
            max_len = getattr(module, "max_seq_length", None)
            if tokenizer is None or not max_len:
                self._limits[role] = (None, 0)
                return self._limits[role]
            try:
                special = int(tokenizer.num_special_tokens_to_add(pair=False))
            except Exception:
                special = 2
            prompt = self._prompt(role)
            prompt_tokens = self._count_tokens(role, [prompt])[0] if prompt else 0
            budget = max(1, int(max_len) - special - prompt_tokens)
            per_char = max([1, *self._count_tokens(role, list(_PROBE_CHARS))])
            self._limits[role] = (budget, budget // per_char)
        return self._limits[role]

    def _prompt(self, role: Role) -> str | None:
        prompts = getattr(self.model, "prompts", None) or {}
        return prompts.get(role) or None

    def chunk(self, text: str, *, role: Role = "document") -> list[str]:
        """The pieces ``text`` is embedded as: one if it fits ``max_seq_length``, else sentence chunks."""
        return self._split([self.normalize(text)], role, chunking=True)[0][0]

    def _split(self, texts: list[str], role: Role, *, chunking: bool) -> tuple[list[list[str]], list[int]]:
        """Per text: its chunks (``[text]`` when it fits) and token count (-1 when not counted)."""
        pieces: list[list[str]] = [[text] for text in texts]
        counts = [-1] * len(texts)
        budget, threshold = self._limits_for(role) if chunking else (None, 0)
        if budget is None:
            return pieces, counts
        long_rows = [i for i, text in enumerate(texts) if len(text) > threshold]
        if not long_rows:
            return pieces, counts
        for row, n_tokens in zip(
            long_rows, self._count_tokens(role, [texts[i] for i in long_rows]), strict=True
        ):
            counts[row] = n_tokens
            if n_tokens > budget:
                pieces[row] = self._chunk_long(texts[row], n_tokens, budget, role)
        return pieces, counts

    def _chunk_long(self, text: str, n_tokens: int, budget: int, role: Role) -> list[str]:
        max_chars = max(1, int(budget * len(text) / n_tokens * _CHUNK_SAFETY))
        chunks = [text]
        for _ in range(_MAX_RECUTS):
            chunks = chunk_text(text, max_chars=max_chars, overlap=self.overlap)
            worst = max(self._count_tokens(role, chunks))
            if worst <= budget:
                return chunks
            max_chars = max(1, min(max_chars - 1, int(max_chars * budget / worst * _CHUNK_SAFETY)))
        logger.debug(
            "a chunk of %d characters still exceeds %d tokens; the model truncates it", max_chars, budget
        )
        return chunks

    # ------------------------------------------------------------------ encoding
    def _embed(self, texts: list[str], role: Role, batch_size: int, show_progress: bool) -> np.ndarray:
        """Raw model embeddings of prepared texts; each distinct text is encoded once.

        Batches are formed by **token** length (sentence-transformers sorts by characters): for
        Japanese, characters predict tokens loosely, and batches of similar token length carry
        far less padding (JSTS, batches of 32: 24 % padded positions by characters, 2 % by
        tokens). The counting reuses the fast tokenizer's word-split cache, so the model's own
        tokenization of the same texts right after is nearly free.
        """
        if not texts:
            return np.zeros((0, self.model.get_embedding_dimension() or 0), dtype=np.float32)
        from textmetric.models.resources import out_of_memory_guard

        unique = list(dict.fromkeys(texts))
        lengths = self._lengths_for_batching(role, unique)
        order = np.argsort(-lengths, kind="stable")
        encode = self.model.encode_query if role == "query" else self.model.encode_document
        vectors: np.ndarray | None = None
        starts = range(0, len(unique), batch_size)
        with out_of_memory_guard("encoding"), _progress_bar(show_progress, len(unique)) as bar:
            for start in starts:
                rows = order[start : start + batch_size]
                batch = encode(
                    [unique[i] for i in rows],
                    batch_size=batch_size,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                )
                batch = np.asarray(batch, dtype=np.float32)
                if vectors is None:
                    vectors = np.empty((len(unique), batch.shape[1]), dtype=np.float32)
                vectors[rows] = batch
                bar(len(rows))
        assert vectors is not None
        if len(unique) < len(texts):
            position = {text: i for i, text in enumerate(unique)}
            vectors = vectors[[position[text] for text in texts]]
        return vectors

    def _lengths_for_batching(self, role: Role, texts: list[str]) -> np.ndarray:
        """Token counts of ``texts`` (character counts if the tokenizer cannot count)."""
        if len(texts) > 1:
            try:
                return np.asarray(self._count_tokens(role, texts), dtype=np.int64)
            except Exception:  # a module without a text tokenizer: characters are the next best
                logger.debug("cannot count tokens; batching by characters")
        return np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))

    def _check_role(self, role: str) -> None:
        if role not in ROLES:
            raise ConfigError(f"unknown role '{role}'; expected query or document")

    def _prepare(self, texts: Sequence[str]) -> list[str]:
        prepared = []
        for number, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"text {number} is not a string", value=text, expected="a str")
            prepared.append(self.normalize(text))
        return prepared

    def encode_chunks(
        self,
        texts: Sequence[str],
        *,
        role: Role = "document",
        batch_size: int | None = None,
        show_progress: bool = False,
        chunking: bool | None = None,
    ) -> Chunks:
        """Chunk vectors of ``texts`` (one per text when it fits): what an index stores."""
        self._check_role(role)
        prepared = self._prepare(texts)
        pieces, _ = self._split(prepared, role, chunking=self.chunking if chunking is None else chunking)
        counts = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
        flat = [piece for group in pieces for piece in group]
        vectors = self._embed(flat, role, batch_size or self.batch_size, show_progress)
        owner = np.repeat(np.arange(len(pieces), dtype=np.int64), counts)
        return Chunks(vectors=vectors, owner=owner, counts=counts)

    def aggregate_chunks(self, chunks: Chunks, aggregate: Aggregate | None = None) -> np.ndarray:
        """One vector per text from its chunk vectors (renormalised when the model normalises)."""
        how = aggregate or self.aggregate
        if how not in AGGREGATES:
            raise ConfigError(f"unknown aggregate '{how}'; expected one of {', '.join(AGGREGATES)}")
        if len(chunks.counts) == len(chunks.vectors):  # nothing was chunked
            return chunks.vectors
        starts = np.concatenate([[0], np.cumsum(chunks.counts)[:-1]])
        if how == "first":
            out = chunks.vectors[starts]
        elif how == "max":
            out = np.maximum.reduceat(chunks.vectors, starts, axis=0)
        else:
            out = np.add.reduceat(chunks.vectors, starts, axis=0) / chunks.counts[:, None].astype(np.float32)
        if self.normalized:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.where(norms > 0, norms, 1.0)
        return out.astype(np.float32, copy=False)

    def encode(
        self,
        texts: str | Sequence[str],
        *,
        role: Role = "document",
        batch_size: int | None = None,
        show_progress: bool = False,
        aggregate: Aggregate | None = None,
        chunking: bool | None = None,
    ) -> np.ndarray:
        """Embeddings of ``texts`` (``(n, dim)`` float32; ``(dim,)`` for one string).

        ``role`` picks the tower of a dssm model (``query`` / ``document``); long texts are
        chunked and aggregated (see the module docstring).
        """
        single = isinstance(texts, str)
        chunks = self.encode_chunks(
            [texts] if single else list(texts),  # type: ignore[list-item]
            role=role,
            batch_size=batch_size,
            show_progress=show_progress,
            chunking=chunking,
        )
        vectors = self.aggregate_chunks(chunks, aggregate)
        return vectors[0] if single else vectors

    def encode_queries(self, texts: str | Sequence[str], **kwargs: Any) -> np.ndarray:
        """:meth:`encode` with ``role="query"`` (the query tower of a dssm model)."""
        return self.encode(texts, role="query", **kwargs)

    def score(self, queries: np.ndarray, documents: np.ndarray) -> np.ndarray:
        """The model's similarity between embedding matrices (cosine unless the model says otherwise)."""
        fn = self.similarity_fn
        a = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        b = np.atleast_2d(np.asarray(documents, dtype=np.float32))
        if fn == "cosine":
            a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
            b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
            return np.clip(a @ b.T, -1.0, 1.0)
        if fn == "dot":
            return a @ b.T
        return self.model.similarity(a, b).cpu().numpy()

    def similarity(
        self, a: str | Sequence[str], b: str | Sequence[str], *, batch_size: int | None = None
    ) -> float | np.ndarray:
        """Similarity of ``a`` (as queries) and ``b`` (as documents).

        Two strings give a float, a string and a list a vector, two lists a ``len(a) x len(b)``
        matrix. Cosine similarity (in [-1, 1]) unless the model declares another function; for a
        siamese model ``similarity(a, b) == similarity(b, a)``.
        """
        qa = self.encode(a, role="query", batch_size=batch_size)
        db = self.encode(b, role="document", batch_size=batch_size)
        scores = self.score(qa, db)
        if isinstance(a, str) and isinstance(b, str):
            return float(scores[0, 0])
        if isinstance(a, str):
            return scores[0]
        if isinstance(b, str):
            return scores[:, 0]
        return scores

    # ------------------------------------------------------------------ search and files
    def index(
        self,
        docs: Sequence[str],
        ids: Sequence[Any] | None = None,
        *,
        show_progress: bool = False,
        **options: Any,
    ) -> SimilarityIndex:
        """A :class:`~textmetric.index.SimilarityIndex` over ``docs``; ``options`` go to its constructor
        (``backend``, ``hybrid``, ``store_text``, ...)."""
        from textmetric.index import SimilarityIndex

        index = SimilarityIndex(self, **options)
        index.add(docs, ids=ids, show_progress=show_progress)
        return index

    def embed_file(
        self,
        path: str | Path,
        out: str | Path,
        *,
        text_column: str = "text",
        id_column: str | None = None,
        role: Role = "document",
        rows_per_group: int = 4096,
        batch_size: int | None = None,
        encoding: str | None = None,
        file_format: str | None = None,
        overwrite: bool = False,
        aggregate: Aggregate | None = None,
        show_progress: bool = False,
        on_bad_row: str = "error",
        chunks: bool = False,
    ) -> EmbedFileResult:
        """Embed a CSV / TSV / JSONL / Parquet file's ``text_column`` into Parquet, streaming.

        The output has columns ``id`` (the ``id_column``, default ``id`` when the file has one,
        else the 0-based row number) and ``embedding`` (fixed-size list of float32). Input is read
        and output written ``rows_per_group`` rows at a time (one Parquet row group each), so
        memory stays flat on big files; the output appears only when complete.
        ``on_bad_row="skip"`` drops rows without a usable text or id and counts them in the result.

        In one process ``out`` is a Parquet file. Under torch.distributed (``torchrun``,
        ``textmetric embed --nproc N``) every process must call this, each with its own device;
        the row groups are shared out and ``out`` is a folder of Parquet shards with a
        ``manifest.json``. :func:`read_embeddings` / :func:`iter_embeddings` read either back in
        the input's order (see :mod:`textmetric.embedding`).

        ``chunks=True`` writes one row per chunk (a ``chunk`` column numbers them within the
        document; the id repeats) instead of one aggregated vector per row: what
        :meth:`index_file` takes as ``embeddings=``.
        """
        from textmetric.embedding import embed_file

        return embed_file(
            self,
            path,
            out,
            text_column=text_column,
            id_column=id_column,
            role=role,
            rows_per_group=rows_per_group,
            batch_size=batch_size,
            encoding=encoding,
            file_format=file_format,
            overwrite=overwrite,
            aggregate=aggregate,
            show_progress=show_progress,
            on_bad_row=on_bad_row,
            chunks=chunks,
        )

    def index_file(
        self,
        path: str | Path,
        *,
        text_column: str = "text",
        id_column: str | None = None,
        rows_per_batch: int = 4096,
        encoding: str | None = None,
        file_format: str | None = None,
        show_progress: bool = False,
        on_bad_row: str = "error",
        skipped: Any = None,
        embeddings: str | Path | None = None,
        **options: Any,
    ) -> SimilarityIndex:
        """A :class:`~textmetric.index.SimilarityIndex` over a document file, read in batches.

        Ids come from ``id_column`` (default ``id`` when the file has one, else the row number).
        ``on_bad_row="skip"`` drops rows without a usable text or id; pass a ``collections.Counter``
        as ``skipped`` to learn how many of each kind.

        ``embeddings``: the output of :meth:`embed_file` with ``chunks=True`` for the same file
        (one process or shards of several), used instead of encoding here, so that the slow
        part can run in parallel. The file still supplies the texts (BM25, results); its ids must
        be those of the embeddings, in the same order, and the embeddings must come from this
        model with these chunking settings (:func:`textmetric.embedding.check_embeddings`).
        """
        from textmetric.data.stream import iter_text_batches
        from textmetric.index import SimilarityIndex

        index = SimilarityIndex(self, **options)
        progress = _progress(show_progress)
        batches = iter_text_batches(
            path,
            text_column=text_column,
            id_column=id_column,
            batch_size=rows_per_batch,
            encoding=encoding,
            file_format=file_format,
            on_bad_row=on_bad_row,
            skipped=skipped,
        )
        try:
            if embeddings is None:
                rows = 0
                for batch in batches:
                    ids = batch.ids if batch.ids is not None else list(range(rows, rows + len(batch.texts)))
                    _check_new_ids(index, ids, batch.lines, path, batch.id_column)
                    index.add(batch.texts, ids=ids)
                    rows += len(batch.texts)
                    progress(len(batch.texts))
            else:
                _add_embedded(index, batches, path, embeddings, progress)
        finally:
            progress(None)
        return index


def _check_new_ids(
    index: SimilarityIndex, ids: list[Any], lines: list[int], path: str | Path, column: str | None
) -> None:
    """Refuse an id already in ``index`` or repeated, at its line of the documents file."""
    duplicate = index.first_duplicate(ids)
    if duplicate is not None:
        raise InputError(
            "duplicate id",
            path=path,
            line=lines[duplicate],
            column=column,
            value=ids[duplicate],
            expected="a unique id per document",
        )


def _add_embedded(
    index: SimilarityIndex,
    batches: Iterator[Any],
    path: str | Path,
    embeddings: str | Path,
    progress: Callable[[int | None], None],
) -> None:
    """Add the chunk vectors of ``embeddings`` to ``index`` with the texts of the document batches,
    checking that both list the same ids in the same order (both streamed: memory stays flat)."""
    import itertools

    from textmetric.embedding import check_embeddings, iter_chunk_embeddings

    check_embeddings(embeddings, index.model, chunks=True)

    def documents() -> Iterator[tuple[Any, str, int, str | None]]:
        rows = 0
        for batch in batches:
            ids = batch.ids if batch.ids is not None else list(range(rows, rows + len(batch.texts)))
            rows += len(batch.texts)
            yield from zip(ids, batch.texts, batch.lines, itertools.repeat(batch.id_column))

    docs = documents()
    same = "the ids of the embedded file, in its order (embed DOCS with the same --id-column, --on-bad-row)"
    for doc_ids, owner, vectors in iter_chunk_embeddings(embeddings):
        rows = list(itertools.islice(docs, len(doc_ids)))
        for (doc_id, _, line, column), expected in zip(rows, doc_ids, strict=False):
            if doc_id != expected:
                raise InputError(
                    f"documents and embeddings differ: {embeddings} has id {expected!r} here",
                    path=path,
                    line=line,
                    column=column,
                    value=doc_id,
                    expected=same,
                )
        if len(rows) < len(doc_ids):
            raise InputError(
                "embeddings of a document not in the documents file",
                path=embeddings,
                value=doc_ids[len(rows)],
                expected=same,
            )
        _check_new_ids(index, doc_ids, [line for _, _, line, _ in rows], path, rows[0][3])
        index.add_embeddings(vectors, doc_ids, texts=[text for _, text, _, _ in rows], owner=owner)
        progress(len(rows))
    extra = next(docs, None)
    if extra is not None:
        raise InputError(
            f"document without embeddings in {embeddings}",
            path=path,
            line=extra[2],
            column=extra[3],
            value=extra[0],
            expected=same,
        )


@contextlib.contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[Any]:
    """A ``bar(n)`` text counter on stderr while encoding (a no-op when disabled)."""
    if not enabled:
        yield lambda n: None
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, unit=" texts", desc="encoding") as bar:
        yield bar.update


def _progress(enabled: bool):
    """A ``callback(n_rows)`` / ``callback(None)`` (close) row counter on stderr, or a no-op."""
    if not enabled:
        return lambda n: None
    from tqdm.auto import tqdm

    bar = tqdm(unit=" rows", desc="embedding")

    def update(n: int | None) -> None:
        if n is None:
            bar.close()
        else:
            bar.update(n)

    return update


__all__ = [
    "AGGREGATES",
    "DEFAULT_NFKC",
    "Chunks",
    "EmbedFileResult",
    "TextMetric",
    "iter_embeddings",
    "read_embeddings",
    "resolve_model_folder",
]
