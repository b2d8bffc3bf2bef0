"""Positive strategies, link / group exclusion, negative pools, determinism, formats, safe outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from textmetric.data.formats import load_pairs
from textmetric.errors import OutputExistsError
from textmetric.mining import (
    MINERS,
    NegativeSettings,
    make_documents,
    mine,
    mine_negatives,
    mine_positives,
    read_documents,
)

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """Résumés and job postings; each résumé applied to its matching posting and to one other."""
    rows = read_jsonl(SAMPLE / "jobs_train.jsonl")
    postings = list(dict.fromkeys(r["positive"] for r in rows))
    docs = [{"id": f"job{i}", "text": t, "group": f"company{i % 7}"} for i, t in enumerate(postings)]
    docs += [{"id": f"cv{i}", "text": r["anchor"]} for i, r in enumerate(rows)]
    rng = np.random.default_rng(0)
    links = []
    for i, r in enumerate(rows):
        job = postings.index(r["positive"])
        links.append((f"cv{i}", f"job{job}"))
        links.append((f"cv{i}", f"job{(job + 1 + rng.integers(len(postings) - 1)) % len(postings)}"))
    folder = tmp_path_factory.mktemp("jobs")
    doc_path = folder / "docs.jsonl"
    doc_path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs) + "\n", encoding="utf-8")
    link_path = folder / "applications.csv"
    link_path.write_text("source_id,target_id\n" + "".join(f"{s},{t}\n" for s, t in links), encoding="utf-8")
    return doc_path, link_path, links


def test_links_positives_keep_linked_and_same_group_documents_out(jobs):
    doc_path, link_path, links = jobs
    result = mine(
        doc_path,
        links=link_path,
        positives=["links"],
        negatives=["bm25", "random"],
        num_negatives=3,
        negative_pool="positives",
    )
    docs = result.documents
    linked = {(docs.index[s], docs.index[t]) for s, t in links}
    linked |= {(t, s) for s, t in linked}
    pairs, negatives = result.positives, result.negatives
    assert negatives is not None
    assert result.summary["positives"]["per_strategy"]["links"] == len(links)
    jobs_only = {i for i, doc_id in enumerate(docs.ids) if doc_id.startswith("job")}
    for i in range(len(pairs)):
        a, p = pairs.anchor_doc[i], pairs.positive_doc[i]
        for n in negatives.indices[i]:
            if n < 0:
                continue
            assert n in jobs_only  # the pool: postings only, never another résumé
            assert n != p and (a, n) not in linked and (p, n) not in linked
            assert docs.groups[n] != docs.groups[p]
    rejected = result.summary["negatives"]["rejected"]
    assert rejected["link"] > 0 and rejected["group"] > 0 and rejected["positive"] > 0
    assert negatives.found.min() >= 1


def test_exclusions_can_be_turned_off(jobs):
    doc_path, link_path, _ = jobs
    result = mine(
        doc_path, links=link_path, positives=["links"], negatives=["bm25"], exclude=[], margin_ratio=None
    )
    rejected = result.summary["negatives"]["rejected"]
    assert rejected["link"] == rejected["group"] == rejected["label"] == 0
    assert rejected["positive"] > 0  # the positive itself is always refused


def test_adjacent_chunks_of_long_documents(shared_data):
    paragraphs = read_documents(shared_data / "jsquad" / "valid.json")
    by_label: dict[int, list[str]] = {}
    for text, label in zip(paragraphs.texts, paragraphs.labels, strict=True):
        by_label.setdefault(int(label), []).append(text)
    articles = ["".join(texts) for texts in list(by_label.values())[:12]]
    docs = make_documents([f"a{i}" for i in range(len(articles))], articles)
    pairs = mine_positives(docs, ["adjacent"])
    assert pairs.counts["adjacent"] > 12
    for anchor, positive, owner in zip(pairs.anchors, pairs.positives, pairs.anchor_doc, strict=True):
        assert len(anchor) <= 200 and len(positive) <= 200
        text = "".join(docs.texts[owner].split())  # chunks drop the spaces between sentences
        assert text.index("".join(anchor.split())) < text.index("".join(positive.split()))
    negatives = mine_negatives(docs, pairs, NegativeSettings(miners=("bm25", "random"), num_negatives=2))
    own = pairs.anchor_doc[:, None]
    assert not ((negatives.indices == own) & (negatives.indices >= 0)).any()


def test_same_label_sampling_is_capped_and_never_self(shared_data):
    docs = read_documents(shared_data / "jsquad" / "valid.json")
    from textmetric.mining import PositiveSettings

    pairs = mine_positives(
        docs, ["same-label"], settings=PositiveSettings(same_label_per_doc=3, same_label_max_per_label=10)
    )
    labels = docs.labels
    assert (labels[pairs.anchor_doc] == labels[pairs.positive_doc]).all()
    assert (pairs.anchor_doc != pairs.positive_doc).all()
    assert np.bincount(labels[pairs.anchor_doc]).max() <= 10


def test_same_seed_same_rows_other_seed_other_random_negatives(shared_data):
    path = shared_data / "jsquad" / "valid.json"
    options = {"positives": ["same-label"], "negatives": ["random"], "num_negatives": 2}
    first = mine(path, seed=1, **options)
    again = mine(path, seed=1, **options)
    other = mine(path, seed=2, **options)
    assert first.records == again.records
    assert first.records != other.records


def test_bm25_batching_does_not_change_the_result(shared_data):
    docs = read_documents(shared_data / "jsquad" / "valid.json")
    pairs = mine_positives(docs, ["title-body"])
    big = mine_negatives(docs, pairs, NegativeSettings(miners=("bm25",), num_negatives=3))
    small = mine_negatives(
        docs,
        pairs,
        NegativeSettings(miners=("bm25",), num_negatives=3, max_block_elements=5000, pair_batch=97),
    )
    assert np.array_equal(big.indices, small.indices)
    assert (big.miner[big.indices >= 0] == MINERS.index("bm25")).all()


@pytest.mark.parametrize(
    ("suffix", "options", "fmt", "columns"),
    [
        (".csv", {"negatives": []}, "pairs", ["anchor", "positive"]),
        (
            ".tsv",
            {"negatives": ["random"], "num_negatives": 2, "output_format": "triplets"},
            "triplets",
            None,
        ),
        (".parquet", {"negatives": ["random"], "num_negatives": 2}, "ntuples", None),
    ],
)
def test_formats_round_trip_through_the_trainer_reader(tmp_path, suffix, options, fmt, columns):
    rows = read_jsonl(SAMPLE / "faq_train.jsonl")[:60]
    docs = [{"id": i, "title": r["anchor"], "text": r["positive"]} for i, r in enumerate(rows)]
    out = tmp_path / f"pairs{suffix}"
    result = mine(docs, out, positives=["title-body"], **options)
    data = load_pairs(out)
    assert data.format == fmt == result.format
    assert len(data) == len(result)
    assert columns is None or data.columns == columns
    if fmt == "triplets":
        assert len(data) == 2 * len(rows)


def test_outputs_are_not_overwritten_without_permission(tmp_path, shared_data):
    path = shared_data / "jsquad" / "valid.json"
    out = tmp_path / "pairs.jsonl"
    mine(path, out, negatives=["random"])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(before) == {"pairs.jsonl", "pairs.summary.json"}  # random negatives have no scores to plot
    with pytest.raises(OutputExistsError):
        mine(path, out, negatives=["random"], seed=7)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    (tmp_path / "pairs.jsonl").unlink()
    with pytest.raises(OutputExistsError, match=r"summary\.json"):  # a stale summary is not replaced either
        mine(path, out, negatives=["random"])
    result = mine(path, out, negatives=["random"], seed=7, overwrite=True)
    assert result.summary_path is not None and result.summary_path.is_file()


def test_sparse_bm25_rows_equal_the_dense_scores(shared_data):
    from textmetric.search.bm25 import BM25Retriever
    from textmetric.text.words import STOP_POS

    docs = read_documents(shared_data / "jsquad" / "valid.json")
    retriever = BM25Retriever(stop_pos=STOP_POS).index(docs.texts)
    queries = retriever.tokenize(docs.titles[:40] + docs.texts[:40])
    block = retriever.score_block(queries)
    for scores, (hits, values) in zip(block, retriever.sparse_scores(queries), strict=True):
        assert np.array_equal(hits, np.flatnonzero(scores > 0))
        np.testing.assert_allclose(values, scores[hits], rtol=1e-6)


def test_bm25_max_df_drops_common_query_words(shared_data):
    docs = read_documents(shared_data / "jsquad" / "valid.json")
    pairs = mine_positives(docs, ["title-body"])
    exact = mine_negatives(docs, pairs, NegativeSettings(miners=("bm25",), bm25_max_df=None))
    pruned = mine_negatives(docs, pairs, NegativeSettings(miners=("bm25",), bm25_max_df=0.02))
    assert exact.settings["bm25_max_df_used"] is None and exact.settings["bm25_common_words_dropped"] == 0
    assert pruned.settings["bm25_common_words_dropped"] > 0
    assert (pruned.indices >= 0).sum() > 0


def test_cloze_questions_point_to_their_passage(shared_data):
    from textmetric.data.jglue import SEP
    from textmetric.mining import PositiveSettings
    from textmetric.text import split_sentences

    docs = read_documents(shared_data / "jsquad" / "valid.json")
    docs = make_documents(docs.ids[:40], docs.texts[:40], titles=docs.titles[:40])
    pairs = mine_positives(docs, ["cloze"], seed=3)
    assert pairs.counts["cloze"] > 40  # several sentences per paragraph
    for question, passage, owner in zip(pairs.anchors, pairs.positives, pairs.anchor_doc, strict=True):
        title, window = passage.split(SEP)
        # sentences are joined without the spaces that separated some of them
        assert title == docs.titles[owner] and window in "".join(docs.texts[owner].split(" "))
        assert question.endswith("か。") and "何" in question
        stem = question[:-2].split("何")[0]
        assert stem in window  # the question comes from a sentence of its passage
    again = mine_positives(docs, ["cloze"], seed=3)
    assert again.anchors == pairs.anchors
    narrow = mine_positives(
        docs, ["cloze"], seed=3, settings=PositiveSettings(cloze_window=0, cloze_max_per_doc=1)
    )
    assert np.bincount(narrow.anchor_doc).max() == 1
    for question, passage in zip(narrow.anchors, narrow.positives, strict=True):
        window = passage.split(SEP)[1]
        assert len(split_sentences(window)) == 1 and question[:-2].split("何")[0] in window
