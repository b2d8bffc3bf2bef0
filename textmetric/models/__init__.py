"""Dual-encoder models: Siamese / DSSM builders, the offline tiny-ja base, saved metadata."""

from textmetric.models.builder import (
    DEFAULT_BASE_MODEL,
    POOLING_MODES,
    STRUCTURES,
    TINY_JA,
    build_dual_encoder,
    load_transformer,
    model_structure,
)
from textmetric.models.metadata import METADATA_FILE, ModelMetadata, model_fingerprint
from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja

__all__ = [
    "DEFAULT_BASE_MODEL",
    "METADATA_FILE",
    "POOLING_MODES",
    "STRUCTURES",
    "TINY_JA",
    "ModelMetadata",
    "TinyJaConfig",
    "build_dual_encoder",
    "build_tiny_ja",
    "load_transformer",
    "model_fingerprint",
    "model_structure",
]
