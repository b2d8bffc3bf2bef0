"""Training under torch.distributed: 2 real processes on CPU (gloo), launched like a user would.

Each run is audited: a ``sitecustomize`` hook in the workers records every file a non-zero rank
creates, renames or removes under the run folder (Python audit events), so "only rank 0 writes"
is measured, not assumed. The in-batch score matrix is measured inside the loss (the ``-v``
debug line of :func:`textmetric.training.trainer._watch_in_batch_scores`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from textmetric.training import TrainConfig, last_checkpoint, train

REPO_ROOT = Path(__file__).resolve().parents[2]
PER_DEVICE = 8
SMALL = {
    "tiny_vocab_size": 2000,
    "tiny_hidden_size": 32,
    "tiny_layers": 1,
    "tiny_heads": 2,
    "max_seq_length": 32,
    "logging_steps": 2,
    "lr": 1e-3,
    "seed": 3,
}
SCORES = re.compile(r"mnrl in-batch scores: (\d+) x (\d+)")

AUDIT = """
import os, sys
_rank = os.environ.get("RANK")
_root = os.environ.get("TM_AUDIT_ROOT")
if _rank not in (None, "0") and _root:
    # One line per event, written at once: a worker stopped by a signal leaves its record too.
    _log = open(os.path.join(os.environ["TM_AUDIT_LOG"], f"rank{_rank}.log"), "a", buffering=1)
    _WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    _EVENTS = ("os.mkdir", "os.remove", "os.rmdir", "shutil.rmtree", "os.rename", "os.truncate",
               "os.symlink", "os.link", "tempfile.mkdtemp", "tempfile.mkstemp")
    _busy = [False]

    def _under_root(path):
        if isinstance(path, int) or path is None:
            return None
        path = os.path.abspath(os.fsdecode(path))
        return path if path.startswith(_root) else None

    def _hook(event, args):
        if _busy[0] or (event != "open" and event not in _EVENTS):
            return
        _busy[0] = True
        try:
            if event == "open":
                where = _under_root(args[0])
                if where is not None:
                    mode, flags = args[1], args[2]
                    if isinstance(mode, str):
                        writing = any(c in mode for c in "wax+")
                    else:
                        writing = bool((flags or 0) & _WRITE_FLAGS)
                    _log.write(f"{'write' if writing else 'read'} open {where}\\n")
            else:
                for path in args[:2] if event == "os.rename" else args[:1]:
                    where = _under_root(path)
                    if where is not None:
                        _log.write(f"write {event} {where}\\n")
        except Exception:
            pass
        finally:
            _busy[0] = False

    sys.addaudithook(_hook)
"""


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory, jsts_rows) -> Path:
    """256 (anchor, positive) pairs: JSTS sentence pairs scored 3.5 or more, distinct anchors."""
    rows, seen = [], set()
    for row in jsts_rows:
        if row["label"] >= 3.5 and row["sentence1"] not in seen:
            seen.add(row["sentence1"])
            rows.append({"anchor": row["sentence1"], "positive": row["sentence2"]})
        if len(rows) == 256:
            break
    path = tmp_path_factory.mktemp("dist-data") / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


class Run:
    """One audited multi-process run in its own folder."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "run"
        self.root.mkdir()
        self.audit = tmp_path / "audit"
        self.audit.mkdir()
        hook = tmp_path / "hook"
        hook.mkdir()
        (hook / "sitecustomize.py").write_text(AUDIT, encoding="utf-8")
        self.config = tmp_path / "small.json"
        self.config.write_text(json.dumps(SMALL), encoding="utf-8")
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(hook), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
            "TM_AUDIT_ROOT": str(self.root.resolve()),
            "TM_AUDIT_LOG": str(self.audit),
            "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }

    def __call__(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def rank1(self) -> dict[str, list[str]]:
        """What process 1 wrote and read under the run folder."""
        lines = (self.audit / "rank1.log").read_text("utf-8").splitlines()
        return {
            "writes": [line for line in lines if line.startswith("write ")],
            "reads": [line for line in lines if line.startswith("read ")],
        }


def torchrun(*args: str) -> list[str]:
    return ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *args]


def test_two_processes_gather_negatives_and_only_rank_0_writes(tmp_path, pairs_file):
    run = Run(tmp_path)
    proc = run(
        *torchrun("-m", "textmetric", "-v", "train"),
        *(str(pairs_file), "--model", "tiny-ja", "--output", "model", "--config", str(run.config)),
        *("--max-steps", "16", "--batch-size", str(PER_DEVICE), "--save-steps", "8"),
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    out = run.root / "model"

    # Rank 1 read the tiny-ja base rank 0 built and wrote nothing at all.
    rank1 = run.rank1()
    assert rank1["writes"] == [], rank1["writes"][:20]
    assert any("tiny-ja-base" in r for r in rank1["reads"])
    # The folder is one finished model: no checkpoints, no temporary siblings.
    assert sorted(p.name for p in run.root.iterdir()) == ["model"]
    names = {p.name for p in out.iterdir()}
    expected = {"modules.json", "model.safetensors", "textmetric.json", "train_config.json", "metrics.json"}
    assert expected <= names
    assert "checkpoints" not in names and not any(n.startswith(".") for n in names)

    # Logs and results once, from rank 0 only.
    assert log.count("model saved to") == 1
    assert log.count("tiny-ja: vocabulary of") == 1
    assert log.count("global batch 16") == 1
    assert "Traceback" not in log

    # Each of the 8 anchors of a process is scored against all 16 candidates of the global batch.
    assert SCORES.findall(log) == [(str(PER_DEVICE), str(2 * PER_DEVICE))]

    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    losses = [loss for _, loss in metrics["loss_history"]]
    assert metrics["steps"] == 16 and len(losses) == 8
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2 - 0.05, losses
    meta = json.loads((out / "textmetric.json").read_text("utf-8"))
    assert meta["training"]["processes"] == 2 and meta["training"]["global_batch_size"] == 16
    assert json.loads((out / "train_config.json").read_text("utf-8"))["gather_across_devices"] is True


def test_no_gather_scores_the_local_batch_only(tmp_path, pairs_file):
    run = Run(tmp_path)
    proc = run(
        *("-m", "textmetric", "-v", "train", str(pairs_file), "--nproc", "2", "--no-gather"),
        *("--model", "tiny-ja", "--output", "model", "--config", str(run.config)),
        *("--max-steps", "4", "--batch-size", str(PER_DEVICE)),
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert SCORES.findall(log) == [(str(PER_DEVICE), str(PER_DEVICE))]
    assert log.count("model saved to") == 1
    assert run.rank1()["writes"] == []
    config = json.loads((run.root / "model" / "train_config.json").read_text("utf-8"))
    assert config["gather_across_devices"] is False


def test_a_bad_run_fails_on_every_process_with_one_message(tmp_path, pairs_file):
    run = Run(tmp_path)
    (run.root / "model").mkdir()
    (run.root / "model" / "keep.txt").write_text("mine", encoding="utf-8")
    proc = run(
        *("-m", "textmetric", "train", str(pairs_file), "--nproc", "2", "--model", "tiny-ja"),
        *("--output", "model", "--config", str(run.config), "--max-steps", "4"),
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 2, log[-4000:]
    assert log.count("error:") == 1 and "exists and is not empty" in log
    assert "Traceback" not in log
    assert [p.name for p in (run.root / "model").iterdir()] == ["keep.txt"]
    assert run.rank1()["writes"] == []


INTERRUPTED = """
import os, signal, sys
from transformers import TrainerCallback
from textmetric.errors import TrainingInterrupted
from textmetric.training import TrainConfig, train

class TermOnRank1(TrainerCallback):
    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == 3 and os.environ["RANK"] == "1":
            os.kill(os.getpid(), signal.SIGTERM)

config = TrainConfig(**{config!r})
try:
    train(config, callbacks=[TermOnRank1()])
except TrainingInterrupted as err:
    print(f"rank {{os.environ['RANK']}}: {{err}}", flush=True)
    sys.exit(err.exit_code)
"""


def test_sigterm_on_one_rank_stops_all_then_resume_with_one_process(tmp_path, pairs_file):
    run = Run(tmp_path)
    options = {
        "data": [str(pairs_file)],
        "output": str(run.root / "model"),
        "model": "tiny-ja",
        "max_steps": 10,
        "batch_size": PER_DEVICE,
        "save_steps": 100,
        **SMALL,
    }
    script = tmp_path / "interrupted.py"
    script.write_text(textwrap.dedent(INTERRUPTED.format(config=options)), encoding="utf-8")
    proc = run(*torchrun(str(script)))
    log = proc.stdout + proc.stderr
    # Only rank 1 got the signal; both stopped after step 4 and rank 0 saved the checkpoint.
    assert "rank 0: training interrupted by SIGTERM at step 4" in log, log[-4000:]
    checkpoint = last_checkpoint(run.root / "model")
    assert checkpoint is not None and checkpoint.name == "checkpoint-4"
    assert {"rng_state_0.pth", "rng_state_1.pth", "optimizer.pt"} <= {p.name for p in checkpoint.iterdir()}
    assert json.loads((checkpoint / "run_layout.json").read_text())["global_batch_size"] == 2 * PER_DEVICE
    assert run.rank1()["writes"] == []

    # Resume in one process with the same global batch (1 x 16).
    resumed = train(TrainConfig(**{**options, "batch_size": 2 * PER_DEVICE, "resume": True}))
    assert resumed.steps == 10
    assert [step for step, _ in resumed.loss_history] == [6, 8, 10]
    assert (resumed.output / "model.safetensors").is_file()
    assert not (resumed.output / "checkpoints").exists()


PROTOCOL = """
import json, os, sys
import torch
from textmetric.errors import ConfigError
from textmetric.training import distributed

def threads():
    names = (open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task"))
    return sorted(name for name in names if "gloo" in name)

seen = {"threads": []}
distributed.setup(cpu=True)
# As sentence-transformers does once the group exists (to gather embeddings with their gradient).
import torch.distributed.nn
rank = distributed.rank()

def outcome(what, body):
    try:
        with distributed.Agreement(what) as step:
            body(step)
        seen[what] = ["ok", step.value]
    except Exception as err:
        seen[what] = [type(err).__name__, str(err)[:200]]

def share(step):
    if rank == 0:
        step.value = "from rank 0"

def user_error(step):
    if rank == 1:
        raise ConfigError("bad input seen by rank 1")

def bug(step):
    if rank == 1:
        raise ValueError("a bug on rank 1")

outcome("share", share)
outcome("user error", user_error)
outcome("bug", bug)
seen["signal"] = distributed.agree_on_signal(15 if rank == 1 else None)
used, unused = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2))
used.grad = torch.full((3,), float(rank + 1))
distributed.average_gradients([used, unused])
seen["grads"] = [used.grad.tolist(), unused.grad is None]
centres, steps = torch.full((2, 2), float(rank)), torch.tensor([rank])
distributed.average_in_place([centres, steps])
seen["buffers"] = [centres.tolist(), steps.tolist()]
seen["objects"] = distributed.gather_objects({"rank": rank})
seen["threads"].append(threads())
distributed.teardown()
seen["threads"].append(threads())
with open(os.path.join(sys.argv[1], f"rank{rank}.json"), "w") as handle:
    json.dump(seen, handle)
"""


def test_processes_agree_on_failures_signals_and_gradients(tmp_path):
    script = tmp_path / "protocol.py"
    script.write_text(PROTOCOL, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, *torchrun(str(script), str(tmp_path))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    rank0, rank1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert rank0["share"] == rank1["share"] == ["ok", "from rank 0"]
    # A user error on rank 1 only: both raise it (rank 0 names the process), neither waits forever.
    assert rank1["user error"] == ["ConfigError", "bad input seen by rank 1"]
    assert rank0["user error"] == ["ConfigError", "process 1 of 2: bad input seen by rank 1"]
    assert rank1["bug"] == ["ValueError", "a bug on rank 1"]
    assert rank0["bug"][0] == "RuntimeError" and "ValueError: a bug on rank 1" in rank0["bug"][1]
    assert rank0["signal"] == rank1["signal"] == 15
    assert rank0["grads"] == rank1["grads"] == [[1.5, 1.5, 1.5], True]
    # Loss state updated by hand (class centres) is averaged; integer counters are left alone.
    assert rank0["buffers"] == [[[0.5, 0.5], [0.5, 0.5]], [0]]
    assert rank1["buffers"] == [[[0.5, 0.5], [0.5, 0.5]], [1]]
    assert rank0["objects"] == rank1["objects"] == [{"rank": 0}, {"rank": 1}]
    # Leaving the group joins gloo's worker threads: none is left to release a collective's
    # tensors while Python shuts down (that aborted a process now and then, exit code -6).
    for seen in (rank0, rank1):
        during, after = seen["threads"]
        assert "pt_gloo_runloop" in during and after == [], seen["threads"]


def test_lockstep_sampler_gives_every_process_the_same_file_at_each_step():
    import torch
    from datasets import Dataset
    from sentence_transformers.base.sampler import DefaultBatchSampler
    from torch.utils.data import ConcatDataset, RandomSampler

    from textmetric.training.sampling import LockstepBatchSampler

    def sampler(seed: int, group: int) -> LockstepBatchSampler:
        a = Dataset.from_dict({"anchor": [f"a{i}" for i in range(40)], "positive": ["p"] * 40})
        b = Dataset.from_dict({"sentence1": ["s"] * 26, "sentence2": ["t"] * 26, "score": [0.5] * 26})
        generator = torch.Generator()
        children = [
            DefaultBatchSampler(RandomSampler(d, generator=generator), batch_size=4, drop_last=True)
            for d in (a, b)
        ]
        data = ConcatDataset([a, b])
        return LockstepBatchSampler(data, children, generator=generator, seed=seed, group=group)

    first = sampler(seed=5, group=2)
    batches = list(first)
    # 10 batches of a -> 5 rounds, 6 batches of b -> 3 rounds: 16 batches, in rounds of 2.
    assert len(first) == len(batches) == 16
    files = ["a" if max(batch) < 40 else "b" for batch in batches]
    assert all(files[i] == files[i + 1] for i in range(0, 16, 2))
    assert files.count("a") == 10 and files.count("b") == 6
    assert all(len(batch) == 4 for batch in batches)
    flat = [i for batch in batches for i in batch]
    assert len(flat) == len(set(flat))  # no row twice in an epoch
    assert list(sampler(seed=5, group=2)) == batches  # same seed, same order on every process
    first.set_epoch(1)
    assert list(first) != batches
