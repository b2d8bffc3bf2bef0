"""``textmetric export``: the folder reloads unchanged, carries its card and nothing of training."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer
from typer.testing import CliRunner

from textmetric.cli import app
from textmetric.errors import ConfigError, ModelLoadError, OutputExistsError
from textmetric.hub import ExportError, export_model, read_front_matter, training_only_files
from textmetric.hub.export import compare_embeddings
from textmetric.models.metadata import ModelMetadata, model_fingerprint

TEXTS = [
    "川べりでサーフボードを持った人たちがいます。",
    "二人の男性がジャンボジェット機を見ています。",
    "ＡＢＣ１２３とｶﾀｶﾅが混じった、訓練に無い文字も含む文：鰻丼と麒麟。",
    "短い",
]
EXPECTED_FILES = {
    "1_Pooling/config.json",
    "2_Normalize/config.json",
    "README.md",
    "config.json",
    "config_sentence_transformers.json",
    "model.safetensors",
    "modules.json",
    "sentence_bert_config.json",
    "textmetric.json",
    "tokenizer_config.json",
    "vocab.txt",
}


def files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_export_reloads_with_plain_sentence_transformers_with_identical_embeddings(trained_dir, exported_dir):
    original = SentenceTransformer(str(trained_dir), local_files_only=True)
    exported = SentenceTransformer(str(exported_dir), local_files_only=True)
    a = original.encode(TEXTS, convert_to_numpy=True)
    b = exported.encode(TEXTS, convert_to_numpy=True)
    assert a.shape == b.shape
    np.testing.assert_array_equal(a, b)
    weights = "model.safetensors"
    assert (exported_dir / weights).read_bytes() == (trained_dir / weights).read_bytes()


def test_tokenizer_reloads_as_bert_japanese_with_identical_ids(trained_dir, exported_dir):
    from transformers import AutoTokenizer, BertJapaneseTokenizer

    before = AutoTokenizer.from_pretrained(str(trained_dir))
    after = AutoTokenizer.from_pretrained(str(exported_dir))
    assert isinstance(after, BertJapaneseTokenizer)
    assert after.word_tokenizer_type == "mecab"
    for text in TEXTS:
        assert after(text)["input_ids"] == before(text)["input_ids"]
    config = json.loads((exported_dir / "tokenizer_config.json").read_text("utf-8"))
    assert "local_files_only" not in config and "is_local" not in config
    assert config["mecab_kwargs"] == {"mecab_dic": "unidic_lite"}


def test_only_inference_files_are_exported(trained_dir, exported_dir):
    assert (trained_dir / "checkpoints").is_dir()  # the source really holds training state
    assert training_only_files(trained_dir)
    assert files(exported_dir) == EXPECTED_FILES
    assert training_only_files(exported_dir) == []
    assert not any(p.suffix in {".bin", ".pt", ".pth"} for p in exported_dir.rglob("*"))


def test_textmetric_json_keeps_normalisation_and_records_the_export(trained_dir, exported_dir):
    source = ModelMetadata.load(trained_dir)
    meta = ModelMetadata.load(exported_dir)
    assert meta is not None and source is not None
    assert (meta.nfkc, meta.structure, meta.loss, meta.metrics) == (
        source.nfkc,
        source.structure,
        source.loss,
        source.metrics,
    )
    assert meta.training == source.training
    assert [d["path"] for d in meta.data] == ["jsts_train.jsonl"]  # no local directories
    raw = json.loads((exported_dir / "textmetric.json").read_text("utf-8"))
    assert raw["export"]["repo_id"] == "my-org/jsts-tiny"
    assert raw["export"]["weights_fingerprint"] == model_fingerprint(exported_dir)


def test_textmetric_api_loads_the_export(exported_dir):
    from textmetric.api import TextMetric

    tm = TextMetric.load(exported_dir)
    assert tm.nfkc is True
    assert tm.metadata is not None and tm.metadata.structure == "siamese"
    plain = SentenceTransformer(str(exported_dir), local_files_only=True)
    vec = tm.encode([TEXTS[0]])
    np.testing.assert_allclose(vec[0], plain.encode([TEXTS[0]])[0], atol=1e-5)


def test_card_front_matter_parses_and_holds_the_last_evaluation(trained_dir, exported_dir):
    text = (exported_dir / "README.md").read_text("utf-8")
    meta = read_front_matter(text)
    assert meta["language"] == "ja"
    assert meta["library_name"] == "sentence-transformers"
    assert meta["pipeline_tag"] == "sentence-similarity"
    assert meta["license"] == "apache-2.0"
    assert "base_model" not in meta  # tiny-ja is no Hub model
    assert {"textmetric", "japanese", "siamese", "loss:cosent"} <= set(meta["tags"])
    after = ModelMetadata.load(trained_dir).metrics["after"]
    ((key, value),) = after.items()
    assert key.endswith("_spearman_cosine")
    (model,) = meta["model-index"]
    assert model["name"] == "jsts-tiny"
    (result,) = model["results"]
    assert result["task"]["type"] == "semantic-similarity"
    assert result["dataset"]["name"] == key.removesuffix("_spearman_cosine")
    (metric,) = result["metrics"]
    assert metric["type"] == "spearman_cosine"
    assert metric["value"] == pytest.approx(value, abs=1e-6)
    # the body: usage with both libraries, the training record, the metric before and after
    for expected in (
        'TextMetric.load("my-org/jsts-tiny")',
        'SentenceTransformer("my-org/jsts-tiny")',
        'unicodedata.normalize("NFKC"',
        "pip install sentence-transformers fugashi unidic-lite",
        "`cosent`",
        "`jsts_train.jsonl`",
        "| learning rate |",
        "| precision | fp32 |",
        f"{value:.4f}",
        f"{ModelMetadata.load(trained_dir).metrics['before'][key]:.4f}",
    ):
        assert expected in text, expected


def test_evaluate_report_goes_into_the_card(tmp_path, trained_dir, jsts_files):
    from textmetric.evaluation import evaluate

    _, valid = jsts_files
    report = evaluate(
        str(trained_dir), sts=[str(valid)], baselines="bm25", out=tmp_path / "eval", plots=False
    )
    (dataset,) = report.datasets
    spearman = dataset.systems["model"]["spearman"]
    out = export_model(trained_dir, tmp_path / "export", eval_results=tmp_path / "eval" / "metrics.json")
    assert out.evaluated and "no --repo-id given" in " ".join(out.notes)
    text = (tmp_path / "export" / "README.md").read_text("utf-8")
    meta = read_front_matter(text)
    results = meta["model-index"][0]["results"]
    from_report = [r for r in results if r["dataset"]["name"] == dataset.name]
    assert from_report, results
    values = {m["type"]: m["value"] for r in from_report for m in r["metrics"]}
    assert values["spearman_cosine"] == pytest.approx(spearman, abs=1e-6)
    assert "| BM25 |" in text  # the baselines of the report are in the card's table
    raw = json.loads((tmp_path / "export" / "textmetric.json").read_text("utf-8"))
    assert any(e["source"] == "evaluation" for e in raw["export"]["eval_results"])


def test_report_of_other_weights_is_refused(tmp_path, trained_dir):
    report = {
        "model": "other",
        "model_fingerprint": "0123456789abcdef",
        "settings": {"similarities": ["cosine"]},
        "datasets": [{"name": "jsts-valid", "task": "sts", "results": {"model": {"spearman": 0.9}}}],
    }
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(report), "utf-8")
    with pytest.raises(ConfigError, match="measured on other weights"):
        export_model(trained_dir, tmp_path / "export", eval_results=path)
    assert not (tmp_path / "export").exists()


def test_simple_eval_layout_and_its_errors(tmp_path, trained_dir):
    from textmetric.errors import InputError
    from textmetric.hub import load_eval_results

    simple = tmp_path / "simple.json"
    simple.write_text(
        json.dumps(
            {
                "jsts-valid": {"spearman": 0.81, "pearson": 0.8},
                "jsquad": {"ndcg@10": 0.7, "dataset_id": "shunk031/JGLUE", "split": "validation"},
            }
        ),
        "utf-8",
    )
    results = load_eval_results(simple)
    assert [(e.dataset, e.task) for e in results.entries] == [("jsts-valid", "sts"), ("jsquad", "retrieval")]
    assert results.entries[0].metrics == {"spearman_cosine": 0.81, "pearson_cosine": 0.8}
    export_model(trained_dir, tmp_path / "export", eval_results=simple, datasets=["shunk031/JGLUE"])
    meta = read_front_matter((tmp_path / "export" / "README.md").read_text("utf-8"))
    assert meta["datasets"] == ["shunk031/JGLUE"]
    retrieval = [r for r in meta["model-index"][0]["results"] if r["task"]["type"] == "information-retrieval"]
    assert retrieval[0]["dataset"] == {"name": "jsquad", "type": "shunk031/JGLUE", "split": "validation"}

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"jsts-valid": {"spearman": "high"}}), "utf-8")
    with pytest.raises(InputError, match=r"column 'jsts-valid.spearman': not a number"):
        load_eval_results(bad)


def test_refuses_to_overwrite_and_to_write_into_the_model(tmp_path, trained_dir):
    out = tmp_path / "export"
    out.mkdir()
    (out / "keep.txt").write_text("x", "utf-8")
    with pytest.raises(OutputExistsError):
        export_model(trained_dir, out)
    assert (out / "keep.txt").read_text("utf-8") == "x"
    export_model(trained_dir, out, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "model.safetensors").is_file()
    with pytest.raises(ConfigError, match="outside the model folder"):
        export_model(trained_dir, trained_dir / "export")
    with pytest.raises(ModelLoadError, match="does not exist"):
        export_model(tmp_path / "missing", tmp_path / "x")


def test_plain_dssm_folder_exports_with_both_towers(tmp_path, tiny_bert_dir):
    from textmetric.models import build_dual_encoder

    model = build_dual_encoder(str(tiny_bert_dir), structure="dssm", max_seq_length=32)
    source = tmp_path / "dssm"
    model.save(str(source))
    result = export_model(source, tmp_path / "export", repo_id="my-org/dssm")
    assert any("no textmetric.json" in note for note in result.notes)
    reloaded = SentenceTransformer(str(tmp_path / "export"), local_files_only=True)
    for encode in ("encode_query", "encode_document"):
        np.testing.assert_array_equal(getattr(model, encode)(TEXTS), getattr(reloaded, encode)(TEXTS))
    text = (tmp_path / "export" / "README.md").read_text("utf-8")
    assert "model.encode_query(" in text and "DSSM" in text
    meta = read_front_matter(text)
    assert "model-index" not in meta  # never evaluated
    assert ModelMetadata.load(tmp_path / "export").structure == "dssm"
    with pytest.raises(ExportError, match="siamese"):
        export_model(source, tmp_path / "onnx", onnx=True)
    assert not (tmp_path / "onnx").exists()


def test_onnx_and_quantized_onnx_agree_with_pytorch(tmp_path, trained_dir):
    pytest.importorskip("onnxscript")
    import onnxruntime  # noqa: F401

    from textmetric.hub.export import onnx_sentence_embeddings

    result = export_model(trained_dir, tmp_path / "export", onnx=True, quantize=True)
    assert result.onnx["max_abs_diff"] <= 1e-4
    assert result.onnx["quantized"]["min_cosine"] >= 0.95
    folder = tmp_path / "export"
    assert {"onnx/model.onnx", "onnx/model_qint8.onnx"} <= files(folder)
    model = SentenceTransformer(str(folder), local_files_only=True)  # the PyTorch backend is unaffected
    texts = [*TEXTS, "もう一つ、長さの違う文をバッチに加えて、動的な形状を確かめる。" * 2]
    reference = model.encode(texts, convert_to_numpy=True)
    np.testing.assert_allclose(
        onnx_sentence_embeddings(model, folder / "onnx/model.onnx", texts), reference, atol=1e-4
    )
    text = (folder / "README.md").read_text("utf-8")
    assert 'backend="onnx"' in text and "onnx/model_qint8.onnx" in text


def test_onnx_without_its_packages_fails_clearly_before_writing(tmp_path, trained_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import fails as if not installed
    with pytest.raises(ExportError, match=r"--onnx needs onnxscript .*pip install 'textmetric\[onnx\]'"):
        export_model(trained_dir, tmp_path / "export", onnx=True)
    assert not (tmp_path / "export").exists()
    result = CliRunner().invoke(app, ["export", str(trained_dir), "--out", str(tmp_path / "e"), "--quantize"])
    assert result.exit_code == 2 and "textmetric[onnx]" in result.output
    assert not (tmp_path / "e").exists()


def test_onnx_check_fails_on_mismatch():
    reference = np.eye(3, 4, dtype=np.float32)
    assert compare_embeddings(reference, reference + 5e-5, atol=1e-4, what="x")["max_abs_diff"] <= 1e-4
    with pytest.raises(ExportError, match=r"differ from PyTorch by up to 1.00e-03 \(allowed 1e-04\)"):
        compare_embeddings(reference, reference + 1e-3, atol=1e-4, what="onnx/model.onnx")
    with pytest.raises(ExportError, match="quantisation loses too much"):
        compare_embeddings(reference, np.roll(reference, 1, axis=1), min_cosine=0.95, what="q")


def test_cli_export(tmp_path, trained_dir):
    runner = CliRunner()
    out = tmp_path / "cli"
    args = ["export", str(trained_dir), "--out", str(out), "--repo-id", "org/name", "--license", "mit"]
    result = runner.invoke(app, [*args, "--tag", "faq", "--name", "FAQ 埋め込み"])
    assert result.exit_code == 0, result.output
    assert "README.md" in result.output and "exported to" in result.output
    meta = read_front_matter((out / "README.md").read_text("utf-8"))
    assert meta["license"] == "mit" and "faq" in meta["tags"]
    assert meta["model-index"][0]["name"] == "FAQ 埋め込み"
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    bad = runner.invoke(
        app, ["export", str(trained_dir), "--out", str(tmp_path / "b"), "--repo-id", "no slash"]
    )
    assert bad.exit_code == 2 and "not a valid Hub repository id" in bad.output
