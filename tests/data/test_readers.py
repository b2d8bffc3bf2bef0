"""Reading CSV / TSV / JSONL / Parquet files in the encodings Japanese users have."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from textmetric.data.readers import read_table
from textmetric.errors import InputError

ROWS = [
    {
        "anchor": "パスワードを忘れました",
        "positive": "ログイン画面の「パスワードを忘れた方」から再設定できます。",
    },
    {"anchor": "返品はできますか", "positive": "商品到着後8日以内であれば返品を受け付けます。"},
]


def write_csv(path, rows, encoding="utf-8", delimiter=",", newline="\n"):
    header = delimiter.join(rows[0])
    body = [delimiter.join(row.values()) for row in rows]
    path.write_bytes(newline.join([header, *body]).encode(encoding) + newline.encode())
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_csv_encodings_are_detected(tmp_path, encoding):
    path = write_csv(tmp_path / "pairs.csv", ROWS, encoding=encoding)
    table = read_table(path)
    assert table.columns == ["anchor", "positive"]
    assert table.rows == ROWS
    assert table.lines == [2, 3]
    assert table.encoding == ("cp932" if encoding == "cp932" else "utf-8")


def test_tsv_with_crlf_and_lone_cr_line_endings(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes("anchor\tpositive\r\nあ\tい\rう\tえ\n".encode())
    table = read_table(path)
    assert [r["anchor"] for r in table.rows] == ["あ", "う"]
    assert table.lines == [2, 3]


def test_quoted_csv_field_with_newline_keeps_line_numbers(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text('anchor,positive\n"一行目\n二行目",答え\n質問,"答え, カンマ付き"\n', encoding="utf-8")
    table = read_table(path)
    assert table.rows[0]["anchor"] == "一行目\n二行目"
    assert table.rows[1]["positive"] == "答え, カンマ付き"
    assert table.lines == [2, 4]


def test_jsonl_and_parquet(tmp_path):
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS) + "\n\n", encoding="utf-8")
    assert read_table(jsonl).rows == ROWS
    parquet = tmp_path / "pairs.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), parquet)
    table = read_table(parquet)
    assert table.rows == ROWS and table.lines == [1, 2]


def test_column_mapping(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text("question,answer\n質問,回答\n", encoding="utf-8")
    table = read_table(path, columns="question=anchor,answer=positive")
    assert table.columns == ["anchor", "positive"]
    with pytest.raises(InputError, match="does not have"):
        read_table(path, columns="query=anchor")


def test_explicit_encoding(tmp_path):
    path = write_csv(tmp_path / "pairs.csv", ROWS, encoding="cp932")
    assert read_table(path, encoding="shift_jis").rows == ROWS
    with pytest.raises(InputError, match="line 2"):
        read_table(path, encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"anchor,positive\n", "no data rows"),
        (b"anchor,positive\n\xff\xfe\xfa\xfb\xfc,x\n", "neither UTF-8 nor CP932"),
        ("anchor,positive\nあ,い,う\n".encode(), "3 fields but the header has 2"),
        ("anchor,anchor\nあ,い\n".encode(), "duplicate column"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_table(path)
    assert str(path) in str(info.value)


def test_broken_json_line_is_located(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"anchor": "あ", "positive": "い"}\n{"anchor": "う", \n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_table(path)
    assert info.value.line == 2
    assert "line 2" in str(info.value) and "JSON" in str(info.value)


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "nope.csv")
    other = tmp_path / "data.xlsx"
    other.write_bytes(b"x")
    with pytest.raises(InputError, match=r"\.csv, \.tsv, \.jsonl or \.parquet"):
        read_table(other)
