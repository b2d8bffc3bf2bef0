"""TextMetric: similarity, normalisation as trained, dssm towers, long-document chunking, loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textmetric import TextMetric
from textmetric.errors import ConfigError, ModelLoadError
from textmetric.models import ModelMetadata, build_dual_encoder

A = ["猫がソファの上で寝ています。", "男性が自転車に乗っています。", "ＡＢＣ社の株価は１２０円です。"]
B = [
    "ソファで猫が眠っている。",
    "道路を自転車が走っている。",
    "今日は雨が降っています。",
    "ABC社の株価は120円。",
]


@pytest.fixture(scope="module")
def tm(tiny_model) -> TextMetric:
    return TextMetric(tiny_model)


@pytest.fixture(scope="module")
def siamese_dir(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("api") / "siamese"
    tiny_model.save(str(folder))
    ModelMetadata(structure="siamese", nfkc=True).save(folder)
    return folder


def test_similarity_is_symmetric_bounded_and_equal_to_encode_dot(tm):
    scores = tm.similarity(A, B)
    assert scores.shape == (len(A), len(B))
    assert np.all(scores <= 1.0) and np.all(scores >= -1.0)
    assert np.allclose(tm.similarity(B, A), scores.T, atol=1e-6)
    assert np.allclose(tm.encode(A) @ tm.encode(B).T, scores, atol=1e-6)
    one = tm.similarity(A[0], B[0])
    assert isinstance(one, float) and one == pytest.approx(float(scores[0, 0]), abs=1e-6)
    assert tm.similarity(A[0], B).shape == (len(B),)
    assert tm.similarity(A, B[0]).shape == (len(A),)
    # batching by token length and encoding duplicates once keep the input order
    mixed = [*A, *B, A[0], "短い。", A[0] * 3]
    plain = tm.model.encode([tm.normalize(t) for t in mixed], convert_to_numpy=True)
    assert np.allclose(tm.encode(mixed, batch_size=2), plain, atol=1e-5)
    vector = tm.encode(A[0])
    assert vector.shape == (tm.dimension,) and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def _captured_inputs(tm: TextMetric, text: str) -> list[str]:
    seen: list[str] = []
    original = tm.model.encode_document

    def spy(inputs, **kwargs):
        seen.extend(inputs)
        return original(inputs, **kwargs)

    tm.model.encode_document = spy
    try:
        tm.encode([text])
    finally:
        del tm.model.encode_document
    return seen


def test_normalisation_follows_the_saved_model(siamese_dir, tmp_path, tiny_model):
    assert TextMetric.load(siamese_dir).nfkc is True
    assert _captured_inputs(TextMetric.load(siamese_dir), " ＡＢＣ１２３ ") == ["ABC123"]
    off = tmp_path / "no-nfkc"
    tiny_model.save(str(off))
    ModelMetadata(nfkc=False).save(off)
    assert _captured_inputs(TextMetric.load(off), "ＡＢＣ１２３") == ["ＡＢＣ１２３"]
    plain = tmp_path / "plain"  # a plain sentence-transformers folder: NFKC on by default
    tiny_model.save(str(plain))
    loaded = TextMetric.load(plain)
    assert loaded.metadata is None and loaded.nfkc is True
    assert _captured_inputs(loaded, "ｶﾀｶﾅ") == ["カタカナ"]
    assert TextMetric.load(plain, nfkc=False).nfkc is False
    # the loaded model gives the same numbers as the in-memory one
    assert np.allclose(loaded.encode(A), TextMetric(tiny_model).encode(A), atol=1e-6)


def test_hub_id_offline_fails_with_a_local_path_hint(tmp_path):
    with pytest.raises(ModelLoadError, match="local folder") as info:
        TextMetric.load("no-such-org/no-such-model")
    assert "--local-dir" in str(info.value)
    with pytest.raises(ModelLoadError, match="does not exist"):
        TextMetric.load(str(tmp_path / "missing" / "model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError):
        TextMetric.load(tmp_path / "empty")


def test_bad_options(tm, tiny_model):
    with pytest.raises(ConfigError, match="aggregate"):
        TextMetric(tiny_model, aggregate="median")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="role"):
        tm.encode(A, role="answer")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def long_tm(tiny_bert_dir) -> TextMetric:
    """The tiny BERT at its full 512-token window."""
    return TextMetric(build_dual_encoder(str(tiny_bert_dir), max_seq_length=512), overlap=1)


def test_long_document_is_chunked_on_sentences_within_512_tokens(long_tm, japanese_texts):
    sentences = [long_tm.normalize(s.rstrip("。")) + "。" for s in japanese_texts[:200]]
    document = "".join(sentences)
    n_tokens = long_tm._count_tokens("document", [document])[0]
    assert n_tokens > 1500  # well over 512
    chunks = long_tm.chunk(document)
    assert len(chunks) >= 3
    budget = 512 - 2
    lengths = long_tm._count_tokens("document", chunks)
    assert max(lengths) <= budget and min(lengths[:-1]) > budget // 2  # full, but never truncated
    assert all(chunk.endswith("。") for chunk in chunks)  # cut on sentence boundaries
    assert chunks[0].startswith(sentences[0]) and chunks[-1].endswith(sentences[-1])  # nothing lost
    assert sum(s in "".join(chunks) for s in sentences) == len(sentences)
    # overlap: each chunk starts with the last sentence of the previous one
    last_of_first = next(s for s in sentences if chunks[0].endswith(s))
    assert chunks[1].startswith(last_of_first)

    pieces = long_tm.encode_chunks([document, "短い文です。"])
    assert pieces.counts.tolist() == [len(chunks), 1] and pieces.owner.tolist() == [0] * len(chunks) + [1]
    chunk_vectors = long_tm.encode(chunks)
    assert np.allclose(pieces.vectors[:-1], chunk_vectors, atol=1e-5)
    mean, biggest = chunk_vectors.mean(axis=0), chunk_vectors.max(axis=0)
    assert np.allclose(long_tm.aggregate_chunks(pieces)[0], mean / np.linalg.norm(mean), atol=1e-5)
    assert np.allclose(
        long_tm.aggregate_chunks(pieces, "max")[0], biggest / np.linalg.norm(biggest), atol=1e-5
    )
    assert np.allclose(long_tm.aggregate_chunks(pieces, "first")[0], chunk_vectors[0], atol=1e-5)
    assert np.allclose(long_tm.encode(document), mean / np.linalg.norm(mean), atol=1e-5)
    truncated = long_tm.encode(document, chunking=False)  # the model's own truncation
    assert not np.allclose(truncated, long_tm.encode(document), atol=1e-3)
    # short texts are not tokenized for counting at all
    assert long_tm.encode_chunks(["短い文です。"]).counts.tolist() == [1]


def test_dssm_uses_the_query_and_document_towers(tiny_bert_dir, tmp_path):
    folder = tmp_path / "dssm"
    build_dual_encoder(str(tiny_bert_dir), structure="dssm", max_seq_length=64).save(str(folder))
    ModelMetadata(structure="dssm").save(folder)
    tm = TextMetric.load(folder)
    assert tm.structure == "dssm"
    documents_before = tm.encode(B)
    assert np.allclose(tm.encode(A, role="query"), tm.encode(A), atol=1e-6)  # same base weights
    with torch.no_grad():
        for param in tm.model[0].sub_modules["query"].parameters():
            param.add_(0.05 * torch.randn_like(param))
    queries = tm.encode(A, role="query")
    assert not np.allclose(queries, tm.encode(A, role="document"), atol=1e-3)
    assert np.allclose(tm.encode(B), documents_before, atol=1e-6)  # document tower untouched
    assert np.allclose(tm.encode_queries(A), queries, atol=1e-6)
    assert np.allclose(tm.similarity(A, B), queries @ documents_before.T, atol=1e-6)
    # search: queries through the query tower, documents through the document tower
    index = tm.index(B, ids=["b0", "b1", "b2", "b3"])
    result = index.search(A[0], k=4)
    expected = queries[0] @ documents_before.T
    assert np.allclose(sorted(result.scores, reverse=True), sorted(expected, reverse=True), atol=1e-5)
    assert result.ids[0] == f"b{int(np.argmax(expected))}"
