"""``textmetric embed``, ``index`` and ``search``: streamed files in, Parquet / index folders out."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from textmetric import TextMetric
from textmetric.cli import app
from textmetric.data.stream import iter_text_batches
from textmetric.errors import InputError
from textmetric.models import ModelMetadata

runner = CliRunner()
PLANTED = "ｅメールで３件の問い合わせがありました。"


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def model_dir(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli") / "model"
    tiny_model.save(str(folder))
    ModelMetadata(nfkc=True).save(folder)
    return folder


@pytest.fixture(scope="module")
def texts(japanese_texts) -> list[str]:
    return list(dict.fromkeys(t for t in japanese_texts if t.encode("cp932", "ignore").decode("cp932") == t))[
        :60
    ]


def test_embed_streams_a_cp932_csv_into_row_groups(model_dir, texts, tmp_path):
    source = tmp_path / "docs.csv"
    with source.open("w", encoding="cp932", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "body", "other"])
        writer.writerows([f"d{i}", text, "x"] for i, text in enumerate(texts))
    out = tmp_path / "vectors.parquet"
    result = run("embed", model_dir, source, "--out", out, "--text-column", "body", "--rows-per-group", 16)
    assert result.exit_code == 0, result.output
    parquet = pq.ParquetFile(out)
    assert parquet.metadata.num_row_groups == 4 and parquet.metadata.num_rows == len(texts)
    table = parquet.read()
    assert table.column("id").to_pylist() == [f"d{i}" for i in range(len(texts))]
    assert table.schema.field("embedding").type == pa.list_(pa.float32(), 64)
    vectors = np.array(table.column("embedding").to_pylist(), dtype=np.float32)
    assert np.allclose(vectors, TextMetric.load(model_dir).encode(texts), atol=1e-5)
    again = run("embed", model_dir, source, "--out", out, "--text-column", "body")
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_embed_jsonl_without_ids_and_parquet(model_dir, texts, tmp_path):
    source = tmp_path / "docs.jsonl"
    source.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), "utf-8")
    out = tmp_path / "v.parquet"
    assert run("embed", model_dir, source, "--out", out).exit_code == 0
    assert pq.read_table(out).column("id").to_pylist() == list(range(len(texts)))
    table = pa.table({"key": list(range(100, 100 + len(texts))), "text": texts})
    pq.write_table(table, tmp_path / "docs.parquet", row_group_size=10)
    batches = list(iter_text_batches(tmp_path / "docs.parquet", id_column="key", batch_size=25))
    assert [len(b.texts) for b in batches] == [25, 25, 10] and batches[0].ids[:2] == [100, 101]


@pytest.mark.parametrize(
    ("content", "options", "expected"),
    [
        ('{"text": "a"}\n{"text": ""}\n', [], "line 2, column 'text': empty text"),
        ('{"text": "a"}\n{"body": "b"}\n', [], "line 2: no 'text' field"),
        ('{"text": "a"}\n{oops\n', [], "line 2: not valid JSON"),
        ('{"text": "a", "id": 1}\n{"text": "b"}\n', [], "line 2, column 'id': missing id"),
        ('{"text": "a"}\n', ["--id-column", "key"], "line 1, column 'key': missing id"),
    ],
)
def test_embed_bad_input_exits_2_and_writes_nothing(model_dir, tmp_path, content, options, expected):
    source = tmp_path / "bad.jsonl"
    source.write_text(content, encoding="utf-8")
    out = tmp_path / "v.parquet"
    result = run("embed", model_dir, source, "--out", out, *options)
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


def test_stream_reader_errors(tmp_path):
    csv_file = tmp_path / "a.csv"
    csv_file.write_text("text,id\nこんにちは,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="no column 'body'"):
        list(iter_text_batches(csv_file, text_column="body"))
    ragged = tmp_path / "r.tsv"
    ragged.write_text("text\tid\nあ\t1\nい\t2\textra\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 3: row has 3 fields"):
        list(iter_text_batches(ragged))
    mixed = tmp_path / "m.csv"  # CP932 after a long UTF-8 start: located, not garbled
    mixed.write_bytes(b"text\n" + "あ\n".encode() * 400_000 + "い\n".encode("cp932"))
    with pytest.raises(InputError, match="line 400002"):
        list(iter_text_batches(mixed))


def test_index_then_search(model_dir, texts, tmp_path):
    docs = tmp_path / "docs.jsonl"
    rows = [{"id": f"d{i}", "text": t} for i, t in enumerate(texts)] + [{"id": "planted", "text": PLANTED}]
    docs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    index_dir = tmp_path / "index"
    result = run("index", model_dir, docs, "--out", index_dir, "--hybrid")
    assert result.exit_code == 0, result.output
    assert (index_dir / "index.json").is_file()
    result = run(
        "search",
        model_dir,
        "--index",
        index_dir,
        "eメールで3件の問い合わせがありました。",
        "-k",
        "3",
        "--json",
    )
    assert result.exit_code == 0, result.output
    # Results are stdout; stderr (transformers' weight-loading bar) is not part of them.
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 3 and lines[0]["id"] == "planted" and lines[0]["text"] == PLANTED
    table = run("search", model_dir, "--index", index_dir, texts[4], "--mode", "dense")
    assert table.exit_code == 0 and "d4" in table.output
    again = run("index", model_dir, docs, "--out", index_dir)
    assert again.exit_code == 2 and "--overwrite" in again.output
    convex_dir = tmp_path / "convex"
    args = ["--out", convex_dir, "--hybrid", "--fusion", "convex", "--dense-weight", "0.3"]
    assert run("index", model_dir, docs, *args).exit_code == 0
    meta = json.loads((convex_dir / "index.json").read_text("utf-8"))
    assert (meta["fusion"], meta["dense_weight"]) == ("convex", 0.3)
    bad = run("index", model_dir, docs, "--out", tmp_path / "bad", "--hybrid", "--dense-weight", "2")
    assert bad.exit_code == 2 and "between 0 and 1" in bad.output
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": "a", "text": "一"}\n{"id": "a", "text": "二"}\n', "utf-8")
    result = run("index", model_dir, dup, "--out", tmp_path / "i2")
    assert result.exit_code == 2 and "line 2, column 'id': duplicate id" in " ".join(result.output.split())
    assert not (tmp_path / "i2").exists()
