"""The machine a command runs on: the device it asked for, and running out of memory.

Both are environment failures a user can fix with an option, so they become a
:class:`~textmetric.errors.TextmetricError` with that option named, not a CUDA traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from textmetric.errors import ConfigError, OutOfMemory


def check_device(device: str | None) -> None:
    """Refuse ``cuda`` (or ``cuda:N``) when torch sees no CUDA GPU, before any model is loaded."""
    if not device or not str(device).lower().startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(
            f"--device {device} was requested but no CUDA GPU is available (torch.cuda.is_available() is "
            "False: no GPU, no driver, or a CPU-only torch build); use --device cpu or leave --device unset"
        )
    index = str(device).partition(":")[2]
    if index.isdigit() and int(index) >= torch.cuda.device_count():
        raise ConfigError(
            f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s) (0-based)"
        )


def _is_out_of_memory(err: BaseException) -> bool:
    if isinstance(err, MemoryError):
        return True
    import torch

    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if oom is not None and isinstance(err, oom):
        return True
    # Older CUDA / MPS / CPU allocators raise a plain RuntimeError.
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def _free_cached_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@contextlib.contextmanager
def out_of_memory_guard(what: str, *, training: bool = False) -> Iterator[None]:
    """Turn an out-of-memory error raised inside into :class:`OutOfMemory` naming what to lower."""
    try:
        yield
    except Exception as err:  # MemoryError is an Exception too
        if not _is_out_of_memory(err):
            raise
        _free_cached_memory()
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if training:
            hint = (
                "lower --batch-size or --max-seq-length; to keep many in-batch negatives in bounded "
                "memory use gradient caching (sentence-transformers' CachedMultipleNegativesRankingLoss: "
                "mini-batches of the big batch); checkpoints already saved resume with --resume"
            )
        else:
            hint = "lower --batch-size (texts per model batch) or the model's max_seq_length"
        raise OutOfMemory(f"out of memory while {what} ({first}); {hint}") from None
