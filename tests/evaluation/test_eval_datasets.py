"""What --sts / --retrieval accept, and the lexical baselines on the shared JGLUE files."""

from __future__ import annotations

import json

import pytest
from scipy.stats import spearmanr

from textmetric.errors import ConfigError, InputError
from textmetric.evaluation import (
    bm25_pair_similarity,
    default_name,
    load_retrieval,
    load_sts,
    tfidf_pair_similarity,
)
from textmetric.evaluation.baselines import Tokens, bm25_search, tfidf_search


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def beir(tmp_path):
    folder = tmp_path / "mini-beir"
    (folder / "qrels").mkdir(parents=True)
    write_jsonl(
        folder / "corpus.jsonl",
        [
            {"_id": "d3", "title": "猫", "text": "猫がソファで寝ている。"},
            {"_id": "d1", "title": "", "text": "男性が自転車に乗っている。"},
            {"_id": "d2", "title": "天気", "text": "東京は晴れ。"},
        ],
    )
    write_jsonl(
        folder / "queries.jsonl", [{"_id": "q1", "text": "寝ている猫"}, {"_id": "q2", "text": "天気"}]
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td3\t2\nq1\td1\t1\nq2\td2\t1\nq2\tmissing\t1\n", encoding="utf-8"
    )
    return folder


def test_beir_folder_graded_and_sorted_by_id(beir):
    data = load_retrieval(beir)
    assert data.name == "mini-beir" and data.kind == "beir"
    assert data.doc_ids == ["d1", "d2", "d3"]  # sorted: lower index = smaller id (the tie rule)
    assert data.documents[2] == "猫 猫がソファで寝ている。"
    assert data.qrels == {"q1": {"d3": 2.0, "d1": 1.0}, "q2": {"d2": 1.0}}  # unknown doc dropped
    assert [p.name for p in data.files] == ["corpus.jsonl", "queries.jsonl", "test.tsv"]


def test_pair_file_as_retrieval(tmp_path):
    path = write_jsonl(
        tmp_path / "faq.jsonl",
        [
            {"anchor": "送料は?", "positive": "送料は500円です。"},
            {"anchor": "送料は?", "positive": "北海道は別料金です。"},
            {"anchor": "返品は?", "positive": "返品は7日以内です。"},
        ],
    )
    data = load_retrieval(path)
    assert data.kind == "pairs" and len(data.queries) == 2 and len(data.documents) == 3
    assert data.qrels["q0"] == {"d0": 1.0, "d1": 1.0}  # one query, two relevant documents


def test_scored_file_is_not_a_retrieval_set(tmp_path):
    rows = [
        {"sentence1": "a", "sentence2": "b", "score": 1.0},
        {"sentence1": "c", "sentence2": "d", "score": 3},
    ]
    path = write_jsonl(tmp_path / "sts.jsonl", rows)
    with pytest.raises(ConfigError, match="retrieval needs anchor, positive"):
        load_retrieval(path)
    with pytest.raises(InputError, match="retrieval set not found"):
        load_retrieval(tmp_path / "missing")


def test_sts_file_keeps_its_scale_and_name(shared_data):
    data = load_sts(shared_data / "jsts" / "valid.jsonl")
    assert data.name == "jsts-valid" and len(data) == 1457
    assert (min(data.scores), max(data.scores)) == (0.0, 5.0)
    assert data.scores[1] == pytest.approx(2.4)
    assert default_name("jsquad") == "jsquad" and default_name("jsts:train") == "jsts-train"


def test_tfidf_cosine_on_jsts_valid(shared_data):
    data = load_sts(shared_data / "jsts" / "valid.jsonl")
    predicted = tfidf_pair_similarity(data.sentence1, data.sentence2)
    assert spearmanr(data.scores, predicted)[0] == pytest.approx(0.69, abs=0.005)  # measured 0.6876


def test_bm25_pair_similarity_is_symmetric():
    s1 = ["猫が寝ている。", "男が走る。", "雨が降る。"]
    s2 = ["猫が眠っている。", "雨が降る。", "男が走る。"]
    forward = bm25_pair_similarity(s1, s2)
    backward = bm25_pair_similarity(s2, s1)
    assert forward == pytest.approx(backward)
    assert forward[0] > forward[1] > 0  # shared が and 。 only


def test_lexical_search_on_the_beir_folder(beir):
    data = load_retrieval(beir)
    queries, documents = Tokens(data.queries), Tokens(data.documents)
    for search in (bm25_search, tfidf_search):
        result = search(queries, documents, 3, max_block_elements=1)
        assert data.rankings(result.indices)["q1"][0] == "d3"
        assert data.rankings(result.indices)["q2"][0] == "d2"


def _squad(path, articles: dict[str, int], questions_per_paragraph: int = 2):
    """A SQuAD-layout file: ``articles`` maps a title to its number of paragraphs."""
    data = []
    for a, (title, paragraphs) in enumerate(articles.items()):
        data.append(
            {
                "title": title,
                "paragraphs": [
                    {
                        "context": f"{title} [SEP] 段落{p}の本文です。",
                        "qas": [
                            {
                                "id": f"a{a}p{p}q{q}",
                                "question": f"{title}の段落{p}について質問{q}は?",
                                "answers": [{"text": "本文", "answer_start": 0}],
                                "is_impossible": False,
                            }
                            for q in range(questions_per_paragraph)
                        ],
                    }
                    for p in range(paragraphs)
                ],
            }
        )
    path.write_text(json.dumps({"version": "v1.3", "data": data}, ensure_ascii=False), encoding="utf-8")
    return path


def test_jsquad_labelled_questions_split_by_paragraph_within_articles(tmp_path):
    from textmetric.evaluation.datasets import jsquad_labelled_questions

    path = _squad(tmp_path / "squad.json", {"東京": 10, "大阪": 5, "短い記事": 2})
    splits = jsquad_labelled_questions(path, seed=3)
    assert sum(len(rows) for rows in splits.values()) == 2 * 17
    paragraph_of = {split: {text.split("について")[0] for text, _ in rows} for split, rows in splits.items()}
    assert not paragraph_of["train"] & paragraph_of["dev"]  # no paragraph in two splits
    assert not paragraph_of["train"] & paragraph_of["test"] and not paragraph_of["dev"] & paragraph_of["test"]
    assert all(text.startswith(label) for rows in splits.values() for text, label in rows)  # label = article
    # 20% of 10 paragraphs = 2 (4 questions) per held-out split; at least one paragraph of 5; 2 go to train.
    per_label = {s: {label: sum(1 for _, lb in rows if lb == label) for label in ("東京", "大阪", "短い記事")}
                 for s, rows in splits.items()}  # fmt: skip
    assert per_label["dev"] == per_label["test"] == {"東京": 4, "大阪": 2, "短い記事": 0}
    assert per_label["train"] == {"東京": 12, "大阪": 6, "短い記事": 4}
    assert jsquad_labelled_questions(path, seed=3) == splits
    assert jsquad_labelled_questions(path, seed=4)["test"] != splits["test"]
