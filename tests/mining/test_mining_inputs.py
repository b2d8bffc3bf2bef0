"""Bad documents and links files: a located InputError (or counted skips), never a silent empty output."""

from __future__ import annotations

import json

import pytest

from textmetric.errors import ConfigError, InputError, TextmetricError
from textmetric.mining import mine, read_documents, read_links


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


DOCS = [
    {
        "id": 1,
        "title": "返品について",
        "text": "商品到着後8日以内であれば返品を受け付けます。",
        "label": "返品",
    },
    {
        "id": 2,
        "title": "返品の送料",
        "text": "お客様都合の返品の送料はお客様のご負担となります。",
        "label": "返品",
    },
    {"id": 3, "title": "配送日数", "text": "ご注文から3営業日以内に発送いたします。", "label": "配送"},
    {"id": 4, "title": "配送業者", "text": "配送はヤマト運輸または佐川急便でお届けします。", "label": "配送"},
    {
        "id": 5,
        "title": "支払い方法",
        "text": "クレジットカード、コンビニ払い、代金引換がご利用いただけます。",
        "label": "支払い",
    },
]


def test_duplicate_id_names_file_line_and_first_occurrence(tmp_path):
    path = tmp_path / "docs.csv"
    path.write_text(
        "id,text\na1,最初の文書です。\na2,二つ目の文書です。\na1,三つ目の文書です。\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as err:
        read_documents(path)
    message = str(err.value)
    assert "docs.csv, line 4, column 'id'" in message
    assert "duplicate id (first on line 2)" in message and "'a1'" in message


def test_missing_text_is_located(tmp_path):
    path = write_jsonl(tmp_path / "docs.jsonl", [{"id": "a", "text": "本文"}, {"id": "b", "text": "  "}])
    with pytest.raises(InputError, match=r"docs.jsonl, line 2, column 'text': empty text"):
        read_documents(path)


def test_missing_text_column(tmp_path):
    path = write_jsonl(tmp_path / "docs.jsonl", [{"id": "a", "body": "本文"}])
    with pytest.raises(InputError, match=r"missing column\(s\) \['text'\]"):
        read_documents(path)
    docs = read_documents(path, columns="body=text")
    assert docs.texts == ["本文"]


def test_skip_bad_rows_counts_them(tmp_path):
    rows = [*DOCS, {"id": 1, "text": "重複"}, {"id": 9, "text": None}]
    path = write_jsonl(tmp_path / "docs.jsonl", rows)
    docs = read_documents(path, on_bad_row="skip")
    assert len(docs) == 5
    assert dict(docs.skipped) == {"duplicate id": 1, "empty text": 1}


def test_single_label_class_is_an_error(tmp_path):
    rows = [{**d, "label": "全部同じ"} for d in DOCS]
    path = write_jsonl(tmp_path / "docs.jsonl", rows)
    with pytest.raises(InputError, match=r"column 'label': the label column has only one class"):
        read_documents(path)


def test_numeric_ids_match_links_written_as_floats(tmp_path):
    docs = read_documents(write_jsonl(tmp_path / "docs.jsonl", DOCS))
    rows = [[1.0, "2"], [3, 4], [3, 4], [5, 5]]  # JSON numbers, strings, a float from a spreadsheet
    links = write_jsonl(tmp_path / "links.jsonl", [{"source_id": s, "target_id": t} for s, t in rows])
    result = read_links(links, docs)
    assert len(result) == 2
    assert dict(result.skipped) == {"repeated link": 1, "self link": 1}


def test_link_to_unknown_id_is_located(tmp_path):
    docs = read_documents(write_jsonl(tmp_path / "docs.jsonl", DOCS))
    links = tmp_path / "links.csv"
    links.write_text("source_id,target_id\n1,2\n3,999\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_links(links, docs)
    assert "links.csv, line 3, column 'target_id': unknown id (got '999')" in str(err.value)
    skipped = read_links(links, docs, on_bad_row="skip")
    assert len(skipped) == 1 and dict(skipped.skipped) == {"unknown id": 1}


def test_skipped_links_are_counted_in_the_summary(tmp_path):
    docs = write_jsonl(tmp_path / "docs.jsonl", DOCS)
    links = tmp_path / "links.csv"
    links.write_text("source_id,target_id\n1,3\n2,404\n", encoding="utf-8")
    result = mine(docs, links=links, positives=["links"], negatives=["random"], on_bad_row="skip")
    assert result.summary["links"]["skipped"] == {"unknown id": 1}
    assert result.summary["positives"]["per_strategy"] == {"links": 1}


def test_strategy_without_its_column_is_an_error(tmp_path):
    path = write_jsonl(tmp_path / "docs.jsonl", [{"id": d["id"], "text": d["text"]} for d in DOCS])
    with pytest.raises(InputError, match="title-body strategy needs a title column"):
        mine(path, positives=["title-body"], negatives=["random"])
    with pytest.raises(InputError, match="same-label strategy needs a label column"):
        mine(path, positives=["same-label"], negatives=["random"])
    with pytest.raises(ConfigError, match="links strategy needs a links file"):
        mine(path, positives=["links"], negatives=["random"])


def test_no_surviving_negative_is_an_error_not_an_empty_file(tmp_path):
    rows = [
        {"id": "a", "text": "同じ本文", "label": "A"},
        {"id": "b", "text": "別の本文", "label": "A"},
        {"id": "c", "text": "同じ本文", "label": "B"},  # same text as a: never a negative of a
    ]
    out = tmp_path / "out.jsonl"
    with pytest.raises(TextmetricError, match="no negative survived the false-negative rules"):
        mine(write_jsonl(tmp_path / "docs.jsonl", rows), out, positives=["same-label"], negatives=["random"])
    assert not out.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"positives": ["titles"]}, "unknown positive strategy"),
        ({"negatives": ["bm26"]}, "unknown negative miner"),
        ({"negatives": ["random"], "output_format": "pairs"}, "the pairs format has no negatives"),
        ({"negatives": [], "output_format": "triplets"}, "needs negatives"),
        ({"num_negatives": 5, "depth": 3}, "depth"),
        ({"margin_ratio": 1.5}, "margin_ratio"),
        ({"exclude": ["labels"]}, "unknown exclusion"),
    ],
)
def test_bad_options_fail_before_reading(tmp_path, options, message):
    with pytest.raises(ConfigError, match=message):
        mine(tmp_path / "missing.jsonl", **options)
    with pytest.raises(ConfigError, match="dense negatives need a model"):
        mine(write_jsonl(tmp_path / "d.jsonl", DOCS), negatives=["dense"])
