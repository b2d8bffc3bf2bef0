"""Process roles under torch.distributed (``torchrun`` / ``accelerate launch``).

Only the main process writes outputs and logs; the others train and stay quiet.
"""

from __future__ import annotations

import os


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """True for the process that writes outputs (rank 0, or the only process)."""
    return rank() == 0
