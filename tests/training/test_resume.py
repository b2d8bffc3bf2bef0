"""A run killed with SIGKILL after a checkpoint resumes to the same weights as an unbroken run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file

from textmetric.training import TrainConfig, last_checkpoint, train

SMALL = {"tiny_vocab_size": 2000, "tiny_hidden_size": 32, "tiny_layers": 1, "tiny_heads": 2}


def config_for(data, output, **extra) -> TrainConfig:
    return TrainConfig(
        data=[str(data)],
        output=str(output),
        model="tiny-ja",
        max_steps=12,
        batch_size=16,
        save_steps=4,
        logging_steps=2,
        max_seq_length=32,
        seed=7,
        **SMALL,
        **extra,
    )


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory, jsts_rows):
    path = tmp_path_factory.mktemp("resume") / "sts.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in jsts_rows[:160]) + "\n", "utf-8")
    return path


# With a weight average from step 3 on, checkpoint-4 must carry the average of steps 3-4 on.
@pytest.mark.parametrize("extra", [{}, {"ema_decay": 0.8, "ema_start": 0.25}], ids=["plain", "ema"])
def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path, pairs_file, extra):
    reference = train(config_for(pairs_file, tmp_path / "reference", **extra))
    killed_dir = tmp_path / "killed"
    # The child kills itself with SIGKILL at step 6, after checkpoint-4 was written.
    script = textwrap.dedent(
        f"""
        import os, signal
        from transformers import TrainerCallback
        from tests.training.test_resume import config_for
        from textmetric.training import train

        class Kill(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == 6:
                    os.kill(os.getpid(), signal.SIGKILL)

        train(config_for({str(pairs_file)!r}, {str(killed_dir)!r}, **{extra!r}), callbacks=[Kill()])
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not (killed_dir / "modules.json").exists()  # no half-finished model where one is expected
    assert last_checkpoint(killed_dir, weight_average=bool(extra)).name == "checkpoint-4"

    resumed = train(config_for(pairs_file, killed_dir, resume=True, **extra))
    want = load_file(reference.output / "model.safetensors")
    got = load_file(resumed.output / "model.safetensors")
    assert want.keys() == got.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-4, atol=1e-5, msg=name)


def test_resume_without_checkpoint_is_a_clear_error(tmp_path, pairs_file):
    from textmetric.errors import ConfigError

    with pytest.raises(ConfigError, match="no checkpoint"):
        train(config_for(pairs_file, tmp_path / "fresh", resume=True))


def test_sigterm_saves_a_checkpoint_and_stops(tmp_path, pairs_file):
    out = tmp_path / "term"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from transformers import TrainerCallback
        from tests.training.test_resume import config_for
        from textmetric.errors import TrainingInterrupted
        from textmetric.training import train

        class Term(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                if state.global_step == 5:
                    os.kill(os.getpid(), signal.SIGTERM)

        try:
            train(config_for({str(pairs_file)!r}, {str(out)!r}), callbacks=[Term()])
        except TrainingInterrupted as err:
            print(err)
            sys.exit(err.exit_code)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert "--resume" in proc.stdout
    assert last_checkpoint(out).name == "checkpoint-6"  # saved at the end of the interrupted step
    assert not (out / "modules.json").exists()
