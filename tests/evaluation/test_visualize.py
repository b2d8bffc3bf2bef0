"""``textmetric visualize``: a 2-D map of labelled texts, label ids in the legend when no font fits."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest
from typer.testing import CliRunner

from textmetric.cli import app
from textmetric.errors import InputError, OutputExistsError
from textmetric.evaluation import visualize as viz


@pytest.fixture(scope="module")
def questions_file(tmp_path_factory, shared_data):
    """JSQuAD questions labelled by article title: 8 articles, 6 to 12 questions each."""
    raw = json.loads((shared_data / "jsquad" / "valid.json").read_text("utf-8"))
    by_title: dict[str, list[str]] = defaultdict(list)
    for article in raw["data"]:
        for paragraph in article["paragraphs"]:
            by_title[article["title"]] += [qa["question"] for qa in paragraph["qas"]]
    titles = sorted(by_title, key=lambda t: -len(by_title[t]))[:8]
    rows = [{"text": q, "label": t} for i, t in enumerate(titles) for q in by_title[t][: 12 - i % 7]]
    path = tmp_path_factory.mktemp("viz") / "questions.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path, rows


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("viz-model") / "model"
    tiny_model.save(str(folder))
    return folder


def test_top_labels_and_id_legend_without_a_japanese_font(tmp_path, questions_file, tiny_model, monkeypatch):
    monkeypatch.setattr(viz, "font_for", lambda texts: None)  # as on a machine without Japanese fonts
    path, rows = questions_file
    out = tmp_path / "plot.png"
    result = viz.visualize(tiny_model, path, out, method="pca", top=5, max_per_label=10)
    counts = {t: sum(r["label"] == t for r in rows) for t in {r["label"] for r in rows}}
    top5 = sorted(counts, key=lambda t: (-counts[t], t))[:5]
    assert result.shown_labels == top5
    assert len(result.points) == sum(min(10, counts[t]) for t in top5) and result.points.shape[1] == 2
    assert result.labels_left_out == 3
    image = __import__("matplotlib.image", fromlist=["imread"]).imread(out)
    assert image.ndim == 3 and image.shape[0] > 100
    mapping = json.loads(viz.mapping_path_for(out).read_text("utf-8"))["labels"]
    ids = {name: str(i) for i, name in enumerate(sorted(counts))}  # the file's labels, sorted
    assert mapping == {ids[t]: t for t in top5}
    assert not list(tmp_path.glob(".*tmp"))  # written atomically, nothing left behind


@pytest.mark.filterwarnings("ignore:Glyph")  # the stand-in font has no kana: irrelevant here
def test_names_in_the_legend_when_a_font_covers_them(tmp_path, questions_file, tiny_model, monkeypatch):
    monkeypatch.setattr(viz, "font_for", lambda texts: None)
    assert viz.font_for(["abc"]) is None
    monkeypatch.undo()
    assert viz.font_for(["Label A"]) is not None  # matplotlib's own DejaVu covers Latin
    path, _ = questions_file
    monkeypatch.setattr(viz, "font_for", lambda texts: viz._font_charmaps()[0][1])
    out = tmp_path / "named.png"
    result = viz.visualize(tiny_model, path, out, method="pca", top=3)
    assert result.mapping == {} and result.mapping_path is None and out.is_file()
    assert not viz.mapping_path_for(out).exists()


def test_cli_tsne_then_refuses_to_overwrite(tmp_path, questions_file, model_dir):
    path, rows = questions_file
    out = tmp_path / "cli.png"
    args = ["visualize", str(model_dir), str(path), "--out", str(out), "--method", "tsne", "--top", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.is_file() and out.stat().st_size > 1000
    shown = viz.select_labels([r["text"] for r in rows], [r["label"] for r in rows], top=4)[2]
    assert viz.mapping_path_for(out).is_file() == (viz.font_for(shown) is None)
    if viz.font_for(shown) is None:
        assert shown[0] in result.output  # the id -> name table is printed
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_bad_inputs_are_clear_errors(tmp_path, questions_file, tiny_model):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"anchor": "質問", "positive": "回答"}\n', encoding="utf-8")
    with pytest.raises(InputError):
        viz.visualize(tiny_model, pairs, tmp_path / "p.png", method="pca")
    path, _ = questions_file
    existing = tmp_path / "exists.png"
    existing.write_bytes(b"x")
    with pytest.raises(OutputExistsError):
        viz.visualize(tiny_model, path, existing, method="pca")
    with pytest.raises(Exception, match="unknown projection"):
        viz.visualize(tiny_model, path, tmp_path / "m.png", method="mds")


def test_select_labels_is_deterministic_and_capped():
    texts = [f"t{i}" for i in range(30)]
    labels = ["a"] * 15 + ["b"] * 10 + ["c"] * 5
    first = viz.select_labels(texts, labels, top=2, max_per_label=4, seed=1)
    assert first == viz.select_labels(texts, labels, top=2, max_per_label=4, seed=1)
    chosen, chosen_labels, shown, counts = first
    assert shown == ["a", "b"] and counts["c"] == 5
    assert sorted(chosen_labels) == ["a"] * 4 + ["b"] * 4 and len(set(chosen)) == 8
    assert np.all([t in texts for t in chosen])
