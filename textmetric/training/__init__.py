"""Training: a configuration and one ``train()`` over the sentence-transformers trainer."""

from textmetric.training.config import TrainConfig
from textmetric.training.trainer import TrainResult, last_checkpoint, train

__all__ = ["TrainConfig", "TrainResult", "last_checkpoint", "train"]
