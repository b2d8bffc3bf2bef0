"""Training: a configuration and one ``train()`` over the sentence-transformers trainer."""

from textmetric.training import distributed  # noqa: F401  (first: quietens non-main processes)
from textmetric.training.config import TrainConfig
from textmetric.training.pretrain import PretrainResult, pretrain_mlm
from textmetric.training.trainer import TrainResult, last_checkpoint, train

__all__ = ["PretrainResult", "TrainConfig", "TrainResult", "last_checkpoint", "pretrain_mlm", "train"]
