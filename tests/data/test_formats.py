"""Format detection and row validation: every problem names file, line and column."""

from __future__ import annotations

import json

import pytest

from textmetric.data.formats import detect_pair_format, load_pairs, parse_number
from textmetric.errors import InputError


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("columns", "labels", "expected"),
    [
        (["anchor", "positive"], [], "pairs"),
        (["anchor", "positive", "negative"], [], "triplets"),
        (["anchor", "positive", "negative_2", "negative_1"], [], "ntuples"),
        (["sentence1", "sentence2", "score"], [], "scored"),
        (["sentence1", "sentence2", "label"], [0, 1, 1], "binary"),
        (["sentence1", "sentence2", "label"], [0.4, 3.2], "scored"),
        (["sentence1", "sentence2", "label"], ["entailment", "neutral"], "binary"),
        (["text", "label"], ["a", "b"], "labelled"),
    ],
)
def test_detect_format(columns, labels, expected):
    assert detect_pair_format(columns, labels) == expected


def test_unknown_columns_say_what_is_expected():
    with pytest.raises(InputError, match="sentence1,sentence2,score"):
        detect_pair_format(["q", "a"])


def test_jsts_loads_as_scored_rescaled(shared_data):
    data = load_pairs(shared_data / "jsts" / "valid.jsonl")
    assert data.format == "scored"
    assert data.columns == ["sentence1", "sentence2", "score"]
    assert data.score_range == (0.0, 5.0)
    assert min(data.records["score"]) == 0.0 and max(data.records["score"]) == 1.0
    assert len(data) == 1457


def test_jnli_loads_as_binary_without_neutral(shared_data):
    data = load_pairs(shared_data / "jnli" / "valid.jsonl")
    assert data.format == "binary"
    assert set(data.records["label"]) == {0, 1}
    assert data.skipped["neutral (NLI)"] + len(data) == data.rows_read == 2434


def test_ntuple_column_order(tmp_path):
    path = write_jsonl(
        tmp_path / "n.jsonl",
        [{"negative_2": "ニ", "anchor": "ア", "negative_1": "イチ", "positive": "ピー"}],
    )
    data = load_pairs(path)
    assert data.columns == ["anchor", "positive", "negative_1", "negative_2"]
    assert data.to_dataset().column_names == data.columns


def test_nfkc_and_full_width_scores(tmp_path):
    path = write_jsonl(
        tmp_path / "s.jsonl",
        [
            {"sentence1": "ＡＢＣ　ｶﾀｶﾅ", "sentence2": "abc", "score": "４．５"},
            {"sentence1": "x", "sentence2": "y", "score": 0},
        ],
    )
    data = load_pairs(path, score_range=(0, 5))
    assert data.records["sentence1"][0] == "ABC カタカナ"
    assert data.records["score"] == [0.9, 0.0]
    raw = load_pairs(path, nfkc=False, score_range=(0, 5))
    assert raw.records["sentence1"][0] == "ＡＢＣ　ｶﾀｶﾅ"


def test_parse_number():
    assert parse_number("４．５") == 4.5
    assert parse_number(" 3 ") == 3.0
    with pytest.raises(ValueError):
        parse_number("高い")


@pytest.mark.parametrize(
    ("row", "line_column", "message"),
    [
        ({"sentence1": "", "sentence2": "b", "score": 1}, "column 'sentence1'", "empty text"),
        ({"sentence1": "a", "sentence2": "b", "score": "高い"}, "column 'score'", "not a number"),
        ({"sentence1": "a", "sentence2": "b", "score": float("nan")}, "column 'score'", "not finite"),
        ({"sentence1": "a", "sentence2": 5, "score": 1}, "column 'sentence2'", "where text was expected"),
    ],
)
def test_bad_rows_are_located(tmp_path, row, line_column, message):
    good = {"sentence1": "a", "sentence2": "b", "score": 2}
    path = tmp_path / "s.jsonl"
    path.write_text(
        json.dumps(good) + "\n" + json.dumps(good) + "\n" + json.dumps(row, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        load_pairs(path)
    text = str(info.value)
    assert f"{path}, line 3, {line_column}" in text
    assert message in text


def test_unknown_binary_label(tmp_path):
    path = write_jsonl(
        tmp_path / "b.jsonl",
        [
            {"sentence1": "a", "sentence2": "b", "label": 1},
            {"sentence1": "a", "sentence2": "c", "label": "maybe"},
        ],
    )
    with pytest.raises(InputError, match=r"line 2, column 'label'.*unknown label value"):
        load_pairs(path, data_format="binary")


def test_skip_bad_rows_counts_each_kind(tmp_path):
    rows = [
        {"anchor": "質問", "positive": "答え"},
        {"anchor": "", "positive": "答え"},
        {"anchor": "質問2", "positive": None},
        {"anchor": 3, "positive": "答え"},
        {"anchor": "質問3", "positive": "答え3"},
    ]
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    with pytest.raises(InputError, match="line 2"):
        load_pairs(path)
    data = load_pairs(path, on_bad_row="skip")
    assert len(data) == 2
    assert dict(data.skipped) == {"empty text": 2, "not text": 1}


def test_all_rows_bad_is_an_error_not_an_empty_output(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"anchor": "", "positive": "x"}])
    with pytest.raises(InputError, match="no usable rows"):
        load_pairs(path, on_bad_row="skip")


def test_missing_column_for_forced_format(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"anchor": "a", "positive": "b"}])
    with pytest.raises(InputError, match=r"missing column\(s\) \['negative'\]"):
        load_pairs(path, data_format="triplets")


def test_labelled_needs_two_classes(tmp_path):
    path = write_jsonl(tmp_path / "l.jsonl", [{"text": "a", "label": "x"}, {"text": "b", "label": "x"}])
    with pytest.raises(InputError, match="only one class"):
        load_pairs(path)
    path = write_jsonl(tmp_path / "l2.jsonl", [{"text": "a", "label": "x"}, {"text": "b", "label": "y"}])
    data = load_pairs(path)
    assert data.label_names == ["x", "y"] and data.records["label"] == [0, 1]
