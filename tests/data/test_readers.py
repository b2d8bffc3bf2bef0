"""Reading CSV / TSV / JSONL / Parquet files in the encodings Japanese users have."""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from textmetric.data.readers import read_table
from textmetric.data.stream import iter_text_batches, tsv_quoting
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


def test_tsv_quote_in_text_is_read_literally(tmp_path):
    """A Japanese sentence may start with a lone '"'; Excel-style quoting would swallow the next lines."""
    path = tmp_path / "quotes.tsv"
    path.write_text('text\tid\n"引用から始まる文\t1\n普通の文\t2\n終わりに引用"\t3\n', encoding="utf-8")
    table = read_table(path)
    assert [r["text"] for r in table.rows] == ['"引用から始まる文', "普通の文", '終わりに引用"']
    assert table.lines == [2, 3, 4]
    streamed = [t for batch in iter_text_batches(path) for t in batch.texts]
    assert streamed == [r["text"] for r in table.rows]


def test_clearly_quoted_tsv_keeps_its_quoting(tmp_path):
    """pandas / Excel quote a TSV field holding a tab, a line break or a quote: still read as quoted."""
    import pandas as pd

    rows = [
        {"text": "改行を\n含む文", "id": "a"},
        {"text": 'He said "はい"', "id": "b"},
        {"text": "タブ\tあり", "id": "c"},
        {"text": '"東京"', "id": "d"},
    ]
    path = tmp_path / "quoted.tsv"
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    assert read_table(path).rows == rows
    assert read_table(path).lines == [2, 4, 5, 6]


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (["text\tid\n", '"引用\t1\n'], csv.QUOTE_NONE),  # lone quote, never closed
        (["text\tid\n", '"引用"です\t1\n'], csv.QUOTE_NONE),  # closed, but text follows the quote
        (["text\tid\n", '"東京"\t1\n'], csv.QUOTE_NONE),  # well-formed, but nothing needed quoting
        (["text\tid\n", 'a\t"x\n', 'b\ty"\n'], csv.QUOTE_NONE),  # "field" of whole rows: swallowed lines
        (["text\tid\n", '"a\tb"\t1\n', 'x\t"y\tz"\t2\n'], csv.QUOTE_NONE),  # rows of two widths
        (['"text"\t"id"\n', '"あ"\t"1"\n'], csv.QUOTE_MINIMAL),  # quoted header: QUOTE_ALL writer
        (["text\tid\n", '"a ""quoted"" word"\t1\n'], csv.QUOTE_MINIMAL),
        (["text\tid\n", '"two\n', 'lines"\t1\n'], csv.QUOTE_MINIMAL),
    ],
)
def test_tsv_quoting_needs_clear_evidence(sample, expected):
    assert tsv_quoting(sample) == expected


def test_tsv_quoting_ignores_a_field_cut_by_the_sample_end():
    sample = ["text\tid\n", '"a\tb"\t1\n', '"long\n']
    assert tsv_quoting(sample, complete=False) == csv.QUOTE_MINIMAL
    assert tsv_quoting(sample, complete=True) == csv.QUOTE_NONE


def test_cp932_after_a_long_ascii_start_is_still_cp932(tmp_path):
    """The encoding is sniffed on the first MiB; an ASCII start reads the same in UTF-8 and CP932."""
    path = tmp_path / "big.csv"
    ascii_rows = "".join(f"row{i},ascii\n" for i in range(120_000))
    path.write_bytes(("text,id\n" + ascii_rows + "日本語の行,x\n").encode("cp932"))
    assert path.stat().st_size > 1 << 20
    table = read_table(path)
    assert table.encoding == "cp932" and table.rows[-1] == {"text": "日本語の行", "id": "x"}
    last = [b for b in iter_text_batches(path, id_column="id", batch_size=50_000)][-1]
    assert last.texts[-1] == "日本語の行" and last.lines[-1] == 120_002


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("a.csv", 'text,id\n"一行目\n二行目",1\n\n,\n短い,2\r\n'.encode()),
        ("b.tsv", "\ufefftext\tid\r\nあ\t1\rい\t2\n".encode()),
        ("c.jsonl", '{"text": "あ", "id": 1}\n\n{"text": "い", "id": 2}'.encode("cp932")),
    ],
)
def test_table_and_stream_read_the_same_rows(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    table = read_table(path)
    batches = list(iter_text_batches(path, batch_size=1))
    assert [b.texts[0] for b in batches] == [r["text"] for r in table.rows]
    assert [b.ids[0] for b in batches] == [r["id"] for r in table.rows]
    assert [b.lines[0] for b in batches] == table.lines
