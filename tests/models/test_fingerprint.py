"""A model's fingerprint covers its weights and its module configuration, and survives a re-save."""

from __future__ import annotations

import json

import pytest

from textmetric.models import build_dual_encoder, model_fingerprint


@pytest.fixture(scope="module")
def saved(tiny_bert_dir, tmp_path_factory):
    """The same tiny BERT saved as three models: mean pooling, CLS pooling, and a DSSM."""
    root = tmp_path_factory.mktemp("fingerprint")
    folders = {}
    for name, options in {"mean": {}, "cls": {"pooling": "cls"}, "dssm": {"structure": "dssm"}}.items():
        folders[name] = root / name
        build_dual_encoder(str(tiny_bert_dir), max_seq_length=32, **options).save(str(folders[name]))
    return folders


def test_same_weights_other_pooling_is_another_fingerprint(saved):
    assert model_fingerprint(saved["mean"]) != model_fingerprint(saved["cls"])


def test_a_resave_or_files_beside_the_modules_keep_the_fingerprint(saved, tmp_path):
    from sentence_transformers import SentenceTransformer

    again = tmp_path / "again"
    SentenceTransformer(str(saved["mean"]), device="cpu").save(str(again))
    assert model_fingerprint(again) == model_fingerprint(saved["mean"])
    # Model card, textmetric.json, tokenizer files and library versions are not the model's maths.
    (again / "README.md").write_text("# another card\n", "utf-8")
    (again / "textmetric.json").write_text(json.dumps({"metrics": {"after": {"x": 1}}}), "utf-8")
    tokenizer_config = json.loads((again / "tokenizer_config.json").read_text("utf-8"))
    (again / "tokenizer_config.json").write_text(json.dumps({**tokenizer_config, "is_local": False}), "utf-8")
    config = json.loads((again / "config.json").read_text("utf-8"))
    (again / "config.json").write_text(json.dumps({**config, "transformers_version": "9.9.9"}, indent=4))
    assert model_fingerprint(again) == model_fingerprint(saved["mean"])


def test_module_configuration_changes_the_fingerprint(saved, tmp_path):
    import shutil

    before = model_fingerprint(saved["mean"])
    edited = shutil.copytree(saved["mean"], tmp_path / "edited")
    config = json.loads((edited / "config.json").read_text("utf-8"))
    (edited / "config.json").write_text(json.dumps({**config, "hidden_act": "relu"}), "utf-8")
    assert model_fingerprint(edited) != before
    no_normalize = shutil.copytree(saved["mean"], tmp_path / "no-normalize")
    modules = json.loads((no_normalize / "modules.json").read_text("utf-8"))
    (no_normalize / "modules.json").write_text(json.dumps(modules[:2]), "utf-8")
    assert model_fingerprint(no_normalize) != before


def test_dssm_tower_configuration_is_covered(saved, tmp_path):
    import shutil

    dssm = shutil.copytree(saved["dssm"], tmp_path / "dssm")
    before = model_fingerprint(dssm)
    pooling = dssm / "query_1_Pooling" / "config.json"
    pooling.write_text(json.dumps({**json.loads(pooling.read_text("utf-8")), "pooling_mode": "cls"}), "utf-8")
    assert model_fingerprint(dssm) != before


def test_max_seq_length_changes_the_fingerprint(saved, tmp_path):
    """Same weights, longer window: other truncation and chunking, so another identity."""
    from sentence_transformers import SentenceTransformer

    longer = SentenceTransformer(str(saved["mean"]), device="cpu")
    longer.max_seq_length = 64
    longer.save(str(tmp_path / "longer"))
    assert model_fingerprint(tmp_path / "longer") != model_fingerprint(saved["mean"])
