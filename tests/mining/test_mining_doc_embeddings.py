"""``textmetric mine -n dense --doc-embeddings``: the document vectors of ``textmetric embed`` (here
from 2 processes) give the rows that encoding the documents in the miner gives.

The model has a small ``max_seq_length`` so that long paragraphs are chunked and aggregated.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.test_cli_index_from_embeddings import embed_in_two_processes, jsquad_jsonl, short_window_model
from textmetric import TextMetric
from textmetric.cli import app
from textmetric.errors import InputError
from textmetric.mining import mine

runner = CliRunner()
DOCS = 150
MINING = ("-p", "title-body", "-n", "dense", "-k", "2", "--margin-ratio", "0.999", "--no-plot")


@pytest.fixture(scope="module")
def model_dir(tiny_bert_dir, tmp_path_factory) -> Path:
    return short_window_model(tiny_bert_dir, tmp_path_factory.mktemp("mine-model") / "model")


@pytest.fixture(scope="module")
def docs(shared_data, tmp_path_factory) -> Path:
    """150 JSQuAD paragraphs with their article titles (title-body positives)."""
    path = tmp_path_factory.mktemp("mine-docs") / "docs.jsonl"
    return jsquad_jsonl(shared_data, path, lambda rows: rows[::7][:DOCS])


@pytest.fixture(scope="module")
def shards(model_dir, docs, tmp_path_factory) -> Path:
    """One vector per document, from 2 processes."""
    return embed_in_two_processes(model_dir, docs, tmp_path_factory.mktemp("mine-parallel"))[0]


def test_mining_with_document_vectors_gives_the_same_rows(model_dir, docs, shards, tmp_path):
    encoded, embedded = tmp_path / "encoded.jsonl", tmp_path / "embedded.jsonl"
    result = runner.invoke(app, ["mine", str(docs), "--out", str(encoded), "-m", str(model_dir), *MINING])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "mine",
            str(docs),
            "--out",
            str(embedded),
            "-m",
            str(model_dir),
            *MINING,
            "--doc-embeddings",
            str(shards),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = encoded.read_text(encoding="utf-8").splitlines()
    assert len(rows) > DOCS / 2 and embedded.read_text(encoding="utf-8").splitlines() == rows
    summary = json.loads((tmp_path / "embedded.summary.json").read_text(encoding="utf-8"))
    assert summary["negatives"]["settings"]["doc_embeddings"] == str(shards)


def test_document_vectors_must_be_of_these_documents_and_settings(model_dir, docs, shards, tmp_path):
    tm = TextMetric.load(model_dir)
    options = {"positives": ["title-body"], "negatives": ["dense"], "margin_ratio": 0.999, "plot": False}

    # One more document than were embedded: named in the error.
    lines = docs.read_text(encoding="utf-8").splitlines()
    more = tmp_path / "more.jsonl"
    extra = json.dumps({"id": "extra", "title": "追加", "text": "追加の文書です。"}, ensure_ascii=False)
    more.write_text("\n".join([*lines, extra]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"document without embeddings \(got 'extra'\)"):
        mine(more, model=tm, doc_embeddings=str(shards), **options)

    # One document fewer: the embeddings have an id the documents lack.
    fewer = tmp_path / "fewer.jsonl"
    fewer.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    first = json.loads(lines[0])["id"]
    with pytest.raises(InputError, match=f"id not among the documents \\(got '{first}'\\)"):
        mine(fewer, model=tm, doc_embeddings=str(shards), **options)

    # Vectors aggregated otherwise than the model here does (max instead of mean).
    max_vectors = tmp_path / "max.parquet"
    tm.embed_file(docs, max_vectors, aggregate="max")
    with pytest.raises(InputError, match="aggregate=max, the model here uses aggregate=mean"):
        mine(docs, model=tm, doc_embeddings=str(max_vectors), **options)

    # Chunk rows are for an index, not for mining.
    chunk_vectors = tmp_path / "chunks.parquet"
    tm.embed_file(docs, chunk_vectors, chunks=True)
    with pytest.raises(InputError, match=r"chunks=True.*embed without --chunks"):
        mine(docs, model=tm, doc_embeddings=str(chunk_vectors), **options)
