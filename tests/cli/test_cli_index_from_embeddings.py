"""``textmetric index --embeddings``: an index from ``textmetric embed --chunks`` vectors (here from
2 processes) searches exactly like one that encodes the documents itself.

The model has a small ``max_seq_length`` so that most JSQuAD paragraphs are cut into chunks.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from typer.testing import CliRunner

from tests.cli.test_cli_embed_parallel import run as run_process
from textmetric import TextMetric
from textmetric.cli import app
from textmetric.embedding import embeddings_info, iter_chunk_embeddings, read_embeddings
from textmetric.errors import InputError, ModelLoadError
from textmetric.index import SimilarityIndex
from textmetric.models import ModelMetadata

runner = CliRunner()
ROWS_PER_GROUP = 16  # 150 documents: 10 row groups, 5 per process
QUERIES = ["梅雨の時期はいつですか", "日本の首都", "電車の歴史について", "試合に勝った選手"]


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def said(result) -> str:
    """The CLI output with the console's line wrapping undone."""
    return " ".join(result.output.split())


def short_window_model(tiny_bert_dir: Path, folder: Path) -> Path:
    """The tiny model saved with ``max_seq_length`` 48: most JSQuAD paragraphs become several chunks."""
    from textmetric.models import build_dual_encoder

    build_dual_encoder(str(tiny_bert_dir), max_seq_length=48).save(str(folder))
    ModelMetadata(nfkc=True).save(folder)
    return folder


def jsquad_jsonl(shared_data: Path, path: Path, pick) -> Path:
    """``pick(rows)`` of the JSQuAD paragraphs (id, title, text) written as JSONL to ``path``."""
    from textmetric.mining import read_documents

    paragraphs = read_documents(shared_data / "jsquad" / "valid.json")
    rows = [
        {"id": i, "title": title, "text": text}
        for i, title, text in zip(paragraphs.ids, paragraphs.titles or [], paragraphs.texts, strict=True)
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in pick(rows)), encoding="utf-8")
    return path


def embed_in_two_processes(model_dir: Path, docs: Path, cwd: Path, *options: str) -> tuple[Path, str]:
    """``textmetric embed --nproc 2`` as a user runs it: the shard folder and the log."""
    proc = run_process(
        *("-m", "textmetric", "embed", str(model_dir), str(docs), "--out", "vectors", "--nproc", "2"),
        *("--rows-per-group", str(ROWS_PER_GROUP), *options),
        cwd=cwd,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    return cwd / "vectors", log


@pytest.fixture(scope="module")
def model_dir(tiny_bert_dir, tmp_path_factory) -> Path:
    return short_window_model(tiny_bert_dir, tmp_path_factory.mktemp("chunky") / "model")


@pytest.fixture(scope="module")
def docs(shared_data, tmp_path_factory) -> Path:
    """150 JSQuAD paragraphs (string ids); the longest ones are put first and last."""

    def pick(rows: list[dict]) -> list[dict]:
        rows = sorted(rows, key=lambda row: len(row["text"]))
        return rows[-5:] + rows[:: len(rows) // 140][:140] + rows[-10:-5]

    return jsquad_jsonl(shared_data, tmp_path_factory.mktemp("docs") / "docs.jsonl", pick)


@pytest.fixture(scope="module")
def shards(model_dir, docs, tmp_path_factory) -> Path:
    out, log = embed_in_two_processes(model_dir, docs, tmp_path_factory.mktemp("parallel"), "--chunks")
    assert log.count("chunks of 150 texts") == 1, log[-2000:]
    return out


def test_index_from_parallel_chunk_embeddings_searches_like_encoding(model_dir, docs, shards, tmp_path):
    info = embeddings_info(shards)
    assert info["chunks"] is True and info["processes"] == 2 and info["documents"] == 150
    assert info["rows"] > 300  # most documents are chunked
    ids, _ = read_embeddings(shards)
    doc_ids = [json.loads(line)["id"] for line in docs.read_text(encoding="utf-8").splitlines()]
    assert list(dict.fromkeys(ids)) == doc_ids  # input order, one id per chunk
    assert sum(len(group_ids) for group_ids, _, _ in iter_chunk_embeddings(shards)) == 150

    encoded, embedded = tmp_path / "encoded", tmp_path / "embedded"
    assert run("index", model_dir, docs, "--out", encoded, "--hybrid").exit_code == 0
    result = run("index", model_dir, docs, "--out", embedded, "--hybrid", "--embeddings", shards)
    assert result.exit_code == 0, result.output
    assert "(150 documents" in said(result)

    tm = TextMetric.load(model_dir)
    reference, built = SimilarityIndex.load(encoded, tm), SimilarityIndex.load(embedded, tm)
    assert built.num_chunks == reference.num_chunks == info["rows"]
    assert built.ids == reference.ids and built.text(doc_ids[0]) == reference.text(doc_ids[0])
    for mode in ("dense", "hybrid"):
        for want, got in zip(
            reference.search(QUERIES, k=10, mode=mode), built.search(QUERIES, k=10, mode=mode), strict=True
        ):
            assert got.ids == want.ids
            assert np.abs(got.scores - want.scores).max() < 1e-5


def test_embeddings_must_fit_the_model_and_the_documents(model_dir, docs, shards, tiny_model, tmp_path):
    # Other chunking settings than the embeddings were written with.
    result = run("index", model_dir, docs, "--out", tmp_path / "a", "--embeddings", shards, "--overlap", "0")
    assert result.exit_code == 2 and "overlap=1" in said(result) and "--overlap" in said(result)

    # The same weights with a longer max_seq_length: other chunks, and another fingerprint.
    longer_window = tmp_path / "window"
    tiny_model.save(str(longer_window))
    with pytest.raises(ModelLoadError, match="fingerprint"):
        TextMetric.load(longer_window).index_file(docs, embeddings=shards)

    # Another model (other weights: another fingerprint).
    other = TextMetric.load(model_dir)
    with torch.no_grad():
        next(other.model.parameters()).add_(0.01)
    other.model.save(str(tmp_path / "other"))
    with pytest.raises(ModelLoadError, match=r"embedded with model 'model'.*fingerprint"):
        TextMetric.load(tmp_path / "other").index_file(docs, embeddings=shards)

    # Vectors per document (no --chunks) cannot build an index.
    per_doc = tmp_path / "per_doc.parquet"
    TextMetric.load(model_dir).embed_file(docs, per_doc)
    result = run("index", model_dir, docs, "--out", tmp_path / "b", "--embeddings", per_doc)
    assert result.exit_code == 2 and "chunks=False" in said(result) and "--chunks" in said(result)

    # Documents that are not the embedded ones: first a different id, then one document too many.
    lines = docs.read_text(encoding="utf-8").splitlines()
    renamed = tmp_path / "renamed.jsonl"
    row = json.loads(lines[20]) | {"id": "new"}
    renamed.write_text("\n".join([*lines[:20], json.dumps(row), *lines[21:]]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 21.*documents and embeddings differ") as err:
        TextMetric.load(model_dir).index_file(renamed, embeddings=shards)
    assert "'new'" in str(err.value)
    longer = tmp_path / "longer.jsonl"
    longer.write_text(
        "\n".join([*lines, json.dumps({"id": "extra", "text": "追加"})]) + "\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"line 151.*document without embeddings.*'extra'"):
        TextMetric.load(model_dir).index_file(longer, embeddings=shards)


def test_chunk_file_of_one_process_matches_the_shards(model_dir, docs, shards, tmp_path):
    out = tmp_path / "chunks.parquet"
    result = TextMetric.load(model_dir).embed_file(docs, out, rows_per_group=ROWS_PER_GROUP, chunks=True)
    assert result.chunks and result.documents == 150 and result.rows == embeddings_info(shards)["rows"]
    table = pq.read_table(out)
    assert table.column_names == ["id", "chunk", "embedding"]
    one, two = read_embeddings(out), read_embeddings(shards)
    assert one[0] == two[0] and np.abs(one[1] - two[1]).max() < 1e-5
    assert pq.ParquetFile(out).metadata.num_row_groups == 10  # one per 16 documents, whatever the chunks
