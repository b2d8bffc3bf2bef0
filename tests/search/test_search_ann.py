"""faiss ANN building block: recall against exact search, removal, save / load."""

from __future__ import annotations

import numpy as np
import pytest

from textmetric.search.ann import AnnIndex, default_nlist
from textmetric.search.topk import dense_topk


def clustered(n: int, dim: int = 32, clusters: int = 50, seed: int = 0) -> np.ndarray:
    """Unit vectors around random centres: structure like real embeddings (uniform noise has none)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    x = centres[rng.integers(0, clusters, n)] + 0.4 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    vectors = clustered(4000)
    queries = clustered(50, seed=1)
    keys = np.arange(4000, dtype=np.int64) * 3 + 7  # keys need not be positions
    return vectors, queries, keys


@pytest.mark.parametrize(("kind", "min_recall"), [("flat", 1.0), ("ivf", 0.9), ("hnsw", 0.9)])
def test_recall_against_exact(data, kind, min_recall):
    vectors, queries, keys = data
    exact = dense_topk(queries, vectors, 10, similarity="dot")
    ann = AnnIndex(32, kind, nprobe=8, ef_construction=64).build(vectors, keys)
    scores, found = ann.search(queries, 10)
    truth = keys[exact.indices]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
    assert recall >= min_recall
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    if kind == "flat":
        assert np.allclose(scores, exact.scores, atol=1e-5)


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_remove_and_reload(data, kind, tmp_path):
    vectors, queries, keys = data
    ann = AnnIndex(32, kind, ef_construction=64).build(vectors[:1000], keys[:1000])
    _, before = ann.search(vectors[:5], 3)
    assert before[:, 0].tolist() == keys[:5].tolist()  # each vector finds itself
    ann.remove(keys[:2])
    assert ann.ntotal == 998
    _, after = ann.search(vectors[:5], 3)
    assert not set(keys[:2].tolist()) & set(after.ravel().tolist())
    ann.add(vectors[1000:1010], keys[1000:1010])
    ann.save(tmp_path)
    loaded = AnnIndex.load(tmp_path)
    assert loaded.ntotal == ann.ntotal == 1008 and loaded.settings() == ann.settings()
    s1, k1 = ann.search(queries, 10)
    s2, k2 = loaded.search(queries, 10)
    assert np.array_equal(k1, k2) and np.allclose(s1, s2)


def test_default_nlist_and_small_inputs():
    assert default_nlist(1_000_000) == 1000
    assert default_nlist(100) == 2 and default_nlist(10) == 1
    ann = AnnIndex(4, "ivf").build(np.eye(4, dtype=np.float32), np.arange(4))
    _, keys = ann.search(np.eye(4, dtype=np.float32), 10)  # k capped at the size
    assert keys.shape == (4, 4) and keys[:, 0].tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        AnnIndex(4, "lsh")  # type: ignore[arg-type]
