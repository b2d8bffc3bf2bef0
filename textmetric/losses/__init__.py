"""Metric-learning losses, one module per family, all registered by name in :mod:`.registry`."""

from textmetric.losses import (  # noqa: F401  (importing a module registers its losses)
    am_softmax,  # am-softmax
    batch_triplet,  # batch-all-triplet, batch-hard-triplet, batch-semi-hard-triplet
    center,  # center
    margin_dw,  # margin-dw
    pairwise,  # mnrl, cosent, contrastive, online-contrastive, triplet
    softmax,  # softmax
)
from textmetric.losses.registry import (
    DEFAULT_LOSS_FOR_FORMAT,
    LOSSES,
    LossSpec,
    build_loss,
    check_params,
    default_loss,
    get_loss,
    parse_loss_params,
)

__all__ = [
    "DEFAULT_LOSS_FOR_FORMAT",
    "LOSSES",
    "LossSpec",
    "build_loss",
    "check_params",
    "default_loss",
    "get_loss",
    "parse_loss_params",
]
