"""``textmetric embed`` in 2 processes (gloo, CPU) gives the vectors of 1 process, as shards.

The workers are real processes started like a user would (``--nproc 2`` and ``torchrun``); the
1-process reference is the Python API in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.training.test_distributed import torchrun
from textmetric import TextMetric
from textmetric.api import iter_embeddings, read_embeddings
from textmetric.embedding import embeddings_info
from textmetric.errors import InputError
from textmetric.models import ModelMetadata

REPO_ROOT = Path(__file__).resolve().parents[2]
ROWS_PER_GROUP = 16  # 200 texts: 13 row groups, 7 for process 0 and 6 for process 1
SHARDS = ["manifest.json", "part-00000-of-00002.parquet", "part-00001-of-00002.parquet"]


@pytest.fixture(scope="module")
def model_dir(tiny_model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("parallel") / "model"
    tiny_model.save(str(folder))
    ModelMetadata(nfkc=True).save(folder)
    return folder


@pytest.fixture(scope="module")
def corpus(shared_data, tmp_path_factory) -> Path:
    """200 distinct JSTS sentences without ids, and one empty text (row 51) to skip."""
    texts: list[str] = []
    with (shared_data / "jsts" / "valid.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            texts.append(json.loads(line)["sentence1"])
    texts = list(dict.fromkeys(texts))[:200]
    rows = [{"text": text} for text in texts]
    rows.insert(50, {"text": ""})
    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(model_dir, corpus, tmp_path_factory) -> tuple[list, np.ndarray, str]:
    """Ids and vectors of one process (the API, in this process) and the model's fingerprint."""
    out = tmp_path_factory.mktemp("one") / "vectors.parquet"
    tm = TextMetric.load(model_dir)
    result = tm.embed_file(corpus, out, rows_per_group=ROWS_PER_GROUP, on_bad_row="skip")
    assert result.processes == 1 and result.rows == 200 and result.skipped == {"empty text": 1}
    ids, vectors = read_embeddings(out)
    return ids, vectors, tm.fingerprint


def run(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    env.pop("OMP_NUM_THREADS", None)  # --nproc gives each process cores / N threads
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_two_processes_embed_the_same_vectors_as_one(model_dir, corpus, reference, tmp_path):
    ref_ids, ref_vectors, fingerprint = reference
    proc = run(
        *("-m", "textmetric", "embed", str(model_dir), str(corpus), "--out", "shards"),
        *("--nproc", "2", "--rows-per-group", str(ROWS_PER_GROUP), "--on-bad-row", "skip"),
        cwd=tmp_path,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    # Process 0 alone prints the summary; the skipped row is counted once, not per process.
    assert log.count("200 embeddings (64 dimensions) written to shards (2 shards)") == 1, log[-2000:]
    assert log.count("skipped 1 bad rows") == 1
    assert "Traceback" not in log

    # One finished folder: both shards, the manifest, nothing temporary beside or inside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shards"]
    out = tmp_path / "shards"
    assert sorted(p.name for p in out.iterdir()) == SHARDS
    rows = [pq.ParquetFile(out / name).metadata.num_rows for name in SHARDS[1:]]
    assert rows == [6 * ROWS_PER_GROUP + 8, 6 * ROWS_PER_GROUP]  # both non-empty; 8 in the last group

    # Same ids (row numbers, counted over the whole file by each process) in the same order.
    ids, vectors = read_embeddings(out)
    assert ids == ref_ids == list(range(200))
    assert vectors.dtype == np.float32 and vectors.shape == ref_vectors.shape == (200, 64)
    assert np.abs(vectors - ref_vectors).max() < 1e-5

    # Streaming reader: one row group at a time, round-robin over the shards.
    groups = list(iter_embeddings(out))
    assert [len(group_ids) for group_ids, _ in groups] == [16] * 12 + [8]
    assert [group_ids[0] for group_ids, _ in groups] == list(range(0, 200, 16))

    info = embeddings_info(out)
    assert info["rows"] == 200 and info["processes"] == 2 and info["dimension"] == 64
    assert info["model"]["fingerprint"] == fingerprint
    assert info["skipped"] == {"empty text": 1} and [s["rows"] for s in info["shards"]] == rows


def test_torchrun_refuses_an_existing_output_then_overwrites_it(model_dir, corpus, reference, tmp_path):
    ref_ids, ref_vectors, _ = reference
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "keep.txt").write_text("mine", encoding="utf-8")
    command = torchrun("-m", "textmetric", "embed", str(model_dir), str(corpus), "--out", "shards")
    options = ("--rows-per-group", str(ROWS_PER_GROUP), "--on-bad-row", "skip")

    refused = run(*command, *options, cwd=tmp_path)
    log = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert log.count("error:") == 1 and "shards exists and is not empty; pass --overwrite" in log, log[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shards"]
    assert [p.name for p in (tmp_path / "shards").iterdir()] == ["keep.txt"]

    replaced = run(*command, *options, "--overwrite", cwd=tmp_path)
    assert replaced.returncode == 0, (replaced.stdout + replaced.stderr)[-4000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shards"]
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == SHARDS
    ids, vectors = read_embeddings(tmp_path / "shards")
    assert ids == ref_ids and np.abs(vectors - ref_vectors).max() < 1e-5


def test_reader_accepts_a_file_and_rejects_what_embed_did_not_write(model_dir, corpus, tmp_path):
    out = tmp_path / "v.parquet"
    TextMetric.load(model_dir).embed_file(corpus, out, rows_per_group=64, on_bad_row="skip")
    ids, vectors = read_embeddings(out)
    table = pq.read_table(out)
    assert ids == table.column("id").to_pylist()
    assert np.array_equal(vectors, np.array(table.column("embedding").to_pylist(), dtype=np.float32))
    assert embeddings_info(out)["rows"] == 200 and embeddings_info(out)["role"] == "document"

    with pytest.raises(InputError, match="embeddings not found"):
        read_embeddings(tmp_path / "missing")
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match=r"no manifest\.json"):
        read_embeddings(tmp_path / "folder")
    pq.write_table(pa.table({"text": ["あ"]}), tmp_path / "other.parquet")
    with pytest.raises(InputError, match="expected the columns id and embedding"):
        read_embeddings(tmp_path / "other.parquet")
