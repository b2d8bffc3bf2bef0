"""The CLI's error boundary: bad input is exit code 2 and one clear message, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from textmetric.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def write(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([{"question": "a", "answer": "b"}], "cannot recognise the data format"),
        ([{"anchor": "a", "positive": ""}], "line 1, column 'positive': empty text"),
        ([{"sentence1": "a", "sentence2": "b", "score": "NaN"}], "column 'score': score is not finite"),
        ([{"sentence1": "a", "sentence2": "b", "label": "たぶん"}], "column 'label': not a number"),
    ],
)
def test_bad_training_data_exits_2_and_writes_nothing(tmp_path, rows, expected):
    data = write(tmp_path / "bad.jsonl", rows)
    out = tmp_path / "out"
    result = run("train", str(data), "--model", "tiny-ja", "--output", str(out))
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_undecodable_and_empty_files(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"anchor,positive\n\xff\xfe\xfa\xfb\xfc,x\n")
    result = run("train", str(bad), "--model", "tiny-ja", "--output", str(tmp_path / "o"))
    assert result.exit_code == 2 and "neither UTF-8 nor CP932" in result.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    result = run("train", str(empty), "--model", "tiny-ja", "--output", str(tmp_path / "o"))
    assert result.exit_code == 2 and "empty" in result.output


def test_loss_that_does_not_fit_the_data(tmp_path):
    data = write(
        tmp_path / "pairs.jsonl", [{"anchor": "a", "positive": "b"}, {"anchor": "c", "positive": "d"}]
    )
    result = run(
        "train", str(data), "--model", "tiny-ja", "--output", str(tmp_path / "o"), "--loss", "cosent"
    )
    assert result.exit_code == 2
    assert "'cosent' loss needs scored data" in result.output and "mnrl" in result.output


def test_unknown_word_init_is_refused_before_anything_is_written(tmp_path):
    data = write(
        tmp_path / "pairs.jsonl", [{"anchor": "a", "positive": "b"}, {"anchor": "c", "positive": "d"}]
    )
    out = tmp_path / "out"
    result = run("train", str(data), "--model", "tiny-ja", "--output", str(out), "--word-init", "glove")
    assert result.exit_code == 2
    assert "tiny_word_init must be one of random, ppmi, not 'glove'" in result.output
    assert not out.exists()
    config = tmp_path / "bad.yaml"
    config.write_text(f"data: [{data}]\noutput: {out}\nmodel: tiny-ja\ntiny_ppmi_pair_weight: -0.5\n")
    result = run("train", "--config", str(config))
    assert result.exit_code == 2
    assert "tiny_ppmi_pair_weight must be >= 0, not -0.5" in result.output
    assert not out.exists()
    config.write_text(f"data: [{data}]\noutput: {out}\nmodel: tiny-ja\ntiny_dropout: 1.0\n")
    result = run("train", "--config", str(config))
    assert result.exit_code == 2
    assert "tiny_dropout must be in [0, 1), not 1.0" in result.output
    assert not out.exists()


def test_existing_output_is_not_overwritten(tmp_path):
    data = write(
        tmp_path / "pairs.jsonl", [{"anchor": "a", "positive": "b"}, {"anchor": "c", "positive": "d"}]
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run("train", str(data), "--model", "tiny-ja", "--output", str(out))
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (out / "keep.txt").read_text() == "mine"


def test_python_m_textmetric_runs_the_same_cli():
    proc = subprocess.run(
        [sys.executable, "-m", "textmetric", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert "train" in proc.stdout


def test_weight_average_options_reach_the_training_config(tmp_path, monkeypatch):
    import textmetric.training

    data = write(
        tmp_path / "pairs.jsonl", [{"anchor": "a", "positive": "b"}, {"anchor": "c", "positive": "d"}]
    )
    out = tmp_path / "out"
    bad = run("train", str(data), "--model", "tiny-ja", "--output", str(out), "--ema-decay", "1.5")
    assert bad.exit_code == 2 and "ema_decay must be in [0, 1)" in bad.output
    assert not out.exists()

    seen = []

    def fake_train(config, **kwargs):
        seen.append(config)
        raise SystemExit(0)

    monkeypatch.setattr(textmetric.training, "train", fake_train)
    args = ("train", str(data), "--model", "tiny-ja", "--output", str(out))
    run(*args, "--ema-decay", "0.999", "--ema-start", "0.25")
    assert (seen[0].ema_decay, seen[0].ema_start) == (0.999, 0.25)
    run(*args)
    assert (seen[1].ema_decay, seen[1].ema_start) == (0.0, 0.5)  # off unless asked
