"""Every command that reads rows: bad input is exit 2 with a located message and no output;
``--on-bad-row skip`` succeeds and reports what it dropped."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from textmetric.cli import app
from textmetric.models import ModelMetadata

runner = CliRunner()
GOOD = [
    "猫が窓辺で寝ている。",
    "東京は雨が降っている。",
    "新しい店が駅前に開いた。",
    "明日は晴れるでしょう。",
]


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def write_lines(path, lines, encoding="utf-8"):
    path.write_bytes(("\r\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.fixture(scope="module")
def model_dir(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("robust") / "model"
    tiny_model.save(str(folder))
    ModelMetadata(nfkc=True).save(folder)
    return folder


def broken_pairs(path):
    rows = [
        json.dumps({"anchor": a, "positive": b}, ensure_ascii=False)
        for a, b in zip(GOOD, GOOD[1:] + GOOD[:1], strict=False)
    ]
    rows.insert(2, '{"anchor": "壊れ')
    rows.append(json.dumps({"anchor": "空", "positive": None}))
    return write_lines(path, rows)


def test_train_broken_line_is_exit_2_and_skip_trains(tmp_path):
    data = broken_pairs(tmp_path / "pairs.jsonl")
    out = tmp_path / "model"
    bad = run("train", data, "--model", "tiny-ja", "--output", out, "--max-steps", "1")
    assert bad.exit_code == 2 and "line 3" in bad.output and "not valid JSON" in bad.output
    assert not out.exists()
    small = tmp_path / "small.json"  # a very small tiny-ja keeps the run to a few seconds
    small.write_text(
        json.dumps(
            {
                "tiny_vocab_size": 500,
                "tiny_hidden_size": 32,
                "tiny_layers": 1,
                "tiny_heads": 2,
                "max_seq_length": 16,
            }
        )
    )
    ok = run(
        "train",
        data,
        "--model",
        "tiny-ja",
        "--output",
        out,
        "--max-steps",
        "1",
        "--batch-size",
        "2",
        "--on-bad-row",
        "skip",
        "--save-steps",
        "100",
        "--config",
        small,
    )
    assert ok.exit_code == 0, ok.output
    meta = json.loads((out / "textmetric.json").read_text(encoding="utf-8"))
    (summary,) = meta["data"]
    assert summary["rows_read"] == 6 and summary["rows_used"] == 4
    assert summary["skipped"] == {"json": 1, "empty text": 1}


def test_evaluate_bad_scores_exit_2_and_skip_reports(model_dir, tmp_path):
    sts = write_lines(
        tmp_path / "sts.csv",
        [
            "sentence1,sentence2,score",
            *(f"{a},{b},{s}" for a, b, s in zip(GOOD, GOOD[::-1], ["４．５", "1", "3", "2"], strict=False)),
            "犬,猫,たくさん",
        ],
        encoding="cp932",
    )
    out = tmp_path / "report"
    bad = run("evaluate", model_dir, "--sts", sts, "--out", out, "--no-plots")
    assert (
        bad.exit_code == 2
        and "line 6" in bad.output
        and "score" in bad.output
        and "not a number" in bad.output
    )
    assert not out.exists()
    ok = run("evaluate", model_dir, "--sts", sts, "--out", out, "--no-plots", "--on-bad-row", "skip")
    assert ok.exit_code == 0, ok.output
    assert "skipped 1 of 5 rows" in ok.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert "4" in json.dumps(metrics)  # four pairs measured


def test_mine_skip_counts_unreadable_rows(tmp_path):
    docs = write_lines(
        tmp_path / "docs.csv",
        ["id,title,text", *(f"d{i},題{i},{t}" for i, t in enumerate(GOOD)), "d9,x,y,z", "d10,題,"],
    )
    out = tmp_path / "pairs.jsonl"
    bad = run("mine", docs, "--out", out, "-n", "random", "--no-plot")
    assert bad.exit_code == 2 and "line 6" in bad.output and not out.exists()
    ok = run("mine", docs, "--out", out, "-n", "random", "--no-plot", "--on-bad-row", "skip")
    assert ok.exit_code == 0, ok.output
    summary = json.loads((tmp_path / "pairs.summary.json").read_text(encoding="utf-8"))
    assert summary["documents"]["documents"] == 4
    assert summary["documents"]["skipped"] == {"field-count": 1, "empty text": 1}


CELLS = st.one_of(
    st.sampled_from(GOOD), st.sampled_from(["", "  ", "\u3000", None, 5, "NaN"]), st.just("{broken")
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(CELLS, min_size=1, max_size=6), skip=st.booleans())
def test_embed_and_index_on_random_rows(model_dir, tmp_path_factory, cells, skip):
    folder = tmp_path_factory.mktemp("embed")
    lines = [c[1:] if c == "{broken" else json.dumps({"text": c}, ensure_ascii=False) for c in cells]
    lines = ["{broken" if c == "{broken" else line for c, line in zip(cells, lines, strict=True)]
    data = write_lines(folder / "docs.jsonl", lines)
    # "NaN" is a JSON string, so real text; blank strings, null, numbers and broken lines are not.
    good = sum(1 for c in cells if isinstance(c, str) and c.strip() and c != "{broken")
    options = ["--on-bad-row", "skip"] if skip else []
    out = folder / "vectors.parquet"
    result = run("embed", model_dir, data, "--out", out, *options)
    index = folder / "index"
    built = run("index", model_dir, data, "--out", index, *options)
    if good == len(cells) or (skip and good):
        assert result.exit_code == 0, result.output
        assert f"{good} embeddings" in result.output
        if good < len(cells):
            assert f"skipped {len(cells) - good} bad rows" in result.output.replace("\n", " ")
        assert built.exit_code == 0, built.output
        assert f"{good} documents" in built.output
    else:
        for res, path in ((result, out), (built, index)):
            assert res.exit_code == 2, res.output
            assert "docs.jsonl" in res.output
            assert not path.exists()
        assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary left
