"""evaluate(): model and baselines in one run, metrics.json / report.md / plots, CLI behaviour."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from textmetric.cli import app
from textmetric.errors import ConfigError, OutputExistsError
from textmetric.evaluation import DEFAULT_RETRIEVAL_METRICS, evaluate


@pytest.fixture(scope="module")
def small_sets(tmp_path_factory, shared_data):
    folder = tmp_path_factory.mktemp("sets")
    lines = (shared_data / "jsts" / "valid.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    sts = folder / "jsts_small.jsonl"
    sts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    squad = json.loads((shared_data / "jsquad" / "valid.json").read_text(encoding="utf-8"))
    article = squad["data"][0]
    article["paragraphs"] = article["paragraphs"][:8]
    jsquad = folder / "jsquad_small.json"
    jsquad.write_text(json.dumps({"data": [article]}, ensure_ascii=False), encoding="utf-8")
    return sts, jsquad


@pytest.fixture(scope="module")
def model_dir(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny"
    tiny_model.save(str(path))
    return path


def test_evaluate_all_systems_and_write_the_report(tiny_model, small_sets, tmp_path):
    sts, jsquad = small_sets
    out = tmp_path / "eval"
    report = evaluate(
        tiny_model,
        sts=[sts],
        retrieval=[jsquad],
        baselines="all",
        base_model=tiny_model,
        similarities=["cosine", "dot"],
        out=out,
    )
    sts_result, retrieval_result = report.datasets
    assert list(sts_result.systems) == ["model", "base", "bm25", "tfidf"]
    assert set(sts_result.systems["model"]) == {"spearman", "pearson", "spearman_dot", "pearson_dot"}
    assert sts_result.systems["model"] == sts_result.systems["base"]  # same network
    assert set(retrieval_result.systems) == {"model", "base", "bm25", "tfidf", "hybrid"}
    assert set(retrieval_result.systems["bm25"]) == set(DEFAULT_RETRIEVAL_METRICS)
    assert report.metric("jsquad_small", "bm25", "recall@100") == 1.0  # 8 paragraphs: all retrieved
    assert report.metric("jsquad_small", "bm25", "ndcg@10") > report.metric(
        "jsquad_small", "model", "ndcg@10"
    )

    saved = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert {"model", "timestamp", "versions", "datasets"} <= set(saved)
    assert saved["versions"]["sentence-transformers"]
    digest = hashlib.sha256(sts.read_bytes()).hexdigest()
    assert saved["datasets"][0]["files"] == {str(sts): digest}
    assert saved["datasets"][1]["results"]["bm25"]["ndcg@10"] == pytest.approx(
        report.metric("jsquad_small", "bm25", "ndcg@10")
    )
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "| BM25 |" in markdown and "plots/jsquad_small_recall_at_k.png" in markdown
    assert sorted(p.name for p in (out / "plots").iterdir()) == [
        "jsquad_small_recall_at_k.png",
        "jsquad_small_similarity_hist.png",
        "jsts_small_sts_scatter.png",
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left

    with pytest.raises(OutputExistsError):
        evaluate(None, sts=[sts], baselines="tfidf", out=out)
    again = evaluate(None, sts=[sts], baselines="tfidf", out=out, overwrite=True, plots=False)
    assert list(again.datasets[0].systems) == ["tfidf"]
    assert not (out / "plots").exists()


def test_configuration_errors(small_sets):
    sts, _ = small_sets
    with pytest.raises(ConfigError, match="nothing to evaluate"):
        evaluate(None)
    with pytest.raises(ConfigError, match="unknown baseline 'bm26'"):
        evaluate(None, sts=[sts], baselines="bm26")
    with pytest.raises(ConfigError, match="needs the untrained base model"):
        evaluate(None, sts=[sts], baselines="base")


def test_cli_evaluate(model_dir, small_sets, tmp_path):
    sts, jsquad = small_sets
    runner = CliRunner()
    out = tmp_path / "cli-eval"
    args = [
        "evaluate",
        str(model_dir),
        "--sts",
        str(sts),
        "--retrieval",
        str(jsquad),
        "--baselines",
        "bm25,hybrid",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "nDCG@10" in result.output and "hybrid" in result.output and "Spearman" in result.output
    assert (out / "metrics.json").is_file()

    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    missing = runner.invoke(app, ["evaluate", "none", "--retrieval", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "retrieval set not found" in missing.output
    assert "Traceback" not in missing.output
    bad_model = runner.invoke(app, ["evaluate", str(tmp_path / "no-model"), "--sts", str(sts)])
    assert bad_model.exit_code == 2 and "cannot load the model" in bad_model.output


def test_cli_evaluate_convex_hybrid_records_its_weights(model_dir, small_sets, tmp_path):
    _, jsquad = small_sets
    runner = CliRunner()
    out = tmp_path / "convex"
    args = ["evaluate", str(model_dir), "--retrieval", str(jsquad), "--baselines", "hybrid"]
    result = runner.invoke(app, [*args, "--fusion", "convex", "--max-seq-length", "48", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "metrics.json").read_text("utf-8"))["settings"]["max_seq_length"] == 48
    assert "each half of the queries ranked with the weight best on the other half" in " ".join(
        result.output.split()
    )
    assert "Hybrid: convex fusion" in (out / "report.md").read_text("utf-8")
    hybrid = json.loads((out / "metrics.json").read_text("utf-8"))["datasets"][0]["summary"]["hybrid"]
    assert hybrid["fusion"] == "convex" and len(hybrid["fold_weights"]) == 2
    assert all(0 < w < 1 for w in [*hybrid["fold_weights"], hybrid["best_weight_all_queries"]])
    bad = runner.invoke(app, [*args, "--fusion", "convex", "--dense-weight", "1.5"])
    assert bad.exit_code == 2 and "between 0 and 1" in bad.output
    bad = runner.invoke(app, [*args, "--fusion", "max"])
    assert bad.exit_code == 2 and "unknown fusion" in bad.output
    bad = runner.invoke(app, [*args, "--max-seq-length", "0"])
    assert bad.exit_code == 2 and "max_seq_length must be >= 1" in bad.output


def test_base_model_named_by_the_model_metadata(model_dir, small_sets, tmp_path):
    import shutil

    from textmetric.models.metadata import ModelMetadata

    sts, _ = small_sets
    trained = tmp_path / "trained"
    shutil.copytree(model_dir, trained)
    ModelMetadata(base_model=str(model_dir)).save(trained)
    report = evaluate(str(trained), sts=[sts], baselines="base")
    assert report.base_model == str(model_dir)
    assert report.model_fingerprint
    systems = report.datasets[0].systems
    assert systems["base"] == pytest.approx(systems["model"])  # same weights


@pytest.mark.parametrize("word_init", ["random", "ppmi"])
def test_base_of_a_tiny_ja_model_is_rebuilt_untrained(small_sets, tmp_path, jsts_rows, word_init):
    """`base` for a model trained from tiny-ja is the untrained network: training's "before".

    With PPMI word vectors the base also depends on the training texts: they are read again from
    the files train_config.json names, and a clear error says so when they are gone.
    """
    from textmetric.errors import ModelLoadError
    from textmetric.models.metadata import ModelMetadata
    from textmetric.training import TrainConfig, train

    sts, _ = small_sets
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "\n".join(
            json.dumps({"anchor": r["sentence1"], "positive": r["sentence2"]}, ensure_ascii=False)
            for r in jsts_rows[:256]
        ),
        encoding="utf-8",
    )
    config = TrainConfig(
        data=[str(pairs)],
        output=str(tmp_path / "m"),
        model="tiny-ja",
        loss="mnrl",
        max_steps=8,
        batch_size=16,
        max_seq_length=32,
        eval_sts=[str(sts)],
        tiny_vocab_size=2000,
        tiny_hidden_size=64,
        tiny_layers=1,
        tiny_heads=2,
        tiny_word_init=word_init,
        tiny_dropout=0.25,
        save_steps=1000,
    )
    result = train(config)
    report = evaluate(str(result.output), sts=[sts], baselines="base")
    systems = report.datasets[0].systems
    before = next(iter(result.metrics_before.values()))
    after = next(iter(result.metrics_after.values()))
    assert systems["base"]["spearman"] == pytest.approx(before, abs=1e-6)
    assert systems["model"]["spearman"] == pytest.approx(after, abs=1e-6)
    assert systems["base"]["spearman"] != pytest.approx(systems["model"]["spearman"], abs=1e-4)
    assert ModelMetadata.load(result.output).training["tiny_ja"]["dropout"] == 0.25  # rebuilt with it
    if word_init == "ppmi":  # its base also took the training pairs as contexts (the default weight)
        recorded = ModelMetadata.load(result.output).training["tiny_ja"]
        assert recorded["ppmi_pair_weight"] == TrainConfig.tiny_ppmi_pair_weight > 0
        pairs.unlink()
        with pytest.raises(ModelLoadError, match=r"pairs\.jsonl.*--base-model"):
            evaluate(str(result.output), sts=[sts], baselines="base")


def test_max_seq_length_applies_for_the_run_only(model_dir, small_sets):
    from sentence_transformers import SentenceTransformer

    _, jsquad = small_sets
    model = SentenceTransformer(str(model_dir))
    saved = model.max_seq_length

    def ndcg(**options) -> float:
        report = evaluate(model, retrieval=[jsquad], plots=False, **options)
        return report.datasets[0].systems["model"]["ndcg@10"]

    full = ndcg()
    short = ndcg(max_seq_length=8)  # paragraphs cut to 6 tokens rank differently
    assert short != pytest.approx(full)
    assert model.max_seq_length == saved  # the caller's model is left as it was given
    assert ndcg(max_seq_length=saved) == pytest.approx(full)
