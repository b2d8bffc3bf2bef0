"""Embedding a file into Parquet, in one process or several, streaming; reading the vectors back.

Memory stays flat as the corpus grows: the input is read, embedded and written one row group
(``rows_per_group`` rows) at a time, and nothing accumulates between groups.

**One process** (the default): ``out`` is one Parquet file, columns ``id`` and ``embedding``
(fixed-size list of float32), one row group per ``rows_per_group`` input rows.

**Several processes** (``textmetric embed --nproc N``, ``torchrun``, ``accelerate launch``): ``out``
is a folder ``part-00000-of-0000N.parquet`` ... ``part-0000{N-1}-of-0000N.parquet`` plus
``manifest.json``. Every process streams the whole input (parsing is cheap next to the model)
and embeds only the row groups ``i`` with ``i % N == rank`` into its own shard, so group ``i`` of
the input is group ``i // N`` of shard ``i % N``: reading the shards round-robin
(:func:`iter_embeddings`) gives back the input order, and row numbers used as ids are the same
as with one process. Process 0 writes the manifest last; the folder is built under a temporary
name and appears complete or not at all (with several machines it must be on a shared file system).

Both layouts record where the vectors came from (model name and fingerprint, role,
aggregation, chunking): the manifest of a folder, the ``textmetric`` key of a single file's Parquet
metadata. :func:`check_embeddings` compares that record with a model before the vectors are used
in its place (an index, dense mining): vectors of another model or other settings would give
wrong scores without any error.

**Chunks** (``chunks=True``, ``textmetric embed --chunks``): one row per chunk instead of one per
document, with a ``chunk`` column (0, 1, ... within the document; the ``id`` repeats), which is
what a search index stores (it scores a document by its best chunk). The chunks of a document
are never split across row groups; :func:`iter_chunk_embeddings` reads them back per row group as
``SimilarityIndex.add_embeddings`` takes them.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from textmetric.errors import ConfigError, InputError, ModelLoadError

if TYPE_CHECKING:
    from textmetric.api import Aggregate, Role, TextMetric

MANIFEST = "manifest.json"
FORMAT = "textmetric-embeddings"
FORMAT_VERSION = 1
METADATA_KEY = b"textmetric"


@dataclass
class EmbedFileResult:
    """What :meth:`TextMetric.embed_file` wrote."""

    path: Path
    rows: int
    dimension: int
    skipped: dict[str, int] = field(default_factory=dict)
    """Rows dropped with ``on_bad_row="skip"``, by kind (empty text, json, field-count...)."""
    processes: int = 1
    """1: ``path`` is one Parquet file; more: a folder of that many shards and ``manifest.json``."""
    documents: int = 0
    """Input rows embedded: ``rows`` unless ``chunks``, where each row is a chunk."""
    chunks: bool = False


def shard_name(rank: int, processes: int) -> str:
    return f"part-{rank:05d}-of-{processes:05d}.parquet"


# --------------------------------------------------------------------------------- writing


def embed_file(
    tm: TextMetric,
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
    """The implementation of :meth:`TextMetric.embed_file` (see there and the module docstring)."""
    from textmetric.training import distributed

    tm._check_role(role)
    if rows_per_group < 1:
        raise ConfigError(f"rows_per_group must be >= 1, got {rows_per_group}")
    job = _Job(
        tm=tm,
        path=Path(path),
        reader={
            "text_column": text_column,
            "id_column": id_column,
            "encoding": encoding,
            "file_format": file_format,
            "on_bad_row": on_bad_row,
        },
        role=role,
        aggregate=aggregate,
        batch_size=batch_size,
        rows_per_group=rows_per_group,
        chunks=chunks,
    )
    out = Path(out)
    with distributed.process_group(cpu=True):  # control messages only: gloo, also beside GPUs
        if distributed.is_distributed():
            return _embed_sharded(job, out, overwrite=overwrite, show_progress=show_progress)
        return _embed_single(job, out, overwrite=overwrite, show_progress=show_progress)


@dataclass
class _Job:
    tm: TextMetric
    path: Path
    reader: dict[str, Any]
    role: Role
    aggregate: Aggregate | None
    batch_size: int | None
    rows_per_group: int
    chunks: bool = False
    skipped: Counter = field(default_factory=Counter)

    def provenance(self) -> dict[str, Any]:
        tm = self.tm
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "model": {"name": tm.name, "fingerprint": tm.fingerprint, "nfkc": tm.nfkc},
            "role": self.role,
            "aggregate": self.aggregate or tm.aggregate,
            "chunking": tm.chunking,
            "overlap": tm.overlap,
            "max_seq_length": tm.max_seq_length(self.role),
            "chunks": self.chunks,
            "normalized": tm.normalized,
            "dimension": tm.dimension,
            "source": {"path": str(self.path), **{k: v for k, v in self.reader.items() if v is not None}},
        }


@dataclass
class _Written:
    rows: int = 0
    groups: int = 0
    documents: int = 0
    total_rows: int = 0
    """Rows of the whole input (every process reads all of it)."""


def _embed_single(job: _Job, out: Path, *, overwrite: bool, show_progress: bool) -> EmbedFileResult:
    from textmetric.io import atomic_path, ensure_writable

    ensure_writable(out, overwrite=overwrite)
    metadata = job.provenance()
    with atomic_path(out, overwrite=overwrite) as tmp:
        written = _write_groups(job, tmp, rank=0, processes=1, metadata=metadata, show_progress=show_progress)
    return EmbedFileResult(
        out, written.rows, job.tm.dimension, dict(job.skipped), documents=written.documents, chunks=job.chunks
    )


def _embed_sharded(job: _Job, out: Path, *, overwrite: bool, show_progress: bool) -> EmbedFileResult:
    from textmetric.io import atomic_path, write_json
    from textmetric.training.distributed import Agreement, gather_objects, is_main_process, rank, world_size

    me, processes, main = rank(), world_size(), is_main_process()
    with Agreement("writing the embedding folder"), contextlib.ExitStack() as stack:
        # Process 0 checks --out and makes the temporary folder; everyone writes into it.
        with Agreement("preparing the output folder") as prepared:
            if main:
                work = stack.enter_context(atomic_path(out, overwrite=overwrite, is_dir=True))
                prepared.value = str(work)
        work = Path(prepared.value)
        with Agreement("embedding"):
            if not work.is_dir():
                raise ConfigError(
                    f"this process cannot see {work}: with several machines --out must be on a "
                    "file system that every node shares"
                )
            written = _write_groups(
                job,
                work / shard_name(me, processes),
                rank=me,
                processes=processes,
                metadata=None,
                show_progress=show_progress and main,
            )
        shards: list[_Written] = gather_objects(written)
        with Agreement("writing the manifest"):
            if main:
                manifest = job.provenance()
                manifest.update(
                    rows=sum(shard.rows for shard in shards),
                    documents=sum(shard.documents for shard in shards),
                    processes=processes,
                    rows_per_group=job.rows_per_group,
                    skipped=dict(job.skipped),
                    shards=[
                        {"file": shard_name(r, processes), "rows": shard.rows, "row_groups": shard.groups}
                        for r, shard in enumerate(shards)
                    ],
                    order="row group i of the input is row group i // processes of shard i % processes",
                )
                write_json(work / MANIFEST, manifest)
        # Leaving the stack renames the folder into place (process 0); the outer Agreement
        # returns on every process only once it is there.
    return EmbedFileResult(
        out,
        sum(shard.rows for shard in shards),
        job.tm.dimension,
        dict(job.skipped),
        processes=processes,
        documents=sum(shard.documents for shard in shards),
        chunks=job.chunks,
    )


def _write_groups(
    job: _Job,
    target: Path,
    *,
    rank: int,
    processes: int,
    metadata: dict[str, Any] | None,
    show_progress: bool,
) -> _Written:
    """Embed this process's row groups of ``job.path`` into the Parquet file ``target``.

    The id type is decided by the input's first row group, which every process reads, so all
    shards share one schema (a shard with no groups is a valid empty file).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from textmetric.api import _progress
    from textmetric.data.stream import iter_text_batches

    tm, dim = job.tm, job.tm.dimension
    progress = _progress(show_progress)
    written = _Written()
    pending = 0  # rows the other processes embed, counted when this one reaches its next group
    writer = None
    id_type: Any = None
    try:
        batches = iter_text_batches(
            job.path, batch_size=job.rows_per_group, skipped=job.skipped, **job.reader
        )
        for number, batch in enumerate(batches):
            n = len(batch.texts)
            start, written.total_rows = written.total_rows, written.total_rows + n
            ids = batch.ids if batch.ids is not None else list(range(start, start + n))
            if writer is None:
                id_type = pa.array(ids).type
                if pa.types.is_null(id_type):
                    id_type = pa.string()
                schema = pa.schema(
                    [("id", id_type)]
                    + ([("chunk", pa.int32())] if job.chunks else [])
                    + [("embedding", pa.list_(pa.float32(), dim))]
                )
                if metadata is not None:
                    schema = schema.with_metadata({METADATA_KEY: json.dumps(metadata, ensure_ascii=False)})
                writer = pq.ParquetWriter(str(target), schema)
            if number % processes != rank:
                pending += n
                continue
            columns = {"id": _id_array(ids, id_type, job.path, batch.lines)}
            if job.chunks:
                pieces = tm.encode_chunks(batch.texts, role=job.role, batch_size=job.batch_size)
                vectors = pieces.vectors
                first = np.cumsum(pieces.counts) - pieces.counts  # row of each document's chunk 0
                columns["id"] = columns["id"].take(pa.array(pieces.owner))
                columns["chunk"] = pa.array(np.arange(len(vectors)) - first[pieces.owner], pa.int32())
            else:
                vectors = tm.encode(
                    batch.texts, role=job.role, batch_size=job.batch_size, aggregate=job.aggregate
                )
            columns["embedding"] = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), dim)
            # One row group per input group, however many chunks: the round-robin order relies on it.
            writer.write_table(pa.table(columns), row_group_size=max(1, len(vectors)))
            written.rows += len(vectors)
            written.documents += n
            written.groups += 1
            progress(pending + n)
            pending = 0
        if pending:
            progress(pending)
    finally:
        if writer is not None:
            writer.close()
        progress(None)
    return written


def _id_array(ids: list, id_type, path: Path, lines: list[int]):
    import pyarrow as pa

    try:
        return pa.array(ids, type=id_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        for value, line in zip(ids, lines, strict=False):
            try:
                pa.array([value], type=id_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                raise InputError(
                    "id of another type than the earlier rows",
                    path=path,
                    line=line,
                    column="id",
                    value=value,
                    expected=f"ids of one type ({id_type})",
                ) from None
        raise


# --------------------------------------------------------------------------------- reading


def embeddings_info(path: str | Path) -> dict[str, Any]:
    """What :func:`embed_file` recorded: model, role, dimension, rows (and shards for a folder)."""
    path = _existing(path)
    if path.is_dir():
        return _manifest(path)
    parquet = _open(path)
    raw = (parquet.schema_arrow.metadata or {}).get(METADATA_KEY)
    info = json.loads(raw) if raw else {}
    info.update(rows=parquet.metadata.num_rows, processes=1)
    info.setdefault("dimension", _dimension(parquet, path))
    return info


def iter_embeddings(path: str | Path) -> Iterator[tuple[list[Any], np.ndarray]]:
    """``(ids, vectors)`` one row group at a time, in the input's order, from a file or a shard folder.

    Memory is one row group whatever the corpus size. With ``--chunks`` output an id repeats once
    per chunk (:func:`iter_chunk_embeddings` groups them by document).
    """
    for table, dimension in _tables(path, ["id", "embedding"]):
        yield table.column("id").to_pylist(), _vectors(table, dimension)


def iter_chunk_embeddings(path: str | Path) -> Iterator[tuple[list[Any], np.ndarray, np.ndarray]]:
    """``(document ids, owner, chunk vectors)`` per row group of ``textmetric embed --chunks`` output.

    ``owner[i]`` is the position in ``document ids`` of chunk row ``i``: the arguments of
    :meth:`~textmetric.index.SimilarityIndex.add_embeddings`, a row group at a time.
    """
    if not embeddings_info(path).get("chunks"):
        raise InputError(
            "one vector per document, not per chunk",
            path=path,
            expected="the output of `textmetric embed --chunks`",
        )
    for table, dimension in _tables(path, ["id", "chunk", "embedding"]):
        ids = table.column("id").to_pylist()
        chunk = table.column("chunk").to_numpy().astype(np.int64)
        starts = np.flatnonzero(chunk == 0)
        owner = np.cumsum(chunk == 0) - 1
        consecutive = len(chunk) == 0 or (
            chunk[0] == 0 and bool((chunk == np.arange(len(chunk)) - starts[owner]).all())
        )
        if not consecutive or any(ids[row] != ids[starts[owner[row]]] for row in range(len(ids))):
            raise InputError(
                "chunk rows out of order",
                path=path,
                expected="chunks 0, 1, ... of each document in a row, as `textmetric embed --chunks` writes",
            )
        yield [ids[row] for row in starts], owner, _vectors(table, dimension)


def _tables(path: str | Path, columns: list[str]) -> Iterator[tuple[Any, int]]:
    """``(pyarrow table, dimension)`` per row group, in the input's order (the round-robin of the
    module docstring for a folder)."""
    path = _existing(path)
    if path.is_dir():
        manifest = _manifest(path)
        files = [_open(path / shard["file"]) for shard in manifest["shards"]]
        for file, shard in zip(files, manifest["shards"], strict=True):
            if file.metadata.num_row_groups != shard["row_groups"]:
                raise InputError(
                    f"{shard['file']} has {file.metadata.num_row_groups} row groups, the manifest says "
                    f"{shard['row_groups']}",
                    path=path,
                    expected="the unchanged folder written by `textmetric embed`",
                )
        total = sum(shard["row_groups"] for shard in manifest["shards"])
        groups = [(files[number % len(files)], number // len(files)) for number in range(total)]
    else:
        file = _open(path)
        groups = [(file, number) for number in range(file.metadata.num_row_groups)]
    for file, number in groups:
        if not set(columns) <= set(file.schema_arrow.names):
            raise InputError(
                f"columns {file.schema_arrow.names}", path=path, expected=f"the columns {', '.join(columns)}"
            )
        yield file.read_row_group(number, columns=columns), _dimension(file, path)


def read_embeddings(path: str | Path) -> tuple[list[Any], np.ndarray]:
    """All ids and the ``(rows, dimension)`` float32 matrix of a file or shard folder, in input order."""
    info = embeddings_info(path)
    vectors = np.empty((int(info["rows"]), int(info["dimension"])), dtype=np.float32)
    ids: list[Any] = []
    for group_ids, group in iter_embeddings(path):
        vectors[len(ids) : len(ids) + len(group_ids)] = group
        ids += group_ids
    if len(ids) != len(vectors):
        raise InputError(
            f"{len(ids)} rows, the manifest says {len(vectors)}",
            path=path,
            expected="the unchanged output of `textmetric embed`",
        )
    return ids, vectors


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError("embeddings not found", path=path, expected="the --out of `textmetric embed`")
    return path


def _manifest(folder: Path) -> dict[str, Any]:
    file = folder / MANIFEST
    if not file.is_file():
        raise InputError(
            f"no {MANIFEST}: not a folder written by `textmetric embed`",
            path=folder,
            expected="a Parquet file or a folder of shards with manifest.json",
        )
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read {MANIFEST}: {err}", path=folder) from None
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("shards"), list):
        raise InputError(f"{MANIFEST} is not a textmetric embeddings manifest", path=folder)
    if manifest.get("version", 0) > FORMAT_VERSION:
        raise InputError(
            f"written by a newer textmetric (format version {manifest['version']})",
            path=folder,
            expected=f"version {FORMAT_VERSION} or older; upgrade textmetric",
        )
    return manifest


def _open(path: Path):
    import pyarrow.parquet as pq

    if not path.is_file():
        raise InputError("embeddings file not found", path=path, expected="the --out of `textmetric embed`")
    try:
        parquet = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises several kinds for a corrupt file
        raise InputError(f"cannot read Parquet: {err}", path=path, expected="a Parquet file") from None
    names = parquet.schema_arrow.names
    if "id" not in names or "embedding" not in names:
        raise InputError(
            f"columns {names}", path=path, expected="the columns id and embedding (`textmetric embed`)"
        )
    return parquet


def _dimension(parquet, path: Path) -> int:
    import pyarrow as pa

    kind = parquet.schema_arrow.field("embedding").type
    if not pa.types.is_fixed_size_list(kind):
        raise InputError(
            f"embedding column of type {kind}", path=path, expected="fixed-size lists of float32"
        )
    return int(kind.list_size)


def _vectors(table, dimension: int) -> np.ndarray:
    column = table.column("embedding").combine_chunks()
    vectors = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return vectors.reshape(-1, dimension)


# --------------------------------------------------------------------------------- using


def check_embeddings(path: str | Path, tm: TextMetric, *, chunks: bool) -> dict[str, Any]:
    """The record of ``path`` (:func:`embeddings_info`) once it is known to be what ``tm`` itself
    would compute for documents: vectors from another model or other settings would give wrong
    scores silently, so they are refused here with what to re-run."""
    info = embeddings_info(path)
    model = info.get("model") or {}
    if model.get("fingerprint") != tm.fingerprint:
        raise ModelLoadError(
            f"{path} was embedded with model '{model.get('name')}' (fingerprint {model.get('fingerprint')}), "
            f"but the given model '{tm.name}' has fingerprint {tm.fingerprint}; embed again with this "
            "model (`textmetric embed MODEL DOCS --out ...`) or give the model that wrote them"
        )
    wanted: dict[str, tuple[Any, Any, str]] = {  # setting: (recorded, needed, how to get it)
        "chunks": (bool(info.get("chunks")), chunks, "--chunks" if chunks else "embed without --chunks"),
        "role": (info.get("role"), "document", "--role document"),
        "nfkc": (model.get("nfkc"), tm.nfkc, "the same --nfkc/--no-nfkc"),
        "chunking": (info.get("chunking"), tm.chunking, "the same --chunking/--no-chunking"),
        # Not part of the fingerprint (the tokenizer's configuration), yet it decides the chunks.
        "max_seq_length": (
            info.get("max_seq_length"),
            tm.max_seq_length("document"),
            "the same model folder",
        ),
    }
    if tm.chunking:
        wanted["overlap"] = (info.get("overlap"), tm.overlap, "the same --overlap")
    if not chunks:
        wanted["aggregate"] = (info.get("aggregate"), tm.aggregate, "the same --aggregate")
    for setting, (recorded, needed, how) in wanted.items():
        if recorded != needed:
            written = (
                f"{setting}={recorded}"
                if recorded is not None
                else f"no {setting} recorded (older textmetric)"
            )
            raise InputError(
                f"embeddings written with {written}, the model here uses {setting}={needed}",
                path=path,
                expected=f"`textmetric embed` output with {setting}={needed} ({how})",
            )
    return info


def read_document_vectors(
    path: str | Path, tm: TextMetric, ids: Sequence[Any], *, key: Callable[[Any], Any] = str
) -> np.ndarray:
    """The ``(len(ids), dimension)`` vectors of ``textmetric embed`` output (without ``--chunks``),
    row ``i`` for ``ids[i]``, after :func:`check_embeddings`.

    The caller may have read the documents in another order or dropped some, so rows are matched
    by ``key(id)`` (the caller's id rule, e.g. ``7.0`` = ``7``), and an id missing on either side
    is an error that names it.
    """
    check_embeddings(path, tm, chunks=False)
    position = {key(value): number for number, value in enumerate(ids)}
    vectors = np.empty((len(ids), tm.dimension), dtype=np.float32)
    found = np.zeros(len(ids), dtype=bool)
    for group_ids, group in iter_embeddings(path):
        rows = []
        for value in group_ids:
            row = position.get(key(value))
            if row is None or found[row]:
                raise InputError(
                    "id not among the documents" if row is None else "id embedded twice",
                    path=path,
                    column="id",
                    value=value,
                    expected="one vector per document id (`textmetric embed` of the same documents)",
                )
            found[row] = True
            rows.append(row)
        vectors[rows] = group
    if not found.all():
        raise InputError(
            "document without embeddings",
            path=path,
            value=ids[int(np.argmax(~found))],
            expected="one vector per document id (`textmetric embed` of the same documents)",
        )
    return vectors


__all__ = [
    "EmbedFileResult",
    "check_embeddings",
    "embed_file",
    "embeddings_info",
    "iter_chunk_embeddings",
    "iter_embeddings",
    "read_document_vectors",
    "read_embeddings",
    "shard_name",
]
