"""Siamese and DSSM dual encoders load back with plain sentence-transformers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from textmetric.errors import ConfigError, ModelLoadError
from textmetric.models import build_dual_encoder, model_structure

TEXTS = ["猫がソファの上で寝ています。", "男性が自転車に乗っています。"]


@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
def test_siamese_pooling_and_normalisation(tiny_bert_dir, pooling):
    model = build_dual_encoder(str(tiny_bert_dir), pooling=pooling, max_seq_length=32)
    emb = model.encode(TEXTS)
    assert emb.shape == (2, 64)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert model_structure(model) == "siamese"
    raw = build_dual_encoder(str(tiny_bert_dir), pooling=pooling, normalize=False).encode(TEXTS)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)


def test_dssm_has_two_towers_that_save_and_reload(tiny_bert_dir, tmp_path):
    model = build_dual_encoder(str(tiny_bert_dir), structure="dssm", max_seq_length=32)
    assert model_structure(model) == "dssm"
    query, doc = model.encode_query(TEXTS), model.encode_document(TEXTS)
    assert np.allclose(query, doc, atol=1e-6)  # both towers start from the same base
    # The towers have separate weights: changing the query tower changes only queries.
    router = model[0]
    with torch.no_grad():
        for param in router.sub_modules["query"].parameters():
            param.add_(0.05 * torch.randn_like(param))
    assert not np.allclose(model.encode_query(TEXTS), query, atol=1e-4)
    assert np.allclose(model.encode_document(TEXTS), doc, atol=1e-6)
    model.save(str(tmp_path / "dssm"))
    loaded = SentenceTransformer(str(tmp_path / "dssm"))
    assert np.allclose(loaded.encode_query(TEXTS), model.encode_query(TEXTS), atol=1e-6)
    assert np.allclose(loaded.encode_document(TEXTS), doc, atol=1e-6)


def test_bad_options_and_missing_model(tiny_bert_dir, tmp_path):
    with pytest.raises(ConfigError, match="structure"):
        build_dual_encoder(str(tiny_bert_dir), structure="triple")
    with pytest.raises(ConfigError, match="pooling"):
        build_dual_encoder(str(tiny_bert_dir), pooling="median")
    with pytest.raises(ModelLoadError, match="local"):
        build_dual_encoder(str(tmp_path / "no-such-model"))
