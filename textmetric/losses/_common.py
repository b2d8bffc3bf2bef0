"""What the label losses share: one text column in, embeddings out, class count and label checks."""

from __future__ import annotations

import math
from collections.abc import Iterable

from torch import Tensor

from textmetric.errors import ConfigError


def embed_texts(model, sentence_features: Iterable[dict[str, Tensor]]) -> Tensor:
    """Sentence embeddings of the single text column of a ``text, label`` batch."""
    from sentence_transformers.base.losses.merged_forward import embed_columns

    embeddings = embed_columns(model, list(sentence_features))
    if len(embeddings) != 1:
        raise ValueError(
            f"a label loss takes one text column per row ('text, label' data), got {len(embeddings)} columns"
        )
    return embeddings[0]


def num_classes(data, loss: str) -> int:
    """The class count of ``labelled`` training data (labels are ids ``0 .. C-1``)."""
    names = getattr(data, "label_names", None)
    if not names:
        raise ConfigError(f"the '{loss}' loss needs labelled data (columns text, label) with class names")
    if len(names) < 2:
        raise ConfigError(f"the '{loss}' loss needs at least two classes, got {len(names)}")
    return len(names)


def embedding_dimension(model) -> int:
    dim = model.get_embedding_dimension()
    if not dim:
        raise ConfigError("cannot tell the model's embedding dimension (needed for the classifier / centres)")
    return int(dim)


def check_labels(labels: Tensor, classes: int, loss: str) -> Tensor:
    """Labels as a flat long tensor; an id outside ``0 .. classes-1`` is a clear error, not a CUDA assert."""
    labels = labels.view(-1).long()
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= classes):
        raise ValueError(
            f"{loss}: label ids must be 0..{classes - 1} (the class count the loss was built with), "
            f"got {int(labels.min())}..{int(labels.max())}"
        )
    return labels


def check_param(name: str, value: float, *, low: float | None = None, positive: bool = False) -> float:
    """A loss hyper-parameter as a float; a typo (``margin=abc``, ``scale=-1``) is a ConfigError."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"loss parameter {name} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"loss parameter {name} must be a finite number, got {value}")
    if positive and value <= 0:
        raise ConfigError(f"loss parameter {name} must be > 0, got {value}")
    if low is not None and value < low:
        raise ConfigError(f"loss parameter {name} must be >= {low}, got {value}")
    return value
