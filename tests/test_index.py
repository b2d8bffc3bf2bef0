"""SimilarityIndex: planted nearest documents, backends, hybrid, add / remove, persistence, model identity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textmetric import SimilarityIndex, TextMetric
from textmetric.errors import ConfigError, InputError, ModelLoadError, OutputExistsError
from textmetric.models import build_dual_encoder

PLANTED = "ｅメールで３件の問い合わせがありました。"
QUERY = "eメールで3件の問い合わせがありました。"  # the planted document after NFKC


@pytest.fixture(scope="module")
def tm(tiny_model) -> TextMetric:
    return TextMetric(tiny_model)


@pytest.fixture(scope="module")
def corpus(japanese_texts) -> tuple[list[str], list[str]]:
    texts = list(dict.fromkeys(japanese_texts))[:400]
    texts.insert(137, PLANTED)
    return texts, [f"doc-{i}" for i in range(len(texts))]


@pytest.fixture(scope="module")
def exact(tm, corpus) -> SimilarityIndex:
    texts, ids = corpus
    return tm.index(texts, ids=ids, backend="exact", hybrid=True)


def test_search_returns_the_planted_document(exact, tm, corpus):
    texts, ids = corpus
    ids_found, scores = exact.search(QUERY, k=5, mode="dense")
    assert ids_found[0] == "doc-137" and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True) and len(ids_found) == 5
    # scores are the model's similarities
    expected = tm.similarity(QUERY, [texts[ids.index(i)] for i in ids_found])
    assert np.allclose(scores, expected, atol=1e-5)
    for mode in ("hybrid", "bm25"):
        assert exact.search(QUERY, k=3, mode=mode).ids[0] == "doc-137"
    batch = exact.search([QUERY, texts[5]], k=2, mode="dense")
    assert [r.ids[0] for r in batch] == ["doc-137", "doc-5"]
    assert exact.text("doc-137") == PLANTED


@pytest.mark.parametrize("backend", ["flat", "ivf", "hnsw"])
def test_faiss_backends_agree_with_exact(exact, tm, corpus, backend):
    texts, ids = corpus
    index = SimilarityIndex(tm, backend=backend, nprobe=64)
    index.add_embeddings(exact._vectors, ids=ids, texts=texts)
    queries = [QUERY, *texts[10:20]]
    for got, want in zip(index.search(queries, k=5), exact.search(queries, k=5, mode="dense"), strict=True):
        assert got.ids[0] == want.ids[0]
        assert np.allclose(got.scores[0], want.scores[0], atol=1e-5)
    assert index.kind == backend


def test_auto_backend_switches_by_size(tm, corpus, exact):
    texts, ids = corpus
    index = SimilarityIndex(tm, exact_threshold=100)
    index.add_embeddings(exact._vectors[:50], ids=ids[:50], texts=texts[:50])
    assert index.kind == "exact"
    index.add_embeddings(exact._vectors[50:], ids=ids[50:], texts=texts[50:])
    assert index.kind == "ivf" and index.search(QUERY, k=1).ids == ["doc-137"]


def test_add_and_remove_documents(tm, corpus):
    texts, _ = corpus
    index = tm.index(texts[:50])  # ids default to 0..49
    assert len(index) == 50 and index.ids[:3] == [0, 1, 2]
    index.add([PLANTED])
    assert index.search(QUERY, k=1).ids == [50]
    assert index.remove(50) == 1 and 50 not in index
    assert 50 not in index.search(QUERY, k=10).ids
    index.add([PLANTED], ids=[51])
    assert index.search(QUERY, k=1).ids == [51]
    with pytest.raises(InputError, match="duplicate"):
        index.add(["重複"], ids=[51])
    with pytest.raises(InputError, match="unknown document id"):
        index.remove("nope")
    with pytest.raises(InputError, match="mixed id types"):
        index.add(["文字列"], ids=["s1"])


@pytest.mark.parametrize("backend", ["exact", "hnsw"])
def test_saved_index_reloads_to_identical_results(tm, corpus, tmp_path, backend):
    texts, ids = corpus
    index = tm.index(texts[:120], ids=ids[:120], backend=backend, hybrid=True)
    index.add([PLANTED], ids=["planted"])
    index.remove(["doc-3", "doc-7"])
    queries = [QUERY, texts[3], texts[40]]
    before = index.search(queries, k=7)
    before_hybrid = index.search(queries, k=7, mode="hybrid")
    path = index.save(tmp_path / "index")
    loaded = SimilarityIndex.load(path, model=tm)
    assert loaded.ids == index.ids and loaded.kind == backend and loaded.hybrid
    for a, b in zip(loaded.search(queries, k=7), before, strict=True):
        assert a.ids == b.ids and np.array_equal(a.scores, b.scores)
    for a, b in zip(loaded.search(queries, k=7, mode="hybrid"), before_hybrid, strict=True):
        assert a.ids == b.ids and np.allclose(a.scores, b.scores)
    assert "doc-3" not in loaded.search(texts[3], k=20).ids
    # refuses to overwrite, writes nothing half-done
    with pytest.raises(OutputExistsError):
        index.save(path)
    index.save(path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]


def test_loading_with_another_model_fails_clearly(tm, corpus, tiny_bert_dir, tmp_path):
    texts, ids = corpus
    path = tm.index(texts[:30], ids=ids[:30]).save(tmp_path / "index")
    other = build_dual_encoder(str(tiny_bert_dir), max_seq_length=64)
    with torch.no_grad():
        next(other.parameters()).add_(0.01)
    with pytest.raises(ModelLoadError, match=r"built with model .* fingerprint"):
        SimilarityIndex.load(path, model=TextMetric(other))
    # Same weights, other pooling: the fingerprint covers the module configuration too.
    other_pooling = TextMetric(build_dual_encoder(str(tiny_bert_dir), pooling="cls", max_seq_length=64))
    with pytest.raises(ModelLoadError, match=r"built with model .* fingerprint"):
        SimilarityIndex.load(path, model=other_pooling)
    # What no saved file shows (weights changed in memory after the fingerprint was taken): the probe.
    changed = TextMetric(build_dual_encoder(str(tiny_bert_dir), max_seq_length=64))
    assert changed.fingerprint == tm.fingerprint
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in changed.model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.1)
    with pytest.raises(ModelLoadError, match="embeds text differently"):
        SimilarityIndex.load(path, model=changed)
    with pytest.raises(InputError, match="not an index folder"):
        SimilarityIndex.load(tmp_path, model=tm)


def test_long_document_scores_by_its_best_chunk(tiny_bert_dir, japanese_texts):
    tm = TextMetric(build_dual_encoder(str(tiny_bert_dir), max_seq_length=64))
    long_doc = "".join(s.rstrip("。") + "。" for s in japanese_texts[:40])
    short = list(dict.fromkeys(japanese_texts[100:160]))
    index = tm.index([*short, long_doc])
    chunks = tm.chunk(long_doc)
    assert index.num_chunks == len(short) + len(chunks) and len(chunks) > 3
    tail = chunks[-1]  # far beyond the model's window: found only thanks to chunking
    result = index.search(tail, k=3)
    assert result.ids[0] == len(short) and result.scores[0] == pytest.approx(1.0, abs=1e-5)
    assert len(set(result.ids)) == 3  # one entry per document, not per chunk
    query = short[0]
    best = max(tm.similarity(query, chunks))
    got = dict(zip(*index.search(query, k=len(short) + 1), strict=True))
    assert got[len(short)] == pytest.approx(best, abs=1e-5)


def test_convex_hybrid_weights_and_persistence(exact, tm, corpus, tmp_path):
    texts, ids = corpus
    queries = [QUERY, texts[3], texts[250][:12], "問い合わせ"]
    index = tm.index(texts, ids=ids, backend="exact", hybrid=True, fusion="convex", dense_weight=0.0)
    bm25 = exact.search(queries, k=5, mode="bm25")
    dense = exact.search(queries, k=5, mode="dense")
    # weight 0: BM25's ranking (among the documents sharing a word); weight 1: the model's
    for got, want in zip(index.search(queries, k=5), bm25, strict=True):
        matched = [doc for doc, score in zip(want.ids, want.scores, strict=True) if score > 0]
        assert matched and got.ids[: len(matched)] == matched
    index.dense_weight = 1.0
    for got, want in zip(index.search(queries, k=5), dense, strict=True):
        assert got.ids == want.ids
    index.dense_weight = 0.3
    fused = index.search(queries, k=5)
    index.save(tmp_path / "ix")
    loaded = SimilarityIndex.load(tmp_path / "ix", model=tm)
    assert (loaded.fusion, loaded.dense_weight) == ("convex", 0.3)
    for got, want in zip(loaded.search(queries, k=5), fused, strict=True):
        assert got.ids == want.ids and np.allclose(got.scores, want.scores)


def test_bad_index_options(tm):
    with pytest.raises(ConfigError, match="backend"):
        SimilarityIndex(tm, backend="annoy")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="fusion"):
        SimilarityIndex(tm, hybrid=True, fusion="sum")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="between 0 and 1"):
        SimilarityIndex(tm, hybrid=True, dense_weight=2.0)
    with pytest.raises(ConfigError, match="hybrid"):
        SimilarityIndex(tm, hybrid=True, store_text=False)
    index = tm.index(["一つ目の文書。"], store_text=False)
    with pytest.raises(ConfigError, match="store_text"):
        index.search("文書", mode="bm25")
