"""``textmetric mine``: a thin command over :func:`textmetric.mining.mine`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from textmetric.cli import app

runner = CliRunner()


def write_docs(path):
    rows = [
        {"id": "q1", "title": "送料はいくらですか", "text": "送料は全国一律500円です。", "label": "配送"},
        {"id": "q2", "title": "届くまで何日", "text": "ご注文から3日以内にお届けします。", "label": "配送"},
        {
            "id": "q3",
            "title": "返品したい",
            "text": "到着後8日以内なら返品できます。送料はお客様負担です。",
            "label": "返品",
        },
        {"id": "q4", "title": "交換できますか", "text": "初期不良の場合は交換いたします。", "label": "返品"},
        {"id": "q5", "title": "支払い方法", "text": "カードとコンビニ払いが使えます。", "label": "支払い"},
        {"id": "q6", "title": "領収書", "text": "領収書はマイページから発行できます。", "label": "支払い"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_mine_writes_rows_and_summary_and_refuses_to_overwrite(tmp_path):
    docs = write_docs(tmp_path / "faq.jsonl")
    out = tmp_path / "pairs.csv"
    args = ["mine", str(docs), "--out", str(out), "-p", "title-body,same-label", "-n", "random", "-k", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.is_file() and (tmp_path / "pairs.summary.json").is_file()
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == "anchor,positive,negative_1,negative_2"
    summary = json.loads((tmp_path / "pairs.summary.json").read_text(encoding="utf-8"))
    assert summary["positives"]["per_strategy"] == {"title-body": 6, "same-label": 3}  # (a, b) = (b, a)

    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert "exists; pass --overwrite" in again.output
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0


def test_bad_input_is_exit_2_with_the_location(tmp_path):
    docs = tmp_path / "docs.csv"
    docs.write_text("id,text\n1,本文\n1,別の本文\n", encoding="utf-8")
    result = runner.invoke(app, ["mine", str(docs), "--out", str(tmp_path / "o.jsonl"), "-p", "adjacent"])
    assert result.exit_code == 2
    assert "line 3" in result.output and "duplicate id" in result.output
    assert not (tmp_path / "o.jsonl").exists()


def test_unknown_strategy_is_exit_2(tmp_path):
    docs = write_docs(tmp_path / "faq.jsonl")
    result = runner.invoke(app, ["mine", str(docs), "--out", str(tmp_path / "o.jsonl"), "-p", "titles"])
    assert result.exit_code == 2
    assert "unknown positive strategy" in result.output
