"""Our metric code agrees with sentence-transformers' evaluators on the same model and data."""

from __future__ import annotations

import json

import pytest
from sentence_transformers.sentence_transformer.evaluation import (
    EmbeddingSimilarityEvaluator,
    InformationRetrievalEvaluator,
)

from textmetric.data.jglue import RetrievalSet, load_jsquad_retrieval
from textmetric.evaluation import (
    RetrievalData,
    STSData,
    build_retrieval_evaluator,
    build_sts_evaluator,
    dense_retrieval,
    evaluate_rankings,
    evaluate_sts_model,
)


@pytest.fixture(scope="module")
def small_retrieval(shared_data) -> RetrievalData:
    """40 JSQuAD questions over 30 paragraphs; every third query has a second relevant paragraph."""
    full = load_jsquad_retrieval(shared_data / "jsquad" / "valid.json")
    doc_ids = list(full.corpus)[:30]
    queries, qrels = {}, {}
    for qid, rel in full.qrels.items():
        (doc,) = rel
        if doc in doc_ids and len(queries) < 40:
            queries[qid] = full.queries[qid]
            qrels[qid] = {doc: 1.0}
            if len(queries) % 3 == 0:
                qrels[qid][doc_ids[(doc_ids.index(doc) + 1) % len(doc_ids)]] = 1.0
    small = RetrievalSet(queries=queries, corpus={d: full.corpus[d] for d in doc_ids}, qrels=qrels)
    return RetrievalData.from_set(small, name="small", files=[], kind="jsquad")


def test_retrieval_metrics_agree_with_information_retrieval_evaluator(tiny_model, small_retrieval):
    data = small_retrieval
    run = dense_retrieval(tiny_model, data, k=100, batch_size=32)
    ours = evaluate_rankings(
        data.rankings(run.topk.indices),
        data.qrels,
        ["ndcg@10", "mrr@10", "map@100", "recall@1", "recall@5", "recall@10", "precision@5", "accuracy@1"],
    ).metrics
    evaluator = InformationRetrievalEvaluator(
        queries=dict(zip(data.query_ids, data.queries, strict=True)),
        corpus=dict(zip(data.doc_ids, data.documents, strict=True)),
        relevant_docs={q: set(rel) for q, rel in data.qrels.items()},
        accuracy_at_k=[1],
        precision_recall_at_k=[1, 5, 10],
        name="small",
        write_csv=False,
    )
    theirs = evaluator(tiny_model)
    for ours_key, their_key in [
        ("ndcg@10", "ndcg@10"),
        ("mrr@10", "mrr@10"),
        ("map@100", "map@100"),
        ("recall@1", "recall@1"),
        ("recall@5", "recall@5"),
        ("recall@10", "recall@10"),
        ("precision@5", "precision@5"),
        ("accuracy@1", "accuracy@1"),
    ]:
        assert ours[ours_key] == pytest.approx(theirs[f"small_cosine_{their_key}"], abs=1e-6), ours_key
    assert 0 < ours["ndcg@10"] < 1


def test_sts_metrics_agree_with_embedding_similarity_evaluator(tiny_model, shared_data):
    rows = [json.loads(line) for line in (shared_data / "jsts" / "valid.jsonl").open(encoding="utf-8")][:100]
    data = STSData(
        "jsts",
        [r["sentence1"] for r in rows],
        [r["sentence2"] for r in rows],
        [r["label"] for r in rows],
        source="test",
    )
    ours, _ = evaluate_sts_model(tiny_model, data, ["cosine", "dot", "euclidean", "manhattan"])
    theirs = EmbeddingSimilarityEvaluator(
        data.sentence1,
        data.sentence2,
        data.scores,
        name="jsts",
        write_csv=False,
        similarity_fn_names=["cosine", "dot", "euclidean", "manhattan"],
    )(tiny_model)
    assert ours["spearman"] == pytest.approx(theirs["jsts_spearman_cosine"], abs=1e-6)
    assert ours["pearson"] == pytest.approx(theirs["jsts_pearson_cosine"], abs=1e-6)
    for fn in ("dot", "euclidean", "manhattan"):
        assert ours[f"spearman_{fn}"] == pytest.approx(theirs[f"jsts_spearman_{fn}"], abs=1e-6)


def test_training_evaluators_from_files(tiny_model, tmp_path, shared_data):
    sts_file = tmp_path / "jsts" / "valid.jsonl"
    sts_file.parent.mkdir()
    lines = (shared_data / "jsts" / "valid.jsonl").read_text(encoding="utf-8").splitlines()[:60]
    sts_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sts_eval = build_sts_evaluator(sts_file)
    assert sts_eval.name == "jsts-valid"
    results = sts_eval(tiny_model)
    assert sts_eval.primary_metric == "jsts-valid_spearman_cosine"
    assert -1 <= results["jsts-valid_spearman_cosine"] <= 1

    pairs = tmp_path / "faq.jsonl"
    pairs.write_text(
        "\n".join(
            json.dumps({"anchor": f"質問{i}について", "positive": f"回答{i}です。"}, ensure_ascii=False)
            for i in range(12)
        )
        + "\n",
        encoding="utf-8",
    )
    ir_eval = build_retrieval_evaluator(pairs, name="faq", max_score_elements=24)
    assert ir_eval.corpus_chunk_size == 2  # 12 queries x 2 documents per block
    results = ir_eval(tiny_model)
    assert ir_eval.primary_metric == "faq_cosine_ndcg@10"
    assert {"faq_cosine_mrr@10", "faq_cosine_map@100", "faq_cosine_recall@100"} <= set(results)
