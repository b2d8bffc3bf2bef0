"""Shared fixtures: real Japanese data from ../shared/data and tiny offline models built from it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI must be reproducible: the same examples on every run. `HYPOTHESIS_PROFILE=explore` draws fresh ones.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()
SAMPLE_DATA = REPO_ROOT / "data" / "sample"


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows.append(json.loads(line))
                if limit is not None and len(rows) >= limit:
                    break
    return rows


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA} (see the developers' guide)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def jsts_rows(shared_data: Path) -> list[dict]:
    return read_jsonl(shared_data / "jsts" / "train.jsonl")


@pytest.fixture(scope="session")
def japanese_texts(jsts_rows: list[dict]) -> list[str]:
    """A few thousand real Japanese sentences (JSTS train)."""
    return [row["sentence1"] for row in jsts_rows[:1500]] + [row["sentence2"] for row in jsts_rows[:1500]]


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory, japanese_texts) -> Path:
    """A tiny BertJapaneseTokenizer + random BERT folder (built once per test session, offline)."""
    from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja

    out = tmp_path_factory.mktemp("tiny") / "bert"
    config = TinyJaConfig(vocab_size=3000, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128)
    return build_tiny_ja(japanese_texts, out, config=config)


@pytest.fixture(scope="session")
def tiny_model(tiny_bert_dir):
    """A siamese SentenceTransformer (mean pooling, normalised) over the tiny BERT."""
    from textmetric.models import build_dual_encoder

    return build_dual_encoder(str(tiny_bert_dir), max_seq_length=64)
