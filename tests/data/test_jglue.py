"""JGLUE / JSICK loaders: the shared files load as they are; missing sets say where to get them."""

from __future__ import annotations

import json

import pytest

from textmetric.data.jglue import (
    DatasetNotFoundError,
    is_squad_json,
    load_jnli,
    load_jsick,
    load_jsquad_documents,
    load_jsquad_retrieval,
    load_jsts,
    split_title,
)
from textmetric.errors import InputError, TextmetricError


def test_jsts_valid(shared_data):
    pairs = load_jsts(shared_data / "jsts" / "valid.jsonl")
    assert len(pairs) == 1457
    assert pairs.scores[:2] == [0.0, 2.4]  # the 0-5 scale is kept
    assert pairs.sentence2[1] == "曇り空の山肌で、牛が2匹草を食んでいます。"  # NFKC: ２ -> 2


def test_jsts_as_distributed_json_lines_with_json_suffix(shared_data, tmp_path):
    target = tmp_path / "valid-v1.3.json"
    lines = (shared_data / "jsts" / "valid.jsonl").read_text(encoding="utf-8").splitlines()[:5]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert not is_squad_json(target)
    assert len(load_jsts(target)) == 5


def test_jnli_valid_keeps_label_strings(shared_data):
    pairs = load_jnli(shared_data / "jnli" / "valid.jsonl")
    assert len(pairs) == 2434
    assert set(pairs.labels) == {"entailment", "contradiction", "neutral"}
    assert pairs.labels[:2] == ["neutral", "entailment"]


def test_jsquad_as_retrieval_set(shared_data):
    data = load_jsquad_retrieval(shared_data / "jsquad" / "valid.json")
    assert data.summary() == {
        "source": str(shared_data / "jsquad" / "valid.json"),
        "queries": 4442,
        "queries_with_relevant": 4442,
        "documents": 1145,
        "judgements": 4442,
    }
    assert data.qrels["a10336p0q0"] == {"a10336p0": 1.0}
    assert data.corpus["a10336p0"].startswith("梅雨 [SEP] 梅雨(つゆ、ばいう)は")  # context as written, NFKC
    assert data.titles["a10336p0"] == "梅雨"


def test_jsquad_as_documents(shared_data):
    docs = load_jsquad_documents(shared_data / "jsquad" / "valid.json")
    assert len(docs) == 1145
    assert docs[0].id == "a10336p0"
    assert docs[0].title == docs[0].label == "梅雨"
    assert "[SEP]" not in docs[0].text and docs[0].text.startswith("梅雨(つゆ、ばいう)は")
    assert len({d.label for d in docs}) == 59  # one label per article, shared by its paragraphs


def test_split_title():
    assert split_title("梅雨 [SEP] 梅雨は雨季の一種。") == ("梅雨", "梅雨は雨季の一種。")
    assert split_title("本文だけ") == ("", "本文だけ")


def test_squad_without_qa_ids_and_bad_json(tmp_path):
    good = tmp_path / "mini.json"
    good.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "title": "猫",
                        "paragraphs": [
                            {
                                "context": "猫 [SEP] 猫は動物。",
                                "qas": [{"question": "猫とは?"}, {"question": "猫は何?"}],
                            },
                            {"context": "猫 [SEP] 猫は眠る。", "qas": []},
                        ],
                    }
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    data = load_jsquad_retrieval(good)
    assert len(data.corpus) == 2 and len(data.queries) == 2
    assert all(list(rel) == ["doc-0000-0000"] for rel in data.qrels.values())
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.json.*not valid JSON"):
        load_jsquad_retrieval(bad)


def test_jsick_tsv_keeps_the_requested_split(tmp_path):
    tsv = tmp_path / "jsick.tsv"
    header = "pair_ID\tdata\tsentence_A_Ja\tsentence_B_Ja\tentailment_label_Ja\trelatedness_score_Ja"
    rows = [
        "1\ttrain\t猫が寝ている。\t猫が眠っている。\tentailment\t4.8",
        "2\ttest\t男が走っている。\t女が泳いでいる。\tneutral\t1.5",
        "3\ttest\t犬が吠えている。\t犬が鳴いている。\tentailment\t4.2",
    ]
    tsv.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    pairs = load_jsick(tsv)
    assert pairs.scores == [1.5, 4.2]
    assert load_jsick(tsv, split="train").sentence1 == ["猫が寝ている。"]
    with pytest.raises(InputError, match="no rows of split 'dev'"):
        load_jsick(tsv, split="dev")


def test_missing_local_set_says_where_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"github.com/yahoojapan/JGLUE.*shunk031/JGLUE"):
        load_jsquad_retrieval(tmp_path / "nope.json")
    with pytest.raises(DatasetNotFoundError, match="verypluming/JSICK"):
        load_jsick(tmp_path / "jsick.tsv")


def test_hub_without_network_is_a_user_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TextmetricError, match=r"cannot load JSTS .*from the Hub.*pass the local file"):
        load_jsts(None)


def test_bad_rows_are_located(tmp_path):
    path = tmp_path / "jsts.jsonl"
    path.write_text(
        '{"sentence1": "a", "sentence2": "b", "label": 1}\n{"sentence1": "a", "sentence2": "", "label": 2}\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="line 2, column 'sentence2'"):
        load_jsts(path)
