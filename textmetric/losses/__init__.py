"""Metric-learning losses, one module per family, all registered by name in :mod:`.registry`."""

from textmetric.losses import pairwise  # noqa: F401  (registers mnrl, cosent, contrastive, triplet)
from textmetric.losses.registry import (
    DEFAULT_LOSS_FOR_FORMAT,
    LOSSES,
    LossSpec,
    build_loss,
    default_loss,
    get_loss,
    parse_loss_params,
)

__all__ = [
    "DEFAULT_LOSS_FOR_FORMAT",
    "LOSSES",
    "LossSpec",
    "build_loss",
    "default_loss",
    "get_loss",
    "parse_loss_params",
]
