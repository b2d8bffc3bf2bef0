"""Mining JSQuAD (paragraph = document, article title = label): the done criterion of the issue.

Every check reads the written file back and maps texts to documents independently of the miner's
own bookkeeping: no negative is the positive (or has its text), shares the anchor's or the
positive's label, and every scored negative is below its positive by the margin rule.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from textmetric.data.formats import load_pairs
from textmetric.mining import mine, read_documents

MARGIN = 0.999  # the tiny test model is random: its similarities are all close to 1


@pytest.fixture(scope="session")
def jsquad_path(shared_data):
    return shared_data / "jsquad" / "valid.json"


@pytest.fixture(scope="session")
def jsquad_docs(jsquad_path):
    return read_documents(jsquad_path)


@pytest.fixture(scope="session")
def mined(tmp_path_factory, jsquad_path, tiny_model):
    """title-body + same-label positives; dense, bm25 and random negatives (3 per pair)."""
    from textmetric.api import TextMetric

    out = tmp_path_factory.mktemp("mine") / "jsquad.jsonl"
    model = TextMetric(tiny_model, chunking=False, batch_size=128)
    result = mine(
        jsquad_path,
        out,
        positives=["title-body", "same-label"],
        negatives=["dense", "bm25", "random"],
        num_negatives=3,
        model=model,
        margin_ratio=MARGIN,
    )
    return result, out


def _rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_documents_are_paragraphs_with_article_labels(jsquad_docs):
    assert len(jsquad_docs) == 1145
    assert len(jsquad_docs.label_names) == 59
    assert all(jsquad_docs.titles)
    assert not any(" [SEP] " in t or "[SEP]" in t for t in jsquad_docs.texts)
    # The title part of the context is the article title here.
    labels = [jsquad_docs.label_names[c] for c in jsquad_docs.labels]
    assert labels == jsquad_docs.titles


def test_both_positive_strategies_and_all_miners_contribute(mined):
    result, _ = mined
    summary = result.summary
    assert summary["positives"]["per_strategy"]["title-body"] == 1145
    assert summary["positives"]["per_strategy"]["same-label"] > 500
    per_miner = summary["negatives"]["per_miner"]
    assert per_miner["dense"] > 0 and per_miner["bm25"] > 0 and per_miner["random"] > 0
    assert summary["negatives"]["rejected"]["label"] > 0  # same-article paragraphs were proposed and refused
    assert summary["negatives"]["settings"]["dense_index_used"] == "exact"


def test_no_negative_is_the_positive_or_shares_a_label(mined, jsquad_docs):
    result, out = mined
    rows = _rows(out)
    assert len(rows) == len(result) > 1000
    doc_of = {text: i for i, text in enumerate(jsquad_docs.texts)}
    label = jsquad_docs.labels
    label_of_title = {jsquad_docs.label_names[c]: c for c in set(label.tolist())}
    checked = 0
    for row in rows:
        positive = doc_of[row["positive"]]
        anchor_label = (
            label[doc_of[row["anchor"]]] if row["anchor"] in doc_of else label_of_title[row["anchor"]]
        )
        negatives = [row[f"negative_{k}"] for k in (1, 2, 3)]
        assert len(set(negatives)) == 3
        for text in negatives:
            negative = doc_of[text]
            assert negative != positive and text != row["positive"] and text != row["anchor"]
            assert label[negative] != label[positive]
            assert label[negative] != anchor_label
            checked += 1
    assert checked == 3 * len(rows)


def test_scored_negatives_respect_the_margin(mined):
    result, _ = mined
    negatives = result.negatives
    assert negatives is not None
    # Each BM25 negative against its own pair's positive BM25 score (all positive here).
    assert np.all(negatives.relative["bm25"]["bm25"] < MARGIN + 1e-6)
    dense_positive = negatives.scores["dense"]["positive"]
    idx, miner = negatives.indices, negatives.miner
    from textmetric.mining import MINERS

    rows, cols = np.nonzero(miner == MINERS.index("dense"))
    assert len(rows) > 0
    gap = negatives.relative["dense"]["dense"]
    threshold = dense_positive[rows] - np.abs(dense_positive[rows]) * (1 - MARGIN)
    assert np.all(gap + dense_positive[rows] < threshold + 1e-6)
    assert (idx[rows, cols] >= 0).all()


def test_output_is_what_the_trainer_reads_and_has_no_duplicates(mined):
    result, out = mined
    data = load_pairs(out)
    assert data.format == "ntuples"
    assert data.columns == ["anchor", "positive", "negative_1", "negative_2", "negative_3"]
    assert len(data) == len(result)
    keys = Counter(tuple(data.records[c][i] for c in data.columns) for i in range(len(data)))
    assert max(keys.values()) == 1


def test_summary_and_histogram_next_to_the_output(mined):
    result, out = mined
    summary_path = out.with_name("jsquad.summary.json")
    png = out.with_name("jsquad.scores.png")
    assert result.summary_path == summary_path and result.plot_path == png
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert summary["output"]["rows"] == len(result)
    assert set(summary["scores"]) == {"bm25", "dense"}
    assert summary["scores"]["dense"]["negative (random)"]["count"] > 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bm25_default_margin_and_ceiling(jsquad_path):
    result = mine(
        jsquad_path,
        positives=["same-label"],
        negatives=["bm25"],
        num_negatives=2,
        output_format="triplets",
        bm25_max_score=10.0,
    )
    negatives = result.negatives
    assert negatives is not None
    kept = negatives.scores["bm25"]["negative (bm25)"]
    assert len(kept) > 0 and np.all(kept < 10.0)
    assert np.all(negatives.relative["bm25"]["bm25"] < 0.95 + 1e-6)
    rejected = result.summary["negatives"]["rejected"]
    assert rejected["margin"] > 0 and rejected["ceiling"] > 0 and rejected["label"] > 0
    assert result.columns == ["anchor", "positive", "negative"]
