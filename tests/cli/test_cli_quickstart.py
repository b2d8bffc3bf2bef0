"""``textmetric quickstart``: the offline demo trains, prints a before / after table, saves a model."""

from __future__ import annotations

import json

from sentence_transformers import SentenceTransformer
from typer.testing import CliRunner

from textmetric.cli import app
from textmetric.cli.quickstart import _label

runner = CliRunner()


def test_labels_are_readable():
    assert _label("sts_test_spearman_cosine") == "sts_test Spearman"
    assert _label("faq_test_cosine_recall@1") == "faq_test Recall@1"
    assert _label("jobs_test_dot_ndcg@10") == "jobs_test nDCG@10"


def test_short_quickstart_trains_and_gains(tmp_path):
    out = tmp_path / "qs"
    result = runner.invoke(app, ["quickstart", "--output", str(out), "--epochs", "2"])
    assert result.exit_code == 0, result.output
    for row in ("sts_test Spearman", "faq_test Recall@1", "jobs_test nDCG@10"):
        assert row in result.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    before, after = metrics["before"], metrics["after"]
    assert set(before) == set(after) and len(after) == 5
    # Two epochs already move the FAQ retrieval, the sample's hardest task.
    assert after["faq_test_cosine_recall@1"] > before["faq_test_cosine_recall@1"] + 0.05
    model = SentenceTransformer(str(out), device="cpu")
    assert model.encode(["返品はできますか"]).shape == (1, model.get_embedding_dimension())
