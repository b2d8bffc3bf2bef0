"""A tiny model really trained (a few JSTS rows, ``--eval-sts`` so metrics exist), and its export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TINY = {"tiny_vocab_size": 1500, "tiny_hidden_size": 32, "tiny_layers": 1, "tiny_heads": 2}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def jsts_files(tmp_path_factory, jsts_rows) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("hub-data")
    return (
        write_jsonl(folder / "jsts_train.jsonl", jsts_rows[:64]),
        write_jsonl(folder / "jsts_valid.jsonl", jsts_rows[-32:]),
    )


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory, jsts_files) -> Path:
    """A finished ``textmetric train`` folder, checkpoints kept (training-only state to leave out)."""
    from textmetric.training import TrainConfig, train

    train_path, valid_path = jsts_files
    out = tmp_path_factory.mktemp("hub-runs") / "jsts-tiny"
    config = TrainConfig(
        data=[str(train_path)],
        output=str(out),
        model="tiny-ja",
        epochs=1,
        batch_size=16,
        max_seq_length=32,
        eval_sts=[str(valid_path)],
        save_steps=2,
        logging_steps=2,
        keep_checkpoints=True,
        **TINY,
    )
    train(config)
    return out


@pytest.fixture(scope="session")
def exported_dir(tmp_path_factory, trained_dir) -> Path:
    """``textmetric export`` of :func:`trained_dir` (no ONNX), for the card and push tests."""
    from textmetric.hub import export_model

    out = tmp_path_factory.mktemp("hub-export") / "jsts-tiny"
    export_model(trained_dir, out, repo_id="my-org/jsts-tiny", license="apache-2.0")
    return out
