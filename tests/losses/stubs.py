"""A stand-in for a SentenceTransformer in loss tests: just what a loss constructor asks of a model."""

from __future__ import annotations

import torch
from torch import nn


class Stub(nn.Module):
    """Its embedding size and device, and nothing to encode with: the tests feed embeddings."""

    device = torch.device("cpu")

    def __init__(self, dim: int = 2) -> None:
        super().__init__()
        self.dim = dim

    def get_embedding_dimension(self) -> int:
        return self.dim
