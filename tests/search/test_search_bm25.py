"""BM25 over Japanese words: right documents, deterministic ties, the JSQuAD reference number."""

from __future__ import annotations

import json

import numpy as np
import pytest

from textmetric.search import BM25Retriever

DOCS = [
    "猫がソファの上で寝ています。",
    "男性が自転車に乗っています。",
    "東京の天気は晴れです。",
    "猫と犬が庭で遊んでいます。",
]


def test_search_finds_the_matching_document():
    bm25 = BM25Retriever().index(DOCS)
    result = bm25.search(["自転車に乗る男性", "東京の天気"], k=2)
    assert result.indices[:, 0].tolist() == [1, 2]
    assert result.scores.shape == (2, 2)
    assert result.scores[0, 0] > result.scores[0, 1]


def test_no_matching_word_gives_zero_scores_in_index_order():
    bm25 = BM25Retriever().index(DOCS)
    result = bm25.search(["ｘｙｚ"], k=3)  # NFKC: xyz, in no document
    assert result.indices.tolist() == [[0, 1, 2]]
    assert result.scores.tolist() == [[0.0, 0.0, 0.0]]
    assert bm25.search([""], k=2).indices.tolist() == [[0, 1]]


def test_tied_documents_rank_by_index_and_batches_do_not_matter():
    docs = ["りんご", "みかん", "りんご", "りんご"]
    bm25 = BM25Retriever().index(docs)
    whole = bm25.search(["りんご"] * 5, k=4)
    assert whole.indices[0].tolist() == [0, 2, 3, 1]
    small = bm25.search(["りんご"] * 5, k=4, max_block_elements=1)  # one query per block
    np.testing.assert_array_equal(whole.indices, small.indices)


@pytest.mark.parametrize("method", ["lucene", "bm25+"])
def test_blocks_and_pairs_match_bm25s_scores(method):
    import bm25s

    bm25 = BM25Retriever(method=method).index(DOCS)
    queries = bm25.tokenize(["猫が寝ている猫", "男性の自転車", "ｘｙｚ"])
    engine = bm25s.BM25(method=method)
    engine.index(bm25.tokenize(DOCS), show_progress=False)
    expected = np.stack([engine.get_scores_from_ids(engine.get_tokens_ids(q)) for q in queries])
    np.testing.assert_allclose(bm25.score_block(queries), expected, rtol=1e-5, atol=1e-6)
    pairs = bm25.score_pairs([queries[0], queries[1], queries[0]], [0, 1, 3])
    np.testing.assert_allclose(pairs, [expected[0, 0], expected[1, 1], expected[0, 3]], rtol=1e-5)
    with pytest.raises(ValueError, match="document indices"):
        bm25.score_pairs(queries, [0])


@pytest.mark.parametrize("method", ["lucene", "robertson", "bm25+"])
def test_sparse_scores_are_the_positive_part_of_the_block(method):
    bm25 = BM25Retriever(method=method).index(DOCS)
    queries = bm25.tokenize(["猫が寝ている猫", "男性の自転車", "ｘｙｚ", "猫と犬"])
    block = bm25.score_block(queries)
    rows = bm25.sparse_scores(queries)
    assert len(rows) == len(queries)
    for scores, (hits, values) in zip(block, rows, strict=True):
        assert hits.dtype == np.int64 and values.dtype == np.float32
        np.testing.assert_array_equal(hits, np.flatnonzero(scores > 0))
        np.testing.assert_allclose(values, scores[hits], rtol=1e-6)
    assert rows[2][0].size == 0 or method == "bm25+"  # no shared word: nothing, unless every doc scores


def test_search_before_index_is_an_error():
    with pytest.raises(RuntimeError, match="index"):
        BM25Retriever().search(["x"])


def test_jsquad_valid_reference_ndcg(shared_data):
    """The project's reference: BM25 on JSQuAD valid paragraphs, nDCG@10 = 0.937."""
    data = json.loads((shared_data / "jsquad" / "valid.json").read_text(encoding="utf-8"))
    contexts, questions, gold = [], [], []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                questions.append(qa["question"])
                gold.append(len(contexts))
            contexts.append(paragraph["context"])
    result = BM25Retriever().index(contexts).search(questions, k=10)
    ndcg = 0.0
    for row, relevant in zip(result.indices.tolist(), gold, strict=True):
        if relevant in row:
            ndcg += 1 / np.log2(row.index(relevant) + 2)
    assert ndcg / len(gold) == pytest.approx(0.937, abs=0.0015)
